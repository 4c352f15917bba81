"""Per-note expression: the level inside each note as a MIDI CC11 curve.

A note's velocity says how loud it starts; a held note that swells or fades says more. In
each of the note's frames its level is the power of its first partials (the bins within a
quarter tone of each), and CC11 follows that level relative to the note's loudest frame on
the General MIDI curve (gain in dB = 40 log10(value / 127)), back to full at the next note.
A part gets one curve when its notes follow each other (CC11 acts on a whole channel).
"""

from __future__ import annotations

import numpy as np

from midivae.scores import Curve, NoteEvent
from midivae.spectral import SpectralConfig
from midivae.transcription.timing import note_frames, solo_curves

PARTIALS = 6
#: Half-width (bins) of a partial's band, the quietest level written (dB under the note's
#: peak), the smallest change written (in CC11 units of 1/127) and the smoothing (frames).
HALF_WIDTH_BINS = 1
FLOOR_DB = -40.0
STEP = 3 / 127
SMOOTH_FRAMES = 5


def note_levels_db(amplitude: np.ndarray, note: NoteEvent, config: SpectralConfig) -> np.ndarray:
    """The note's level (dB) in each of its frames: the power of its first partials."""
    frames = note_frames(amplitude, note, config)
    power = np.zeros(len(frames))
    for k in range(1, PARTIALS + 1):
        centre = round(config.midi_to_bin(note.pitch) + config.bins_per_octave * np.log2(k))
        low, high = centre - HALF_WIDTH_BINS, centre + HALF_WIDTH_BINS + 1
        if low >= 0 and high <= config.n_bins:
            power += (frames[:, low:high] ** 2).sum(axis=1)
    levels = 10 * np.log10(np.maximum(power, 1e-20))
    if len(levels) >= SMOOTH_FRAMES:
        from scipy.ndimage import uniform_filter1d

        levels = uniform_filter1d(levels, SMOOTH_FRAMES, mode="nearest")
    return levels


def expression_curves(
    amplitude: np.ndarray, notes: list[NoteEvent], config: SpectralConfig
) -> dict[int, Curve]:
    """Per part index, CC11 (0-1) following each note's level under its peak; parts whose
    notes overlap get none."""

    def gains(note: NoteEvent) -> np.ndarray:
        levels = note_levels_db(amplitude, note, config)
        if len(levels) == 0:
            return levels
        return 10.0 ** (np.maximum(levels - levels.max(), FLOOR_DB) / 40.0)

    return solo_curves(notes, gains, config, rest=1.0, step=STEP, decimals=4)
