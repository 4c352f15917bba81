"""Note corpora: content, labels, a tiny fluidsynth + FluidR3_GM build, storage, mixtures."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from click.testing import CliRunner
from conftest import fluidsynth_missing

from midivae.errors import MidivaeError
from midivae.music import INSTRUMENTS, MELODY_INSTRUMENTS, dynamics_class, get_instrument
from midivae.spectral import SpectralConfig, compress
from midivae.spectral.shift import detune
from midivae.training.corpus import (
    augment,
    build,
    build_corpus,
    content,
    labels,
    load_corpus,
    render,
    store,
)
from midivae.training.corpus.mixtures import MixtureSampler

CONFIG = SpectralConfig()
RENDER_BATCH = build.render_batch


@pytest.fixture(scope="module")
def tiny_flute(tmp_path_factory) -> Path:
    return build_corpus("flute", tmp_path_factory.mktemp("c") / "flute", tiny=True)


@pytest.fixture(scope="module")
def tiny_piano(tmp_path_factory) -> Path:
    return build_corpus("piano", tmp_path_factory.mktemp("c") / "piano", tiny=True)


def batch_notes(instrument: str) -> list[tuple[content.Note, int]]:
    """The tiny build's notes (times within their batch) with their shard's first frame."""
    items = content.training_content(get_instrument(instrument), 0, tiny=True)
    notes, first = [], 0
    for batch in build.plan_batches(items, max_seconds=build.TINY_BATCH_SECONDS):
        notes += [(n, first) for n in batch.notes()]
        first += round(batch.total_seconds * CONFIG.sample_rate) // CONFIG.hop_length + 1
    return notes


def frame(seconds: float, first: int = 0) -> int:
    return first + round(seconds * CONFIG.sample_rate / CONFIG.hop_length)


def band(amplitude: np.ndarray, pitch: int) -> np.ndarray:
    centre = round(CONFIG.midi_to_bin(pitch))
    return amplitude[:, centre - 1 : centre + 2].max(axis=1)


# --- content ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(INSTRUMENTS))
def test_training_content_covers_range_dynamics_and_durations(name):
    inst = get_instrument(name)
    items = content.training_content(inst, 0)
    isolated = [i.notes[0] for i in items if i.kind == content.ISOLATED]
    assert {n.pitch for n in isolated} == set(inst.pitches)
    assert len({n.velocity for n in isolated}) >= 5
    assert len({round(n.end - n.start, 3) for n in isolated}) >= 3
    assert set(dynamics_class(np.array([n.velocity for n in isolated]))) == {0, 1, 2}
    phrases = [i for i in items if i.kind == content.PHRASE]
    assert len(phrases) >= 20
    for item in items:
        assert all(inst.low <= n.pitch <= inst.high and 1 <= n.velocity <= 127 for n in item.notes)
        assert all(n.end > n.start >= 0 for n in item.notes)
        assert item.length > max(n.end for n in item.notes)
        if not inst.polyphonic:  # monophonic: no two notes overlap
            starts = np.array([n.start for n in item.notes])
            ends = np.array([n.end for n in item.notes])
            assert np.all(ends[:-1] <= starts[1:] + 1e-9)
    if inst.polyphonic:
        sizes = {len(i.notes) for i in items if i.kind == content.CHORD}
        assert sizes == {2, 3, 4}
        # hymn-like progressions: four voices spread over two octaves or more, some doubled
        chords = [
            [n.pitch for n in i.notes if n.start == start]
            for i in items
            if i.kind == content.PHRASE
            for start in {n.start for n in i.notes}
        ]
        wide = [c for c in chords if len(c) == 4 and max(c) - min(c) >= 24]
        assert len(wide) >= 100
        assert any(len({p % 12 for p in c}) < 4 for c in wide)
    minutes = sum(i.length for i in items) / 60
    assert 10 <= minutes <= (60 if inst.polyphonic else 20)  # trainable in minutes on 2 cores


def test_pedalled_pieces_ring_on_under_the_pedal_two_hands_wide():
    inst = get_instrument("piano")
    items = content.pedalled_pieces(inst, np.random.default_rng(0), seconds=300.0)
    again = content.pedalled_pieces(inst, np.random.default_rng(0), seconds=300.0)
    assert items == again and sum(i.length for i in items) >= 300.0
    widest, densest, rung = 0, 0, 0
    for item in items:
        notes = item.notes
        assert all(inst.low <= n.pitch <= inst.high and n.end > n.start for n in notes)
        for pitch in {n.pitch for n in notes}:  # a key struck again cuts its last note
            same = sorted((n for n in notes if n.pitch == pitch), key=lambda n: n.start)
            assert all(a.end <= b.start for a, b in pairwise(same))
        widest = max(widest, max(n.pitch for n in notes) - min(n.pitch for n in notes))
        for t in np.arange(0.0, item.length, 0.1):
            densest = max(densest, sum(n.start <= t < n.end for n in notes))
        # the pedal: notes still sounding after six later onsets
        starts = sorted(n.start for n in notes)
        rung += sum(sum(n.start < s < n.end for s in starts) >= 6 for n in notes)
    assert widest >= 36 and densest >= 8 and rung >= 300  # 82 without the pedal


def test_content_is_deterministic_from_the_seed():
    inst = get_instrument("violin")
    assert content.training_content(inst, 3) == content.training_content(inst, 3)
    assert content.training_content(inst, 3) != content.training_content(inst, 4)


def test_devtest_content_uses_real_music_in_range():
    from midivae.training.corpus.pieces import devtest_content

    for name in ("alto_sax", "piano"):
        inst = get_instrument(name)
        items = devtest_content(inst, 0)
        pieces = [i for i in items if i.kind == content.PIECE]
        assert len(pieces) >= (10 if inst.polyphonic else 5)
        for item in pieces:
            assert all(inst.low <= n.pitch <= inst.high for n in item.notes)
        velocities = {n.velocity for i in items if i.kind == content.ISOLATED for n in i.notes}
        assert set(dynamics_class(np.array(sorted(velocities)))) == {0, 1, 2}


# --- labels ----------------------------------------------------------------------------


def test_note_labels_follow_note_on_and_note_off():
    notes = [content.Note(60, 30, 0.1, 0.3), content.Note(67, 110, 0.3, 0.5)]
    lab = labels.note_labels(notes, 60, CONFIG)
    assert lab["pitch"][frame(0.1)] == 60 and lab["pitch"][frame(0.1) - 1] == -1
    assert lab["pitch"][frame(0.3) - 1] == 60 and lab["pitch"][frame(0.3)] == 67  # legato
    assert np.all(lab["pitch"][frame(0.5) :] == -1)
    assert list(np.flatnonzero(lab["onset"])) == [frame(0.1), frame(0.3)]
    sounding = lab["pitch"] >= 0
    assert np.all(lab["pitch_class"][~sounding] == labels.REST_CLASS)
    assert np.all(lab["velocity"][~sounding] == 0)
    assert set(lab["dynamics"][lab["pitch"] == 60]) == {0}
    assert set(lab["dynamics"][lab["pitch"] == 67]) == {2}
    assert set(lab["octave"][sounding]) == {4}


def test_dynamics_classes():
    assert dynamics_class(np.array([1, 55, 56, 95, 96, 127])).tolist() == [0, 0, 1, 1, 2, 2]


# --- a tiny fluidsynth build -----------------------------------------------------------


@pytest.mark.needs_fluidsynth
def test_tiny_build_frames_match_labels(tiny_flute):
    corpus = load_corpus(tiny_flute)
    amplitude = corpus.amplitudes()
    pitch = corpus.labels["pitch"]
    notes = batch_notes("flute")
    assert len(notes) >= 5
    for i, (note, first) in enumerate(notes):
        on, off = frame(note.start, first), frame(note.end, first)
        assert corpus.labels["onset"][on] and np.all(pitch[on:off] == note.pitch)
        steady = amplitude[on + 6 : off - 2]  # past the attack, before note-off
        at_pitch = band(steady, note.pitch)
        assert np.all(at_pitch >= 0.3 * steady.max(axis=1))
        assert np.all(at_pitch > 30 * band(steady, note.pitch - 6))  # a tritone below: no partial
        same_batch = i + 1 < len(notes) and notes[i + 1][1] == first
        after = frame(notes[i + 1][0].start if same_batch else note.end + 0.3, first)
        if after > off:  # a gap: the release tail is labelled rest
            assert np.all(pitch[off:after] == -1)
            assert np.all(corpus.labels["pitch_class"][off:after] == labels.REST_CLASS)
    silent = pitch < 0
    assert amplitude[~silent].max(axis=1).mean() > 10 * amplitude[silent].max(axis=1).mean()


@pytest.mark.needs_fluidsynth
def test_tiny_build_manifest_counts_match_shards(tiny_flute):
    manifest = json.loads((tiny_flute / "manifest.json").read_text())
    assert manifest["instrument"]["name"] == "flute" and manifest["instrument"]["program"] == 73
    assert manifest["soundfont"] == "fluidr3" and manifest["seed"] == 0
    assert manifest["render"]["gain"] == render.RENDER_GAIN
    assert SpectralConfig.from_dict(manifest["spectral_config"]) == CONFIG
    assert manifest["command"].startswith("midivae corpus build --instrument flute")
    assert manifest["dynamics"]["names"] == ["pp", "mf", "ff"]
    shards = sorted(tiny_flute.glob("shard-*.npz"))
    assert [s["file"] for s in manifest["shards"]] == [p.name for p in shards]
    assert len(shards) >= 2
    total = 0
    for entry, path in zip(manifest["shards"], shards, strict=True):
        with np.load(path) as data:
            n = entry["n_frames"]
            assert data["magnitudes"].shape == (n, CONFIG.n_bins)
            assert data["magnitudes"].dtype == np.float16
            assert all(data[k].shape[0] == n for k in data.files)
            assert entry["bytes"] == path.stat().st_size
            total += n
    counts = manifest["counts"]
    assert counts["n_frames"] == total == load_corpus(tiny_flute).n_frames
    assert counts["notes"] == len(batch_notes("flute"))
    assert counts["seconds"] == pytest.approx(total * CONFIG.frame_seconds, abs=0.1 * len(shards))
    assert counts["bytes"] == sum(p.stat().st_size for p in shards)


@pytest.mark.needs_fluidsynth
def test_tiny_piano_build_has_keys_and_chords(tiny_piano):
    corpus = load_corpus(tiny_piano)
    keys = corpus.labels["keys"]
    assert keys.shape == (corpus.n_frames, 88) and keys.dtype == bool
    notes = batch_notes("piano")
    first = notes[-1][1]  # the chord is the last item, in a batch of its own
    chord = [n for n, f in notes if f == first]
    on, off = frame(chord[0].start, first), frame(chord[0].end, first)
    sounding = {n.pitch for n in chord}
    assert len(sounding) == 3
    for f in range(on, off):
        assert set(np.flatnonzero(keys[f]) + 21) == sounding
        assert corpus.labels["pitch"][f] == max(sounding)
    assert set(corpus.labels["kind"][on:off]) == {content.CHORD}
    steady = corpus.amplitudes()[on + 3 : off - 2]
    for pitch in sounding:
        assert np.all(band(steady, pitch) > 10 * band(steady, min(sounding) - 6))
    assert not keys[corpus.labels["pitch"] < 0].any()


def test_training_items_cycle_through_sibling_programs(tmp_path):
    """Piano items play FluidR3's grand, bright grand, electric grand and honky-tonk in turn."""
    piano = get_instrument("piano")
    assert piano.training_programs == (0, 1, 2, 3)
    assert get_instrument("flute").training_programs == (73,)
    notes = [content.Note(60, 80, 0.1 + i, 0.6 + i) for i in range(5)]
    batch = build.Batch(
        [(i, content.Item(content.ISOLATED, (n,), 1.0), float(i)) for i, n in enumerate(notes)]
    )
    assert batch.programs(piano.training_programs) == [0, 1, 2, 3, 0]
    path = tmp_path / "mixed.mid"
    render.write_midi(batch.notes(), path, program=batch.programs(piano.training_programs))
    midi = pretty_midi.PrettyMIDI(str(path))
    assert {t.program: len(t.notes) for t in midi.instruments} == {0: 2, 1: 1, 2: 1, 3: 1}
    render.write_midi(batch.notes(), path, program=np.int64(73))  # a numpy integer is one program
    assert [(t.program, len(t.notes)) for t in pretty_midi.PrettyMIDI(str(path)).instruments] == [
        (73, 5)
    ]
    if fluidsynth_missing() is None:
        font = render.get_soundfont("fluidr3").path()
        grand, electric = (
            render.render_notes(notes[:1], program=p, soundfont=font, seconds=1.0) for p in (0, 2)
        )
        spectra = [np.abs(np.fft.rfft(x[2205:13230])) for x in (grand, electric)]
        assert not np.allclose(
            spectra[0] / spectra[0].max(), spectra[1] / spectra[1].max(), atol=0.05
        )


