"""Forward and inverse NSGT over a frame, batched over bands, inner loops compiled with numba.

Coefficients live in one flat complex buffer; bands that share a coefficient count form a
contiguous ``(n_bands, count)`` block, so each FFT-friendly length is one batched FFT call.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.fft
from numba import njit

from midivae.spectral.frame import NSGTFrame


class BandGroup(NamedTuple):
    """Bands sharing one coefficient count: rows ``bands`` of a block starting at ``start``."""

    bands: np.ndarray
    count: int
    start: int


@njit(cache=True, nogil=True)
def _gather(spectrum, length, centers, lengths, windows, window_offsets, offsets, counts, out):
    """Windowed slices of a half spectrum, re-centred at 0 into each band's coefficient slot."""
    half = length // 2
    for band in range(len(offsets)):
        n = lengths[band]
        m_count = counts[band]
        base = offsets[band]
        woff = window_offsets[band]
        for k in range(m_count):
            out[base + k] = 0.0
        for m in range(-(n // 2), n - n // 2):
            index = (centers[band] + m) % length
            if index <= half:
                value = spectrum[index]
            else:
                value = np.conj(spectrum[length - index])
            out[base + m % m_count] = windows[woff + m % n] * value


@njit(cache=True, nogil=True)
def _scatter(
    coefs,
    length,
    centers,
    lengths,
    duals,
    dual_offsets,
    sources,
    mirrored,
    offsets,
    counts,
    first,
    last,
    out,
):
    """Overlap-add of each band's spectrum times its dual window into a half spectrum."""
    half = length // 2
    for k in range(half + 1):
        out[k] = 0.0
    for atom in range(len(centers)):
        n = lengths[atom]
        src = sources[atom]
        m_count = counts[src]
        base = offsets[src]
        doff = dual_offsets[atom]
        for m in range(first[atom], last[atom]):
            index = (centers[atom] + m) % length
            if index > half:
                continue
            if mirrored[atom]:
                value = np.conj(coefs[base + (-m) % m_count])
            else:
                value = coefs[base + m % m_count]
            out[index] += value * (duals[doff + m % n] * m_count)


class NSGT:
    """The NSGT pair of one frame: ``forward`` (analysis) and ``backward`` (numba synthesis).

    ``dtype`` float64 is exact to rounding (and equals the ``nsgt`` package); float32 halves
    the cost for iterative phase reconstruction.
    """

    def __init__(self, frame: NSGTFrame, dtype: type = np.float64) -> None:
        self.frame = frame
        self.real_dtype = np.dtype(dtype)
        self.complex_dtype = np.result_type(self.real_dtype, np.complex64)
        n_real = frame.n_real
        counts = frame.n_coefs[:n_real]
        # Order bands by coefficient count so each count is one contiguous block.
        order = np.argsort(counts, kind="stable")
        self.band_offsets = np.empty(n_real, dtype=np.int64)
        self.groups: list[BandGroup] = []
        position = 0
        for count in np.unique(counts):
            bands = order[counts[order] == count]
            self.groups.append(BandGroup(bands, int(count), position))
            self.band_offsets[bands] = position + np.arange(len(bands)) * count
            position += len(bands) * int(count)
        self.size = position
        self.band_counts = counts.astype(np.int64)
        lengths = np.array([len(w) for w in frame.windows], dtype=np.int64)
        self._lengths = lengths
        self._windows = np.concatenate(frame.windows[:n_real]).astype(self.real_dtype)
        self._window_offsets = np.concatenate(([0], np.cumsum(lengths[: n_real - 1])))
        self._build_atoms(frame, lengths)

    def _build_atoms(self, frame: NSGTFrame, lengths: np.ndarray) -> None:
        """Synthesis atoms: every band whose window reaches the half spectrum ``[0, L/2]``."""
        n_all = len(frame.windows)
        length, half = frame.length, frame.length // 2
        keep, first, last = [], [], []
        for band in range(n_all):
            n = int(lengths[band])
            ms = np.arange(-(n // 2), n - n // 2)
            inside = np.flatnonzero((frame.centers[band] + ms) % length <= half)
            if len(inside):
                keep.append(band)
                first.append(ms[inside[0]])
                last.append(ms[inside[-1]] + 1)
        keep_arr = np.array(keep, dtype=np.int64)
        n_real = frame.n_real
        mirrored = keep_arr >= n_real
        sources = np.where(mirrored, 2 * frame.n_freqs + 2 - keep_arr, keep_arr)
        self._atom_centers = frame.centers[keep_arr]
        self._atom_lengths = lengths[keep_arr]
        self._atom_sources = sources
        self._atom_mirrored = mirrored
        self._atom_first = np.array(first, dtype=np.int64)
        self._atom_last = np.array(last, dtype=np.int64)
        duals = [frame.duals[b] for b in keep]
        self._duals = np.concatenate(duals).astype(self.real_dtype)
        self._dual_offsets = np.concatenate(([0], np.cumsum([len(d) for d in duals[:-1]])))

    def group_views(self, coefs: np.ndarray) -> list[np.ndarray]:
        """``(n_bands, count)`` views of a flat coefficient buffer, one per count."""
        return [
            coefs[start : start + len(bands) * count].reshape(len(bands), count)
            for bands, count, start in self.groups
        ]

    def forward(self, signal: np.ndarray) -> np.ndarray:
        """Coefficients of a real signal of the frame's length, as one flat complex buffer."""
        signal = np.asarray(signal, dtype=self.real_dtype)
        if signal.shape != (self.frame.length,):
            raise ValueError(f"expected a signal of {self.frame.length} samples")
        spectrum = scipy.fft.rfft(signal)
        coefs = np.empty(self.size, dtype=self.complex_dtype)
        _gather(
            spectrum,
            self.frame.length,
            self.frame.centers[: self.frame.n_real],
            self._lengths[: self.frame.n_real],
            self._windows,
            self._window_offsets,
            self.band_offsets,
            self.band_counts,
            coefs,
        )
        for view in self.group_views(coefs):
            view[:] = scipy.fft.ifft(view, axis=1, overwrite_x=True)
        return coefs

    def backward(self, coefs: np.ndarray) -> np.ndarray:
        """The real signal synthesised from a flat coefficient buffer (canonical dual frame)."""
        spectra = np.array(coefs, dtype=self.complex_dtype, copy=True)
        for view in self.group_views(spectra):
            view[:] = scipy.fft.fft(view, axis=1, overwrite_x=True)
        half = np.empty(self.frame.length // 2 + 1, dtype=self.complex_dtype)
        _scatter(
            spectra,
            self.frame.length,
            self._atom_centers,
            self._atom_lengths,
            self._duals,
            self._dual_offsets,
            self._atom_sources,
            self._atom_mirrored,
            self.band_offsets,
            self.band_counts,
            self._atom_first,
            self._atom_last,
            half,
        )
        return scipy.fft.irfft(half, n=self.frame.length)

    def band(self, coefs: np.ndarray, band: int) -> np.ndarray:
        """The coefficients of one band (a view into the flat buffer)."""
        start = self.band_offsets[band]
        return coefs[start : start + self.band_counts[band]]

    def to_bands(self, coefs: np.ndarray) -> list[np.ndarray]:
        """Per-band coefficient arrays in band order (the ``nsgt`` package's layout)."""
        return [self.band(coefs, b) for b in range(self.frame.n_real)]

    def from_bands(self, bands: list[np.ndarray]) -> np.ndarray:
        """A flat buffer from per-band arrays in band order."""
        coefs = np.empty(self.size, dtype=self.complex_dtype)
        for b, values in enumerate(bands):
            self.band(coefs, b)[:] = values
        return coefs
