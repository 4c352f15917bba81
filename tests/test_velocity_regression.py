"""Note velocity read from the attack, the note's peak level and its pitch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from midivae.cli.main import cli
from midivae.errors import MidivaeError
from midivae.model.velocity_regression import (
    VelocityRegression,
    fit_velocity_regression,
    note_level,
)
from midivae.presets.preset import META, WEIGHTS, load_preset, resolve
from midivae.training.corpus.content import Note
from midivae.training.corpus.render import get_soundfont, render_notes
from midivae.transcription.transcribe import transcribe

PHRASE = [Note(72, 60, 0.3, 0.8), Note(76, 85, 0.9, 1.4), Note(79, 110, 1.5, 2.1)]


def flute_audio(notes, seconds=2.6, gain_db=0.0) -> np.ndarray:
    font = get_soundfont("fluidr3").path()
    return render_notes(notes, program=73, soundfont=font, seconds=seconds) * 10 ** (gain_db / 20)


def flute_copy(tmp_path: Path, regression: dict | None) -> Path:
    """The shipped flute preset with ``regression`` as its velocity regression (None: without)."""
    folder = tmp_path / "flute"
    shutil.copytree(resolve("flute"), folder)
    meta = json.loads((folder / META).read_text())
    meta.pop("velocity_regression", None)
    if regression is not None:
        meta["velocity_regression"] = regression
    (folder / META).write_text(json.dumps(meta))
    return folder


def test_fit_regression_recovers_a_known_line(rng):
    attack, level, pitch = (
        rng.uniform(20, 120, 200),
        rng.uniform(-60, -10, 200),
        rng.integers(55, 90, 200),
    )
    truth = 0.6 * attack + 1.3 * level - 0.25 * (pitch - 60) + 70 + rng.normal(0, 0.5, 200)
    regression = fit_velocity_regression(attack, level, pitch, truth)
    assert regression.notes == 200
    np.testing.assert_allclose(
        [regression.attack, regression.level, regression.pitch, regression.offset],
        [0.6, 1.3, -0.25, 70],
        atol=0.1,
    )
    assert abs(regression.predict(100.0, -20.0, 72) - (60 - 26 - 3 + 70)) <= 1


def test_fit_regression_needs_enough_varied_notes(rng):
    attack, level = rng.uniform(20, 120, 30), rng.uniform(-60, -10, 30)
    assert fit_velocity_regression(attack[:10], level[:10], np.full(10, 60), attack[:10]) is None
    # one pitch: no pitch weight
    assert fit_velocity_regression(attack, level, np.full(30, 60), attack) is None


def test_read_clips_and_bad_weights_are_refused():
    regression = VelocityRegression(attack=2.0, level=0.0, pitch=0.0, offset=0.0)
    assert regression.predict(100.0, -20.0, 60) == 127 and regression.predict(-5.0, -20.0, 60) == 1
    for bad in ({"attack": 1.0}, {"attack": "x", "level": 0, "pitch": 0, "offset": 0}, None):
        with pytest.raises(MidivaeError):
            VelocityRegression.from_dict(bad)
    with pytest.raises(MidivaeError, match="finite"):
        VelocityRegression.from_dict({"attack": float("nan"), "level": 0, "pitch": 0, "offset": 0})


def test_note_level_is_the_root_of_the_peak_over_the_note():
    envelope = np.array([0.001, 0.04, 0.01, 1.0, 0.5])
    assert note_level(envelope, 1, 3) == pytest.approx(20.0)
    assert note_level(envelope, 1, 1) == pytest.approx(20.0)  # at least its first frame
    assert note_level(np.zeros(4), 0, 4) == 0.0


def test_a_bad_velocity_regression_names_the_preset_file(tmp_path):
    folder = flute_copy(tmp_path, {"attack": 1.0, "level": "loud", "pitch": 0, "offset": 0})
    with pytest.raises(MidivaeError) as error:
        load_preset(folder)
    assert error.value.path == folder / META and "velocity_regression" in error.value.message


@pytest.mark.presets
@pytest.mark.needs_fluidsynth
def test_transcription_reads_velocity_through_the_preset_regression(tmp_path):
    audio = flute_audio(PHRASE)
    constant = flute_copy(tmp_path / "a", {"attack": 0, "level": 0, "pitch": 0, "offset": 77})
    assert [n.velocity for n in transcribe(audio, preset=constant).notes] == [77, 77, 77]
    by_level = flute_copy(tmp_path / "b", {"attack": 0, "level": 4, "pitch": 0, "offset": 0})
    loud = transcribe(audio, preset=by_level).notes
    quiet = transcribe(flute_audio(PHRASE, gain_db=-12.0), preset=by_level).notes
    assert [n.pitch for n in quiet] == [72, 76, 79]
    for a, b in zip(loud, quiet, strict=True):  # 12 dB down: the amplitude's root halves
        assert 40 <= a.velocity < 127 and b.velocity == pytest.approx(a.velocity / 2, abs=1.5)
    plain = flute_copy(tmp_path / "c", None)
    assert [n.velocity for n in transcribe(audio, preset=plain).notes] != [77, 77, 77]


@pytest.mark.presets
def test_shipped_solo_presets_carry_a_velocity_regression():
    for name in ("flute", "violin", "alto_sax", "trumpet", "piano"):
        preset = load_preset(name)
        regression = preset.velocity_regression
        assert regression is not None and regression.notes >= 100, name
        fit = preset.meta["velocity_regression"]["fit"]
        assert fit["mean_abs_error"] < fit["attack_only_mean_abs_error"], name
        # measured by the preset's own training, or refitted since
        trained = fit["command"] == preset.meta["provenance"]["command"]
        assert trained or "--refit-velocity" in fit["command"], name


@pytest.mark.slow  # midivae train: a refit on fluidsynth renders
@pytest.mark.presets
@pytest.mark.needs_fluidsynth
def test_refit_velocity_keeps_the_model_and_measures_a_regression(tmp_path):
    source = flute_copy(tmp_path / "src", None)
    out = tmp_path / "refit"
    args = ["train", "--instrument", "flute", "--refit-velocity", str(source), "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (out / WEIGHTS).read_bytes() == (source / WEIGHTS).read_bytes()
    meta = json.loads((out / META).read_text())
    assert meta["provenance"] == json.loads((source / META).read_text())["provenance"]
    fit = meta["velocity_regression"]["fit"]
    assert fit["command"].startswith("midivae ") and fit["mean_abs_error"] > 0
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "exists" in again.output
    training = CliRunner().invoke(cli, [*args, "--overwrite", "--epochs", "3"])
    assert training.exit_code == 2 and "trains nothing" in training.output
    wrong = CliRunner().invoke(cli, [*args[:2], "violin", *args[3:-1], str(tmp_path / "w")])
    assert wrong.exit_code == 1 and "give the same --instrument" in wrong.output
    duet = ["--instrument", "alto_sax+violin", "--refit-velocity", "alto_sax-violin"]
    mixture = CliRunner().invoke(cli, ["train", *duet, "-o", str(tmp_path / "m")])
    assert mixture.exit_code == 1 and "not mixtures" in mixture.output
