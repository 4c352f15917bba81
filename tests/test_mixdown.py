"""The mixdown: output rate, stereo seating, loudness and true-peak limiting; parts as stems."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest
import soundfile
from conftest import run_cli

from midivae.rendering.mixdown import (
    MixSettings,
    limiter_gain,
    loudness_lufs,
    mixdown,
    normalise,
    pan_mono,
    seating,
    true_peak_dbtp,
)
from midivae.scores import read_score

RATE = 44100


def sine(freq: float, amplitude: float, seconds: float = 3.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def test_seating_keeps_the_scores_pans_and_spreads_the_others():
    assert seating([None]) == [0.0]
    assert seating([None, None, None]) == pytest.approx([-0.6, 0.0, 0.6])
    assert seating([0.5, None, None]) == pytest.approx([0.5, -0.6, 0.6])


def test_constant_power_pan():
    mono = sine(440, 0.5)
    for pan in (-1.0, -0.3, 0.0, 0.7, 1.0):
        stereo = pan_mono(mono, pan)
        np.testing.assert_allclose((stereo**2).sum(axis=1), mono**2, atol=1e-6)
    assert np.abs(pan_mono(mono, -1.0)[:, 1]).max() < 1e-6  # hard left: nothing on the right
    centre = pan_mono(mono, 0.0)
    np.testing.assert_array_equal(centre[:, 0], centre[:, 1])


def test_loudness_of_a_sine_reads_as_bs1770_says():
    # A 997 Hz sine at full scale reads -3.01 LUFS; each halving of amplitude 6.02 dB less.
    assert loudness_lufs(sine(997, 1.0), RATE) == pytest.approx(-3.01, abs=0.1)
    assert loudness_lufs(sine(997, 0.25), RATE) == pytest.approx(-15.05, abs=0.1)
    loud, gain = normalise(sine(997, 0.1), RATE, -20.0)
    assert loudness_lufs(loud, RATE) == pytest.approx(-20.0, abs=0.05) and gain > 1
    silent, gain = normalise(np.zeros(RATE, dtype=np.float32), RATE, -14.0)
    assert gain == 1.0 and not silent.any()


def test_true_peak_sees_between_the_samples_and_the_limiter_holds_it():
    # A quarter-rate sine sampled 45 degrees off its peaks: samples reach 0.707, the wave 1.
    wave = sine(RATE / 4, 1.0, seconds=1.0, phase=np.pi / 4)
    assert np.abs(wave).max() == pytest.approx(0.707, abs=0.01)
    assert true_peak_dbtp(wave, RATE) == pytest.approx(0.0, abs=0.3)
    loud = np.concatenate([sine(440, 0.2, 1.0), sine(440, 1.5, 0.5), sine(440, 0.2, 1.0)])
    gain = limiter_gain(loud, RATE)
    held = loud * gain
    assert true_peak_dbtp(held, RATE) <= -0.95
    assert gain[: RATE // 2].min() == 1.0  # long before the burst: untouched
    assert np.all(gain <= 1.0) and gain[-1] > 0.99  # released afterwards
    quiet = sine(440, 0.5)
    np.testing.assert_array_equal(limiter_gain(quiet, RATE), np.ones(len(quiet)))


def test_mixdown_resamples_pans_normalises_and_stems_sum_to_the_mix():
    a, b = sine(440, 0.3, 2.0), sine(660, 0.3, 2.0)
    a, b = a[::2].copy(), b[::2].copy()  # as if at 22050 Hz (aliasing does not matter here)
    settings = MixSettings(sample_rate=48000, stereo=True, loudness=-18.0)
    mix, stems = mixdown({"a": a, "b": b}, {"a": -1.0, "b": 1.0}, settings)
    assert mix.shape == (2 * 48000, 2) and set(stems) == {"a", "b"}
    assert loudness_lufs(mix, 48000) == pytest.approx(-18.0, abs=0.1)
    np.testing.assert_allclose(stems["a"] + stems["b"], mix, atol=1e-5)
    assert np.abs(stems["a"][:, 1]).max() < 1e-6 and np.abs(stems["b"][:, 0]).max() < 1e-6
    mono, _ = mixdown({"a": a}, {"a": -1.0}, MixSettings(sample_rate=22050, stereo=False))
    np.testing.assert_array_equal(mono, a)  # same rate, mono, quiet: untouched
    _, alone = mixdown({"a": a, "b": b}, {}, MixSettings(stem_loudness=-23.0))
    for stem in alone.values():
        assert loudness_lufs(stem, RATE) == pytest.approx(-23.0, abs=0.1)


def band(path, parts) -> None:
    """A MIDI file with ``parts`` [(program, name, pitches, CC10 or None)], a note each 0.5 s."""
    midi = pretty_midi.PrettyMIDI()
    for program, name, pitches, pan in parts:
        inst = pretty_midi.Instrument(program, name=name)
        if pan is not None:
            inst.control_changes.append(pretty_midi.ControlChange(10, pan, 0.0))
        inst.notes = [
            pretty_midi.Note(90, p, 0.5 * k, 0.5 * k + 0.4) for k, p in enumerate(pitches)
        ]
        midi.instruments.append(inst)
    midi.write(str(path))


def test_midi_pan_is_read_and_written_back(tmp_path):
    from midivae.scores import write_midi

    band(
        tmp_path / "in.mid", [(40, "Left", [72], 0), (73, "Right", [79], 127), (0, "P", [60], None)]
    )
    score = read_score(tmp_path / "in.mid")
    assert [p.pan for p in score.parts] == [-1.0, 1.0, None]
    write_midi(score, tmp_path / "out.mid")
    assert [p.pan for p in read_score(tmp_path / "out.mid").parts] == [-1.0, 1.0, None]


@pytest.mark.presets
def test_render_pans_parts_names_stems_and_says_what_substitutes(tmp_path):
    score = tmp_path / "band.mid"
    parts = [
        (40, "Violin I", [76, 79], 0),
        (40, "Violin I", [72], None),
        (71, "Clarinet", [62], 127),
    ]
    band(score, parts)
    done = run_cli("render", score, "--stems", "-o", tmp_path / "band.wav")
    assert done.exit_code == 0, done.output
    assert "part 'Clarinet' (GM 72 Clarinet) played by alto_sax" in done.stderr
    assert "part 'Violin I'" not in done.stderr  # its own preset, inside its range
    mix, rate = soundfile.read(tmp_path / "band.wav")
    assert rate == 44100 and mix.shape[1] == 2
    first, _ = soundfile.read(tmp_path / "band.Violin_I.wav")
    assert np.abs(first[:, 1]).max() < 1e-4 < np.abs(first[:, 0]).max()  # CC10 0: hard left
    clarinet, _ = soundfile.read(tmp_path / "band.Clarinet.wav")
    assert np.abs(clarinet[:, 0]).max() < 1e-4 < np.abs(clarinet[:, 1]).max()
    assert (tmp_path / "band.Violin_I_2.wav").is_file()

    again = run_cli("render", score, "-o", tmp_path / "band.wav")
    assert again.exit_code != 0 and "exists, use --overwrite" in again.stderr
    assert "played by" not in again.stderr  # refused before rendering anything

    chosen = run_cli(
        "render", score, "--substitute", "72=flute", "--mono", "--loudness", "-16",
        "-o", tmp_path / "loud.flac",
    )  # fmt: skip
    assert chosen.exit_code == 0 and "played by" not in chosen.stderr
    loud, rate = soundfile.read(tmp_path / "loud.flac")
    assert loud.ndim == 1 and loudness_lufs(loud, rate) == pytest.approx(-16.0, abs=0.2)
    assert true_peak_dbtp(loud, rate) <= -0.9


def test_substitute_takes_gm_numbers_and_shipped_presets():
    from midivae.cli.render import substitute_table

    assert substitute_table(("41-42=flute", "72=violin")) == {
        40: "flute",
        41: "flute",
        71: "violin",
    }
    for bad in ("0=flute", "129=flute", "x=flute", "72=kazoo", "44-41=violin"):
        with pytest.raises(Exception, match=r"PROGRAM|PRESET"):
            substitute_table((bad,))
