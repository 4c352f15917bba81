"""A take's tempo, so that a transcription's MIDI and MusicXML sit on a DAW's grid.

librosa's tempo estimator (the peak of a tempogram's autocorrelation under a log-normal prior
centred on 120 BPM) over librosa's spectral-flux onset envelope at 11.6 ms hops. Like every
beat tracker it may answer twice or half the tempo a player would count on music whose
rhythm allows both; ``--tempo`` overrides it.
"""

from __future__ import annotations

import numpy as np

HOP = 256
#: The tempo written when the take holds too little to estimate one from.
DEFAULT_BPM = 120.0
MIN_SECONDS = 4.0
#: Only the take's first minute is listened to (one tempo for the whole take).
MAX_SECONDS = 60.0


def estimate_tempo(audio: np.ndarray, sample_rate: int) -> float | None:
    """The take's tempo in BPM (rounded to 0.1) from its first ``MAX_SECONDS``, or None when
    it is under ``MIN_SECONDS`` long or has no onsets to go by."""
    import librosa

    audio = np.asarray(audio[: int(MAX_SECONDS * sample_rate)], dtype=np.float32)
    if len(audio) < MIN_SECONDS * sample_rate or not np.any(audio):
        return None
    envelope = librosa.onset.onset_strength(y=audio, sr=sample_rate, hop_length=HOP)
    if not np.any(envelope):
        return None
    tempo = librosa.feature.tempo(onset_envelope=envelope, sr=sample_rate, hop_length=HOP)
    bpm = float(np.atleast_1d(tempo)[0])
    return round(bpm, 1) if np.isfinite(bpm) and bpm > 0 else None
