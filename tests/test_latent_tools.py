"""Latent morphing and free exploration (issue 10) on the shipped flute preset."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from midivae.audio import save_audio
from midivae.cli.main import cli
from midivae.presets.preset import load_preset
from midivae.rendering.latent_space import (
    ExploreSettings,
    MorphSettings,
    explore,
    morph,
    segment_weights,
)
from midivae.rendering.trajectories import interpolate_posteriors, shorten_rests, smooth_walk
from midivae.spectral import analyse, compress
from midivae.training.corpus.content import Note
from midivae.training.corpus.render import get_soundfont, render_notes

SR = 22050
FLUTE = 73
STEPS = 5


@pytest.fixture(scope="module")
def flute():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_preset("flute")
    torch.set_num_threads(threads)


def flute_note(pitch: int) -> np.ndarray:
    font = get_soundfont("fluidr3").path()
    return render_notes([Note(pitch, 90, 0.05, 1.05)], program=FLUTE, soundfont=font, seconds=1.3)


@pytest.fixture(scope="module")
def c5_g5():
    return flute_note(72), flute_note(79)


@pytest.fixture(scope="module")
def morphed(flute, c5_g5):
    return morph(flute, *c5_g5, MorphSettings(steps=STEPS, seconds_per_step=0.4))


@pytest.fixture(scope="module")
def walk(flute):
    return explore(flute, ExploreSettings(seconds=6.0, seed=0))


def stationary_spectrum(audio: np.ndarray) -> np.ndarray:
    amplitude = analyse(np.asarray(audio, dtype=np.float64))
    return amplitude[10:80].mean(axis=0)  # 0.12 - 0.93 s: the held part of a 1 s note


def test_smooth_walk_is_the_prior_and_smooth():
    walk = smooth_walk(20000, 3, 40.0, np.random.default_rng(0))
    assert walk.std(axis=0) == pytest.approx(np.ones(3), rel=0.15)
    assert np.abs(walk.mean(axis=0)).max() < 0.3
    assert np.abs(np.diff(walk, axis=0)).mean() < 0.05  # neighbours are close
    again = smooth_walk(20000, 3, 40.0, np.random.default_rng(0))
    np.testing.assert_array_equal(walk, again)


def test_interpolated_posteriors_run_from_start_to_stop():
    mu, logvar = interpolate_posteriors((np.zeros(2), np.zeros(2)), (np.ones(2), -np.ones(2)), 5)
    np.testing.assert_allclose(mu[:, 0], [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(logvar[-1], [-1, -1])
    with pytest.raises(ValueError):
        interpolate_posteriors((mu[0], logvar[0]), (mu[1], logvar[1]), 1)


def test_segment_weights_hold_and_crossfade():
    weights = segment_weights(3, 20, 6)
    assert weights.shape == (60, 3)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert weights[10, 0] == 1.0 and weights[30, 1] == 1.0 and weights[50, 2] == 1.0
    assert 0.0 < weights[20, 0] < 1.0  # a linear fade at each boundary


def test_long_rests_are_shortened_to_their_ends():
    silent = np.array([1] * 10 + [0] * 5 + [1] * 10 + [0] * 5, dtype=bool)
    kept = shorten_rests(silent, 4)
    assert list(kept[:4]) == [6, 7, 8, 9]  # a leading rest keeps only its end
    assert len(kept) == 4 + 5 + 4 + 5


@pytest.mark.presets
@pytest.mark.needs_fluidsynth
def test_morph_midpoint_is_one_note_not_a_crossfade(flute, c5_g5, morphed):
    symbols = flute.decode_symbols(morphed.mu[STEPS // 2][None].astype(np.float32))
    pitch_class = symbols["pitch_class"][0]
    assert int(np.argmax(pitch_class)) in (0, 7)  # C or G, not the rest column (12)
    assert pitch_class.max() > 0.8
    assert np.sort(pitch_class)[-2] < 0.1  # not both
    a, b = (stationary_spectrum(x) for x in c5_g5)
    start, stop = morphed.segments[STEPS // 2]
    heard = analyse(morphed.audio.astype(np.float64))[start + 8 : stop - 8].mean(axis=0)
    crossfade = compress(0.5 * (a + b))
    gap = np.linalg.norm(compress(heard) - crossfade)
    assert gap > 0.25 * np.linalg.norm(compress(a) - compress(b))


@pytest.mark.presets
@pytest.mark.needs_fluidsynth
def test_morph_steps_move_monotonically_from_a_to_b(c5_g5, morphed):
    assert len(morphed.segments) == STEPS
    assert morphed.segments[-1][1] < len(morphed.frames)  # a release tail after the last
    a, b = (compress(stationary_spectrum(x)) for x in c5_g5)
    analysed = compress(analyse(morphed.audio.astype(np.float64)))
    segments = [analysed[start + 8 : stop - 8].mean(axis=0) for start, stop in morphed.segments]
    to_a = [np.linalg.norm(s - a) for s in segments]
    to_b = [np.linalg.norm(s - b) for s in segments]
    # where each step lies between A (0) and B (1): strictly rising; the ends are A and B
    position = np.array(to_a) / (np.array(to_a) + np.array(to_b))
    assert np.all(np.diff(position) > 0), position
    assert position[0] < 0.15 and position[-1] > 0.85, position
    peak_in = max(np.abs(x).max() for x in c5_g5)
    assert 0.25 < np.abs(morphed.audio).max() / peak_in < 4  # calibrated, not normalised


@pytest.mark.presets
def test_explore_labels_agree_with_pyin(walk):
    import librosa

    assert 4 <= len(walk.notes) <= 20
    assert all(60 <= note.pitch <= 96 for note in walk.notes)
    audio = walk.audio.astype(np.float64)
    f0, voiced, _ = librosa.pyin(
        audio, fmin=220, fmax=2400, sr=SR, frame_length=1024, hop_length=256
    )
    rms = librosa.feature.rms(y=audio, frame_length=1024, hop_length=256)[0]
    audible = 20 * np.log10(rms + 1e-12) > -60  # pyin also calls constant-Q leakage voiced
    frames = voiced & np.isfinite(f0) & audible
    heard = np.round(69 + 12 * np.log2(np.nan_to_num(f0, nan=1.0) / 440.0))
    label = np.full(len(f0), -1)
    for note in walk.notes:
        label[round(note.onset * SR / 256) : round(note.offset * SR / 256)] = note.pitch
    assert frames.sum() > 100
    agreement = np.mean(label[frames] == heard[frames])
    assert agreement >= 0.8, agreement


@pytest.mark.presets
def test_explore_rests_are_silent(walk):
    assert np.all(walk.frames[walk.gate == 0] == 0)
    assert 0.2 < np.mean(walk.gate > 0) < 0.95  # sounds, and rests too (share depends on preset)


@pytest.mark.presets
def test_explore_cli_is_deterministic_and_writes_labels(tmp_path):
    import pretty_midi

    def run(name: str, seed: int, *extra: str):
        args = ["explore", "--instrument", "flute", "-o", str(tmp_path / name)]
        args += ["--seconds", "2", "--seed", str(seed), *extra]
        return CliRunner().invoke(cli, args)

    labels = tmp_path / "a.mid"
    assert run("a.wav", 3, "--labels", str(labels)).exit_code == 0
    assert run("b.wav", 3).exit_code == 0
    assert run("c.wav", 4).exit_code == 0
    first, same, other = ((tmp_path / n).read_bytes() for n in ("a.wav", "b.wav", "c.wav"))
    assert first == same and first != other
    midi = pretty_midi.PrettyMIDI(str(labels))
    assert midi.instruments[0].program == FLUTE
    again = run("a.wav", 3)
    assert again.exit_code == 1 and "exists, use --overwrite" in again.output
    usage = CliRunner().invoke(cli, ["explore", "-o", str(tmp_path / "x.wav")])
    assert usage.exit_code == 2


@pytest.mark.presets
@pytest.mark.needs_fluidsynth
def test_morph_cli(tmp_path, c5_g5):
    first, second = tmp_path / "c5.wav", tmp_path / "g5.wav"
    save_audio(first, c5_g5[0])
    save_audio(second, c5_g5[1])
    out = tmp_path / "morph.flac"
    args = ["morph", str(first), str(second), "-o", str(out), "--instrument", "flute"]
    result = CliRunner().invoke(cli, [*args, "--steps", "3", "--seconds-per-step", "0.3"])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    silent = tmp_path / "silent.wav"
    save_audio(silent, np.zeros(SR, dtype=np.float32))
    args = ["morph", str(silent), str(second), "-o", str(tmp_path / "m2.wav")]
    failed = CliRunner().invoke(cli, [*args, "--instrument", "flute"])
    assert failed.exit_code == 1 and "silent" in failed.output
