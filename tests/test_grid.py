"""The band-grid <-> uniform-grid mapping."""

from __future__ import annotations

import numpy as np

from midivae.spectral.grid import band_to_grid, grid_to_band, resample_periodic


def test_constant_stays_constant_both_ways():
    for n_in, n_out in [(7, 100), (100, 7), (64, 64), (300, 1000)]:
        np.testing.assert_allclose(resample_periodic(np.full(n_in, 2.5), n_out), 2.5)
        np.testing.assert_allclose(grid_to_band(np.full(n_in, 2.5), n_out), 2.5)


def test_upsampling_is_linear_interpolation():
    coarse = np.array([0.0, 1.0, 4.0, 2.0])
    fine = band_to_grid(coarse, 16)
    positions = np.arange(16) / 16 * 4
    expected = np.interp(positions, np.arange(5), np.append(coarse, coarse[0]))
    np.testing.assert_allclose(fine, expected, atol=1e-12)


def test_downsampling_averages_fast_detail():
    alternating = np.tile([0.0, 2.0], 50)  # detail faster than the output grid
    np.testing.assert_allclose(band_to_grid(alternating, 10), 1.0, atol=1e-12)
    # point sampling (grid_to_band, meant for smooth values) would alias it instead
    assert np.ptp(grid_to_band(alternating, 7)) > 0.5


def test_times_line_up():
    # an impulse at band sample j (time j/32 of the period) lands on frame j * 100 / 32
    band = np.zeros(32)
    band[8] = 1.0
    frames = band_to_grid(band, 100)
    assert frames.argmax() == 25
    back = np.zeros(100)
    back[50] = 1.0
    assert grid_to_band(band_to_grid(grid_to_band(back, 300), 100), 300).argmax() == 150


def test_round_trip_of_smooth_values(rng):
    t = np.arange(64) / 64
    smooth = 1.0 + np.sin(2 * np.pi * t) + 0.3 * np.cos(6 * np.pi * t)
    # exact when the band's times are grid points, near-exact otherwise
    np.testing.assert_allclose(grid_to_band(band_to_grid(smooth, 256), 64), smooth, atol=1e-12)
    np.testing.assert_allclose(grid_to_band(band_to_grid(smooth, 1000), 64), smooth, atol=2e-3)
    fine = 1.0 + np.sin(2 * np.pi * np.arange(512) / 512)
    np.testing.assert_allclose(grid_to_band(band_to_grid(fine, 128), 512), fine, atol=2e-3)


def test_rows_are_independent(rng):
    values = rng.uniform(size=(5, 40))
    together = resample_periodic(values, 13)
    for row in range(5):
        np.testing.assert_allclose(together[row], resample_periodic(values[row], 13))
