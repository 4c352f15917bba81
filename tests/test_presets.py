"""Presets: save -> load gives identical outputs; damaged files get one-line errors naming them."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from midivae.cli.main import cli
from midivae.errors import MidivaeError
from midivae.model import FeatureConfig, get_config
from midivae.presets.preset import (
    META,
    WEIGHTS,
    Preset,
    build_model,
    load_preset,
    round_weights,
    save_preset,
    shipped_presets,
)
from midivae.spectral import SpectralConfig
from midivae.symbols import Vocabulary

VOCAB = Vocabulary.standard([("flute", 60, 96, False)])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def preset() -> Preset:
    torch.manual_seed(0)
    spectral, features = SpectralConfig(), FeatureConfig()
    model = build_model(VOCAB, spectral, features, get_config("tiny"))
    return Preset(model, VOCAB, spectral, features, {"name": "unit", "metrics": {"headline": {}}})


@pytest.fixture
def saved(preset, tmp_path):
    return save_preset(preset, tmp_path / "unit")


def frames(rng, n=50) -> np.ndarray:
    return np.log1p(1000 * 0.01 * rng.random((n, 416))).astype(np.float32)


def test_save_load_gives_identical_outputs(preset, saved, rng):
    round_weights(preset.model)  # what the file holds: float16 weights
    loaded = load_preset(saved)
    x = frames(rng)
    mu, logvar = preset.encode_signal(x)
    mu2, logvar2 = loaded.encode_signal(x)
    np.testing.assert_array_equal(mu, mu2)
    np.testing.assert_array_equal(logvar, logvar2)
    np.testing.assert_array_equal(preset.decode_signal(mu), loaded.decode_signal(mu2))
    y = VOCAB.encode(
        {
            "pitch": np.array([60]),
            "velocity": np.array([64]),
            "pitch_class": np.array([0]),
            "octave": np.array([4]),
            "dynamics": np.array([1]),
        }
    )
    np.testing.assert_array_equal(preset.encode_symbols(y)[0], loaded.encode_symbols(y)[0])
    probs = loaded.decode_symbols(mu2)
    assert probs["pitch_class"].shape == (50, 13)
    np.testing.assert_allclose(probs["pitch_class"].sum(1), 1.0, atol=1e-5)
    assert probs["velocity"].shape == (50,) and np.all(
        (probs["velocity"] >= 1) & (probs["velocity"] <= 127)
    )
    assert loaded.decode_signal(mu2).shape == (50, 416)
    meta = json.loads((saved / META).read_text())
    assert meta["vocabulary"] == VOCAB.to_dict() and meta["format_version"] == 1
    assert not list(saved.parent.glob(".*tmp"))


def test_existing_folder_needs_overwrite(preset, saved):
    with pytest.raises(MidivaeError, match="exists"):
        save_preset(preset, saved)
    save_preset(preset, saved, overwrite=True)
    assert load_preset(saved).name == "unit"


def _one_line_error(folder, path):
    with pytest.raises(MidivaeError) as info:
        load_preset(folder)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_truncated_weights(saved):
    path = saved / WEIGHTS
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _one_line_error(saved, path)


def test_corrupted_weights(saved):
    path = saved / WEIGHTS
    data = bytearray(path.read_bytes())
    data[8:40] = b"\xff" * 32  # the JSON header
    path.write_bytes(bytes(data))
    _one_line_error(saved, path)


def test_pickled_weights_are_never_unpickled(saved):
    path = saved / WEIGHTS

    class Boom:
        def __reduce__(self):
            return (pytest.fail, ("unpickled!",))

    path.write_bytes(pickle.dumps({"x": Boom()}))
    _one_line_error(saved, path)
    torch.save({"w": torch.zeros(3)}, path)
    _one_line_error(saved, path)


def test_weights_that_do_not_match_the_config(saved):
    meta = json.loads((saved / META).read_text())
    meta["model_config"]["latent"] = 5
    (saved / META).write_text(json.dumps(meta))
    assert "shape" in _one_line_error(saved, saved / WEIGHTS)


def test_bad_preset_json(saved):
    (saved / META).write_text("{not json")
    _one_line_error(saved, saved / META)
    (saved / META).write_text(json.dumps({"format": "midivae-preset", "format_version": 99}))
    assert "version" in _one_line_error(saved, saved / META)


def test_registry_and_listing(saved):
    assert isinstance(shipped_presets(), list)
    with pytest.raises(MidivaeError, match="no such preset"):
        load_preset("no-such-preset-name")
    result = CliRunner().invoke(cli, ["presets", str(saved)])
    assert result.exit_code == 0, result.output
    assert "unit" in result.output and "flute" in result.output
    result = CliRunner().invoke(cli, ["presets", str(saved.parent / "missing")])
    assert result.exit_code == 1
