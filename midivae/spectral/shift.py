"""Pitch shifts of constant-Q frames: a shift in cents is a shift along the bin axis."""

from __future__ import annotations

import numpy as np

from midivae.spectral.config import SpectralConfig


def detune(amplitude: np.ndarray, cents: float, config: SpectralConfig) -> np.ndarray:
    """Shift every frame up by ``cents`` (a fractional bin shift, linear interpolation)."""
    shift = cents * config.bins_per_octave / 1200.0
    bins = np.arange(amplitude.shape[-1], dtype=np.float64)
    source = bins - shift
    lo = np.clip(np.floor(source).astype(int), 0, len(bins) - 1)
    hi = np.clip(lo + 1, 0, len(bins) - 1)
    frac = np.clip(source - np.floor(source), 0.0, 1.0).astype(np.float32)
    out = amplitude[..., lo] * (1.0 - frac) + amplitude[..., hi] * frac
    out[..., (source < 0) | (source > len(bins) - 1)] = 0.0
    return out.astype(np.float32)
