"""Per-note pitch bends: vibrato and glides as MIDI pitch-wheel curves.

A note's pitch is its nearest semitone; what a player does around it (vibrato, a glide into
the note, a slightly sharp high note) is read from the tuning-corrected constant-Q frames: in
each of the note's frames, the peak of each of its first partials near where it should be
(within half a semitone) is located to a fraction of a bin by a parabola through the three
bins around it; the highest partial heard well (its shorter constant-Q window follows
vibrato) gives the offset, and the frame-by-frame offsets are median-filtered. A part gets
one curve (its notes follow each other; a polyphonic part, or one whose notes overlap, gets
none: pitch bend moves a whole channel), at the note's bend from its onset and back to zero
at its end.
"""

from __future__ import annotations

import numpy as np

from midivae.scores import Curve, NoteEvent
from midivae.spectral import SpectralConfig
from midivae.transcription.timing import note_frames, solo_curves

#: Partials looked at, how far from the expected bin a peak may sit (bins: 2 = 50 cents at 48
#: per octave), the median filter's length (frames), the smallest change written (semitones)
#: and the largest bend (semitones; a glide from further away starts there).
PARTIALS = 4
SEARCH_BINS = 2
SMOOTH_FRAMES = 5
STEP_SEMITONES = 0.02
MAX_SEMITONES = 2.0
#: A partial counts as heard within this many dB of the note's strongest in that frame.
HEARD_DB = 20.0


def note_offsets(amplitude: np.ndarray, note: NoteEvent, config: SpectralConfig) -> np.ndarray:
    """The note's pitch offset (semitones, from its nearest semitone) in each of its frames."""
    frames = note_frames(amplitude, note, config)
    if len(frames) == 0:
        return np.zeros(0)
    offsets, levels = [], []
    rows = np.arange(len(frames))
    for k in range(1, PARTIALS + 1):
        centre = config.midi_to_bin(note.pitch) + config.bins_per_octave * np.log2(k)
        low, high = int(np.floor(centre)) - SEARCH_BINS, int(np.ceil(centre)) + SEARCH_BINS
        if low < 1 or high >= config.n_bins - 1:
            continue
        window = frames[:, low : high + 1]
        peak = low + np.argmax(window, axis=1)
        left, mid, right = (frames[rows, peak + d] for d in (-1, 0, 1))
        curvature = left - 2 * mid + right
        shift = np.where(curvature < 0, 0.5 * (left - right) / np.minimum(curvature, -1e-12), 0.0)
        offsets.append((peak + np.clip(shift, -0.5, 0.5) - centre) * 12.0 / config.bins_per_octave)
        levels.append(mid)
    if not offsets:
        return np.zeros(len(frames))
    # The highest partial still within HEARD_DB of the strongest: its shorter constant-Q
    # window follows vibrato that the fundamental's window (156 ms at A4) averages away.
    levels_db = 20 * np.log10(np.maximum(np.array(levels), 1e-12))
    heard = levels_db >= levels_db.max(axis=0) - HEARD_DB
    chosen = len(offsets) - 1 - np.argmax(heard[::-1], axis=0)
    best = np.array(offsets)[chosen, rows]
    if len(best) >= SMOOTH_FRAMES:
        from scipy.signal import medfilt

        best = medfilt(best, SMOOTH_FRAMES)
    return np.clip(best, -MAX_SEMITONES, MAX_SEMITONES)


def pitch_bends(
    amplitude: np.ndarray, notes: list[NoteEvent], config: SpectralConfig
) -> dict[int, Curve]:
    """Per part index, its notes' bends as one curve (semitones, a value where it changes by
    ``STEP_SEMITONES`` or more); parts whose notes overlap get none (one wheel cannot bend
    them apart)."""
    return solo_curves(
        notes,
        lambda note: note_offsets(amplitude, note, config),
        config,
        rest=0.0,
        step=STEP_SEMITONES,
        decimals=3,
    )
