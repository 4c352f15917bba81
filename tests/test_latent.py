"""Latent trajectories: mean, seeded samples, a walk that stays in its posterior."""

from __future__ import annotations

import numpy as np
import pytest

from midivae.rendering.trajectories import TrajectorySettings, note_trajectory, ornstein_uhlenbeck


def test_modes(rng):
    mu, logvar = np.array([1.0, -2.0]), np.log(np.array([0.25, 0.04]))
    mean = note_trajectory(mu, logvar, 10, TrajectorySettings("mean"), rng)
    assert mean.shape == (10, 2) and np.all(mean == mu)
    sample = note_trajectory(mu, logvar, 10, TrajectorySettings("sample"), rng)
    assert np.all(sample == sample[0]) and not np.allclose(sample[0], mu)
    again = note_trajectory(
        mu, logvar, 10, TrajectorySettings("sample"), np.random.default_rng(1234)
    )
    first = note_trajectory(
        mu, logvar, 10, TrajectorySettings("sample"), np.random.default_rng(1234)
    )
    np.testing.assert_array_equal(again, first)


def test_walk_is_smooth_and_inside_the_posterior():
    rng = np.random.default_rng(0)
    mu, logvar = np.zeros(4), np.log(np.full(4, 0.09))
    walk = note_trajectory(mu, logvar, 20000, TrajectorySettings("walk", walk_scale=1.0), rng)
    assert walk.std(axis=0) == pytest.approx(np.full(4, 0.3), rel=0.15)
    step = np.abs(np.diff(walk, axis=0)).mean()
    jump = np.abs(walk[1:] - walk[np.random.default_rng(1).permutation(len(walk) - 1)]).mean()
    assert step < 0.3 * jump  # neighbours are close: a walk, not independent draws
    wider = note_trajectory(mu, logvar, 20000, TrajectorySettings("walk", walk_scale=2.0), rng)
    assert wider.std() == pytest.approx(2 * walk.std(), rel=0.15)


def test_ou_is_unit_variance(rng):
    process = ornstein_uhlenbeck(50000, 2, 20.0, rng)
    assert process.var(axis=0) == pytest.approx([1.0, 1.0], rel=0.1)
    lag = np.corrcoef(process[:-20, 0], process[20:, 0])[0, 1]
    assert lag == pytest.approx(np.exp(-1), abs=0.1)


def test_unknown_mode():
    with pytest.raises(ValueError):
        TrajectorySettings("wobble")
