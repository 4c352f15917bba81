"""The cross-modal VAE: losses, KL matching, warm-up training steps, features, configs, CUDA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from midivae.errors import MidivaeError
from midivae.model import CONFIGS, CrossModalVAE, FeatureConfig, ModelConfig, get_config, kl_normal
from midivae.model.features import to_features, to_magnitudes
from midivae.model.fit import (
    ArraySource,
    FitSettings,
    add_noise_floor,
    damping_curves,
    detuned,
    fit,
    timbre_curves,
)
from midivae.symbols import Vocabulary

VOCAB = Vocabulary.standard([("flute", 60, 71, False)])
N_BINS = 64


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Compressed 'spectra' with a peak per pitch whose height follows velocity, and labels."""
    rng = np.random.default_rng(seed)
    pitch = rng.integers(60, 72, n)
    velocity = rng.integers(20, 127, n)
    bins = np.arange(N_BINS)
    amp = (
        (velocity[:, None] / 127.0)
        * 0.1
        * np.exp(-0.5 * ((bins - 4 * (pitch[:, None] - 58)) / 1.5) ** 2)
    )
    amp += 1e-4 * rng.random((n, N_BINS))
    labels = {
        "pitch": pitch,
        "velocity": velocity,
        "pitch_class": pitch % 12,
        "octave": pitch // 12 - 1,
        "dynamics": np.searchsorted([56, 96], velocity, "right"),
    }
    return np.log1p(1000.0 * amp).astype(np.float32), VOCAB.encode(labels)


def small_model(features: FeatureConfig, **overrides) -> CrossModalVAE:
    config = get_config("tiny", latent=4, signal_hidden=(64,), symbol_hidden=(32,), **overrides)
    return CrossModalVAE(features.n_features(N_BINS), VOCAB.layout(), config)


def test_kl_matching_term_is_zero_for_equal_posteriors_and_positive_otherwise():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 8), torch.randn(5, 8)
    assert torch.allclose(kl_normal(mu, logvar, mu, logvar), torch.zeros(5), atol=1e-6)
    assert torch.all(kl_normal(mu, logvar, mu + 0.1, logvar) > 0)
    assert torch.all(kl_normal(mu, logvar, mu, logvar + 0.3) > 0)
    # against torch.distributions
    p = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    q = torch.distributions.Normal(mu * 0.5, (0.5 * logvar * 0.3).exp())
    ref = torch.distributions.kl_divergence(p, q).sum(-1)
    assert torch.allclose(kl_normal(mu, logvar, mu * 0.5, logvar * 0.3), ref, atol=1e-5)


def test_match_term_of_the_model_is_zero_when_encoders_agree():
    model = small_model(FeatureConfig(mode="compressed")).eval()
    x, y = synthetic(16)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    with torch.no_grad():
        for layer in (model.signal.encoder.body[-1], model.symbol.encoder.body[-1]):
            layer.weight.zero_()
            layer.bias.fill_(0.3)
        terms = model.loss(x_t, y_t)
    assert abs(float(terms.match)) < 1e-6


@pytest.mark.parametrize("fixed", [False, True])
def test_fixed_match_target_stops_the_matching_gradient_at_the_symbol_encoder(fixed):
    torch.manual_seed(0)
    model = small_model(FeatureConfig(mode="compressed"), fixed_match_target=fixed).eval()
    x, y = synthetic(16)
    terms = model.loss(torch.from_numpy(x), torch.from_numpy(y))
    assert terms.match.detach().item() > 0
    terms.match.backward()
    signal_grad = model.signal.encoder.body[-1].weight.grad
    symbol_grad = model.symbol.encoder.body[-1].weight.grad
    assert signal_grad is not None and signal_grad.abs().sum() > 0
    if fixed:
        assert symbol_grad is None or float(symbol_grad.abs().sum()) == 0.0
    else:
        assert symbol_grad is not None and symbol_grad.abs().sum() > 0


@pytest.mark.parametrize("mode", ["compressed", "normalised"])
def test_training_steps_lower_total_and_both_reconstruction_losses(mode):
    torch.manual_seed(0)
    features = FeatureConfig(mode=mode)
    model = small_model(features)
    x, y = synthetic(512)
    x_t, y_t = to_features(torch.from_numpy(x), features), torch.from_numpy(y)
    model.eval()
    with torch.no_grad():
        before = model.loss(x_t, y_t)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(60):
        loss = model.loss(x_t, y_t, beta=0.5)
        optimizer.zero_grad()
        loss.total.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        after = model.loss(x_t, y_t)
    assert after.total < before.total
    assert after.signal_rec < before.signal_rec
    assert after.symbol_rec < before.symbol_rec


