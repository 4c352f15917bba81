"""The sample player: SFZ parsing, note-named folders, pitch, loudness, loops, real libraries."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from midivae.errors import MidivaeError
from midivae.training.corpus.content import Note
from midivae.training.corpus.sampler import SampleSet, note_number

RATE = 22050
LIBRARIES = Path("/work/shared/libraries")


def f0(x: np.ndarray, rate: int, fmin: float = 25.0, fmax: float = 2500.0) -> float:
    """Fundamental frequency of a steady tone: YIN for the period, a spectral peak to refine."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    window = len(x) // 2
    tau_max = min(int(rate / fmin), len(x) - window - 1)
    tau_min = max(int(rate / fmax), 2)
    size = 1 << (len(x) + window).bit_length()
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(x[:window], size)), size)
    energy = np.concatenate([[0.0], np.cumsum(x**2)])
    taus = np.arange(tau_max + 1)
    diff = energy[window] + energy[taus + window] - energy[taus] - 2.0 * corr[: tau_max + 1]
    cmnd = np.ones_like(diff)
    cmnd[1:] = diff[1:] * taus[1:] / np.maximum(np.cumsum(diff[1:]), 1e-12)
    below = np.flatnonzero(cmnd[tau_min:] < 0.2) + tau_min
    tau = int(below[0]) if below.size else int(np.argmin(cmnd[tau_min:]) + tau_min)
    while tau + 1 <= tau_max and cmnd[tau + 1] < cmnd[tau]:
        tau += 1
    coarse = rate / tau
    # refine: the strongest spectral peak within a semitone of the coarse estimate
    n = 1 << 18
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    band = np.flatnonzero((freqs > coarse * 2 ** (-1 / 12)) & (freqs < coarse * 2 ** (1 / 12)))
    if band.size < 3:
        return coarse
    k = int(band[np.argmax(spectrum[band])])
    if k in (band[0], band[-1]):
        return coarse
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-20)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
    return float((k + shift) * rate / n)


def cents(frequency: float, pitch: int) -> float:
    return 1200.0 * math.log2(frequency / (440.0 * 2 ** ((pitch - 69) / 12)))


def tone(frequency: float, seconds: float, amplitude: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * frequency * h * t) / h**2 for h in (1, 2, 3))
    return (amplitude * wave * np.exp(-t / 3.0) / 1.4).astype(np.float32)


def midi_hz(pitch: int) -> float:
    return 440.0 * 2 ** ((pitch - 69) / 12)


def scale(
    pitches: list[int], velocity: int = 80, step: float = 0.5, held: float = 0.35
) -> list[Note]:
    return [Note(p, velocity, 0.2 + i * step, 0.2 + i * step + held) for i, p in enumerate(pitches)]


def note_middle(audio: np.ndarray, note: Note, rate: int = RATE, length: float = 0.1) -> np.ndarray:
    centre = int((note.start + note.end) / 2 * rate)
    half = int(length * rate / 2)
    return audio[centre - half : centre + half]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


@pytest.fixture
def synthetic_sfz(tmp_path: Path) -> Path:
    samples = tmp_path / "Samples" / "tones"
    samples.mkdir(parents=True)
    for key in (48, 60, 72):
        for layer, amplitude in (("soft", 0.2), ("loud", 0.8)):
            # 16 kHz files: the player resamples them to the output rate
            sf.write(
                samples / f"{layer}_{key}.wav", tone(midi_hz(key), 3.0, amplitude, 16000), 16000
            )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "map.sfzh").write_text(
        "<region> sample=$LAYER_48.wav lokey=c2 hikey=f#3 pitch_keycenter=c3\n"
        "<region> sample=$LAYER_60.wav lokey=G3 hikey=Gb4 key=60 // comment\n"
        "<region> sample=$LAYER_72.wav key=c5 lokey=g4 /* block\ncomment */\n"
    )
    (tmp_path / "inst.sfz").write_text(
        "#define $DIR tones\n"
        "<control> default_path=Samples\\$DIR\\ set_cc64=0\n"
        "<global> ampeg_release=0.1 amp_veltrack=0\n"
        '<group> lovel=1 hivel=63\n#define $LAYER soft\n#include "data/map.sfzh"\n'
        '<group> lovel=64 hivel=127\n#define $LAYER loud\n#include "data/map.sfzh"\n'
        '<group> locc64=64 lovel=1 hivel=127\n#include "data/map.sfzh"\n'  # pedal regions: off
        "<curve> curve_index=7 v000=0\n"
    )
    return tmp_path / "inst.sfz"


def test_note_names() -> None:
    assert note_number("c4") == 60
    assert note_number("C#4") == note_number("db4") == 61
    assert note_number("a-1") == 9
    assert note_number("72") == 72


