"""The context encoder: pitch equivariance, frames and sequences read alike, sequence rows,
and a short fit through sequences that lowers every loss term."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from midivae.model import CrossModalVAE, FeatureConfig, get_config
from midivae.model.context import (
    ContextEncoder,
    harmonic_shifts,
    inner_frames,
    sequence_rows,
    sequence_starts,
)
from midivae.model.features import to_features
from midivae.model.fit import ArraySource, FitSettings, fit
from midivae.symbols import Vocabulary

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_BINS = 96
OFFSETS = (-4, -2, -1, 0, 1, 2, 4)
VOCAB = Vocabulary.standard([("flute", 60, 71, False)])


def encoder() -> ContextEncoder:
    torch.manual_seed(0)
    return ContextEncoder(N_BINS, OFFSETS, (0.5, 1, 2, 3), 24, 6, (32,), 4)


def test_harmonic_shifts_line_partials_up_on_the_constant_q_axis():
    assert harmonic_shifts((0.5, 1, 2, 3, 4), 48) == [-48, 0, 48, 76, 96]


def test_the_maps_before_the_dense_layer_shift_with_the_spectrum():
    torch.manual_seed(0)
    n_bins = 240
    model = ContextEncoder(n_bins, OFFSETS, (0.5, 1, 2, 3), 24, 6, (32,), 4).eval()
    x = torch.rand(2, 9 + 2 * 4, n_bins + 1)
    k = 8  # whole pairs of bins: the maps are over quarter tones (4 of them here)
    shifted = torch.zeros_like(x)
    shifted[..., k:n_bins] = x[..., : n_bins - k]
    shifted[..., n_bins] = x[..., n_bins]
    with torch.no_grad():
        maps, levels = model.feature_map(x)
        moved, moved_levels = model.feature_map(shifted)
    # away from the edges: a map bin hears the stacked partials 12 map bins below and 19
    # above, through convolutions that reach 19 either side (an octave and 7)
    assert maps.shape[-1] == n_bins // 2
    inner = slice(35, 70)
    assert torch.allclose(maps[..., inner], moved[..., 39:74], atol=1e-5)
    assert not torch.allclose(maps[..., inner], moved[..., inner], atol=1e-3)
    assert torch.equal(levels, moved_levels)


def test_frames_read_as_a_sequence_give_what_their_windows_give():
    model = encoder().eval()
    frames = torch.rand(20, N_BINS + 1)
    with torch.no_grad():
        mu, _ = model(frames)
        # the frames' own sequence, edges repeated, read in two halves
        padded = torch.cat([frames[:1].expand(4, -1), frames, frames[-1:].expand(4, -1)])
        halves = torch.stack([padded[:18], padded[10:28]])
        mu_halves, _ = model(halves)
    assert torch.allclose(mu, mu_halves, atol=1e-5)
    # a frame's posterior depends on its neighbours, not on frames beyond its window
    changed = frames.clone()
    changed[15] += 1.0
    with torch.no_grad():
        mu_changed, _ = model(changed)
    moved = (mu_changed - mu).abs().sum(-1) > 1e-6
    assert set(np.flatnonzero(moved.numpy())) == {15 - o for o in OFFSETS}


def test_sequences_stay_inside_their_segments():
    segments = np.array([0] * 5 + [1] * 3)
    starts = sequence_starts(segments, 2)
    assert starts.tolist() == [0, 2, 4, 5, 7]
    rows = sequence_rows(starts, 2, 1, segments)
    assert rows.tolist() == [[0, 0, 1, 2], [1, 2, 3, 4], [3, 4, 4, 4], [5, 5, 6, 7], [6, 7, 7, 7]]
    x = torch.arange(24.0).reshape(2, 4, 3)
    assert inner_frames(x, (-1, 0, 1)).tolist() == x[:, 1:3].reshape(-1, 3).tolist()


def test_a_short_fit_through_sequences_lowers_every_loss_term():
    """Every likelihood term and the total; the KL terms start near 0 (both encoders give
    the prior at initialisation) and rise as the posteriors learn: the matching one stays a
    few nats."""
    rng = np.random.default_rng(0)
    n = 600
    pitch = np.repeat(rng.integers(60, 72, n // 20), 20)  # notes of 20 frames
    velocity = np.repeat(rng.integers(30, 120, n // 20), 20)
    bins = np.arange(N_BINS)
    amp = (velocity[:, None] / 127.0) * 0.1 * np.exp(
        -0.5 * ((bins - 4 * (pitch[:, None] - 50)) / 1.5) ** 2
    ) + 1e-4 * rng.random((n, N_BINS))
    labels = {
        "pitch": pitch,
        "velocity": velocity,
        "pitch_class": pitch % 12,
        "octave": pitch // 12 - 1,
        "dynamics": np.searchsorted([56, 96], velocity, "right"),
    }
    mags = np.log1p(1000.0 * amp).astype(np.float32)
    features = FeatureConfig()
    config = get_config("tiny-temporal", context=OFFSETS, cross_weight=1.0)
    torch.manual_seed(0)
    model = CrossModalVAE(N_BINS + 1, VOCAB.layout(), config, bins_per_octave=24)
    segments = np.zeros(n, np.int64)
    rows = sequence_rows(sequence_starts(segments, 16), 16, 4, segments)
    source = ArraySource(mags, VOCAB.encode(labels), np.ones(n, bool), rows, 4)
    frequencies = 100.0 * 2.0 ** (bins / 24.0)

    def losses() -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            x = to_features(torch.from_numpy(mags), features)
            return model.loss(x[None], torch.from_numpy(source.symbols[4:-4])).as_dict()

    before = losses()
    settings = FitSettings(max_epochs=6, batch_size=64, lr=3e-3, noise_floor_db=None)
    fit(model, source, source, features, frequencies, settings)
    after = losses()
    for term in ("total", "signal_rec", "symbol_rec", "cross"):
        assert after[term] < before[term], term
    assert after["match"] < 5.0
