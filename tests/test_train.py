"""Training end to end on tiny FluidR3 corpora: the preset, its metrics, the CLI, mixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from midivae.cli.main import cli
from midivae.errors import MidivaeError
from midivae.presets.preset import META, READING_WEIGHTS, load_preset, save_preset
from midivae.training.corpus import build_corpus
from midivae.training.train import parse_instruments, split_items, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpora")
    for name in ("flute", "violin", "alto_sax"):
        build_corpus(name, root / name, tiny=True)
    return root


def test_split_is_by_item_and_deterministic():
    item = np.repeat(np.arange(40), 7)
    item[:5] = -1
    train, val, test = split_items(item, seed=1)
    assert set(item[train]).isdisjoint(item[test]) and set(item[val]).isdisjoint(item[test])
    assert set(item[train]).isdisjoint(item[val] if len(val) else [])
    assert len(train) + len(val) + len(test) == len(item)
    assert np.array_equal(split_items(item, seed=1)[2], test)


def test_instrument_specs():
    assert parse_instruments("alto_sax+violin") == ("alto_sax", "violin")
    assert len(parse_instruments("ensemble")) == 4
    with pytest.raises(MidivaeError):
        parse_instruments("kazoo")
    with pytest.raises(MidivaeError):
        parse_instruments("flute+piano")


@pytest.mark.slow
@pytest.mark.needs_fluidsynth
def test_train_tiny_corpus_writes_a_loadable_preset_with_metrics(tiny, tmp_path):
    out = tmp_path / "flute-preset"
    preset = train(
        "flute", out, corpus=[tiny], devtest=(), config="tiny", epochs=2, seed=0, command="test"
    )
    meta = json.loads((out / META).read_text())
    assert {"table1", "table2", "headline"} <= set(meta["metrics"])
    assert 0.0 <= meta["metrics"]["table2"]["signal_to_symbol"]["pitch_class"] <= 1.0
    assert meta["provenance"]["epochs"] == 2 and meta["provenance"]["seed"] == 0
    assert meta["provenance"]["corpora"][0]["manifest_sha256"]
    assert len(meta["history"]) == 2 and "train_match" in meta["history"][0]
    loaded = load_preset(out)
    frames = np.zeros((3, 416), np.float32)
    np.testing.assert_array_equal(loaded.encode_signal(frames)[0], preset.encode_signal(frames)[0])
    # same seed, same preset
    again = train(
        "flute",
        tmp_path / "again",
        corpus=[tiny],
        devtest=(),
        config="tiny",
        epochs=2,
        seed=0,
        baseline=False,
    )
    np.testing.assert_array_equal(again.encode_signal(frames)[0], preset.encode_signal(frames)[0])


def test_a_context_encoder_trains_reads_onsets_and_saves_as_it_reads(tiny, tmp_path):
    out = tmp_path / "temporal"
    preset = train(
        "flute",
        out,
        corpus=[tiny],
        devtest=(),
        config="tiny-temporal",
        epochs=1,
        onset_symbols=True,
    )
    assert preset.config.context and "onset" in [f.name for f in preset.vocabulary.families]
    frames = np.abs(np.random.default_rng(1).normal(size=(3000, 416))).astype(np.float32)
    read = preset.read_signal(frames)  # more frames than one chunk: the margins join them
    whole = preset.families_of(
        preset.model.symbol.probabilities(
            preset.model.symbol.decode(
                preset.model.signal.encoder(torch.from_numpy(preset.features_of(frames)))[0]
            )
        )
        .detach()
        .numpy()
    )
    np.testing.assert_allclose(read["pitch"], whole["pitch"], atol=1e-5)
    assert read["onset"].shape == (3000, 1)
    np.testing.assert_array_equal(load_preset(out).read_signal(frames)["onset"], read["onset"])
    with pytest.raises(MidivaeError, match="kept pair"):
        train("flute", tmp_path / "x", corpus=[tiny], devtest=(), config="tiny-temporal",
              epochs=1, keep_writing=out, onset_symbols=True)  # fmt: skip


@pytest.mark.slow
@pytest.mark.needs_fluidsynth
def test_train_a_mixture(tiny, tmp_path):
    preset = train(
        "alto_sax+violin",
        tmp_path / "duet",
        corpus=[tiny],
        devtest=(),
        config="tiny",
        epochs=1,
        baseline=False,
    )
    assert preset.instruments == ("alto_sax", "violin")
    sig = preset.meta["metrics"]["table2"]["signal_to_symbol"]
    assert "pitch_class_loose" in sig and "violin.octave" in sig


@pytest.mark.slow
@pytest.mark.needs_fluidsynth
def test_train_cli(tiny, tmp_path):
    out = tmp_path / "cli-preset"
    args = [
        "train",
        "--instrument",
        "flute",
        "--corpus",
        str(tiny / "flute"),
        "--config",
        "tiny",
        "--epochs",
        "1",
        "--devtest",
        str(tiny / "flute"),
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Table 1" in result.output and "Table 2" in result.output
    assert "epoch 1/1" in result.output  # epoch lines reach a log file, not only a terminal
    provenance = json.loads((out / META).read_text())["provenance"]
    assert provenance["command"].startswith("midivae ")
    assert provenance["fit"]["timbre_db"] > 0 and provenance["fit"]["noise_floor_db"]
    assert provenance["fit"]["damping_db_per_octave"] == 24.0
    assert provenance["fit"]["detune_cents"] == 0.0
    steep = CliRunner().invoke(
        cli, [*args[:-1], str(tmp_path / "steep"), "--damping", "48", "--detune", "20"]
    )
    assert steep.exit_code == 0, steep.output
    fit = json.loads((tmp_path / "steep" / META).read_text())["provenance"]["fit"]
    assert fit["damping_db_per_octave"] == 48.0 and fit["timbre_db"] > 0
    assert fit["detune_cents"] == 20.0
    plain = CliRunner().invoke(cli, [*args[:-1], str(tmp_path / "plain"), "--no-augment"])
    assert plain.exit_code == 0, plain.output
    fit = json.loads((tmp_path / "plain" / META).read_text())["provenance"]["fit"]
    assert fit["timbre_db"] == 0 and fit["noise_floor_db"] is None
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "exists" in again.output
    bad = CliRunner().invoke(cli, ["train", "--instrument", "kazoo", "-o", str(tmp_path / "k")])
    assert bad.exit_code == 2


@pytest.mark.slow
@pytest.mark.needs_fluidsynth
def test_refine_reading_keeps_the_writing_half_bit_for_bit(tiny, tmp_path):
    base = tmp_path / "base"
    train("flute", base, corpus=[tiny], devtest=(), config="tiny", epochs=2)
    out = tmp_path / "refined"
    args = ["train", "--instrument", "flute", "--corpus", str(tiny / "flute"), "--devtest"]
    args += [str(tiny / "flute"), "--refine-reading", str(base), "--cross-weight", "3"]
    result = CliRunner().invoke(cli, [*args, "--epochs", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    before, after = load_preset(base), load_preset(out)
    old, new = before.model.state_dict(), after.model.state_dict()
    writing = [k for k in old if k.startswith(("symbol.encoder.", "signal.decoder."))]
    assert len(writing) == 8  # tiny: two layers each, weights and biases
    assert all((old[k] == new[k]).all() for k in [*writing, "signal.logvar"])
    assert not all((old[k] == new[k]).all() for k in old if k.startswith("signal.encoder."))
    meta = json.loads((out / META).read_text())
    assert (
        meta["model_config"]["cross_weight"] == 3.0 and meta["model_config"]["warmup_epochs"] == 0
    )
    assert meta["provenance"]["refined_from"]["trained"]["epochs"] == 2
    assert meta["provenance"]["fit"]["lr"] < before.meta["provenance"]["fit"]["lr"]
    assert meta["envelope"] == before.meta["envelope"]
    z = np.random.default_rng(0).normal(size=(4, before.config.latent)).astype(np.float32)
    np.testing.assert_array_equal(before.decode_signal(z), after.decode_signal(z))
    wrong = CliRunner().invoke(cli, [*args, "--config", "tiny", "-o", str(tmp_path / "w")])
    assert wrong.exit_code == 1 and "--refine-reading keeps" in wrong.output


@pytest.mark.slow
@pytest.mark.needs_fluidsynth
def test_keep_writing_holds_two_pairs(tiny, tmp_path):
    base = tmp_path / "base"
    train("flute", base, corpus=[tiny], devtest=(), config="tiny", epochs=2)
    out = tmp_path / "two"
    args = ["train", "--instrument", "flute", "--corpus", str(tiny / "flute"), "--devtest"]
    args += [str(tiny / "flute"), "--config", "tiny", "--epochs", "1", "--seed", "0"]
    result = CliRunner().invoke(cli, [*args, "--keep-writing", str(base), "-o", str(out)])
    assert result.exit_code == 0, result.output
    before, after = load_preset(base), load_preset(out)
    assert after.two_pairs and not before.two_pairs and (out / READING_WEIGHTS).is_file()
    old, new = before.model.state_dict(), after.model.state_dict()
    assert all((old[k] == new[k]).all() for k in old)  # renders, morphs, fits: the same
    frames = np.abs(np.random.default_rng(1).normal(size=(6, before.spectral.n_bins)))
    frames = frames.astype(np.float32)
    np.testing.assert_array_equal(before.encode_signal(frames)[0], after.encode_signal(frames)[0])
    reading = after.read_signal(frames)["pitch"]
    assert not np.allclose(reading, before.read_signal(frames)["pitch"])
    meta = json.loads((out / META).read_text())
    assert meta["provenance"]["writing_from"]["trained"]["epochs"] == 2
    assert meta["provenance"]["writing_from"]["trained"]["fit"] == before.meta["provenance"]["fit"]
    assert meta["envelope"] == before.meta["envelope"]
    assert meta["size_bytes"] == sum(p.stat().st_size for p in out.glob("*.safetensors"))
    listed = CliRunner().invoke(cli, ["presets", str(out)])
    assert listed.exit_code == 0 and "two pairs" in listed.output
    again = tmp_path / "again"
    save_preset(after, again)  # a loaded two-pair preset saves as it loaded
    np.testing.assert_array_equal(load_preset(again).read_signal(frames)["pitch"], reading)
    kept = train(
        "flute",
        tmp_path / "kept",
        corpus=[tiny],
        devtest=(),
        config="tiny",
        epochs=1,
        keep_writing=out,
    )  # from a two-pair preset: the same writing pair, and how it was trained
    assert kept.meta["provenance"]["writing_from"]["trained"]["epochs"] == 2
    refine_args = [a for a in args if a not in ("--config", "tiny")]
    refine = CliRunner().invoke(
        cli, [*refine_args, "--refine-reading", str(out), "-o", str(tmp_path / "r")]
    )  # a two-pair preset: its reading pair is refined, the pair that renders kept
    assert refine.exit_code == 0, refine.output
    refined = load_preset(tmp_path / "r")
    assert refined.two_pairs
    kept_weights, refined_weights = after.model.state_dict(), refined.model.state_dict()
    assert all((kept_weights[k] == refined_weights[k]).all() for k in kept_weights)
    assert not np.allclose(refined.read_signal(frames)["pitch"], reading)
    (out / READING_WEIGHTS).write_bytes(b"\x80\x04garbage")
    with pytest.raises(MidivaeError, match=READING_WEIGHTS):
        load_preset(out)


@pytest.mark.slow
@pytest.mark.presets
def test_train_on_own_audio_semi_supervised(tmp_path):
    import pretty_midi
    import soundfile as sf

    sr = 22050
    for index in range(4):
        pitch = 62 + 3 * index
        t = np.arange(int(1.5 * sr)) / sr
        tone = 0.2 * np.sin(2 * np.pi * 440 * 2 ** ((pitch - 69) / 12) * t) * (t < 1.0)
        sf.write(tmp_path / f"take{index}.wav", tone.astype(np.float32), sr)
        if index < 3:  # the last take has no MIDI: it trains the signal VAE only
            score = pretty_midi.PrettyMIDI()
            inst = pretty_midi.Instrument(73)
            inst.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=0.0, end=1.0))
            score.instruments.append(inst)
            score.write(str(tmp_path / f"take{index}.mid"))
    preset = train("flute", tmp_path / "mine", data=tmp_path, devtest=(), config="tiny", epochs=1)
    assert preset.meta["provenance"]["data"] == str(tmp_path)
    assert "pitch_class" in preset.meta["metrics"]["table2"]["signal_to_symbol"]
    # the shipped flute's reading half adapted to these takes; its renders stay
    adapted = train(
        "flute", tmp_path / "adapted", data=tmp_path, devtest=(), refine_reading="flute", epochs=1
    )
    shipped = load_preset("flute")
    assert adapted.meta["envelope"] == shipped.meta["envelope"]
    z = np.zeros((2, shipped.config.latent), np.float32)
    np.testing.assert_array_equal(adapted.decode_signal(z), shipped.decode_signal(z))


def test_metrics_dynamics_order_loose_ratio_and_isd():
    from midivae.symbols import Vocabulary
    from midivae.training.metrics import dynamics_order, itakura_saito_divergence, loose_scores

    velocity = np.array([33, 80, 112, 33, 80, 112])
    group = np.array([0, 0, 0, 1, 1, 1])
    right = dynamics_order(np.array([0.1, 0.5, 0.9, 0.2, 0.3, 0.4]), velocity, group)
    assert right["pairwise"] == 1.0 and right["whole"] == 1.0
    wrong = dynamics_order(np.array([0.9, 0.5, 0.1, 0.2, 0.3, 0.4]), velocity, group)
    assert wrong["pairwise"] == 0.5 and wrong["whole"] == 0.5
    x = np.log1p(1000 * np.full((2, 8), 0.01))
    assert np.allclose(itakura_saito_divergence(x, x, 1000.0), 0.0)
    assert np.all(itakura_saito_divergence(x, x * 0.9, 1000.0) > 0)
    vocab = Vocabulary.standard([("a", 60, 71, False), ("b", 60, 71, False)])
    labels = {"pitch": np.array([[60, 64]]), "velocity": np.array([[80, 80]])}
    labels |= {
        "pitch_class": labels["pitch"] % 12,
        "octave": labels["pitch"] // 12 - 1,
        "dynamics": np.array([[1, 1]]),
    }
    truth = vocab.encode(labels)
    swapped = vocab.encode({k: v[:, ::-1] for k, v in labels.items()})
    assert loose_scores(vocab, swapped, truth)["pitch_class_loose"] == 1.0
