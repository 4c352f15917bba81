"""The cross-modal pair: two VAEs sharing a latent space through ``KL(q(z|x) || q(z|y))``.

Loss per frame (paper eq. 2), minimised::

    -E[log p(x|z_x)] + beta KL(q(z|x) || p(z))                      (signal ELBO, every frame)
    -E[log p(y|z_y)] + beta KL(q(z|y) || p(z))                      (symbol ELBO, labelled)
    + match_weight KL(q(z|x) || q(z|y))                              (labelled)
    + cross_weight (-E[log p(y|z_x)])                                (optional, 0 = paper)

``beta`` is the KL warm-up weight (0 -> 1). Unlabelled frames train the signal VAE only.
With ``fixed_match_target`` the matching term's gradient stops at ``q(z|y)``: it pulls the
signal encoder onto the symbol posteriors and leaves the symbol VAE to its own ELBO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from midivae.errors import MidivaeError
from midivae.model.config import ModelConfig
from midivae.model.context import ContextEncoder, inner_frames
from midivae.model.keyed import KeyedSignalEncoder, KeyedSymbolDecoder, KeyedSymbolEncoder
from midivae.model.vae import SignalVAE, SymbolVAE, kl_normal, sample

#: Names of the loss terms, in the order ``LossTerms.as_dict`` gives them.
TERMS = ("total", "signal_rec", "signal_kl", "symbol_rec", "symbol_kl", "match", "cross")


@dataclass
class LossTerms:
    """Batch means of each loss term (per frame); ``total`` is what is minimised."""

    total: torch.Tensor
    signal_rec: torch.Tensor
    signal_kl: torch.Tensor
    symbol_rec: torch.Tensor
    symbol_kl: torch.Tensor
    match: torch.Tensor
    cross: torch.Tensor

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name).detach()) for name in TERMS}


class CrossModalVAE(nn.Module):
    """A signal VAE and a symbol VAE sharing one latent space.

    Parameters
    ----------
    n_features : int
        Width of a signal feature frame.
    layout : sequence of (kind, start, stop)
        The symbol vector layout (``Vocabulary.layout()``).
    config : ModelConfig
        Sizes and loss weights.
    """

    def __init__(
        self,
        n_features: int,
        layout: tuple[tuple[str, int, int], ...],
        config: ModelConfig,
        *,
        bins_per_octave: int = 48,
        key_bins: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.config = config
        encoder = None
        if config.context:
            encoder = ContextEncoder(
                n_features - 1,
                config.context,
                config.harmonics,
                bins_per_octave,
                config.conv_channels,
                config.signal_hidden,
                config.latent,
            )
        symbol_parts: dict[str, nn.Module] = {}
        latent = config.latent
        if config.key_latent:
            keys = _key_span(layout)
            if encoder is None or keys is None or len(key_bins) != keys.stop - keys.start:
                raise MidivaeError(
                    "a latent per key needs a context encoder, a key family and its bins",
                    config.name,
                )
            encoder = KeyedSignalEncoder(encoder, key_bins, config.latent, config.key_latent)
            width = layout[-1][2]
            symbol_parts = {
                "encoder": KeyedSymbolEncoder(
                    width, keys, config.symbol_hidden, config.latent, config.key_latent
                ),
                "decoder": KeyedSymbolDecoder(
                    width, keys, config.symbol_hidden, config.latent, config.key_latent
                ),
            }
            latent += len(key_bins) * config.key_latent
        self.signal = SignalVAE(n_features, config.signal_hidden, latent, encoder)
        self.symbol = SymbolVAE(
            layout,
            config.symbol_hidden,
            latent,
            velocity_sigma=config.velocity_sigma,
            **symbol_parts,
        )

    def loss(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        beta: float = 1.0,
        labelled: torch.Tensor | None = None,
    ) -> LossTerms:
        """Loss terms for features ``x`` (n, n_features), or for a context encoder sequences
        of them (b, span, n_features) whose inner frames are read, and symbols ``y`` (n,
        width) of the frames read.

        ``labelled`` (n,) bool marks frames whose symbols are known (default: all).
        """
        mu_x, logvar_x = self.signal.encoder(x)
        z_x = sample(mu_x, logvar_x) if self.training else mu_x
        frames = inner_frames(x, self.config.context)
        signal_rec = -self.signal.log_likelihood(frames, self.signal.decode(z_x))
        signal_kl = kl_normal(mu_x, logvar_x)
        weight = torch.ones(len(frames)) if labelled is None else labelled.float()
        weight = weight.to(x.device)
        n_labelled = weight.sum().clamp_min(1.0)

        mu_y, logvar_y = self.symbol.encoder(y)
        z_y = sample(mu_y, logvar_y) if self.training else mu_y
        symbol_rec = -self.symbol.log_likelihood(y, self.symbol.decode(z_y))
        symbol_kl = kl_normal(mu_y, logvar_y)
        if self.config.fixed_match_target:
            match = kl_normal(mu_x, logvar_x, mu_y.detach(), logvar_y.detach())
        else:
            match = kl_normal(mu_x, logvar_x, mu_y, logvar_y)
        if self.config.cross_weight:
            cross = -self.symbol.log_likelihood(y, self.symbol.decode(z_x))
        else:
            cross = torch.zeros_like(match)

        def labelled_mean(values: torch.Tensor) -> torch.Tensor:
            return (values * weight).sum() / n_labelled

        terms = LossTerms(
            total=torch.zeros(()),
            signal_rec=signal_rec.mean(),
            signal_kl=signal_kl.mean(),
            symbol_rec=labelled_mean(symbol_rec),
            symbol_kl=labelled_mean(symbol_kl),
            match=labelled_mean(match),
            cross=labelled_mean(cross),
        )
        labelled_share = n_labelled / len(frames)
        terms.total = (
            terms.signal_rec
            + beta * terms.signal_kl
            + labelled_share
            * (
                terms.symbol_rec
                + beta * terms.symbol_kl
                + self.config.match_weight * terms.match
                + self.config.cross_weight * terms.cross
            )
        )
        return terms

    def freeze_writing_half(self) -> None:
        """Stop the symbol encoder and the signal decoder (with its noise variances) training.

        What renders (symbols -> ``q(z|y)`` -> frames) then stays bit for bit as it is, while
        the reading half (frames -> ``q(z|x)`` -> symbols) trains on, toward the fixed
        symbol posteriors (``midivae train --refine-reading``).
        """
        for part in (self.symbol.encoder, self.signal.decoder):
            part.requires_grad_(False)
        self.signal.logvar.requires_grad_(False)

    @torch.no_grad()
    def encode_signal(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.signal.encoder(x)

    @torch.no_grad()
    def encode_symbols(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.symbol.encoder(y)

    @torch.no_grad()
    def decode_signal(self, z: torch.Tensor) -> torch.Tensor:
        return self.signal.decode(z)

    @torch.no_grad()
    def decode_symbols(self, z: torch.Tensor) -> torch.Tensor:
        """Per-family probabilities / continuous means ``(n, width)``."""
        return self.symbol.probabilities(self.symbol.decode(z))


def _key_span(layout: Sequence[tuple[str, int, int]]) -> slice | None:
    """Columns of the key bits (the Bernoulli family wider than one bit), or None."""
    for kind, start, stop in layout:
        if kind == "bernoulli" and stop - start > 1:
            return slice(start, stop)
    return None