def test_unlabelled_frames_train_only_the_signal_vae():
    model = small_model(FeatureConfig(mode="compressed"))
    x, y = synthetic(32)
    terms = model.loss(
        torch.from_numpy(x), torch.from_numpy(y), labelled=torch.zeros(32, dtype=torch.bool)
    )
    terms.total.backward()
    assert all(p.grad is None or not p.grad.any() for p in model.symbol.parameters())
    assert any(p.grad is not None and p.grad.any() for p in model.signal.parameters())


def test_features_round_trip_to_magnitudes():
    x, _ = synthetic(8)
    for mode in ("compressed", "normalised"):
        features = FeatureConfig(mode=mode)
        back = to_magnitudes(to_features(torch.from_numpy(x), features), features)
        np.testing.assert_allclose(back.numpy(), x, atol=1e-4)
    normalised = FeatureConfig()
    louder = to_features(torch.from_numpy(np.log1p(np.expm1(x) * 2.0)), normalised)
    quiet = to_features(torch.from_numpy(x), normalised)
    np.testing.assert_allclose(louder[:, :-1], quiet[:, :-1], atol=1e-4)  # level-free spectrum
    np.testing.assert_allclose(louder[:, -1] - quiet[:, -1], 20 * np.log10(2) / 20.0, atol=1e-4)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_named_config_builds_and_runs(name):
    config = CONFIGS[name]
    if config.key_latent:  # a latent per key: a vocabulary with keys, bins for them
        vocab = Vocabulary.standard([("piano", 21, 108, True)])
        bins = [k % (N_BINS // 2) for k in range(88)]
        model = CrossModalVAE(N_BINS + 1, vocab.layout(), config, key_bins=bins)
        y = np.zeros((4, vocab.width), np.float32)
        y[:, [39, 43]] = 1.0
        latent = config.latent + 88 * config.key_latent
    else:
        model = CrossModalVAE(N_BINS + 1, VOCAB.layout(), config)
        y = synthetic(4)[1]
        latent = config.latent
    x_t = to_features(torch.from_numpy(synthetic(4)[0]), FeatureConfig())
    terms = model.loss(x_t, torch.from_numpy(y))
    assert torch.isfinite(terms.total)
    assert model.encode_signal(x_t)[0].shape == (4, latent)


def test_a_latent_per_key_needs_keys_and_a_context_encoder():
    keyed = get_config("temporal-keys")
    with pytest.raises(MidivaeError, match="per key"):
        CrossModalVAE(N_BINS + 1, VOCAB.layout(), keyed)  # a melody vocabulary: no keys
    vocab = Vocabulary.standard([("piano", 21, 108, True)])
    with pytest.raises(MidivaeError, match="per key"):
        CrossModalVAE(N_BINS + 1, vocab.layout(), get_config("compact", key_latent=2))


def test_fit_is_deterministic_and_stops():
    x, y = synthetic(600)
    features = FeatureConfig()
    train = ArraySource(x[:500], y[:500], np.ones(500, bool))
    val = ArraySource(x[500:], y[500:], np.ones(100, bool))
    freqs = 27.5 * 2 ** (np.arange(N_BINS) / 48)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = small_model(features)
        result = fit(model, train, val, features, freqs, FitSettings(max_epochs=3, seed=3))
        runs.append((result.history[-1]["val_total"], model.signal.logvar.detach().clone()))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    assert result.epochs_run == 3 and result.history[-1]["beta"] == 1.0


def test_timbre_curves_are_smooth_bounded_and_seeded():
    freqs = torch.as_tensor(27.5 * 2.0 ** (np.arange(416) / 48.0), dtype=torch.float32)
    curves = timbre_curves(64, freqs, 6.0, torch.Generator().manual_seed(0))
    again = timbre_curves(64, freqs, 6.0, torch.Generator().manual_seed(0))
    assert curves.shape == (64, 416) and torch.equal(curves, again)
    rms = curves.pow(2).mean(-1).sqrt()
    assert float(rms.max()) <= 6.0 + 1e-4 and float(rms.std()) > 0.5  # RMS drawn in [0, 6]
    # smooth: under 2 dB between neighbouring bins (1/48 octave)
    assert float((curves[:, 1:] - curves[:, :-1]).abs().max()) < 2.0


def test_noise_floor_fills_rests_and_leaves_other_frames_alone():
    freqs = torch.as_tensor(27.5 * 2.0 ** (np.arange(416) / 48.0), dtype=torch.float32)
    amplitude = torch.zeros(400, 416)
    amplitude[:200, 100] = 1e-3  # a partial at -60 dB, then rests
    settings = FitSettings(noise_floor_db=(-100.0, -80.0), noise_probability=0.5)
    out = add_noise_floor(amplitude, freqs, settings, torch.Generator().manual_seed(0))
    again = add_noise_floor(amplitude, freqs, settings, torch.Generator().manual_seed(0))
    assert torch.equal(out, again) and bool((out >= amplitude).all())
    changed = (out != amplitude).any(dim=1)
    assert 0.35 < float(changed.float().mean()) < 0.65  # about half the frames
    rests = changed.clone()
    rests[:200] = False
    level = 20 * torch.log10(out[rests].pow(2).mean(-1).sqrt())
    assert float(level.min()) > -101.0 and float(level.max()) < -79.0  # the drawn floor
    assert torch.allclose(out[:200, 100], amplitude[:200, 100], rtol=1e-2)  # partial kept


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_one_cuda_step():
    model = small_model(FeatureConfig(mode="compressed")).cuda()
    x, y = synthetic(64)
    terms = model.loss(torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda())
    terms.total.backward()
    assert torch.isfinite(terms.total)


def test_damping_only_attenuates_above_a_corner_for_some_frames():
    freqs = torch.as_tensor(27.5 * 2.0 ** (np.arange(416) / 48.0), dtype=torch.float32)
    settings = FitSettings(damping_db_per_octave=24.0, damping_probability=0.5)
    curves = damping_curves(2000, freqs, settings, torch.Generator().manual_seed(0))
    again = damping_curves(2000, freqs, settings, torch.Generator().manual_seed(0))
    assert torch.equal(curves, again) and bool((curves <= 0.0).all())
    damped = (curves < 0.0).any(dim=1)
    assert 0.4 < float(damped.float().mean()) < 0.6  # about half the frames
    assert bool((curves[:, 0] == 0.0).all())  # A0 lies under every corner (80 Hz or more)
    # each curve falls monotonically above its corner, never faster than 24 dB per octave
    steps = curves[:, :-1] - curves[:, 1:]
    assert bool((steps >= -1e-5).all()) and float(steps.max()) <= 24.0 / 48.0 + 1e-4
    assert float(curves.min()) < -60.0  # some frames lose most of their upper partials


def test_detune_moves_a_window_along_the_pitch_axis_by_at_most_the_cents_asked():
    freqs = torch.as_tensor(27.5 * 2.0 ** (np.arange(416) / 48.0), dtype=torch.float32)
    windows = torch.zeros(500, 3, 416)
    windows[:, :, 200] = 1.0  # one partial at bin 200 in every frame of every window
    moved = detuned(windows, 25.0, freqs, torch.Generator().manual_seed(0))
    again = detuned(windows, 25.0, freqs, torch.Generator().manual_seed(0))
    assert torch.equal(moved, again)
    bins = torch.arange(416, dtype=torch.float32)
    centre = (moved * bins).sum(-1) / moved.sum(-1)  # where the partial went, in bins
    assert torch.allclose(centre, centre[:, :1].expand(-1, 3))  # a window's frames move together
    shift = centre[:, 0] - 200.0
    assert float(shift.abs().max()) <= 1.0 + 1e-5  # 25 cents = one bin at 48 per octave
    assert float(shift.min()) < -0.8 and float(shift.max()) > 0.8  # both ways, near the limit
    assert torch.allclose(moved.sum(-1), torch.ones(500, 3))  # linear interpolation keeps it
    assert torch.equal(detuned(windows, 0.0, freqs, torch.Generator()), windows)


@pytest.mark.parametrize(
    "change",
    [
        {"latent": "32"},
        {"latent": 10**9},
        {"signal_hidden": [10**9, 512]},
        {"signal_hidden": "wide"},
        {"cross_weight": float("nan")},
        {"context": [-3, 3]},
        {"context": ["a"]},
        {"harmonics": [0.5, -1.0]},
        {"fixed_match_target": "yes"},
    ],
)
def test_a_preset_config_out_of_range_or_of_the_wrong_type_is_one_error(change):
    data = get_config("compact").to_dict() | change
    with pytest.raises(MidivaeError, match="model config"):
        ModelConfig.from_dict(data)
