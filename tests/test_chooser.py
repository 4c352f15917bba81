"""The instrument chooser: its model, training on tiny corpora, its files, and ``auto``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from midivae.errors import MidivaeError
from midivae.model.instrument_classifier import InstrumentClassifier
from midivae.presets.chooser import META, SHIPPED, load_chooser, save_chooser
from midivae.presets.preset import shipped_presets
from midivae.spectral import SpectralConfig
from midivae.training.chooser_fit import FrameDraws, fit_chooser, mixture_classes
from midivae.training.corpus import build_corpus
from midivae.training.corpus.store import load_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")
PRESETS = {"flute": ["flute"], "violin": ["violin"], "flute-violin": ["flute", "violin"]}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("corpora")
    for name in ("flute", "violin"):
        build_corpus(name, root / name, tiny=True)
    return {name: root / name for name in ("flute", "violin")}


def test_the_classifier_hears_a_pattern_at_every_pitch():
    """A frame shifted by whole quarter tones gives the same maps shifted (away from the
    edges, which the convolutions' zero padding reaches): only the registers' means, where
    the sound lies, tell the two apart."""
    torch.manual_seed(0)
    model = InstrumentClassifier(416, 3, 48).eval()
    frame = torch.zeros(1, 416)
    # partials 1-4 of a note far enough from the edges that no stacked copy nor
    # convolution reaches past them, before or after the shift by two quarter tones
    frame[0, [180, 228, 256, 276]] = torch.tensor([3.0, 2.0, 1.5, 1.0])
    shifted = torch.roll(frame, 8, dims=1)
    with torch.no_grad():
        maps = [model.maps(f)[0] for f in (frame, shifted)]
    assert torch.allclose(maps[0][:, 32:170], maps[1][:, 36:174], atol=1e-5)
    assert not torch.allclose(maps[0][:, 32:170], maps[1][:, 32:170], atol=1e-3)


def test_pairs_go_to_the_narrowest_mixture_with_both():
    presets = {"a": ["a"], "a-b": ["a", "b"], "all": ["a", "b", "c"]}
    assert mixture_classes(presets) == {("a", "b"): "a-b", ("a", "c"): "all", ("b", "c"): "all"}


@pytest.mark.slow
@pytest.mark.needs_fluidsynth
def test_a_chooser_trains_on_tiny_corpora_tells_them_apart_and_saves_as_it_reads(tiny, tmp_path):
    chooser = fit_chooser(tiny, PRESETS, epochs=12, frames_per_class=1500, log=lambda _: None)
    assert chooser.meta["classes"] == list(PRESETS)
    draws = FrameDraws({k: load_corpus(v) for k, v in tiny.items()}, PRESETS, ())
    rng = np.random.default_rng(5)
    solos = np.concatenate([draws.draw(name, 100, rng) for name in ("flute", "violin")])
    guesses = chooser.probabilities(solos).argmax(axis=1)
    assert np.mean(guesses == np.repeat([0, 1], 100)) > 0.7
    folder = save_chooser(chooser, tmp_path / "chooser")
    again = load_chooser(folder)
    assert np.allclose(again.probabilities(solos), chooser.probabilities(solos), atol=2e-2)
    with pytest.raises(MidivaeError, match="exists"):
        save_chooser(chooser, folder)


def test_a_frame_draw_is_level_free_of_the_excluded_library(tiny):
    """Leaving a library out that the corpus lacks leaves its frames; every draw is finite
    and compressed (non-negative)."""
    corpora = {k: load_corpus(v) for k, v in tiny.items()}
    draws = FrameDraws(corpora, PRESETS, ("vsco2",))
    frames = draws.draw("flute-violin", 50, np.random.default_rng(0))
    assert frames.shape == (50, SpectralConfig().n_bins)
    assert np.isfinite(frames).all() and (frames >= 0).all()


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"classes": "flute"}, "malformed 'classes'"),
        ({"model_config": {"channels": 10**9}}, "model_config"),
        ({"model_config": {"layers": 3}}, "malformed 'model_config'"),
        ({"format_version": 99}, "format version"),
    ],
)
def test_a_malformed_chooser_json_is_one_line_naming_the_file(tmp_path, change, problem):
    meta = {
        "format": "midivae-chooser",
        "format_version": 1,
        "classes": ["flute", "violin"],
        "spectral_config": SpectralConfig().to_dict(),
        "model_config": {"channels": 4, "hidden": 8},
    }
    (tmp_path / META).write_text(json.dumps(meta | change))
    with pytest.raises(MidivaeError, match=problem) as caught:
        load_chooser(tmp_path)
    assert "\n" not in str(caught.value)


@pytest.mark.presets
def test_the_shipped_chooser_knows_every_shipped_preset_and_is_small():
    chooser = load_chooser(SHIPPED)
    assert set(chooser.classes) == set(shipped_presets())
    assert sum(p.stat().st_size for p in SHIPPED.iterdir()) < 1e6
    assert chooser.spectral == SpectralConfig()


def test_a_room_adds_only_its_items_earlier_frames_and_follows_the_seed(tiny):
    corpus = load_corpus(tiny["flute"])
    draws = FrameDraws({"flute": corpus}, {"flute": ["flute"]}, ())
    items = corpus.labels["item"]
    firsts = np.flatnonzero((items >= 0) & (np.r_[-2, items[:-1]] != items))[:20]
    later = firsts + 3
    rows = np.r_[firsts, later]
    dry = corpus.amplitudes(rows)
    wet = draws._in_room(corpus, rows, dry, np.random.default_rng(1))
    assert np.allclose(wet[: len(firsts)], dry[: len(firsts)])  # nothing earlier to ring on
    assert (wet >= dry - 1e-7).all() and (wet[len(firsts) :] > dry[len(firsts) :] + 1e-6).any()
    again = draws._in_room(corpus, rows, dry, np.random.default_rng(1))
    assert np.array_equal(wet, again)
