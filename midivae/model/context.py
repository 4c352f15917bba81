"""A signal encoder that hears time and pitch: frames around the one read, harmonically
stacked, convolved along frequency before any dense layer.

Each frame's constant-Q spectrum is stacked with copies of itself shifted down by the
intervals of partials 1/2, 1, 2, ..., so that bin ``b`` of channel ``h`` holds the spectrum
at ``b + bins_per_octave * log2(h)``: a note's partials line up in one column (the spectrum
is first reduced to the max over pairs of bins, quarter tones at 48 bins per octave).
Convolutions along frequency turn each frame into a few maps over the bins (computed once
per frame); the maps of the frames at fixed offsets around the frame read
(``ModelConfig.context``) are then mixed per bin. All of this is equivariant to a shift
along the constant-Q axis (a pattern learned at one pitch is recognised at every pitch).
Only then a dense layer, with the window's frame levels, gives the posterior
``(mu, logvar)``.

Frames given as ``(n, n_features)`` are read as consecutive in time (the first and last
frames repeated at the edges). Training passes sequences ``(b, margin + length + margin,
n_features)`` and gets the posteriors of their ``length`` inner frames, ``(b * length, ...)``:
each frame's maps are computed once per sequence, not once per window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from midivae.model.vae import mlp, posterior

#: Maps per bin that each frame gives, and that the window mixes into.
FRAME_MAPS, WINDOW_MAPS = 4, 8


def harmonic_shifts(harmonics: Sequence[float], bins_per_octave: int) -> list[int]:
    """Bin offsets of partials ``harmonics`` above a fundamental on a constant-Q axis."""
    return [round(bins_per_octave * math.log2(h)) for h in harmonics]


def harmonic_stack_index(
    pooled: int, harmonics: Sequence[float], bins_per_octave: int
) -> torch.Tensor:
    """``(len(harmonics), pooled)``: the pooled bin (a quarter tone: two constant-Q bins) that
    each partial's copy of a pooled spectrum reads at each pooled bin; ``pooled`` (a zero
    column appended past the last) where that falls outside the spectrum."""
    shifts = [round(shift / 2) for shift in harmonic_shifts(harmonics, bins_per_octave)]
    rows = torch.arange(pooled)[None, :] + torch.as_tensor(shifts)[:, None]
    return torch.where((rows < 0) | (rows >= pooled), pooled, rows)


def harmonic_stack(spectra: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``(m, harmonics, pooled bins)`` of spectra ``(m, n_bins)``: each reduced to the max over
    pairs of bins, then shifted down by each partial's offset (``index``, from
    :func:`harmonic_stack_index`; zeros past the edges), so a note's partials line up."""
    pooled = F.max_pool1d(spectra[:, None, :], 2, ceil_mode=True)[:, 0]
    return F.pad(pooled, (0, 1))[:, index]


def margin_of(offsets: Sequence[int]) -> int:
    """Frames a window reaches either side of the frame read."""
    return max((abs(int(o)) for o in offsets), default=0)


