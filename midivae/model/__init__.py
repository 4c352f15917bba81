"""Torch modules of the cross-modal VAE: configs, feature mapping, the two VAEs, the pair.

Nothing here reads files or imports the CLI.
"""

from midivae.model.config import CONFIGS, FeatureConfig, ModelConfig, get_config
from midivae.model.cross import TERMS, CrossModalVAE, LossTerms
from midivae.model.features import amplitude_features, to_features, to_magnitudes
from midivae.model.vae import SignalVAE, SymbolVAE, kl_normal

__all__ = [
    "CONFIGS",
    "TERMS",
    "CrossModalVAE",
    "FeatureConfig",
    "LossTerms",
    "ModelConfig",
    "SignalVAE",
    "SymbolVAE",
    "amplitude_features",
    "get_config",
    "kl_normal",
    "to_features",
    "to_magnitudes",
]
