"""Real FFTs of long signals split into two half-size transforms that run on two threads,
and batches of band FFTs shared out over two threads.

A real signal ``x`` of length ``L`` (a multiple of 4) is packed as ``z = x[0::2] + i x[1::2]``
(``N = L / 2`` complex samples); one radix-2 step splits ``z``'s length-``N`` transform into two
length-``N / 2`` transforms, which ``scipy.fft`` runs in parallel as a batch of two rows. The
O(L) packing and twiddle steps are numba loops. On this project's 2-core machines a single
1-D FFT cannot use the second core; this lets the one big FFT of each NSGT direction use both
while staying exact to rounding (tests compare with ``numpy.fft``; measurements:
docs/experiments.md, "Spectral front end").
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import scipy.fft
from numba import njit

WORKERS = 2
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


@lru_cache(maxsize=16)
def _twiddles(length: int, dtype: np.dtype) -> np.ndarray:
    """``exp(2 pi i j / length)`` for ``j = 0 .. length / 2``, in complex ``dtype``."""
    return np.exp(2j * math.pi * np.arange(length // 2 + 1) / length).astype(dtype)


def _rows(length: int, dtype: np.dtype, work: np.ndarray | None) -> np.ndarray:
    shape = (2, length // 4)
    if work is not None and work.shape == shape and work.dtype == dtype:
        return work
    return np.empty(shape, dtype=dtype)


@njit(cache=True, nogil=True)
def _pack_inverse(half_spectrum, twiddle, rows):
    """Rows of the two half-size inverse transforms from ``rfft`` output of length ``N + 1``."""
    n = len(half_spectrum) - 1
    h = n // 2
    for j in range(h):
        for part in range(2):
            jj = j + part * h
            if jj == 0:  # as numpy: imaginary parts at DC and Nyquist are ignored
                a = half_spectrum[0].real + 0j
                b = half_spectrum[n].real + 0j
            else:
                a = half_spectrum[jj]
                b = np.conj(half_spectrum[n - jj])
            even = 0.5 * (a + b)
            odd = 0.5 * (a - b) * twiddle[jj]
            z = even + 1j * odd
            if part == 0:
                z0 = z
            else:
                z1 = z
        rows[0, j] = z0 + z1
        rows[1, j] = (z0 - z1) * twiddle[2 * j]


@njit(cache=True, nogil=True)
def _unpack_inverse(rows, out):
    h = rows.shape[1]
    for m in range(h):
        even = 0.5 * rows[0, m]
        odd = 0.5 * rows[1, m]
        out[4 * m] = even.real
        out[4 * m + 1] = even.imag
        out[4 * m + 2] = odd.real
        out[4 * m + 3] = odd.imag


@njit(cache=True, nogil=True)
def _pack_forward(signal, rows):
    h = rows.shape[1]
    for m in range(h):
        rows[0, m] = signal[4 * m] + 1j * signal[4 * m + 1]
        rows[1, m] = signal[4 * m + 2] + 1j * signal[4 * m + 3]


@njit(cache=True, nogil=True)
def _unpack_forward(rows, twiddle, out):
    h = rows.shape[1]
    n = 2 * h
    z = np.empty(n, dtype=rows.dtype)
    for j in range(h):  # the last radix-2 butterfly: z's length-n transform
        t = np.conj(twiddle[2 * j]) * rows[1, j]
        z[j] = rows[0, j] + t
        z[j + h] = rows[0, j] - t
    for j in range(n + 1):  # split z's transform into those of x[0::2] and x[1::2]
        za = z[j % n]
        zb = np.conj(z[(n - j) % n])
        out[j] = 0.5 * (za + zb) - 0.5j * np.conj(twiddle[j]) * (za - zb)


def rfft(signal: np.ndarray, *, work: np.ndarray | None = None) -> np.ndarray:
    """``numpy.fft.rfft`` of a real signal (length a multiple of 4), on two threads.

    ``work`` is an optional reusable complex buffer of shape ``(2, length // 4)``.
    """
    length = len(signal)
    if length % 4:
        return scipy.fft.rfft(signal)
    dtype = np.result_type(signal.dtype, np.complex64)
    rows = _rows(length, dtype, work)
    _pack_forward(signal, rows)
    rows = scipy.fft.fft(rows, axis=1, workers=WORKERS, overwrite_x=True)
    out = np.empty(length // 2 + 1, dtype=rows.dtype)
    _unpack_forward(rows, _twiddles(length, rows.dtype), out)
    return out


def irfft(half_spectrum: np.ndarray, length: int, *, work: np.ndarray | None = None) -> np.ndarray:
    """``numpy.fft.irfft(half_spectrum, n=length)`` (length a multiple of 4), on two threads.

    ``work`` is an optional reusable complex buffer of shape ``(2, length // 4)``.
    """
    if length % 4 or len(half_spectrum) != length // 2 + 1:
        return scipy.fft.irfft(half_spectrum, n=length)
    rows = _rows(length, half_spectrum.dtype, work)
    _pack_inverse(half_spectrum, _twiddles(length, half_spectrum.dtype), rows)
    rows = scipy.fft.ifft(rows, axis=1, workers=WORKERS, overwrite_x=True)
    out = np.empty(length, dtype=rows.real.dtype)
    _unpack_inverse(rows, out)
    return out


def share_out(costs: Sequence[float], parts: int = WORKERS) -> list[list[int]]:
    """Indices of ``costs`` in ``parts`` lists of nearly equal total cost (largest first)."""
    shares: list[list[int]] = [[] for _ in range(parts)]
    totals = [0.0] * parts
    for index in sorted(range(len(costs)), key=lambda i: -costs[i]):
        lightest = totals.index(min(totals))
        shares[lightest].append(index)
        totals[lightest] += costs[index]
    return shares


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(WORKERS - 1, thread_name_prefix="midivae-fft")
        return _POOL


def _row_ffts(pairs: Sequence[tuple[np.ndarray, np.ndarray]], inverse: bool) -> None:
    transform = np.fft.ifft if inverse else np.fft.fft
    for source, target in pairs:
        transform(source, axis=1, out=target)


def row_ffts(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    shares: Sequence[Sequence[int]],
    *,
    inverse: bool = False,
) -> None:
    """``numpy.fft.fft`` (or ``ifft``) of each ``(source, target)`` pair of 2-D arrays along
    rows, into ``target``; the pairs of ``shares[0]`` on this thread, the others' on the pool
    (numpy's FFTs release the GIL). The same bytes as one after the other."""
    others = [_pool().submit(_row_ffts, [pairs[i] for i in share], inverse) for share in shares[1:]]
    _row_ffts([pairs[i] for i in shares[0]], inverse)
    for job in others:
        job.result()