def _segment_bounds(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First rows and (exclusive) ends of the segments: runs of consecutive rows with equal
    ids."""
    firsts = np.flatnonzero(np.r_[True, segments[1:] != segments[:-1]])
    return firsts, np.r_[firsts[1:], len(segments)]


def sequence_starts(segments: np.ndarray, length: int) -> np.ndarray:
    """First rows of sequences of ``length`` rows laid end to end inside each segment; a
    segment's last sequence may run short."""
    firsts, ends = _segment_bounds(segments)
    return np.concatenate([np.arange(a, b, length) for a, b in zip(firsts, ends, strict=True)])


def sequence_rows(starts: np.ndarray, length: int, margin: int, segments: np.ndarray) -> np.ndarray:
    """``(len(starts), margin + length + margin)`` rows of each sequence with its margins,
    the segment's first or last row standing in beyond its edges."""
    firsts, ends = _segment_bounds(segments)
    which = np.searchsorted(firsts, starts, side="right") - 1
    rows = starts[:, None] + np.arange(-margin, length + margin)[None, :]
    return np.clip(rows, firsts[which][:, None], ends[which][:, None] - 1)


class ContextEncoder(nn.Module):
    """Frames in time -> a diagonal Gaussian posterior per frame, pitch-equivariant up to the
    dense layer.

    Parameters
    ----------
    n_bins : int
        Constant-Q bins per frame (the features hold these, then one level input).
    offsets : sequence of int
        Frame offsets of the window (``ModelConfig.context``).
    harmonics : sequence of float
        Partials stacked (ratios to the fundamental).
    bins_per_octave : int
        Of the constant-Q frames.
    channels : int
        Channels of the frame convolutions.
    hidden : sequence of int
        Dense widths after the convolutions.
    latent : int
        Latent dimensions.
    """

    def __init__(
        self,
        n_bins: int,
        offsets: Sequence[int],
        harmonics: Sequence[float],
        bins_per_octave: int,
        channels: int,
        hidden: Sequence[int],
        latent: int,
    ) -> None:
        super().__init__()
        self.n_bins = n_bins
        self.offsets = tuple(int(o) for o in offsets)
        self.margin = margin_of(self.offsets)
        self.pooled = (n_bins + 1) // 2  # the convolutions' bins: a quarter tone each
        octave = bins_per_octave // 2  # in the pooled bins
        self.frame = nn.Sequential(
            *conv_block(len(harmonics), channels, 3, 1),
            *conv_block(channels, channels, 5, 3),
            # each bin hears the bins an octave below and above it: which of two octaves
            # the partials' pattern starts from
            *conv_block(channels, channels, 3, octave),
            nn.Conv1d(channels, FRAME_MAPS, 1),  # linear maps: none of the few dies
        )
        self.window = nn.Conv1d(FRAME_MAPS * len(self.offsets), WINDOW_MAPS, 1)
        self.window_norm = nn.BatchNorm1d(WINDOW_MAPS)
        self.body = mlp([WINDOW_MAPS * self.pooled + len(self.offsets), *hidden, 2 * latent])
        index = harmonic_stack_index(self.pooled, harmonics, bins_per_octave)
        self.register_buffer("stack_index", index, persistent=False)

    def feature_map(self, sequences: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The equivariant part (for shifts by whole pairs of bins): ``(b * length,
        WINDOW_MAPS, (n_bins + 1) // 2)`` maps of the inner
        frames of ``(b, margin + length + margin, n_features)`` sequences, and their windows'
        frame levels ``(b * length, len(offsets))``."""
        b, span, _ = sequences.shape
        length = span - 2 * self.margin
        spectra = sequences[..., : self.n_bins].reshape(b * span, self.n_bins)
        stacked = harmonic_stack(spectra, self.stack_index)
        maps = self.frame(stacked).reshape(b, span, FRAME_MAPS, self.pooled)
        # the window's 1x1 convolution, as one product per offset over shifted frames
        weight = self.window.weight[..., 0].reshape(WINDOW_MAPS, len(self.offsets), FRAME_MAPS)
        mixed = self.window.bias[None, None, :, None]
        for k, offset in enumerate(self.offsets):
            frames = maps[:, self.margin + offset : self.margin + offset + length]
            mixed = mixed + torch.einsum("dc,bscn->bsdn", weight[:, k], frames)
        mixed = self.window_norm(mixed.reshape(b * length, WINDOW_MAPS, self.pooled))
        index = torch.arange(length, device=sequences.device)[:, None] + self.margin
        index = index + torch.as_tensor(self.offsets, device=sequences.device)[None]
        levels = sequences[:, index, self.n_bins].reshape(b * length, len(self.offsets))
        return F.relu(mixed), levels

    def sequence_of(self, frames: torch.Tensor) -> torch.Tensor:
        """Consecutive frames ``(n, n_features)`` as one sequence ``(1, margin + n + margin,
        n_features)``, the first and last frames repeated into the margins."""
        if not len(frames):
            return frames.new_zeros(1, 2 * self.margin, frames.shape[1])
        ends = (frames[:1].expand(self.margin, -1), frames, frames[-1:].expand(self.margin, -1))
        return torch.cat(ends)[None]

    def read(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The maps and window levels (:meth:`feature_map`) of consecutive frames ``(n,
        n_features)`` or of sequences ``(b, span, n_features)``, and the dense layer's
        output from them (``mu`` and ``logvar`` side by side)."""
        if x.dim() == 2:
            x = self.sequence_of(x)
        maps, levels = self.feature_map(x)
        return maps, levels, self.body(torch.cat([maps.flatten(1), levels], dim=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posteriors ``(mu, logvar)`` of consecutive frames ``(n, n_features)``, or of the
        inner frames of sequences ``(b, span, n_features)``, flattened."""
        return posterior(self.read(x)[2])


def conv_block(inputs: int, outputs: int, size: int, dilation: int) -> list[nn.Module]:
    """A convolution along frequency (same length out), batch-normalised, then ReLU: the
    normalisation lets the few channels train as fast as the frame MLP does."""
    padding = dilation * (size - 1) // 2
    return [
        nn.Conv1d(inputs, outputs, size, padding=padding, dilation=dilation),
        nn.BatchNorm1d(outputs),
        nn.ReLU(),
    ]


def inner_frames(x: torch.Tensor, offsets: Sequence[int]) -> torch.Tensor:
    """The frames read, ``(n, n_features)``, of sequences ``(b, span, n_features)`` (frames
    pass through)."""
    if x.dim() == 2:
        return x
    margin = margin_of(offsets)
    return x[:, margin : x.shape[1] - margin].reshape(-1, x.shape[-1])
