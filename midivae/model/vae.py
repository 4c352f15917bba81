"""The two VAEs: a Gaussian-latent signal VAE over feature frames and a symbol VAE.

Both are MLPs; encoders give ``(mu, logvar)`` of a diagonal Gaussian posterior. The signal
decoder gives the mean of a Gaussian over the (log-compressed) features with a learned
per-feature variance; the symbol decoder gives logits whose families (categorical softmax,
Bernoulli sigmoid, continuous sigmoid mean with a fixed-variance Gaussian) follow a layout.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

LOG_2PI = math.log(2.0 * math.pi)
#: Bounds of the learned per-feature log-variance of the signal likelihood.
MIN_LOGVAR, MAX_LOGVAR = -9.0, 3.0
#: Bounds of an encoder's posterior log-variance.
POSTERIOR_LOGVAR = (-12.0, 6.0)


def mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def kl_normal(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    mu2: torch.Tensor | None = None,
    logvar2: torch.Tensor | None = None,
) -> torch.Tensor:
    """``KL(N(mu, e^logvar) || N(mu2, e^logvar2))`` summed over the last axis (prior: N(0, 1))."""
    if mu2 is None or logvar2 is None:
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
    var_ratio = (logvar - logvar2).exp()
    return 0.5 * (var_ratio + (mu - mu2).pow(2) / logvar2.exp() - 1.0 - logvar + logvar2).sum(-1)


def sample(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Reparameterised draw from a diagonal Gaussian."""
    return mu + torch.randn_like(mu) * (0.5 * logvar).exp()


def posterior(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mu, logvar)`` of an encoder's output ``(..., 2 * latent)``, the log-variance
    bounded to ``POSTERIOR_LOGVAR``."""
    mu, logvar = params.chunk(2, dim=-1)
    return mu, logvar.clamp(*POSTERIOR_LOGVAR)


class Encoder(nn.Module):
    """MLP to a diagonal Gaussian posterior."""

    def __init__(self, n_in: int, hidden: Sequence[int], latent: int) -> None:
        super().__init__()
        self.body = mlp([n_in, *hidden, 2 * latent])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return posterior(self.body(x))


class SignalVAE(nn.Module):
    """VAE over feature frames with a Gaussian likelihood (learned per-feature variance)."""

    def __init__(
        self, n_features: int, hidden: Sequence[int], latent: int, encoder: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.encoder = encoder or Encoder(n_features, hidden, latent)
        self.decoder = mlp([latent, *reversed(hidden), n_features])
        self.logvar = nn.Parameter(torch.full((n_features,), -2.0))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def noise_logvar(self) -> torch.Tensor:
        return self.logvar.clamp(MIN_LOGVAR, MAX_LOGVAR)

    def log_likelihood(self, x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        """``log N(x | mean, diag var)`` summed over features, ``(n,)``."""
        logvar = self.noise_logvar()
        return -0.5 * ((x - mean).pow(2) / logvar.exp() + logvar + LOG_2PI).sum(-1)


class SymbolVAE(nn.Module):
    """VAE over symbol vectors; ``layout`` is ``Vocabulary.layout()``."""

    def __init__(
        self,
        layout: Sequence[tuple[str, int, int]],
        hidden: Sequence[int],
        latent: int,
        *,
        velocity_sigma: float = 0.05,
        encoder: nn.Module | None = None,
        decoder: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.layout = tuple((str(k), int(a), int(b)) for k, a, b in layout)
        width = self.layout[-1][2]
        self.encoder = encoder or Encoder(width, hidden, latent)
        self.decoder = decoder or mlp([latent, *reversed(hidden), width])
        self.velocity_sigma = velocity_sigma

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, width)``."""
        return self.decoder(z)

    def family_log_likelihoods(self, y: torch.Tensor, logits: torch.Tensor) -> list[torch.Tensor]:
        """Per-family ``log p(y | logits)``, each ``(n,)``; continuous values only where set."""
        out = []
        for kind, a, b in self.layout:
            target, logit = y[:, a:b], logits[:, a:b]
            if kind == "categorical":
                out.append((target * F.log_softmax(logit, dim=-1)).sum(-1))
            elif kind == "bernoulli":
                bce = F.binary_cross_entropy_with_logits(logit, target, reduction="none")
                out.append(-bce.sum(-1))
            else:
                mask = (target > 0).float()
                z = (target - torch.sigmoid(logit)) / self.velocity_sigma
                ll = -0.5 * (z.pow(2) + LOG_2PI) - math.log(self.velocity_sigma)
                out.append((ll * mask).sum(-1))
        return out

    def log_likelihood(self, y: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.family_log_likelihoods(y, logits)).sum(0)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-family probabilities (softmax / sigmoid) and continuous means in [0, 1]."""
        parts = []
        for kind, a, b in self.layout:
            logit = logits[:, a:b]
            parts.append(
                torch.softmax(logit, -1) if kind == "categorical" else torch.sigmoid(logit)
            )
        return torch.cat(parts, dim=-1)