@pytest.mark.needs_fluidsynth
def test_rebuild_reuses_the_cache_and_is_deterministic(tiny_flute, tmp_path, monkeypatch):
    again = build_corpus("flute", tmp_path / "again", tiny=True)
    first, second = load_corpus(tiny_flute), load_corpus(again)
    np.testing.assert_array_equal(first.magnitudes, second.magnitudes)
    for name in first.labels:
        np.testing.assert_array_equal(first.labels[name], second.labels[name])

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(build, "render_batch", no_render)
    assert build_corpus("flute", again, tiny=True) == again
    # an interrupted build resumes: only the missing shard is rendered
    (again / "manifest.json").unlink()
    (again / "shard-0001.npz").unlink()
    store.write_json(again / store.PROGRESS_FILE, {"key": first.manifest["key"]})
    rendered = []

    def counting(batch, *args):
        rendered.append(batch)
        return RENDER_BATCH(batch, *args)

    monkeypatch.setattr(build, "render_batch", counting)
    build_corpus("flute", again, tiny=True)
    assert len(rendered) == 1 and load_corpus(again).n_frames == first.n_frames
    assert not (again / store.PROGRESS_FILE).exists()


@pytest.mark.needs_fluidsynth
def test_other_settings_replace_the_corpus_and_foreign_folders_are_refused(tmp_path):
    out = build_corpus("trumpet", tmp_path / "c", tiny=True)
    key = store.read_manifest(out)["key"]
    build_corpus("trumpet", out, tiny=True, seed=5)
    manifest = store.read_manifest(out)
    assert manifest["key"] != key and manifest["seed"] == 5
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(MidivaeError, match="not a corpus folder"):
        build_corpus("trumpet", tmp_path / "other", tiny=True)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_missing_fluidsynth_or_soundfont_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    with pytest.raises(MidivaeError, match="apt-get install fluidsynth"):
        render.fluidsynth_program()
    missing = render.Soundfont("musescore", (str(tmp_path / "none.sf2"),), "musescore-x", "dev")
    monkeypatch.setitem(render.SOUNDFONTS, "musescore", missing)
    with pytest.raises(MidivaeError, match="apt-get install musescore-x"):
        build_corpus("flute", tmp_path / "c", soundfont="musescore", tiny=True)


