"""Latent trajectories through a posterior: the mean, a sample, or a smooth random walk.

``walk`` is an Ornstein-Uhlenbeck process scaled by the posterior's standard deviation: it
starts anywhere in the posterior, drifts with correlation time ``walk_seconds`` and has the
posterior's own spread times ``walk_scale`` (1 stays inside the distribution the symbol
encoder inferred; larger wanders further, smaller stays nearer the mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("mean", "sample", "walk")


@dataclass(frozen=True)
class TrajectorySettings:
    """Which trajectory, how far it walks, how fast it moves."""

    mode: str = "mean"
    walk_scale: float = 1.0
    walk_seconds: float = 0.3
    frame_seconds: float = 256 / 22050

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")


def ornstein_uhlenbeck(
    n_frames: int, dims: int, correlation_frames: float, rng: np.random.Generator
) -> np.ndarray:
    """A stationary unit-variance OU process ``(n_frames, dims)``."""
    a = float(np.exp(-1.0 / max(correlation_frames, 1e-6)))
    noise = rng.standard_normal((n_frames, dims))
    out = np.empty((n_frames, dims))
    out[0] = noise[0]
    scale = np.sqrt(1.0 - a * a)
    for t in range(1, n_frames):
        out[t] = a * out[t - 1] + scale * noise[t]
    return out


def note_trajectory(
    mu: np.ndarray,
    logvar: np.ndarray,
    n_frames: int,
    settings: TrajectorySettings,
    rng: np.random.Generator,
) -> np.ndarray:
    """Latent frames ``(n_frames, latent)`` for one note with posterior ``N(mu, exp(logvar))``."""
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.exp(0.5 * np.asarray(logvar, dtype=np.float64))
    if settings.mode == "mean":
        return np.tile(mu, (n_frames, 1))
    if settings.mode == "sample":
        return np.tile(mu + sigma * rng.standard_normal(mu.shape), (n_frames, 1))
    correlation = settings.walk_seconds / settings.frame_seconds
    walk = ornstein_uhlenbeck(n_frames, len(mu), correlation, rng)
    return mu + settings.walk_scale * sigma * walk
