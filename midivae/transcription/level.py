"""A take's recording level against the level the presets were trained at.

Velocities are read from calibrated levels: every preset learned from renders at one reference
gain (README, Levels), where a note's level (the peak of its 50 ms RMS) spans about −51 dBFS
(the piano's pp) to −22 dBFS (the flute's and alto sax's ff), a little more at velocity 127
and in chords. A take's loud level is the 95th percentile of its 50 ms RMS over the frames
within 40 dB of its loudest. Outside ``TRAINED_RANGE_DB`` (a mix normalised near full scale, a
field recording far down) it reads as nothing in training did: every velocity 127, or
velocities crowded at the bottom with quiet re-attacks merged. Such a take is scaled so that
its loud level sits at ``TARGET_DB``, between the reference's mf and ff: its velocities keep
their order and spread, their absolute level is a guess (and said so).
"""

from __future__ import annotations

import numpy as np

#: Loud levels of takes read as they are (dBFS): from just under the piano's pp at the
#: reference (-51) to 6 dB over the flute's ff (-22).
TRAINED_RANGE_DB = (-52.0, -16.0)
#: Where a take outside that range has its loud level put: the mean of the five instruments'
#: reference mf (-31.1 dBFS) and ff (-25.2).
TARGET_DB = -28.0
RMS_SECONDS = 0.05
HOP_SECONDS = 0.01
SOUNDING_DB = 40.0
PERCENTILE = 95.0


class LoudLevel:
    """A take's loud level measured piece by piece (:meth:`add` each piece in order, then
    :meth:`level_db`): the 50 ms windows every 10 ms, as over the whole take at once."""

    def __init__(self, sample_rate: int) -> None:
        self.width = int(RMS_SECONDS * sample_rate)
        self.hop = max(1, int(HOP_SECONDS * sample_rate))
        self._tail = np.zeros(0)  # the samples a window that starts in them still needs
        self._start = 0  # the take sample that _tail begins at
        self._next = 0  # the next window's first sample
        self._power: list[np.ndarray] = []

    def add(self, piece: np.ndarray) -> None:
        samples = np.concatenate([self._tail, np.asarray(piece, dtype=np.float64)])
        end = self._start + len(samples)
        starts = np.arange(self._next, end - self.width + 1, self.hop)
        if len(starts):
            cumulative = np.concatenate([[0.0], np.cumsum(samples**2)])
            local = starts - self._start
            self._power.append((cumulative[local + self.width] - cumulative[local]) / self.width)
            self._next = int(starts[-1]) + self.hop
        self._tail = samples[self._next - self._start :]  # from the next window's start
        self._start = self._next

    def level_db(self) -> float:
        """The 95th percentile of the 50 ms RMS over the windows within 40 dB of the loudest;
        ``-inf`` for silence or a take shorter than one window."""
        power = np.concatenate(self._power) if self._power else np.zeros(0)
        if len(power) == 0 or not np.any(power > 0):
            return float("-inf")
        levels = 10 * np.log10(np.maximum(power, 1e-20))
        sounding = levels[levels > levels.max() - SOUNDING_DB]
        return float(np.percentile(sounding, PERCENTILE))


def loud_level_db(audio: np.ndarray, sample_rate: int) -> float:
    """The take's loud level (dBFS): the 95th percentile of its 50 ms RMS over the frames
    within 40 dB of its loudest; ``-inf`` for silence."""
    meter = LoudLevel(sample_rate)
    meter.add(audio)
    return meter.level_db()


def correction_db(level_db: float) -> float:
    """The gain that brings a take of loud level ``level_db`` to ``TARGET_DB`` when it lies
    outside ``TRAINED_RANGE_DB`` (0 inside it or for silence)."""
    low, high = TRAINED_RANGE_DB
    if not np.isfinite(level_db) or low <= level_db <= high:
        return 0.0
    return TARGET_DB - level_db


def describe_correction(gain_db: float, level_db: float) -> str:
    """The notice for a take scaled by ``gain_db``, in plain words."""
    if gain_db < 0:
        return (
            f"loud recording (its loud passages at {level_db:.0f} dBFS, louder than the "
            f"presets learned from): read {-gain_db:.0f} dB quieter, so velocities keep their "
            "order but not an absolute level; --gain-db or --calibrated to choose yourself"
        )
    return (
        f"quiet recording (its loud passages at {level_db:.0f} dBFS, quieter than the "
        f"presets learned from): read {gain_db:.0f} dB louder, so velocities keep their "
        "order but not an absolute level; --gain-db or --calibrated to choose yourself"
    )
