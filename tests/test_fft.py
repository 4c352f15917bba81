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
