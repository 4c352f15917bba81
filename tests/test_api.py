"""The public API, called the way the README shows it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile

import midivae

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.mark.slow  # a fresh interpreter: what ``import midivae`` loads
def test_import_is_light_and_names_the_api():
    code = "import sys, midivae; print(sorted(m for m in ('torch', 'numba') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert {"transcribe", "render", "load_preset", "train", "Transcription"} <= set(dir(midivae))
    with pytest.raises(AttributeError):
        midivae.no_such_name  # noqa: B018


@pytest.mark.presets
def test_transcribe_then_save_as_the_readme_shows(tmp_path):
    result = midivae.transcribe(str(EXAMPLES / "example_recording.flac"))
    assert isinstance(result, midivae.Transcription)
    assert result.preset == "flute"
    # every note of examples/make_examples.py's phrase, the closing D5 re-attacked 24 ms after
    # the one before it included
    ode = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]
    assert [n.pitch for n in result.notes] == [p + 12 for p in ode]
    assert result.notes[-1].offset > 9.5 and result.notes[-1].velocity >= result.notes[-2].velocity
    assert all(result.parts[n.part].name == "flute" for n in result.notes)
    result.save(tmp_path / "take.mid")
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "take.mid"))
    assert [n.pitch for n in midi.instruments[0].notes] == [n.pitch for n in result.notes]
    result.save(tmp_path / "take.musicxml")
    assert (tmp_path / "take.musicxml").read_text().lstrip().startswith("<?xml")
    with pytest.raises(midivae.MidivaeError, match="exists"):
        result.save(tmp_path / "take.mid")
    result.save(tmp_path / "take.csv")
    rows = (tmp_path / "take.csv").read_text().splitlines()
    assert rows[0] == "onset_s,offset_s,pitch,velocity,instrument"
    assert len(rows) == len(result.notes) + 1
    first = rows[1].split(",")
    assert int(first[2]) == result.notes[0].pitch and first[4] == "flute"
    assert abs(float(first[0]) - result.notes[0].onset) < 1e-3
    with pytest.raises(midivae.MidivaeError, match=r"\.mid, \.musicxml or \.csv"):
        result.save(tmp_path / "take.txt")


@pytest.mark.presets
def test_transcribe_takes_an_array_and_an_instrument():
    audio, rate = soundfile.read(EXAMPLES / "example_recording.flac", dtype="float32")
    assert rate == 22050
    by_name = midivae.transcribe(audio, instrument="flute")
    assert by_name.preset == "flute" and by_name.fit is None
    assert [n.pitch for n in by_name.notes] == [
        n.pitch for n in midivae.transcribe(EXAMPLES / "example_recording.flac").notes
    ]


@pytest.mark.presets
def test_render_then_save_as_the_readme_shows(tmp_path):
    rendering = midivae.render(EXAMPLES / "example_score.musicxml", seed=0)
    assert isinstance(rendering, midivae.Rendering)
    assert rendering.sample_rate == 44100 and rendering.audio.dtype == np.float32
    assert rendering.audio.shape[1] == 2  # stereo; a lone part sits in the centre
    np.testing.assert_allclose(rendering.audio[:, 0], rendering.audio[:, 1], atol=1e-6)
    assert list(rendering.stems) == ["Violin"] and rendering.seconds > 5
    assert 0.01 < np.max(np.abs(rendering.audio)) < 1.0
    rendering.save(tmp_path / "score.wav", stems=True)
    saved, rate = soundfile.read(tmp_path / "score.wav", dtype="float32")
    assert rate == 44100 and saved.shape == rendering.audio.shape
    assert (tmp_path / "score.Violin.wav").is_file()


def test_load_preset_by_name():
    preset = midivae.load_preset("flute")
    assert preset.name == "flute" and preset.instruments == ("flute",)
    with pytest.raises(midivae.MidivaeError):
        midivae.load_preset("kazoo")


def test_train_is_the_training_entry():
    from midivae.training.train import train

    assert midivae.train is train


@pytest.mark.presets
def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "examples").symlink_to(EXAMPLES)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "out" / "example_recording.mid").stat().st_size > 0
    assert soundfile.info(tmp_path / "out" / "example_score.wav").duration > 5


@pytest.mark.presets
def test_docstring_examples_run(monkeypatch):
    import doctest

    import midivae.transcription.transcribe as module

    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testmod(module, extraglobs={"midivae": midivae}, verbose=False)
    assert tried >= 2 and failures == 0
