"""The NSGT frame: Hann windows in frequency, their positions and the canonical dual.

Built with the same construction as the ``nsgt`` package (``nsgfwin`` non-sliced, ``calcwinrange``,
``nsdual``) for a real signal of length ``length``: one band at DC, one per centre frequency, one
at Nyquist, and the mirrored bands of negative frequency that a real transform keeps implicit.
Coefficient counts may be raised above the window lengths (still a painless frame) so that bands
can be grouped into a few FFT-friendly lengths and transformed in batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

MIN_WINDOW = 4
# Mantissas (x 1/16) of the FFT-friendly coefficient counts: 2^a * {16, 18, 20, 24, 28} / 16.
_LADDER = np.array([16, 18, 20, 24, 28])


def hann_zero_phase(length: int) -> np.ndarray:
    """Periodic Hann window with its peak at index 0 (the ``nsgt`` ``hannwin``)."""
    return 0.5 + 0.5 * np.cos(np.arange(length) * (2.0 * np.pi / length))


def friendly_length(n: int) -> int:
    """Smallest ``2^a * {1, 9/8, 5/4, 3/2, 7/4}`` that is ``>= n`` (a fast FFT size)."""
    if n <= 16:
        return int(n)
    octave = 2 ** int(np.floor(np.log2(n / 16)))
    candidates = np.concatenate([_LADDER * octave, _LADDER * octave * 2])
    return int(candidates[candidates >= n].min())


@dataclass(frozen=True, eq=False)
class NSGTFrame:
    """Windows, positions and dual windows of a real-signal NSGT of one signal length.

    ``centers``, ``windows``, ``duals`` and ``n_coefs`` cover all ``2 * n_freqs + 2`` bands in
    the ``nsgt`` order: DC, the centre frequencies, Nyquist, then the mirrored bands from the
    top down. Only the first ``n_freqs + 2`` carry coefficients; band ``n_freqs + 2 + i``
    mirrors band ``n_freqs - i``.
    """

    length: int
    sample_rate: int
    n_freqs: int
    centers: np.ndarray
    windows: tuple[np.ndarray, ...]
    duals: tuple[np.ndarray, ...]
    n_coefs: np.ndarray

    @property
    def n_real(self) -> int:
        """Number of bands with coefficients (DC, every centre frequency, Nyquist)."""
        return self.n_freqs + 2

    def mirror_source(self, band: int) -> int:
        """The coefficient band that a mirrored band ``band`` is built from."""
        return 2 * self.n_freqs + 2 - band

    def band_times(self, band: int) -> np.ndarray:
        """Sample positions of the coefficients of ``band``."""
        return np.arange(self.n_coefs[band]) * (self.length / self.n_coefs[band])


def window_lengths(freqs: np.ndarray, sample_rate: float, length: int) -> np.ndarray:
    """Window lengths (in frequency samples) of all bands, as ``nsgt``'s ``nsgfwin``."""
    fbas = _scaled_positions(freqs, sample_rate, length)
    n_freqs = len(freqs)
    lengths = np.empty(len(fbas), dtype=np.int64)
    lengths[0] = np.round(2.0 * fbas[1])
    lengths[1 : 2 * n_freqs + 1] = np.round(fbas[2 : 2 * n_freqs + 2] - fbas[0 : 2 * n_freqs])
    lengths[-1] = np.round(length - fbas[-2])
    return np.maximum(lengths, MIN_WINDOW)


def _scaled_positions(freqs: np.ndarray, sample_rate: float, length: int) -> np.ndarray:
    nyquist = sample_rate / 2.0
    edges = np.concatenate(([0.0], freqs, [nyquist]))
    return np.concatenate((edges, sample_rate - edges[-2:0:-1])) * (float(length) / sample_rate)


