"""Posteriors -> notes: the HMM splits repeated notes, ignores blips, keeps timing."""

from __future__ import annotations

import numpy as np

from midivae.note_tracking import (
    TrackingSettings,
    onset_strength,
    track_monophonic,
    track_polyphonic,
)
from midivae.spectral import SpectralConfig, analyse, compress


def posteriors(sequence: list[tuple[int, int]], n_pitches: int = 5, noise: float = 0.0, rng=None):
    """(pitch or -1, n_frames) runs -> rest and pitch probabilities."""
    rows = []
    for pitch, frames in sequence:
        row = np.full(n_pitches + 1, 0.02)
        row[0 if pitch < 0 else pitch + 1] = 0.9
        rows.extend([row] * frames)
    probs = np.array(rows)
    if noise:
        probs = probs + noise * rng.uniform(size=probs.shape)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs[:, 0], probs[:, 1:]


def test_clean_sequence():
    rest, pitch = posteriors([(-1, 10), (2, 30), (4, 20), (-1, 15), (1, 25), (-1, 5)])
    notes = track_monophonic(rest, pitch, np.zeros_like(pitch))
    assert [(n.start, n.end, n.pitch) for n in notes] == [(10, 40, 2), (40, 60, 4), (75, 100, 1)]


def test_short_blips_are_not_notes(rng):
    rest, pitch = posteriors([(-1, 10), (2, 40), (3, 1), (2, 40), (-1, 10)], noise=0.3, rng=rng)
    notes = track_monophonic(rest, pitch, np.zeros_like(pitch))
    assert [(n.pitch) for n in notes] == [2]


def test_repeated_note_splits_on_onset_evidence():
    rest, pitch = posteriors([(-1, 5), (3, 60), (-1, 5)])
    onsets = np.zeros_like(pitch)
    onsets[5, 3] = 1.0
    onsets[35, 3] = 1.0
    notes = track_monophonic(rest, pitch, onsets)
    assert [(n.start, n.end, n.pitch) for n in notes] == [(5, 35, 3), (35, 65, 3)]
    assert len(track_monophonic(rest, pitch, np.zeros_like(pitch))) == 1


def test_minimum_length():
    rest, pitch = posteriors([(-1, 10), (1, 3), (-1, 10)])
    strict = track_monophonic(
        rest, pitch, np.zeros_like(pitch), TrackingSettings(min_note_frames=4)
    )
    loose = track_monophonic(rest, pitch, np.zeros_like(pitch), TrackingSettings(min_note_frames=2))
    assert strict == [] and len(loose) == 1


def test_polyphonic_keys():
    keys = np.zeros((50, 4))
    keys[5:30, 0] = 0.9
    keys[10:40, 2] = 0.8
    notes = track_polyphonic(keys, np.zeros_like(keys))
    assert [(n.start, n.end, n.pitch) for n in notes] == [(5, 30, 0), (10, 40, 2)]


def test_onset_strength_peaks_at_a_new_note():
    config = SpectralConfig()
    sr = config.sample_rate
    t = np.arange(sr * 2) / sr
    f0 = 440.0
    tone = sum(0.2 / h * np.sin(2 * np.pi * f0 * h * t) for h in range(1, 5))
    tone[: sr // 2] = 0.0  # the note starts at 0.5 s
    strength = onset_strength(compress(analyse(tone)), np.array([69, 72]), config)
    onset_frame = round(0.5 / config.frame_seconds)
    assert abs(int(strength[:, 0].argmax()) - onset_frame) <= 3
    assert strength[:, 0].max() > 0.8
    assert strength[onset_frame + 20 :, 0].max() < 0.2
    assert strength[:, 1].max() < strength[:, 0].max()
