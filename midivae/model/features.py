"""Model inputs from compressed magnitude frames, and back (one function for training and use)."""

from __future__ import annotations

import torch

from midivae.model.config import FeatureConfig


def to_features(magnitudes: torch.Tensor, config: FeatureConfig) -> torch.Tensor:
    """Model inputs ``(n, n_features)`` from compressed magnitudes ``(n, n_bins)``."""
    if config.mode == "compressed":
        return magnitudes
    amplitude = torch.expm1(magnitudes.clamp_min(0.0)) / config.log_gain
    return amplitude_features(amplitude, config)


def amplitude_features(
    amplitude: torch.Tensor, config: FeatureConfig, *, level_db: torch.Tensor | None = None
) -> torch.Tensor:
    """Model inputs from linear amplitudes; ``level_db`` overrides the measured frame level."""
    if config.mode == "compressed":
        return torch.log1p(config.log_gain * amplitude)
    floor = 10.0 ** (config.floor_db / 20.0)
    rms = amplitude.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(floor)
    spectrum = torch.log1p(config.norm_gain * amplitude / rms)
    if level_db is None:
        level_db = 20.0 * torch.log10(rms)
    level = (level_db - config.level_ref_db) / config.level_scale_db
    return torch.cat([spectrum, level], dim=-1)


def level_db(features: torch.Tensor, config: FeatureConfig) -> torch.Tensor:
    """Frame level in dB (rms amplitude) carried by normalised features, ``(n, 1)``."""
    return features[:, -1:] * config.level_scale_db + config.level_ref_db


def to_magnitudes(features: torch.Tensor, config: FeatureConfig) -> torch.Tensor:
    """Compressed magnitudes ``(n, n_bins)`` from (decoded) model inputs."""
    if config.mode == "compressed":
        return features.clamp_min(0.0)
    rms = 10.0 ** (level_db(features, config) / 20.0)
    amplitude = torch.expm1(features[:, :-1].clamp_min(0.0)) / config.norm_gain * rms
    return torch.log1p(config.log_gain * amplitude)
