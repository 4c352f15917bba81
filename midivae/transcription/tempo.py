"""A take's tempo, so that a transcription's MIDI and MusicXML sit on a DAW's grid.

librosa's tempo estimator (the peak of a tempogram's autocorrelation under a log-normal prior
centred on 120 BPM) over librosa's spectral-flux onset envelope at 11.6 ms hops. Like every
beat tracker it may answer twice or half the tempo a player would count on music whose
rhythm allows both; ``--tempo`` overrides it. The first downbeat is where the first note
starts (a piece that begins with a pickup is written as if it began on the beat; librosa's
beat tracker, tried first, put the phase of generated lines half a beat off as often as not,
``python bench/daw.py``): the MIDI file's first bar ends there and the MusicXML begins there,
so that the notes after it sit on the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOP = 256
#: The tempo written when the take holds too little to estimate one from.
DEFAULT_BPM = 120.0
MIN_SECONDS = 4.0
#: Only the take's first minute is listened to (one tempo for the whole take).
MAX_SECONDS = 60.0


@dataclass(frozen=True)
class Grid:
    """A take's beat grid: ``bpm`` and the first downbeat, ``downbeat_s`` seconds in (the
    beat the first note starts on; 0 when that is within a quarter beat of the start)."""

    bpm: float
    downbeat_s: float = 0.0


def estimate_tempo(audio: np.ndarray, sample_rate: int) -> float | None:
    """The take's tempo in BPM (rounded to 0.1) from its first ``MAX_SECONDS``, or None when
    it is under ``MIN_SECONDS`` long or has no onsets to go by."""
    grid = estimate_grid(audio, sample_rate)
    return grid.bpm if grid is not None else None


def estimate_grid(
    audio: np.ndarray, sample_rate: int, onsets_s: list[float] | None = None
) -> Grid | None:
    """The take's tempo (:func:`estimate_tempo`) and, given its notes' onsets, the first
    downbeat: the first note's onset (0 when it is within a quarter beat of the start).
    None as :func:`estimate_tempo`."""
    import librosa

    audio = np.asarray(audio[: int(MAX_SECONDS * sample_rate)], dtype=np.float32)
    if len(audio) < MIN_SECONDS * sample_rate or not np.any(audio):
        return None
    envelope = librosa.onset.onset_strength(y=audio, sr=sample_rate, hop_length=HOP)
    if not np.any(envelope):
        return None
    tempo = librosa.feature.tempo(onset_envelope=envelope, sr=sample_rate, hop_length=HOP)
    bpm = float(np.atleast_1d(tempo)[0])
    if not (np.isfinite(bpm) and bpm > 0):
        return None
    bpm = round(bpm, 1)
    first = min(onsets_s) if onsets_s else 0.0
    return Grid(bpm, round(float(first), 4) if first >= 15.0 / bpm else 0.0)
