"""Latent trajectories through a posterior: the mean, a sample, or a smooth random walk.

``walk`` is an Ornstein-Uhlenbeck process scaled by the posterior's standard deviation: it
starts anywhere in the posterior, drifts with correlation time ``walk_seconds`` and has the
posterior's own spread times ``walk_scale`` (1 stays inside the distribution the symbol
encoder inferred; larger wanders further, smaller stays nearer the mean).

For the creative tools (:mod:`midivae.rendering.latent_space`): ``smooth_walk`` (a differentiable
walk whose every frame is a draw from the prior), ``interpolate_posteriors`` (a morph's path) and
``shorten_rests`` (the frames kept when a walk's rests are cut short).
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


def smooth_walk(
    n_frames: int, dims: int, length_frames: float, rng: np.random.Generator
) -> np.ndarray:
    """A smooth stationary Gaussian walk ``(n_frames, dims)`` with ``N(0, I)`` marginals.

    White noise filtered by a Gaussian kernel of standard deviation ``length_frames`` and
    scaled to unit variance: every frame is a draw from the prior, neighbouring frames are
    close, and (unlike an OU path) the path is differentiable, so it crosses a region
    boundary once instead of dithering across it.
    """
    from scipy.signal import fftconvolve

    length = max(float(length_frames), 1e-3)
    half = max(1, int(np.ceil(4 * length)))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / length) ** 2)
    kernel /= np.sqrt(np.sum(kernel**2))
    noise = rng.standard_normal((n_frames + 2 * half, dims))
    return fftconvolve(noise, kernel[:, None], mode="valid", axes=0)[:n_frames]


def interpolate_posteriors(
    start: tuple[np.ndarray, np.ndarray], stop: tuple[np.ndarray, np.ndarray], steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` posteriors ``(mu, logvar)``, each ``(steps, latent)``, from ``start`` to ``stop``.

    Mean and log-variance move linearly (a geodesic-free but smooth path whose ends are the
    two distributions themselves).
    """
    if steps < 2:
        raise ValueError("a path needs at least 2 steps")
    w = np.linspace(0.0, 1.0, steps)[:, None]
    mu = (1 - w) * np.asarray(start[0], np.float64) + w * np.asarray(stop[0], np.float64)
    logvar = (1 - w) * np.asarray(start[1], np.float64) + w * np.asarray(stop[1], np.float64)
    return mu, logvar


def shorten_rests(silent: np.ndarray, max_frames: int) -> np.ndarray:
    """Indices of the frames kept when every silent run is cut to ``max_frames`` (its ends)."""
    keep = np.ones(len(silent), dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], silent.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start > max_frames:
            head = max_frames // 2 if start > 0 else 0
            keep[start + head : stop - (max_frames - head)] = False
    return np.flatnonzero(keep)
