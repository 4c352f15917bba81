"""Forward and inverse NSGT over a frame, batched over bands, inner loops compiled with numba.

Coefficients live in one flat complex buffer; bands that share a coefficient count form a
contiguous ``(n_bands, count)`` block, so each FFT-friendly length is one batched FFT call.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

import numpy as np
from numba import njit

from midivae.spectral import fft
from midivae.spectral.frame import NSGTFrame


class BandGroup(NamedTuple):
    """Bands sharing one coefficient count: rows ``bands`` of a block starting at ``start``."""

    bands: np.ndarray
    count: int
    start: int


@njit(cache=True, nogil=True)
def _gather(spectrum, length, centers, lengths, windows, window_offsets, offsets, counts, out):
    """Windowed slices of a half spectrum, re-centred at 0 into each band's coefficient slot.

    Band ``b`` takes spectrum sample ``centers[b] + m`` (the conjugate mirror above Nyquist,
    wrapped below 0) times window tap ``m`` into slot ``m mod counts[b]``, for ``m`` in
    ``[-(n // 2), n - n // 2)``; the other slots are zero.
    """
    half = length // 2
    for band in range(len(offsets)):
        n = lengths[band]
        m_count = counts[band]
        base = offsets[band]
        woff = window_offsets[band]
        center = centers[band]
        for k in range(n - n // 2, m_count - n // 2):
            out[base + k] = 0.0
        for m in range(-(n // 2), n - n // 2):
            index = center + m
            if index < 0:
                index += length
            if index <= half:
                value = spectrum[index]
            else:
                value = np.conj(spectrum[length - index])
            slot = m if m >= 0 else m + m_count
            tap = m if m >= 0 else m + n
            out[base + slot] = windows[woff + tap] * value


@njit(cache=True, nogil=True)
def _scatter(
    coefs, starts, sources, mirrored, first, last, weights, weight_offsets, offsets, counts, out
):
    """Overlap-add of each band's spectrum times its scaled dual window into a half spectrum.

    Atom ``a`` adds ``weights[a][t] * C[m]`` at ``out[starts[a] + t]`` for
    ``m = first[a] + t < last[a]``, where ``C`` is its source band's spectrum, read at
    ``-m`` and conjugated for a mirrored (negative-frequency) atom.
    """
    out[:] = 0.0
    for atom in range(len(starts)):
        src = sources[atom]
        m_count = counts[src]
        base = offsets[src]
        w0 = weight_offsets[atom]
        o0 = starts[atom]
        m0 = first[atom]
        if mirrored[atom]:
            for t in range(last[atom] - m0):
                k = -(m0 + t)
                if k < 0:
                    k += m_count
                out[o0 + t] += np.conj(coefs[base + k]) * weights[w0 + t]
        else:
            for t in range(last[atom] - m0):
                k = m0 + t
                if k < 0:
                    k += m_count
                out[o0 + t] += coefs[base + k] * weights[w0 + t]


class NSGT:
    """The NSGT pair of one frame: ``forward`` (analysis) and ``backward`` (numba synthesis).

    ``dtype`` float64 is exact to rounding (and equals the ``nsgt`` package); float32 halves
    the cost for iterative phase reconstruction. ``backward`` reuses internal work buffers, so
    one instance must not run in two threads at once.
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
        # band FFTs shared out over two threads by cost (rows x n log n)
        self._fft_shares = fft.share_out(
            [len(g.bands) * g.count * np.log2(max(g.count, 2)) for g in self.groups]
        )
        self.band_counts = counts.astype(np.int64)
        lengths = np.array([len(w) for w in frame.windows], dtype=np.int64)
        self._lengths = lengths
        self._windows = np.concatenate(frame.windows[:n_real]).astype(self.real_dtype)
        self._window_offsets = np.concatenate(([0], np.cumsum(lengths[: n_real - 1])))
        self._build_atoms(frame, lengths)
        self._local = threading.local()  # per-thread work buffers: the NSGT is shared

    def _build_atoms(self, frame: NSGTFrame, lengths: np.ndarray) -> None:
        """Synthesis atoms: every band whose window reaches the half spectrum ``[0, L/2]``.

        Each keeps the contiguous run of its taps that lands there, with the dual window
        already scaled by the coefficient count (the ``nsgt`` synthesis factor).
        """
        length, half = frame.length, frame.length // 2
        keep, first, last, weights = [], [], [], []
        for band in range(len(frame.windows)):
            n = int(lengths[band])
            ms = np.arange(-(n // 2), n - n // 2)
            inside = np.flatnonzero((frame.centers[band] + ms) % length <= half)
            if not len(inside):
                continue
            if np.any(np.diff(inside) != 1):
                raise ValueError(f"band {band} reaches the half spectrum twice")
            source = band if band < frame.n_real else 2 * frame.n_freqs + 2 - band
            taps = ms[inside]
            keep.append(band)
            first.append(taps[0])
            last.append(taps[-1] + 1)
            weights.append(frame.duals[band][taps % n] * frame.n_coefs[source])
        keep_arr = np.array(keep, dtype=np.int64)
        self._atom_mirrored = keep_arr >= frame.n_real
        self._atom_sources = np.where(
            self._atom_mirrored, 2 * frame.n_freqs + 2 - keep_arr, keep_arr
        )
        self._atom_first = np.array(first, dtype=np.int64)
        self._atom_last = np.array(last, dtype=np.int64)
        self._atom_starts = frame.centers[keep_arr] + self._atom_first
        self._weights = np.concatenate(weights).astype(self.real_dtype)
        self._weight_offsets = np.concatenate(([0], np.cumsum([len(w) for w in weights[:-1]])))

    def group_views(self, coefs: np.ndarray) -> list[np.ndarray]:
        """``(n_bands, count)`` views of a flat coefficient buffer, one per count."""
        return [
            coefs[start : start + len(bands) * count].reshape(len(bands), count)
            for bands, count, start in self.groups
        ]

    def forward(self, signal: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
        """Coefficients of a real signal of the frame's length, as one flat complex buffer.

        ``out`` (complex, ``size`` long) is filled and returned instead of a new buffer.
        """
        signal = np.asarray(signal, dtype=self.real_dtype)
        if signal.shape != (self.frame.length,):
            raise ValueError(f"expected a signal of {self.frame.length} samples")
        spectrum = fft.rfft(signal)
        coefs = np.empty(self.size, dtype=self.complex_dtype) if out is None else out
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
        views = self.group_views(coefs)
        fft.row_ffts(list(zip(views, views, strict=True)), self._fft_shares, inverse=True)
        return coefs

    def backward(self, coefs: np.ndarray) -> np.ndarray:
        """The real signal synthesised from a flat coefficient buffer (canonical dual frame)."""
        coefs = np.asarray(coefs, dtype=self.complex_dtype)
        work = getattr(self._local, "work", None)
        if work is None:  # reused across calls: fresh pages cost as much as the FFTs
            work = self._local.work = (
                np.empty(self.size, dtype=self.complex_dtype),
                np.empty(self.frame.length // 2 + 1, dtype=self.complex_dtype),
                np.empty((2, self.frame.length // 4), dtype=self.complex_dtype),
            )
        spectra, half, rows = work
        pairs = list(zip(self.group_views(coefs), self.group_views(spectra), strict=True))
        fft.row_ffts(pairs, self._fft_shares)
        _scatter(
            spectra,
            self._atom_starts,
            self._atom_sources,
            self._atom_mirrored,
            self._atom_first,
            self._atom_last,
            self._weights,
            self._weight_offsets,
            self.band_offsets,
            self.band_counts,
            half,
        )
        return fft.irfft(half, self.frame.length, work=rows)

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