# --- augmentations and mixtures ----------------------------------------------------------


def test_augmentations():
    rng = np.random.default_rng(0)
    amp = np.zeros((200, CONFIG.n_bins), np.float32)
    amp[50:100, 200] = 0.1
    np.testing.assert_allclose(augment.gain(amp, -20.0), amp * 0.1, rtol=1e-6)
    shifted = detune(amp, 25.0, CONFIG)  # a quarter semitone = one bin
    assert shifted[60].argmax() == 201 and shifted[60].max() == pytest.approx(0.1)
    wet = augment.reverb(amp, 1.0, -6.0, CONFIG)
    assert wet[110, 200] > 1e-3 and np.all(wet >= amp - 1e-7)
    noisy = augment.noise(amp, 40.0, rng)
    floor = noisy[:40].astype(np.float64) ** 2
    signal = float(np.mean(np.sum(amp.astype(np.float64) ** 2, axis=1)))
    assert 10 * np.log10(signal / floor.sum(axis=1).mean()) == pytest.approx(40.0, abs=1.0)
    tilt = augment.eq_tilt(np.ones((1, CONFIG.n_bins), np.float32), 1.0, CONFIG)
    assert tilt[0, -1] > 1 > tilt[0, 0]
    aug = augment.Augmentation.standard(probability=1.0)
    out1 = aug.apply(amp, np.random.default_rng(1), CONFIG)
    out2 = aug.apply(amp, np.random.default_rng(1), CONFIG)
    np.testing.assert_array_equal(out1, out2)
    assert augment.Augmentation.from_dict(json.loads(json.dumps(aug.to_dict()))) == aug


