"""Which preset's instruments sound in a frame: a small classifier over constant-Q frames.

``--instrument auto`` asks it which shipped preset a recording needs (a solo instrument, or
a mixture preset for two voices). It is trained on frames that many libraries played (and
mixed pairs of them for the mixture presets), so it knows instruments rather than one
soundfont's samples; the presets' own likelihoods only know the soundfont they rendered.

Each frame is scaled to its loudest bin, reduced to quarter tones, stacked with copies of
itself shifted by the intervals of partials 1/2 ... 5 (a note's partials line up in one
column) and convolved along frequency, so a partial pattern learned at one pitch is heard at
every pitch. The maps are then pooled over the whole frame (max) and over eight registers
(mean), which keeps where on the keyboard the sound lies; a small dense layer gives one logit
per class.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from midivae.model.context import conv_block, harmonic_stack, harmonic_stack_index
from midivae.model.vae import mlp

#: Partials stacked (ratios to the fundamental).
HARMONICS = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
#: Registers the maps are averaged over (keeps the pitch range in view).
REGISTERS = 8


class InstrumentClassifier(nn.Module):
    """Compressed constant-Q frames ``(n, n_bins)`` -> class logits ``(n, n_classes)``.

    Parameters
    ----------
    n_bins : int
        Constant-Q bins per frame.
    n_classes : int
        Classes (presets) told apart.
    bins_per_octave : int
        Of the frames.
    channels : int
        Channels of the convolutions along frequency.
    hidden : int
        Width of the dense layer.
    harmonics : sequence of float
        Partials stacked.
    """

    def __init__(
        self,
        n_bins: int,
        n_classes: int,
        bins_per_octave: int,
        channels: int = 16,
        hidden: int = 64,
        harmonics: Sequence[float] = HARMONICS,
    ) -> None:
        super().__init__()
        octave = bins_per_octave // 2  # in the pooled bins (quarter tones)
        index = harmonic_stack_index((n_bins + 1) // 2, harmonics, bins_per_octave)
        self.register_buffer("stack_index", index, persistent=False)
        self.convolutions = nn.Sequential(
            *conv_block(len(harmonics), channels, 3, 1),
            *conv_block(channels, channels, 5, 3),
            *conv_block(channels, channels, 3, octave),
        )
        self.head = mlp([channels * (1 + REGISTERS), hidden, n_classes])

    def maps(self, frames: torch.Tensor) -> torch.Tensor:
        """The equivariant part: ``(n, channels, pooled bins)`` maps of frames ``(n, n_bins)``
        scaled to their loudest bin."""
        scaled = frames / frames.amax(dim=1, keepdim=True).clamp_min(1e-3)
        return self.convolutions(harmonic_stack(scaled, self.stack_index))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Logits of each frame's class."""
        maps = self.maps(frames)
        features = torch.cat(
            [maps.amax(dim=2), F.adaptive_avg_pool1d(maps, REGISTERS).flatten(1)], dim=1
        )
        return self.head(features)
