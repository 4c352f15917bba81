"""A latent per key: the piano's 88 keys each get a few latent dimensions of their own,
beside a small latent for the whole frame, so no chord has to squeeze through one Gaussian.

The latent vector is ``[frame (latent) | key 0 (key_latent) | key 1 | ...]``; both VAEs and
the matching term ``KL(q(z|x) || q(z|y))`` see it as one diagonal Gaussian, so the method is
unchanged: only the encoders and the symbol decoder are built per key.

- Signal side: the context encoder's equivariant maps (:mod:`midivae.model.context`) give the
  frame part through its dense layer; each key reads the maps around its own fundamental
  (``reach`` map bins either side) with the window's levels and the frame part, through one
  small network that every key shares (a pattern learned on one key serves them all).
- Symbol side: the key bits are encoded and decoded key by key (shared networks, the key's
  own latent and the frame part); the other families (dynamics, velocity) through the frame
  part.
- The signal decoder is the usual MLP over the whole latent.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from midivae.model.context import ContextEncoder
from midivae.model.vae import mlp, posterior

#: Hidden width of the networks every key shares.
KEY_HIDDEN = 32


class KeyedSignalEncoder(nn.Module):
    """Frames in time -> ``(mu, logvar)`` of the frame part and of every key's part."""

    def __init__(
        self,
        context: ContextEncoder,
        key_bins: Sequence[int],
        latent: int,
        key_latent: int,
        reach: int = 2,
    ) -> None:
        super().__init__()
        self.context = context
        self.latent, self.key_latent, self.reach = latent, key_latent, reach
        self.register_buffer(
            "key_index",
            torch.as_tensor(key_bins)[:, None] + torch.arange(2 * reach + 1)[None, :],
            persistent=False,
        )  # map bins around each key (in the padded maps)
        width = len(context.offsets)
        local = context.window.out_channels * (2 * reach + 1)
        self.key = mlp([local + width + latent, KEY_HIDDEN, KEY_HIDDEN, 2 * key_latent])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps, levels, frame = self.context.read(x)
        mu = frame.chunk(2, dim=-1)[0]
        padded = F.pad(maps, (self.reach, self.reach))
        local = padded[:, :, self.key_index]  # (n, maps, keys, 2 reach + 1)
        n, keys = len(maps), self.key_index.shape[0]
        local = local.permute(0, 2, 1, 3).reshape(n, keys, -1)
        shared = torch.cat([levels, mu], dim=1)[:, None].expand(n, keys, -1)
        return _with_keys(frame, self.key(torch.cat([local, shared], dim=2)))


class KeyedSymbolEncoder(nn.Module):
    """Symbol vectors -> ``(mu, logvar)``: the frame part from the families other than the
    keys (and how many keys sound), each key's part from its own bit and the frame part."""

    def __init__(
        self, width: int, keys: slice, hidden: Sequence[int], latent: int, key_latent: int
    ) -> None:
        super().__init__()
        self.keys, self.n_keys = keys, keys.stop - keys.start
        self.others = _other_columns(width, keys)
        self.frame = mlp([len(self.others) + 1, *hidden, 2 * latent])
        self.key = mlp([1 + latent, KEY_HIDDEN, 2 * key_latent])

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bits = y[:, self.keys]
        count = bits.sum(dim=1, keepdim=True) / 10.0
        frame = self.frame(torch.cat([y[:, self.others], count], dim=1))
        shared = frame.chunk(2, dim=-1)[0][:, None].expand(-1, self.n_keys, -1)
        return _with_keys(frame, self.key(torch.cat([bits[..., None], shared], dim=2)))


class KeyedSymbolDecoder(nn.Module):
    """Latents -> symbol logits: each key's bit from its part and the frame part, the other
    families from the frame part."""

    def __init__(
        self, width: int, keys: slice, hidden: Sequence[int], latent: int, key_latent: int
    ) -> None:
        super().__init__()
        self.width, self.keys = width, keys
        self.n_keys = keys.stop - keys.start
        self.latent, self.key_latent = latent, key_latent
        self.others = _other_columns(width, keys)
        self.frame = mlp([latent, *reversed(hidden), len(self.others)])
        self.key = mlp([key_latent + latent, KEY_HIDDEN, 1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        frame = z[:, : self.latent]
        keys = z[:, self.latent :].reshape(len(z), self.n_keys, self.key_latent)
        shared = frame[:, None].expand(-1, self.n_keys, -1)
        key_logits = self.key(torch.cat([keys, shared], dim=2))[..., 0]
        out = z.new_zeros(len(z), self.width)
        out[:, self.others] = self.frame(frame)
        out[:, self.keys] = key_logits
        return out


def _other_columns(width: int, keys: slice) -> list[int]:
    """Columns of a symbol vector outside the key bits."""
    return [c for c in range(width) if not keys.start <= c < keys.stop]


def _with_keys(frame: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One posterior ``(mu, logvar)`` from the frame part's output ``(n, 2 * latent)`` and
    every key's ``(n, keys, 2 * key_latent)``: the frame part first, then key by key."""
    mu, logvar = posterior(frame)
    key_mu, key_logvar = posterior(keys)
    return torch.cat([mu, key_mu.flatten(1)], dim=1), torch.cat([logvar, key_logvar.flatten(1)], 1)
