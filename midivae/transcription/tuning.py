"""The recording's reference pitch (A4), estimated from its NSGT amplitude frames.

At 48 bins per octave a semitone is 4 bins and a bin 25 cents. Every clear spectral peak
(within 40 dB of its frame's loudest) is located with sub-bin precision; its distance to the
nearest equal-tempered semitone (relative to A4 = 440 Hz) is a point on a 100-cent circle. The
amplitude-weighted circular mean of those points is the recording's offset: robust to the
few cents by which harmonics miss equal temperament, and defined within +-50 cents (a larger
offset is the same as a smaller one on the neighbouring semitone).
"""

from __future__ import annotations

import numpy as np

from midivae.spectral import SpectralConfig

CENTS_PER_SEMITONE = 100.0


def peak_positions(frames: np.ndarray, floor_db: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """Fractional bin positions and amplitudes of the spectral peaks of every frame."""
    log_amp = np.log(np.maximum(frames, 1e-9))
    left, centre, right = log_amp[:, :-2], log_amp[:, 1:-1], log_amp[:, 2:]
    floor = log_amp.max(axis=1, keepdims=True) - floor_db / 20.0 * np.log(10.0)
    is_peak = (centre > left) & (centre >= right) & (centre > floor) & (frames[:, 1:-1] > 1e-5)
    frame_index, bin_index = np.nonzero(is_peak)
    a = left[frame_index, bin_index]
    b = centre[frame_index, bin_index]
    c = right[frame_index, bin_index]
    denominator = a - 2.0 * b + c
    delta = np.where(
        denominator < 0, 0.5 * (a - c) / np.where(denominator < 0, denominator, 1.0), 0.0
    )
    return bin_index + 1 + delta, frames[frame_index, bin_index + 1]


class TuningMeter:
    """The tuning offset measured over frames added piece by piece (:meth:`add` each, then
    :meth:`offset_cents`): the circular mean over all of them, as over the whole at once."""

    def __init__(self, config: SpectralConfig | None = None) -> None:
        self.config = config or SpectralConfig()
        self._sum, self._weight = 0j, 0.0

    def add(self, frames: np.ndarray) -> None:
        positions, amplitudes = peak_positions(np.asarray(frames, dtype=np.float64))
        if len(positions) == 0:
            return
        bins_per_semitone = self.config.bins_per_octave / 12.0
        a4_bin = self.config.midi_to_bin(69)
        cents = (positions - a4_bin) / bins_per_semitone * CENTS_PER_SEMITONE
        angle = 2.0 * np.pi * cents / CENTS_PER_SEMITONE
        weights = amplitudes**2
        self._sum += np.sum(weights * np.exp(1j * angle))
        self._weight += float(np.sum(weights))

    def offset_cents(self) -> float:
        """Offset from A4 = 440 Hz in cents, within (-50, 50]; 0.0 without clear peaks."""
        if self._weight == 0.0 or abs(self._sum) < 1e-12 * self._weight:
            return 0.0
        offset = float(np.angle(self._sum) / (2.0 * np.pi) * CENTS_PER_SEMITONE)
        return 50.0 if offset == -50.0 else offset


def estimate_offset_cents(frames: np.ndarray, config: SpectralConfig | None = None) -> float:
    """Offset of the recording's tuning from A4 = 440 Hz in cents, within (-50, 50].

    Returns 0.0 when there are no clear peaks (silence, noise).
    """
    meter = TuningMeter(config)
    meter.add(frames)
    return meter.offset_cents()


def reference_hz(offset_cents: float) -> float:
    """The A4 frequency of a tuning ``offset_cents`` away from 440 Hz."""
    return 440.0 * 2.0 ** (offset_cents / 1200.0)
