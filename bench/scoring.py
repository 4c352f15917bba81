"""Note-level scoring with mir_eval, and the pYIN baseline (f0 track -> notes)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import mir_eval
import numpy as np
import pretty_midi

ONSET_TOLERANCE = 0.05


@dataclass(frozen=True)
class NoteScores:
    on_f1: float
    onoff_f1: float
    vel_f1: float
    onset_errors: tuple[float, ...]  # estimated minus reference onset of matched notes, s
    on_precision: float = 0.0
    on_recall: float = 0.0


def midi_notes(path, *, track: int | None = None) -> list[tuple[float, float, int, int]]:
    """``(onset, offset, pitch, velocity)`` of every note of a MIDI file (or one track)."""
    midi = pretty_midi.PrettyMIDI(str(path))
    tracks = midi.instruments if track is None else [midi.instruments[track]]
    notes = [(n.start, n.end, n.pitch, n.velocity) for t in tracks for n in t.notes]
    return sorted(notes)


def _arrays(notes):
    if not notes:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0)
    data = np.array(notes, dtype=float)
    intervals = data[:, :2].copy()
    intervals[:, 1] = np.maximum(intervals[:, 1], intervals[:, 0] + 1e-3)
    return intervals, 440.0 * 2 ** ((data[:, 2] - 69) / 12), data[:, 3]


def score(reference, estimate) -> NoteScores:
    """mir_eval F1 for onsets (50 ms), onsets+offsets, and onsets+offsets+velocity."""
    ref_i, ref_p, ref_v = _arrays(reference)
    est_i, est_p, est_v = _arrays(estimate)
    if len(ref_i) == 0 or len(est_i) == 0:
        return NoteScores(0.0, 0.0, 0.0, ())
    on_precision, on_recall, on = mir_eval.transcription.precision_recall_f1_overlap(
        ref_i, ref_p, est_i, est_p, onset_tolerance=ONSET_TOLERANCE, offset_ratio=None
    )[:3]
    onoff = mir_eval.transcription.precision_recall_f1_overlap(
        ref_i, ref_p, est_i, est_p, onset_tolerance=ONSET_TOLERANCE
    )[2]
    vel = mir_eval.transcription_velocity.precision_recall_f1_overlap(
        ref_i, ref_p, ref_v, est_i, est_p, est_v, onset_tolerance=ONSET_TOLERANCE
    )[2]
    matched = mir_eval.transcription.match_notes(
        ref_i, ref_p, est_i, est_p, onset_tolerance=ONSET_TOLERANCE, offset_ratio=None
    )
    errors = tuple(float(est_i[j, 0] - ref_i[i, 0]) for i, j in matched)
    return NoteScores(
        float(on), float(onoff), float(vel), errors, float(on_precision), float(on_recall)
    )


#: How far from a reference onset the dynamics order looks for the note.
ORDER_WINDOW_S = 0.25


def velocity_triples(levels, reference) -> list[tuple[int, tuple[int | None, ...]]]:
    """``(pitch, velocities)`` for each reference note of the isolated-note files: the
    velocity heard at each level (``levels``: estimated notes of the pp, mf and ff files,
    each ``(onset, offset, pitch, velocity)``), or None where no note was found.

    At each level the note counted is the one of the same pitch nearest the reference onset
    (within ``ORDER_WINDOW_S``); other notes heard around it (a partial read as a note) do
    not stand in for it.
    """
    triples = []
    for onset, _, pitch, _ in reference:
        found = []
        for notes in levels:
            near = [
                (abs(n[0] - onset), n[3])
                for n in notes
                if n[2] == pitch and abs(n[0] - onset) <= ORDER_WINDOW_S
            ]
            found.append(min(near)[1] if near else None)
        triples.append((pitch, tuple(found)))
    return triples


def ordered(velocities: tuple[int | None, ...]) -> bool:
    """Whether every level was found and the velocities rise strictly with it."""
    return all(v is not None for v in velocities) and all(a < b for a, b in pairwise(velocities))


def pyin_range(instrument: str) -> tuple[float, float]:
    """pYIN's f0 search range for an instrument: its playing range, two semitones wider."""
    from midivae.music import get_instrument

    inst = get_instrument(instrument)
    return 440 * 2 ** ((inst.low - 2 - 69) / 12), 440 * 2 ** ((inst.high + 2 - 69) / 12)


def pyin_notes(audio: np.ndarray, sr: int, fmin: float, fmax: float, *, min_seconds=0.06):
    """The baseline: librosa.pyin's f0 -> rounded MIDI runs -> notes; velocity from RMS.

    A run of one pitch is also split at a detected onset (librosa's spectral-flux onsets)
    where the level dipped at least 6 dB just before it, so repeated notes count: pYIN calls
    even a faint release voiced, and a same-pitch repeat would otherwise merge with the note
    before it, whoever made the audio. (Splitting at every onset, vibrato's included, would
    cost pYIN far more than it gains.) The split goes where the rise starts: each onset is
    backtracked to the level minimum before it (librosa's ``onset_backtrack``), since the
    flux of a slow attack (a bowed violin) peaks ~60 ms into the note, past the 50 ms
    tolerance, and a note starting at a file's first sample would otherwise lose its first
    58 ms to a note of its own (measurements: docs/experiments.md, "Transcription speed and
    benches").
    Velocity maps the note's peak RMS level linearly from -60 dBFS (1) to 0 dBFS (127), the
    simplest calibrated loudness a sample-player user would get.
    """
    import librosa

    hop = 256
    f0, voiced, _ = librosa.pyin(
        audio, fmin=fmin, fmax=fmax, sr=sr, frame_length=2048, hop_length=hop
    )
    rms = librosa.feature.rms(y=audio, frame_length=2048, hop_length=hop)[0]
    level_db = 20 * np.log10(np.maximum(rms * np.sqrt(2), 1e-6))
    pitch = np.where(
        voiced & np.isfinite(f0), np.round(69 + 12 * np.log2(np.nan_to_num(f0, nan=1) / 440)), -1
    )
    detected = librosa.onset.onset_detect(y=audio, sr=sr, hop_length=hop, units="frames")
    starts = librosa.onset.onset_backtrack(detected, level_db) if len(detected) else detected
    # a re-attack only where the level dipped >= 6 dB just before it (not vibrato, not a swell)
    onsets = {
        int(start)
        for t, start in zip(detected, starts, strict=True)
        if t >= 4 and level_db[t - 4 : t + 1].min() <= level_db[t : t + 4].max() - 6.0
    }
    notes, start = [], 0
    frame_seconds = hop / sr
    min_frames = max(1, round(min_seconds / frame_seconds))
    for t in range(1, len(pitch) + 1):
        repeat = t in onsets and t - start >= min_frames
        if t == len(pitch) or pitch[t] != pitch[start] or repeat:
            if pitch[start] >= 0 and t - start >= min_frames:
                peak = float(level_db[start:t].max())
                velocity = int(np.clip(1 + 126 * (peak + 60) / 60, 1, 127))
                notes.append(
                    (start * frame_seconds, t * frame_seconds, int(pitch[start]), velocity)
                )
            start = t
    return notes
