"""Rendering scores with the shipped presets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from conftest import interrupt_cli, run_cli

from midivae.rendering.render import RenderSettings, hold_in_symbol, render_score, symbol_vector
from midivae.rendering.trajectories import TrajectorySettings
from midivae.scores import NoteEvent, Part, Score
from midivae.spectral import SpectralConfig, analyse

CONFIG = SpectralConfig()


def score_of(notes, program=73) -> Score:
    return Score(notes=notes, parts=[Part(0, "flute", program, False)])


def process(*args: str) -> subprocess.CompletedProcess:
    """``midivae ARGS`` in a child process (the in-process run is ``run_cli``)."""
    return subprocess.run(
        [sys.executable, "-m", "midivae.cli", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.presets
def test_two_notes_sit_at_their_pitches_and_times():
    notes = [NoteEvent(0.2, 0.8, 72, 90), NoteEvent(1.0, 1.6, 79, 90)]
    mix, stems = render_score(score_of(notes))
    assert list(stems) == ["flute"]
    frames = analyse(mix)
    for note in notes:
        middle = round((note.onset + note.offset) / 2 / CONFIG.frame_seconds)
        strongest = frames[middle].argmax()
        assert abs(strongest - CONFIG.midi_to_bin(note.pitch)) <= 1
    quiet_between = frames[round(1.9 / CONFIG.frame_seconds)].max()
    assert quiet_between < 0.1 * frames.max()


@pytest.mark.presets
def test_p_then_f_is_louder(tmp_path):
    notes = [NoteEvent(0.1 + 0.5 * i, 0.5 + 0.5 * i, 74, 49 if i < 4 else 96) for i in range(8)]
    mix, _ = render_score(score_of(notes))
    half = len(mix) // 2 - 11025
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert rms(mix[half:]) > 2 * rms(mix[:half])


@pytest.mark.presets
def test_modes_seeds_and_determinism():
    notes = [NoteEvent(0.1, 0.7, 77, 80)]
    mean_a, _ = render_score(score_of(notes))
    mean_b, _ = render_score(score_of(notes))
    np.testing.assert_array_equal(mean_a, mean_b)
    sample = RenderSettings(trajectory=TrajectorySettings("sample"))
    first, _ = render_score(score_of(notes), settings=sample, seed=3)
    again, _ = render_score(score_of(notes), settings=sample, seed=3)
    other, _ = render_score(score_of(notes), settings=sample, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.presets
@pytest.mark.parametrize("mode", ["sample", "walk"])
def test_latent_frames_read_back_as_the_intended_symbol(mode):
    from midivae.presets.preset import load_preset
    from midivae.rendering.trajectories import note_trajectory

    preset = load_preset("flute")
    rng = np.random.default_rng(0)
    settings = TrajectorySettings(mode)
    right = total = moved = 0
    for pitch in range(62, 94, 3):
        mu, logvar = preset.encode_symbols(symbol_vector(preset, pitch, 80))
        z = note_trajectory(mu[0], logvar[0], 200, settings, rng)  # 2.3 s of walk per note
        if mode == "sample":  # one draw per note: 200 notes
            z = np.array(
                [note_trajectory(mu[0], logvar[0], 1, settings, rng)[0] for _ in range(200)]
            )
        raw = z
        z = hold_in_symbol(preset, z, mu[0], np.full(len(z), pitch))  # as render_part does
        decoded = preset.decode_symbols(z)["pitch"]
        right += int(
            np.sum(decoded.argmax(axis=1) == pitch - preset.vocabulary.family("pitch").offset)
        )
        total += len(z)
        moved += int(np.sum(np.any(np.abs(z - raw) > 1e-5, axis=1)))
    assert right / total >= 0.95
    assert moved / total < 0.2  # most frames are the draw itself, not pulled in


@pytest.mark.presets
def test_sustain_pedal_lengthens(tmp_path):
    midi = pretty_midi.PrettyMIDI()
    track = pretty_midi.Instrument(program=73)
    track.notes.append(pretty_midi.Note(90, 74, 0.1, 0.4))
    track.control_changes += [
        pretty_midi.ControlChange(64, 127, 0.0),
        pretty_midi.ControlChange(64, 0, 1.5),
    ]
    midi.instruments.append(track)
    pedal = tmp_path / "pedal.mid"
    midi.write(str(pedal))
    track.control_changes = []
    plain = tmp_path / "plain.mid"
    midi.write(str(plain))
    assert run_cli("render", str(pedal), str(plain), "-o", str(tmp_path / "out")).exit_code == 0
    import soundfile as sf

    held, _ = sf.read(tmp_path / "out" / "pedal.wav")
    short, _ = sf.read(tmp_path / "out" / "plain.wav")
    at = int(1.0 * 22050)
    assert np.abs(held[at : at + 2205]).mean() > 5 * np.abs(short[at : at + 2205]).mean()


def test_errors(tmp_path):
    empty = tmp_path / "empty.mid"
    pretty_midi.PrettyMIDI().write(str(empty))
    done = run_cli("render", str(empty))
    assert done.exit_code == 1 and done.stderr.startswith(f"error: {empty}: ")
    target = tmp_path / "keep.wav"
    target.write_bytes(b"mine")
    score = tmp_path / "one.mid"
    midi = pretty_midi.PrettyMIDI()
    track = pretty_midi.Instrument(program=73)
    track.notes.append(pretty_midi.Note(80, 72, 0.0, 0.3))
    midi.instruments.append(track)
    midi.write(str(score))
    done = run_cli("render", str(score), "-o", str(target))
    assert done.exit_code == 1 and target.read_bytes() == b"mine"


def test_pitch_bend_shifts_the_spectrum():
    from midivae.rendering.render import bend_frames

    frames = np.zeros((4, CONFIG.n_bins), dtype=np.float32)
    frames[:, 100] = 1.0
    bent = bend_frames(frames, np.array([0.0, 0.0, 1.0, -0.5]), CONFIG)
    assert list(bent.argmax(axis=1)) == [100, 100, 104, 98]


def test_articulation_gate_dips_between_repeats_and_spares_legato():
    from midivae.rendering.render import ARTICULATION_FLOOR, articulation_gate

    sr = 22050
    repeats = [NoteEvent(0.2, 0.6, 69, 90), NoteEvent(0.67, 1.0, 69, 90)]
    gate = articulation_gate(repeats, -250.0, sr * 2, sr)
    assert gate[int(0.4 * sr)] == pytest.approx(1.0)
    assert gate[int(0.665 * sr)] < 0.4  # -8 dB or more late in the 70 ms gap
    assert gate.min() >= ARTICULATION_FLOOR - 1e-6
    assert gate[int(1.5 * sr)] == pytest.approx(ARTICULATION_FLOOR, abs=1e-3)
    legato = [NoteEvent(0.2, 0.6, 69, 90), NoteEvent(0.6, 1.0, 71, 90)]
    held = articulation_gate(legato, -250.0, sr * 2, sr)
    assert held[int(0.25 * sr) : int(1.0 * sr)].min() > 0.99
    # a slower instrument keeps more of its release; no measured rate: no gate
    slow = articulation_gate(repeats, -100.0, sr * 2, sr)
    assert slow[int(0.665 * sr)] > gate[int(0.665 * sr)]
    assert np.all(articulation_gate(repeats, 0.0, sr * 2, sr) == 1.0)


@pytest.mark.presets
def test_repeated_notes_are_audible_as_two():
    """The rendered level dips >= 6 dB between two notes of one pitch 70 ms apart."""
    notes = [NoteEvent(0.2, 0.7, 69, 90), NoteEvent(0.77, 1.3, 69, 90)]
    mix, _ = render_score(score_of(notes, program=56))  # trumpet
    hop = 256
    rms = np.sqrt(np.convolve(mix.astype(np.float64) ** 2, np.ones(hop) / hop, mode="same"))
    level = 20 * np.log10(rms + 1e-9)
    at = lambda t: level[int(t * 22050)]  # noqa: E731
    gap = min(at(0.7 + k * 0.01) for k in range(8))
    assert gap < min(at(0.5), at(1.0)) - 6.0


@pytest.mark.slow  # parallel equals serial, in child processes
def test_folder_rendered_two_at_a_time_matches_one_at_a_time(tmp_path):
    scores = tmp_path / "scores"
    scores.mkdir()
    for index, (program, pitch) in enumerate([(73, 79), (40, 69), (65, 66)]):
        midi = pretty_midi.PrettyMIDI()
        track = pretty_midi.Instrument(program=program)
        track.notes.append(pretty_midi.Note(90, pitch, 0.0, 0.4))
        track.notes.append(pretty_midi.Note(60, pitch + 2, 0.5, 0.9))
        midi.instruments.append(track)
        midi.write(str(scores / f"s{index}.mid"))
    (scores / "s1b.mid").write_bytes(b"MThd broken")  # fails alone, the others go on
    one = process("render", str(scores), "-o", str(tmp_path / "one"), "--jobs", "1")
    two = process("render", str(scores), "-o", str(tmp_path / "two"), "--jobs", "2")
    for done in (one, two):
        assert done.returncode == 1
        assert done.stderr.count("error: ") == 1 and "s1b.mid" in done.stderr
        assert "3 ok, 1 failed" in done.stderr
    assert one.stdout.splitlines()[0].startswith(str(tmp_path / "one" / "s0.wav"))
    assert [line.split()[0] for line in two.stdout.splitlines()] == [
        str(tmp_path / "two" / f"s{i}.wav") for i in range(3)
    ]
    for index in range(3):
        name = f"s{index}.wav"
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["s0.wav", "s1.wav", "s2.wav"]


@pytest.mark.slow  # a real process and its Ctrl-C
def test_ctrl_c_in_a_parallel_batch_reports_every_output_it_leaves(tmp_path):
    import soundfile as sf

    scores = tmp_path / "scores"
    scores.mkdir()
    for index in range(24):  # far more than finish before the signal, even on a busy machine
        midi = pretty_midi.PrettyMIDI()
        track = pretty_midi.Instrument(program=73)
        track.notes.extend(
            pretty_midi.Note(80, 72 + i % 5, i * 0.5, i * 0.5 + 0.4) for i in range(8)
        )
        midi.instruments.append(track)
        midi.write(str(scores / f"s{index:02d}.mid"))
    out = tmp_path / "out"
    code, stdout, stderr = interrupt_cli(
        ["render", str(scores), "-o", str(out), "--jobs", "2"], out / "s00.wav", wait_s=120
    )
    assert code == 130, stderr
    finished = sorted(p.name for p in out.iterdir())
    assert "s00.wav" in finished and len(finished) < 24
    reported = sorted(Path(line.split()[0]).name for line in stdout.splitlines())
    assert reported == finished  # no temp file left, no output unreported
    assert f"interrupted: {len(finished)} ok, 0 failed" in stderr
    for name in finished:
        assert sf.info(out / name).frames > 4 * 22050


def test_pre_echo_gate_takes_out_a_swell_before_an_onset_and_nothing_else():
    from midivae.rendering.render import pre_echo_gate

    rate = CONFIG.sample_rate
    t = np.arange(3 * rate) / rate
    onset = 2.0
    # A held A4 swelling and fading (as a bowed note may), sounding through the onset ...
    held = 0.1 * (1 + 0.5 * np.sin(2 * np.pi * 1.5 * t)) * np.sin(2 * np.pi * 440 * t)
    # ... and a C3 whose reconstruction swells in over the 400 ms before it is played.
    swell = np.clip((t - (onset - 0.4)) / 0.4, 0, 1) ** 2 * (t < onset)
    low = 0.2 * np.sin(2 * np.pi * 130.81 * t) * np.where(t < onset, 0.3 * swell, 1.0)
    notes = [NoteEvent(0.0, 3.0, 69, 80), NoteEvent(onset, 3.0, 48, 80)]
    out = pre_echo_gate(held + low, notes, [3.0, 1.0], CONFIG)

    def level(audio, freq, start, stop):
        part = audio[int(start * rate) : int(stop * rate)]
        return np.abs(np.fft.rfft(part * np.hanning(len(part))))[round(freq * (stop - start))]

    assert level(out, 130.81, 1.7, 1.95) < 0.1 * level(held + low, 130.81, 1.7, 1.95)
    for start in (0.5, 1.6, 2.3):  # the held note, before and after the onset: untouched
        assert level(out, 440, start, start + 0.2) == pytest.approx(
            level(held + low, 440, start, start + 0.2), rel=0.05
        )
    after = slice(int((onset + 0.1) * rate), int(2.9 * rate))
    np.testing.assert_allclose(out[after], (held + low)[after], atol=1e-3)


def test_a_legato_repeat_is_re_struck_and_a_legato_step_is_not():
    from midivae.rendering.render import articulation_gate

    rate = CONFIG.sample_rate
    repeat = [NoteEvent(0.5, 1.0, 67, 80), NoteEvent(1.0, 1.5, 67, 80)]
    step = [NoteEvent(0.5, 1.0, 67, 80), NoteEvent(1.0, 1.5, 69, 80)]
    around = slice(int(0.95 * rate), int(1.05 * rate))
    dip = 20 * np.log10(articulation_gate(repeat, -60.0, 2 * rate, rate)[around].min())
    assert dip < -5.0
    assert articulation_gate(step, -60.0, 2 * rate, rate)[around].min() > 0.99


def test_vibrato_curve_sets_in_late_within_the_instruments_range():
    from midivae.rendering.vibrato import vibrato_curve

    fs = CONFIG.frame_seconds
    notes = [NoteEvent(0.5, 2.5, 67, 80), NoteEvent(2.6, 2.8, 69, 80)]
    n = round(3.0 / fs)
    curve = vibrato_curve("violin", notes, n, fs, np.random.default_rng(1))
    times = np.arange(n) * fs
    held = curve[(times > 1.3) & (times < 2.5)]
    assert 0.15 <= np.abs(held).max() <= 0.36  # 15-35 cents
    crossings = np.sum(np.diff(np.sign(held[held != 0])) != 0) / 1.2
    assert 9 <= crossings <= 14  # 5-6.5 Hz
    assert not curve[times < 0.6].any() and not curve[times > 2.55].any()  # late; short: none
    again = vibrato_curve("violin", notes, n, fs, np.random.default_rng(1))
    np.testing.assert_array_equal(curve, again)
    assert vibrato_curve("piano", notes, n, fs, np.random.default_rng(1)) is None


@pytest.mark.presets
def test_walk_mode_plays_vibrato_unless_asked_not_to():
    from midivae.rendering.mixdown import MixSettings
    from midivae.rendering.render import render

    score = Score([NoteEvent(0.2, 2.2, 76, 80, 0)], [Part(0, "violin", 40)])
    mix = MixSettings(22050, stereo=False)

    def wobble(**kwargs):
        audio = render(score, settings=RenderSettings(mix=mix, **kwargs), seed=2).audio
        frames = analyse(audio)[
            round(1.0 / CONFIG.frame_seconds) : round(2.0 / CONFIG.frame_seconds)
        ]
        return np.ptp(frames[:, 200:360].argmax(axis=1))  # the strongest partial's bin moves

    walk = TrajectorySettings("walk")
    assert wobble(trajectory=walk) >= 1
    assert wobble(trajectory=walk, vibrato=False) == 0
    assert wobble() == 0  # mean mode: a steady note
