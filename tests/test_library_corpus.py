"""Corpora played by several libraries: calibration, the manifest's record, the library label,
and training without one library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from midivae.errors import MidivaeError
from midivae.music import get_instrument
from midivae.training.corpus import load_corpus, read_manifest
from midivae.training.corpus.build import build_library_corpus
from midivae.training.corpus.content import Note
from midivae.training.corpus.levels import Calibration, calibrate, measure_levels
from midivae.training.corpus.libraries import open_library
from midivae.training.corpus.performance import PlayerSettings
from midivae.training.corpus.rooms import RoomSettings
from midivae.training.fit_renders import corpus_players
from midivae.training.train import _without

SR = 22050


def tiny_sfz(folder: Path) -> Path:
    """An SFZ of two harmonic-tone samples (keycentres C4 and C5) covering the flute's range."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(1.5 * SR)) / SR
    for name, pitch in (("c4", 60), ("c5", 72)):
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        tone = sum(np.sin(2 * np.pi * f0 * h * t) / h**1.5 for h in range(1, 8))
        envelope = np.minimum(1.0, t / 0.03) * np.minimum(1.0, (t[-1] - t) / 0.05)
        sf.write(folder / f"{name}.wav", (0.5 * tone * envelope).astype(np.float32), SR)
    (folder / "tiny.sfz").write_text(
        "<group> loop_mode=no_loop\n"
        "<region> sample=c4.wav lokey=48 hikey=66 pitch_keycenter=60\n"
        "<region> sample=c5.wav lokey=67 hikey=100 pitch_keycenter=72\n"
    )
    return folder / "tiny.sfz"


def test_open_library_names_and_refusals(tmp_path):
    sfz = tiny_sfz(tmp_path / "lib")
    assert open_library(sfz).name == "tiny" and open_library(sfz).kind == "samples"
    assert open_library(f"mine={sfz}").name == "mine"
    assert open_library(tmp_path / "lib").name == "lib"
    assert open_library("synth").kind == "synth"
    with pytest.raises(MidivaeError, match="no such library"):
        open_library(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(MidivaeError, match="not a soundfont"):
        open_library(tmp_path / "notes.txt")


def test_calibration_maps_velocities_onto_the_reference_curve():
    reference = {16: -50.0, 33: -44.0, 48: -38.0, 64: -33.0, 80: -28.0, 96: -25.0, 112: -22.0}
    reference[127] = -20.0
    louder_flatter = {v: 0.5 * level + 0.0 for v, level in reference.items()}  # 6 dB per 12
    calibration = calibrate(reference, louder_flatter)
    assert calibration.gain_db == pytest.approx(reference[80] - louder_flatter[80])
    assert calibration.velocity(80) == 80
    # a flatter curve needs wider velocities to span the reference's range
    assert calibration.velocity(33) < 33 and calibration.velocity(112) > 112
    assert Calibration().identity and Calibration().velocity(57) == 57


@pytest.mark.needs_fluidsynth
def test_a_calibrated_library_meets_the_reference_mf_level(tmp_path):
    flute = get_instrument("flute")
    reference = measure_levels(open_library("fluidr3"), flute)
    library = open_library(tiny_sfz(tmp_path / "lib"))
    before = measure_levels(library, flute)
    calibration = calibrate(reference, before)
    after = measure_levels(library, flute, calibration=calibration)
    assert abs(before[80] - reference[80]) > 3.0  # the library is not at our level as it is
    assert after[80] == pytest.approx(reference[80], abs=1.0)
    assert after[33] < after[80] < after[112]


@pytest.mark.needs_fluidsynth
def test_a_corpus_of_libraries_records_every_item_and_frame(tmp_path):
    sfz = tiny_sfz(tmp_path / "lib")
    kwargs = dict(
        libraries=["fluidr3", "synth", f"tiny={sfz}"],
        players=PlayerSettings(),
        rooms=RoomSettings(),
        tiny=True,
        seed=3,
    )
    folder = build_library_corpus("flute", tmp_path / "c", **kwargs)
    manifest = read_manifest(folder)
    names = [library["name"] for library in manifest["libraries"]]
    assert names == ["fluidr3", "synth", "tiny"]
    assert len(manifest["item_library"]) == manifest["counts"]["items"]
    assert set(manifest["item_library"]) == {0, 1, 2}
    assert manifest["libraries"][2]["levels"]["after"]["mf"] == pytest.approx(
        manifest["libraries"][2]["levels"]["reference"]["mf"], abs=1.0
    )
    assert all("player" in s["played"] and "room" in s["played"] for s in manifest["shards"])
    corpus = load_corpus(folder)
    item, library = corpus.labels["item"], corpus.labels["library"]
    assert np.array_equal(library[item < 0], np.full(np.sum(item < 0), -1))
    expected = np.array(manifest["item_library"])[item[item >= 0]]
    assert np.array_equal(library[item >= 0], expected)
    # deterministic from the seed: the same build in another folder holds the same frames
    again = load_corpus(build_library_corpus("flute", tmp_path / "again", **kwargs))
    assert np.array_equal(again.magnitudes, corpus.magnitudes)
    # training without a library drops exactly its frames, and refuses one that is not there
    (kept,) = _without([corpus], ["synth"])
    assert not np.any(kept & (library == 1)) and np.all(kept[library != 1])
    with pytest.raises(MidivaeError, match="no library kazoo"):
        _without([corpus], ["kazoo"])
    # the note verifier hears the libraries training kept, each at its calibrated level
    players = corpus_players(manifest, ["synth"])
    assert [library.name for library, _ in players] == ["fluidr3", "tiny"]
    recorded = manifest["libraries"][2]["levels"]["calibration"]
    assert players[1][1] == Calibration.from_dict(recorded) and not players[1][1].identity
    with pytest.raises(MidivaeError, match="left out"):
        corpus_players(manifest, names)


@pytest.mark.needs_fluidsynth
def test_notes_outside_a_library_go_to_one_that_covers_them(tmp_path):
    sfz = tmp_path / "lib" / "narrow.sfz"
    tiny_sfz(tmp_path / "lib")
    sfz.write_text("<region> sample=c5.wav lokey=70 hikey=74 pitch_keycenter=72\n")
    folder = build_library_corpus(
        "flute", tmp_path / "c", libraries=[f"narrow={sfz}", "synth"], tiny=True
    )
    manifest = read_manifest(folder)
    corpus = load_corpus(folder)
    pitch = corpus.labels["pitch"]
    narrow = corpus.labels["library"] == 0
    assert np.all((pitch[narrow & (pitch >= 0)] >= 70) & (pitch[narrow & (pitch >= 0)] <= 74))
    assert manifest["dropped_items"] == 0


def test_levels_of_notes_follow_velocity_for_the_synthesiser():
    flute = get_instrument("flute")
    levels = measure_levels(open_library("synth"), flute, velocities=(33, 80, 112))
    assert levels[33] < levels[80] < levels[112]
    note = Note(72, 80, 0.1, 0.6)
    audio = open_library("synth").render([note], instrument=flute, voices=[0], seconds=1.0)
    assert len(audio) == SR and np.abs(audio).max() > 0.01