def test_sfz_mapping_pitch_and_velocity(synthetic_sfz: Path) -> None:
    library = SampleSet.open(synthetic_sfz.parent)
    assert library.key_range == (36, 72)
    assert len(library.regions) == 9
    assert library.covers(60, 100) and not library.covers(30, 100)
    notes = scale(list(range(48, 73)))
    seconds = notes[-1].end + 0.5
    audio = library.render(notes, seconds=seconds, seed=3)
    assert audio.dtype == np.float32 and audio.shape == (round(seconds * RATE),)
    assert np.max(np.abs(audio[: int(0.19 * RATE)])) == 0.0
    for note in notes:
        assert abs(cents(f0(note_middle(audio, note), RATE), note.pitch)) < 10, note
    assert library.skipped == 0
    again = library.render(notes, seconds=seconds, seed=3)
    np.testing.assert_array_equal(audio, again)
    soft = library.render([Note(60, 30, 0.0, 0.5)], seconds=1.0)
    loud = library.render([Note(60, 110, 0.0, 0.5)], seconds=1.0)
    assert rms(loud[: RATE // 2]) > 3 * rms(soft[: RATE // 2])
    library.render([Note(20, 80, 0.0, 0.5), Note(60, 80, 0.0, 0.5)], seconds=1.0)
    assert library.skipped == 1
    other_rate = library.render(notes[:3], seconds=2.0, sample_rate=16000)
    assert other_rate.shape == (32000,)
    assert abs(cents(f0(note_middle(other_rate, notes[1], 16000), 16000), 49)) < 10


def test_note_off_releases(synthetic_sfz: Path) -> None:
    library = SampleSet.from_sfz(synthetic_sfz)
    audio = library.render([Note(60, 100, 0.0, 0.5)], seconds=1.5)
    assert rms(audio[int(0.3 * RATE) : int(0.5 * RATE)]) > 0.1
    assert np.max(np.abs(audio[int(0.65 * RATE) :])) < 1e-3


def test_named_files(tmp_path: Path) -> None:
    for name, key, amplitude in (
        ("C4", 60, 0.5),
        ("Fs4", 66, 0.5),
        ("C5v1", 72, 0.1),
        ("C5v2", 72, 0.8),
    ):
        sf.write(tmp_path / f"{name}.wav", tone(midi_hz(key), 2.0, amplitude), RATE)
    (tmp_path / "notes.txt").write_text("not a sample")
    library = SampleSet.open(tmp_path)
    assert library.key_range == (60, 72)
    centres = {(r.pitch_keycenter, r.lokey, r.hikey, r.lovel, r.hivel) for r in library.regions}
    assert centres == {(60, 60, 63, 1, 127), (66, 64, 69, 1, 127), (72, 70, 72, 1, 63),
                       (72, 70, 72, 64, 127)}  # fmt: skip
    notes = scale([60, 62, 64, 66, 68, 70, 71, 72])
    audio = library.render(notes, seconds=5.0)
    for note in notes:
        assert abs(cents(f0(note_middle(audio, note), RATE), note.pitch)) < 10, note
    soft = library.render([Note(72, 20, 0.0, 0.5)], seconds=0.5)
    loud = library.render([Note(72, 120, 0.0, 0.5)], seconds=0.5)
    assert rms(loud) > 5 * rms(soft)
    with pytest.raises(MidivaeError):
        SampleSet.open(tmp_path / "notes.txt")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MidivaeError):
        SampleSet.open(empty)


def test_loop_sustains(tmp_path: Path) -> None:
    t = np.arange(int(0.3 * RATE)) / RATE
    wave = (0.5 * np.sin(2 * np.pi * 441.0 * t)).astype(np.float32)  # 50-sample period
    sf.write(tmp_path / "short.wav", wave, RATE)
    (tmp_path / "loop.sfz").write_text(
        "<region> sample=short.wav key=69 loop_mode=loop_continuous loop_start=2205 loop_end=6204\n"
    )
    (tmp_path / "plain.sfz").write_text("<region> sample=short.wav key=69\n")
    note = [Note(69, 100, 0.0, 2.0)]
    looped = SampleSet.from_sfz(tmp_path / "loop.sfz").render(note, seconds=2.5)
    plain = SampleSet.from_sfz(tmp_path / "plain.sfz").render(note, seconds=2.5)
    assert rms(looped[RATE : 2 * RATE]) > 0.1
    assert abs(cents(f0(looped[int(1.5 * RATE) : int(1.6 * RATE)], RATE), 69) - 3.9) < 5
    assert rms(plain[RATE : 2 * RATE]) == 0.0
    assert np.max(np.abs(looped[int(2.2 * RATE) :])) < 1e-3


def test_missing_sample(tmp_path: Path) -> None:
    (tmp_path / "bad.sfz").write_text("<region> sample=nowhere.wav\n")
    with pytest.raises(MidivaeError, match="nowhere"):
        SampleSet.from_sfz(tmp_path / "bad.sfz")
    (tmp_path / "empty.sfz").write_text("<group> lokey=1\n")
    with pytest.raises(MidivaeError):
        SampleSet.from_sfz(tmp_path / "empty.sfz")


@pytest.mark.parametrize(
    ("program", "low"),
    [
        ("karoryfer-weresax/Programs/Sax.sfz", None),
        ("mtg-solo-sax/MTG Solo Saxophones/MTG Alto Sax.sfz", 49),
        ("splendid-grand-piano/Splendid Grand Piano.sfz", 55),
    ],
)
def test_real_library_pitch(program: str, low: int | None) -> None:
    path = LIBRARIES / program
    if not path.is_file():
        pytest.skip(f"{path} is not installed")
    library = SampleSet.from_sfz(path)
    lowest, highest = library.key_range
    start = max(lowest, low or lowest)
    pitches = list(range(start, min(start + 24, highest) + 1))
    notes = scale(pitches, velocity=90, step=0.8, held=0.6)  # past the attack
    audio = library.render(notes, seconds=notes[-1].end + 1.0)
    wrong = [n.pitch for n in notes if abs(cents(f0(note_middle(audio, n), RATE), n.pitch)) > 50]
    assert not wrong