def build_frame(
    freqs: np.ndarray,
    sample_rate: int,
    length: int,
    n_coefs: np.ndarray | None = None,
) -> NSGTFrame:
    """Build the frame for centre frequencies ``freqs`` (Hz, increasing, below Nyquist).

    ``n_coefs`` (one per band, all ``2 * len(freqs) + 2``) defaults to the window lengths,
    which is exactly the ``nsgt`` package's frame; larger counts oversample a band.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    if freqs[0] <= 0 or freqs[-1] >= sample_rate / 2 or np.any(np.diff(freqs) <= 0):
        raise ValueError("centre frequencies must increase strictly inside (0, Nyquist)")
    n_freqs = len(freqs)
    lengths = window_lengths(freqs, sample_rate, length)
    fbas = _scaled_positions(freqs, sample_rate, length)
    # As nsgt: the top band is re-centred between its neighbour and Nyquist, and mirrored.
    fbas[n_freqs] = (fbas[n_freqs - 1] + fbas[n_freqs + 1]) / 2.0
    fbas[n_freqs + 2] = length - fbas[n_freqs]
    centers = np.round(fbas).astype(np.int64)
    counts = lengths.copy() if n_coefs is None else np.asarray(n_coefs, dtype=np.int64)
    if counts.shape != lengths.shape or np.any(counts < lengths):
        raise ValueError("n_coefs must give every band at least its window length")
    windows = tuple(hann_zero_phase(int(n)) for n in lengths)
    duals = _canonical_duals(windows, centers, counts, length)
    return NSGTFrame(length, sample_rate, n_freqs, centers, windows, duals, counts)


def _canonical_duals(
    windows: tuple[np.ndarray, ...], centers: np.ndarray, counts: np.ndarray, length: int
) -> tuple[np.ndarray, ...]:
    """Painless-case canonical dual windows ``g / sum_k(M_k * g_k^2)`` (``nsgt``'s ``nsdual``)."""
    diagonal = np.zeros(length)
    positions = []
    for window, center, count in zip(windows, centers, counts, strict=True):
        n = len(window)
        offsets = np.arange(-(n // 2), n - n // 2)
        index = (center + offsets) % length
        np.add.at(diagonal, index, window[offsets % n] ** 2 * count)
        positions.append((index, offsets % n))
    duals = []
    for window, (index, taps) in zip(windows, positions, strict=True):
        dual = np.empty_like(window)
        dual[taps] = window[taps] / diagonal[index]
        duals.append(dual)
    return tuple(duals)


def friendly_counts(freqs: np.ndarray, sample_rate: int, length: int) -> np.ndarray:
    """Per-band coefficient counts rounded up to FFT-friendly sizes, mirrors matching sources."""
    lengths = window_lengths(np.asarray(freqs, dtype=np.float64), sample_rate, length)
    n_freqs = len(freqs)
    counts = np.array([friendly_length(int(n)) for n in lengths], dtype=np.int64)
    for band in range(n_freqs + 2, 2 * n_freqs + 2):
        source = 2 * n_freqs + 2 - band
        counts[band] = max(counts[source], friendly_length(int(lengths[band])))
        counts[source] = counts[band]
    return counts


def grid_counts(freqs: np.ndarray, sample_rate: int, length: int, n_frames: int) -> np.ndarray:
    """Per-band coefficient counts that are whole multiples of ``n_frames``.

    A band whose window fits in ``n_frames`` coefficients gets exactly ``n_frames``: its
    coefficients are then the band signal sampled on the frame grid (bandlimited, exact),
    rather than values interpolated from a coarser grid, which would vary with the signal
    length. Wider bands get ``r * n_frames`` samples, ``r`` per frame.
    """
    lengths = window_lengths(np.asarray(freqs, dtype=np.float64), sample_rate, length)
    n_freqs = len(freqs)
    for band in range(n_freqs + 2, 2 * n_freqs + 2):
        source = 2 * n_freqs + 2 - band
        lengths[source] = lengths[band] = max(lengths[source], lengths[band])
    return n_frames * -(-lengths // n_frames)


@lru_cache(maxsize=8)
def cached_frame(
    fmin: float,
    bins_per_octave: int,
    n_bins: int,
    sample_rate: int,
    hop_length: int,
    n_frames: int,
    on_grid: bool,
) -> NSGTFrame:
    """The runtime frame for blocks of ``n_frames`` frames, built once per block length.

    ``on_grid`` selects :func:`grid_counts` (analysis onto the frame grid); otherwise
    :func:`friendly_counts` (the least redundant fast frame, for iterative synthesis).
    """
    freqs = fmin * 2.0 ** (np.arange(n_bins) / bins_per_octave)
    length = n_frames * hop_length
    if on_grid:
        counts = grid_counts(freqs, sample_rate, length, n_frames)
    else:
        counts = friendly_counts(freqs, sample_rate, length)
    return build_frame(freqs, sample_rate, length, counts)
