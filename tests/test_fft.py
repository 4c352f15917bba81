"""The two-thread split real FFT against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from midivae.spectral import fft


@pytest.mark.parametrize("length", [4, 16, 1000, 2 * 3 * 5 * 7 * 4, 65536])
def test_rfft_and_irfft_equal_numpy(length, rng):
    signal = rng.standard_normal(length)
    expected = np.fft.rfft(signal)
    np.testing.assert_allclose(fft.rfft(signal), expected, rtol=0, atol=1e-12 * length)
    np.testing.assert_allclose(fft.irfft(expected, length), signal, rtol=0, atol=1e-12)


def test_irfft_ignores_imaginary_dc_and_nyquist_like_numpy(rng):
    spectrum = rng.standard_normal(33) + 1j * rng.standard_normal(33)
    np.testing.assert_allclose(fft.irfft(spectrum, 64), np.fft.irfft(spectrum, n=64), atol=1e-14)


def test_other_lengths_fall_back(rng):
    signal = rng.standard_normal(1001)
    np.testing.assert_allclose(fft.rfft(signal), np.fft.rfft(signal), atol=1e-10)
    spectrum = np.fft.rfft(signal)
    np.testing.assert_allclose(fft.irfft(spectrum, 1001), signal, atol=1e-12)


def test_single_precision_stays_single(rng):
    signal = rng.standard_normal(4096).astype(np.float32)
    spectrum = fft.rfft(signal)
    assert spectrum.dtype == np.complex64
    assert fft.irfft(spectrum, 4096).dtype == np.float32
    np.testing.assert_allclose(fft.irfft(spectrum, 4096), signal, atol=1e-5)


def test_work_buffer_is_reused(rng):
    signal = rng.standard_normal(256)
    work = np.empty((2, 64), dtype=np.complex128)
    first = fft.irfft(fft.rfft(signal, work=work), 256, work=work)
    np.testing.assert_allclose(first, signal, atol=1e-12)


def test_share_out_balances_costs_over_two_threads():
    shares = fft.share_out([8.0, 1.0, 4.0, 3.0, 2.0, 2.0])
    assert sorted(i for share in shares for i in share) == list(range(6))
    totals = [sum([8.0, 1.0, 4.0, 3.0, 2.0, 2.0][i] for i in share) for share in shares]
    assert totals == [10.0, 10.0]


@pytest.mark.parametrize("inverse", [False, True])
def test_row_ffts_on_two_threads_equal_numpy_byte_for_byte(inverse, rng):
    sources = [rng.normal(size=(r, n)) + 1j * rng.normal(size=(r, n)) for r, n in ((3, 8), (5, 9))]
    sources += [rng.normal(size=(2, 720)) + 0j, rng.normal(size=(7, 64)) + 0j]
    targets = [np.empty_like(s) for s in sources]
    shares = fft.share_out([s.size for s in sources])
    assert all(shares)  # both threads have work
    fft.row_ffts(list(zip(sources, targets, strict=True)), shares, inverse=inverse)
    transform = np.fft.ifft if inverse else np.fft.fft
    for source, target in zip(sources, targets, strict=True):
        assert np.array_equal(target, transform(source, axis=1))
    in_place = [s.copy() for s in sources]
    fft.row_ffts(list(zip(in_place, in_place, strict=True)), shares, inverse=inverse)
    assert all(np.array_equal(a, b) for a, b in zip(in_place, targets, strict=True))