def fake_corpus(name: str, pitch: int, n: int = 100) -> store.Corpus:
    amp = np.zeros((n, CONFIG.n_bins), np.float32)
    amp[::2, round(CONFIG.midi_to_bin(pitch))] = 0.1  # odd frames are rest
    lab = labels.note_labels([], n, CONFIG)
    lab["pitch"][::2] = pitch
    lab["pitch_class"][::2] = pitch % 12
    manifest = {"instrument": {"name": name}, "spectral_config": CONFIG.to_dict()}
    return store.Corpus(compress(amp, CONFIG).astype(np.float16), lab, manifest)


def test_mixture_sampler_sums_frames_with_one_slot_per_instrument():
    corpora = [fake_corpus("alto_sax", 60), fake_corpus("violin", 76)]
    batch = MixtureSampler(corpora, seed=0).sample(64)
    assert batch.magnitudes.shape == (64, CONFIG.n_bins) and batch.active.all()
    for slot, corpus in enumerate(corpora):
        expected = corpus.labels["pitch"][batch.frames[:, slot]]
        np.testing.assert_array_equal(batch.labels["pitch"][:, slot], expected)
        bin_ = round(CONFIG.midi_to_bin(60 if slot == 0 else 76))
        sounding = batch.magnitudes[:, bin_] > 1.0
        np.testing.assert_array_equal(sounding, expected >= 0)
    ensemble = [fake_corpus(name, 60 + 5 * i) for i, name in enumerate(MELODY_INSTRUMENTS)]
    batch = MixtureSampler(ensemble, sources=(1, 2), seed=1).sample(200)
    assert set(batch.active.sum(axis=1)) == {1, 2}
    assert np.all(batch.labels["pitch"][~batch.active] == -1)
    assert np.all(batch.labels["pitch_class"][~batch.active] == labels.REST_CLASS)


# --- CLI -------------------------------------------------------------------------------


def test_cli_unknown_instrument_is_a_usage_error(tmp_path):
    from midivae.cli.main import cli

    result = CliRunner().invoke(cli, ["corpus", "build", "--instrument", "kazoo", "-o", "x"])
    assert result.exit_code == 2


@pytest.mark.needs_fluidsynth
def test_cli_build_and_error(tmp_path):
    from midivae.cli.main import cli

    out = tmp_path / "sax"
    result = CliRunner().invoke(cli, ["corpus", "build", "--instrument", "alto_sax", "--tiny",
                                      "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "alto_sax" in result.output and (out / "manifest.json").is_file()
    assert store.read_manifest(out)["command"].endswith(f"-o {out} --tiny")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["corpus", "build", "--instrument", "flute", "--tiny",
                                      "-o", str(blocker)])  # fmt: skip
    assert result.exit_code == 1 and f"error: {blocker}: " in result.output
