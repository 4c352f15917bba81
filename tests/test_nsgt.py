"""Our NSGT pair against the ``nsgt`` package, and perfect reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
from nsgt_reference import reference_nsgt

from midivae.spectral import SpectralConfig
from midivae.spectral.frame import build_frame, friendly_counts, friendly_length
from midivae.spectral.transform import NSGT

CONFIG = SpectralConfig()
FREQS = CONFIG.frequencies
SR = CONFIG.sample_rate


@pytest.mark.parametrize("length", [SR * 2, SR * 2 + 1])
def test_frame_and_forward_equal_nsgt(length, rng):
    reference = reference_nsgt(FREQS, SR, length)
    frame = build_frame(FREQS, SR, length)
    np.testing.assert_array_equal(frame.n_coefs, reference.M)
    signal = rng.uniform(-1, 1, length)
    ours = NSGT(frame).to_bands(NSGT(frame).forward(signal))
    theirs = reference.forward(signal)
    assert len(ours) == len(theirs) == CONFIG.n_bins + 2
    worst = max(np.max(np.abs(a - b)) for a, b in zip(ours, theirs, strict=True))
    assert worst <= 1e-9


@pytest.mark.parametrize("length", [SR * 2, SR * 2 + 1])
def test_numba_inverse_equals_nsgt_backward(length, rng):
    reference = reference_nsgt(FREQS, SR, length)
    nsgt = NSGT(build_frame(FREQS, SR, length))
    # Arbitrary coefficients (not only those of a signal) must give the same signal.
    coefs = [
        rng.standard_normal(len(c)) + 1j * rng.standard_normal(len(c))
        for c in reference.forward(rng.uniform(-1, 1, length))
    ]
    ours = nsgt.backward(nsgt.from_bands(coefs))
    theirs = reference.backward(coefs)
    assert np.max(np.abs(ours - theirs)) <= 1e-6 * max(1.0, np.max(np.abs(theirs)))


def test_runtime_frame_reconstructs_unit_scale_audio(rng):
    length = 256 * friendly_length(700)
    frame = build_frame(FREQS, SR, length, friendly_counts(FREQS, SR, length))
    nsgt = NSGT(frame)
    signal = rng.uniform(-1.0, 1.0, length)
    assert np.max(np.abs(nsgt.backward(nsgt.forward(signal)) - signal)) <= 1e-6
    single = NSGT(frame, dtype=np.float32)
    assert np.max(np.abs(single.backward(single.forward(signal)) - signal)) <= 1e-4


def test_friendly_counts_are_fast_sizes_and_cover_windows():
    length = 256 * 1792
    frame = build_frame(FREQS, SR, length, friendly_counts(FREQS, SR, length))
    lengths = np.array([len(w) for w in frame.windows])
    assert np.all(frame.n_coefs >= lengths)
    assert np.all(frame.n_coefs <= np.maximum(lengths * 1.2, 16))
    for count in np.unique(frame.n_coefs):
        odd = count
        while odd % 2 == 0:
            odd //= 2
        assert odd in (1, 3, 5, 7, 9, 15), count
    # bands sharing a count are transformed as one batch: far fewer batches than bands
    assert len(NSGT(frame).groups) < 60
