"""Tests for midivae.audio: loading, resampling, error reporting, atomic saving."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from midivae import audio as audio_module
from midivae.audio import (
    AUDIO_SUFFIXES,
    AudioStream,
    atomic_output,
    audio_info,
    load_audio,
    save_audio,
)
from midivae.errors import MidivaeError

SR = 22050


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


def sine(freq: float, rate: int, seconds: float, amp: float) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def peak_hz(y: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spectrum) * rate / len(y))


def interior(y: np.ndarray, margin: int = 2000) -> np.ndarray:
    """Drop the resampler's edge transients."""
    return y[margin:-margin]


def assert_one_line_error(exc: MidivaeError, path: Path, words: str) -> None:
    text = str(exc)
    assert text.startswith(f"{path}: "), text
    assert "\n" not in text
    assert words in text
    assert exc.path == path


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "midivae"]


# --- loading ---------------------------------------------------------------------------------


def test_stereo_44k_becomes_mono_22k_keeping_frequency_and_amplitude(tmp_path, rng, caplog):
    tone = sine(1000, 44100, 2.0, 0.5)
    noise = 0.05 * rng.standard_normal(tone.size)
    path = tmp_path / "stereo.wav"
    # the noise cancels only if the channels are averaged (not summed, not the left one)
    sf.write(path, np.stack([tone + noise, tone - noise], axis=1), 44100, subtype="FLOAT")
    with caplog.at_level(logging.INFO, logger="midivae"):
        y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert y.size == tone.size // 2
    assert abs(peak_hz(y, SR) - 1000) <= SR / y.size
    np.testing.assert_allclose(np.abs(interior(y)).max(), 0.5, rtol=0.01)
    np.testing.assert_allclose(interior(y), interior(sine(1000, SR, 2.0, 0.5)), atol=5e-3)
    assert any("mixed 2 channels to mono" in m for m in messages(caplog))
    assert any("resampled from 44100 Hz to 22050 Hz" in m for m in messages(caplog))
    assert all(m.startswith(str(path)) for m in messages(caplog))


def test_resampling_filters_out_what_would_alias(tmp_path):
    # a 15 kHz tone cannot exist at 22.05 kHz; plain decimation would fold it to 7.05 kHz
    path = tmp_path / "high.wav"
    sf.write(path, sine(15000, 44100, 1.0, 0.5), 44100, subtype="FLOAT")
    y = load_audio(path)
    assert np.sqrt(np.mean(interior(y) ** 2)) < 0.005


def test_96k_float32_stereo(tmp_path):
    left = sine(440, 96000, 1.5, 0.3).astype(np.float32)
    path = tmp_path / "hi.wav"
    sf.write(path, np.stack([left, np.zeros_like(left)], axis=1), 96000, subtype="FLOAT")
    y = load_audio(path)
    assert y.dtype == np.float32
    assert y.size == round(left.size * SR / 96000)
    assert abs(peak_hz(y, SR) - 440) <= SR / y.size
    np.testing.assert_allclose(np.abs(interior(y)).max(), 0.15, rtol=0.01)


def test_other_target_rate(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, sine(500, 22050, 1.0, 0.5), 22050)
    y = load_audio(path, sample_rate=16000)
    assert y.size == 16000
    assert abs(peak_hz(y, 16000) - 500) <= 1.0
    with pytest.raises(ValueError):
        load_audio(path, sample_rate=0)


def test_8bit_pcm_wav(tmp_path, caplog):
    x = sine(300, SR, 0.5, 0.8)
    path = tmp_path / "u8.wav"
    sf.write(path, x, SR, subtype="PCM_U8")
    with caplog.at_level(logging.INFO, logger="midivae"):
        y = load_audio(path)
    assert y.dtype == np.float32
    assert np.abs(y).max() <= 1.0
    np.testing.assert_allclose(y, x, atol=1.5 / 128)
    assert messages(caplog) == []  # same rate, mono: nothing to report


def test_float64_wav_comes_back_float32(tmp_path):
    x = sine(300, SR, 0.5, 0.7)
    path = tmp_path / "f64.wav"
    sf.write(path, x, SR, subtype="DOUBLE")
    y = load_audio(path)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=1e-6)


def test_flac_44k(tmp_path, caplog):
    path = tmp_path / "tone.flac"
    sf.write(path, sine(2000, 44100, 1.0, 0.5), 44100, subtype="PCM_16")
    with caplog.at_level(logging.INFO, logger="midivae"):
        y = load_audio(path)
    assert y.size == SR
    assert abs(peak_hz(y, SR) - 2000) <= 1.0
    np.testing.assert_allclose(np.abs(interior(y)).max(), 0.5, rtol=0.01)
    assert [m for m in messages(caplog) if "resampled" in m]
    assert not [m for m in messages(caplog) if "mixed" in m]


@pytest.mark.parametrize(
    ("suffix", "subtype", "rtol"),
    [(".aiff", "PCM_16", 0.01), (".ogg", "VORBIS", 0.03), (".mp3", "MPEG_LAYER_III", 0.03)],
)
def test_other_formats(tmp_path, suffix, subtype, rtol):
    fmt = suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile does not handle {fmt}")
    assert suffix in AUDIO_SUFFIXES
    path = tmp_path / f"tone{suffix}"
    sf.write(path, sine(1000, SR, 1.0, 0.5), SR, subtype=subtype)
    y = load_audio(path)
    assert abs(peak_hz(y, SR) - 1000) <= 2.0
    rms = np.sqrt(np.mean(interior(y).astype(np.float64) ** 2))  # lossy codecs ring at peaks
    np.testing.assert_allclose(rms, 0.5 / np.sqrt(2), rtol=rtol)


def test_audio_info(tmp_path):
    path = tmp_path / "info.flac"
    sf.write(path, np.zeros((48000 * 2, 2)), 48000)
    rate, channels, seconds = audio_info(path)
    assert (rate, channels) == (48000, 2)
    np.testing.assert_allclose(seconds, 2.0)


def test_truncated_data_loads_what_is_there_with_a_notice(tmp_path, caplog):
    full = tmp_path / "full.wav"
    sf.write(full, sine(440, SR, 1.0, 0.5), SR, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 2 * 1000])  # header + 1000 of 22050 samples
    with caplog.at_level(logging.INFO, logger="midivae"):
        y = load_audio(cut)
    assert y.size == 1000
    assert any("truncated" in m for m in messages(caplog))


# --- errors ----------------------------------------------------------------------------------


def _wav_bytes(tmp_path: Path) -> bytes:
    src = tmp_path / "src.wav"
    sf.write(src, np.zeros((100, 2)), 44100, subtype="PCM_16")
    return src.read_bytes()


def _make_bad(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.wav"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not audio\n" * 20)
    elif kind == "midi":
        path = tmp_path / "song.mid"
        path.write_bytes(bytes.fromhex("4d546864000000060000000101e04d54726b0000000400ff2f00"))
    elif kind == "header_cut_10":
        path.write_bytes(_wav_bytes(tmp_path)[:10])
    elif kind == "header_cut_30":
        path.write_bytes(_wav_bytes(tmp_path)[:30])
    elif kind == "header_only":
        path.write_bytes(_wav_bytes(tmp_path)[:44])  # valid header, data chunk holds nothing
    elif kind == "zero_frames":
        sf.write(path, np.zeros((0, 1)), SR)
    elif kind == "garbage_mp3":
        path = tmp_path / "noise.mp3"
        path.write_bytes(np.random.default_rng(7).integers(0, 256, 4000, np.uint8).tobytes())
    elif kind == "nan":
        sf.write(path, np.array([0.0, np.nan, 0.5]), SR, subtype="FLOAT")
    return path


ERRORS = [
    ("missing", "no such file"),
    ("directory", "directory"),
    ("empty", "empty file"),
    ("text", "not an audio file"),
    ("midi", "not an audio file"),
    ("header_cut_10", "not an audio file"),
    ("header_cut_30", "cannot read audio"),
    ("header_only", "no audio samples"),
    ("zero_frames", "no audio samples"),
    ("garbage_mp3", "audio"),
    ("nan", "NaN"),
]
INFO_ERRORS = [e for e in ERRORS if e[0] != "nan"]  # audio_info does not decode samples


@pytest.mark.parametrize(("kind", "words"), ERRORS, ids=[k for k, _ in ERRORS])
def test_load_errors_are_one_line_naming_the_file(tmp_path, kind, words):
    path = _make_bad(kind, tmp_path)
    with pytest.raises(MidivaeError) as info:
        load_audio(path)
    assert_one_line_error(info.value, path, words)
    assert info.value.__cause__ is None  # no raw libsndfile exception chained in


@pytest.mark.parametrize(("kind", "words"), INFO_ERRORS, ids=[k for k, _ in INFO_ERRORS])
def test_info_errors_are_one_line_naming_the_file(tmp_path, kind, words):
    path = _make_bad(kind, tmp_path)
    with pytest.raises(MidivaeError) as info:
        audio_info(path)
    assert_one_line_error(info.value, path, words)


# --- saving ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
@pytest.mark.parametrize("channels", [1, 2])
def test_save_load_round_trip(tmp_path, rng, suffix, channels):
    x = rng.uniform(-0.9, 0.9, (5000, channels)).astype(np.float32)
    audio = x[:, 0] if channels == 1 else x
    path = tmp_path / "sub" / f"out{suffix}"  # parent folder is created
    assert save_audio(path, audio, sample_rate=SR) == path
    info = sf.info(path)
    assert (info.subtype, info.samplerate, info.channels) == ("PCM_24", SR, channels)
    back, _ = sf.read(path, dtype="float32", always_2d=True)
    np.testing.assert_allclose(back, x, atol=2.0**-22)
    np.testing.assert_allclose(load_audio(path), x.mean(axis=1), atol=2.0**-22)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_save_clips_but_does_not_normalise(tmp_path, caplog):
    path = tmp_path / "loud.wav"
    with caplog.at_level(logging.INFO, logger="midivae"):
        save_audio(path, np.array([0.25, 1.5, -2.0, 0.1]))
    back, _ = sf.read(path)
    np.testing.assert_allclose(back, [0.25, 1.0, -1.0, 0.1], atol=2.0**-22)
    assert any("clipped 2 samples" in m for m in messages(caplog))


def test_save_rejects_other_suffixes(tmp_path):
    path = tmp_path / "out.mp3"
    with pytest.raises(MidivaeError) as info:
        save_audio(path, np.zeros(10))
    assert_one_line_error(info.value, path, ".wav or .flac")
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_bad_arrays(tmp_path):
    with pytest.raises(ValueError):
        save_audio(tmp_path / "a.wav", np.zeros((2, 3, 4)))
    with pytest.raises(ValueError):
        save_audio(tmp_path / "a.wav", np.array([0.0, np.nan]))
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_untouched_without_overwrite(tmp_path):
    path = tmp_path / "out.wav"
    save_audio(path, np.full(100, 0.5))
    before = path.read_bytes()
    with pytest.raises(MidivaeError) as info:
        save_audio(path, np.full(200, -0.5))
    assert_one_line_error(info.value, path, "exists, use --overwrite")
    with pytest.raises(MidivaeError, match="exists"), atomic_output(path):
        pytest.fail("refused before any work is done")
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]


def test_existing_output_is_replaced_with_overwrite(tmp_path):
    path = tmp_path / "out.flac"
    save_audio(path, np.full(100, 0.5))
    save_audio(path, np.full(200, -0.25), overwrite=True)
    back, _ = sf.read(path)
    np.testing.assert_allclose(back, np.full(200, -0.25), atol=2.0**-22)
    assert sorted(tmp_path.iterdir()) == [path]


def test_output_under_a_regular_file_is_an_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    for path in (blocker / "out.wav", blocker / "deeper" / "out.wav"):
        with pytest.raises(MidivaeError) as info:
            save_audio(path, np.zeros(10))
        assert_one_line_error(info.value, path, "cannot")
    assert blocker.read_text() == "x"


# --- atomic_output ---------------------------------------------------------------------------


def test_atomic_output_temp_file_is_hidden_beside_with_same_suffix(tmp_path):
    path = tmp_path / "new" / "song.mid"
    with atomic_output(path) as tmp:
        assert tmp.parent == path.parent and tmp.exists()
        assert tmp.name.startswith(".song.") and tmp.suffix == ".mid"
        assert not path.exists()
        tmp.write_bytes(b"data")
    assert path.read_bytes() == b"data"
    assert list(path.parent.iterdir()) == [path]


def test_atomic_output_respects_umask(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("overwrite", [False, True])
def test_atomic_output_removes_temp_on_any_exception(tmp_path, error, overwrite):
    path = tmp_path / "out.wav"
    if overwrite:
        path.write_bytes(b"old")
    with pytest.raises(error), atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(b"half written")
        raise error("stop")
    assert sorted(tmp_path.iterdir()) == ([path] if overwrite else [])
    if overwrite:
        assert path.read_bytes() == b"old"


def test_atomic_output_does_not_clobber_a_file_that_appeared_meanwhile(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(MidivaeError, match="exists"), atomic_output(path) as tmp:
        tmp.write_text("mine")
        path.write_text("theirs")
    assert path.read_text() == "theirs"
    assert sorted(tmp_path.iterdir()) == [path]


def test_atomic_output_onto_a_directory_is_an_error(tmp_path):
    with pytest.raises(MidivaeError) as info, atomic_output(tmp_path, overwrite=True):
        pass
    assert_one_line_error(info.value, tmp_path, "directory")


@pytest.mark.parametrize(
    ("raised", "expected"),
    [(OSError(28, "No space left on device"), MidivaeError), (RuntimeError("boom"), RuntimeError)],
)
def test_failing_soundfile_write_leaves_no_temp_file(tmp_path, monkeypatch, raised, expected):
    def broken_write(file, data, samplerate, **kwargs):
        Path(os.fsdecode(file)).write_bytes(b"partial")  # audio is written by its bytes
        raise raised

    monkeypatch.setattr(sf, "write", broken_write)
    path = tmp_path / "out.wav"
    with pytest.raises(expected) as info:
        save_audio(path, np.zeros(100))
    if expected is MidivaeError:
        assert_one_line_error(info.value, path, "No space left on device")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("rate", [44100, 48000, 16000, 22050])
def test_a_long_file_streams_as_it_would_load(tmp_path, rng, monkeypatch, rate):
    # every file counts as long: pieces are decoded and resampled where asked for
    path = tmp_path / f"take{rate}.flac"
    sf.write(path, (0.2 * rng.standard_normal((3 * rate + 17, 2))).astype(np.float32), rate)
    whole = load_audio(path)
    monkeypatch.setattr(audio_module, "HOLD_SECONDS", 1.0)
    with AudioStream(path) as take:
        assert take._held is None and len(take) == len(whole)
        end = len(whole)
        for start, stop in [(0, 1000), (4321, 30001), (end - 999, end + 50), (-40, 9)]:
            expected = np.zeros(stop - start, np.float32)
            lo, hi = max(start, 0), min(stop, len(whole))
            expected[lo - start : hi - start] = whole[lo:hi]
            np.testing.assert_allclose(take.raw(start, stop), expected, atol=1e-6)
        assert take.mean() == pytest.approx(float(np.mean(whole, dtype=np.float64)), abs=1e-7)
        take.offset, take.gain = 0.01, 0.5
        inside = take.read(-5, 10)
        assert not inside[:5].any()  # outside the take stays silent
        np.testing.assert_allclose(inside[5:], (whole[:10] - 0.01) * 0.5, atol=1e-6)
        assert np.concatenate(list(take.pieces(raw=True))).shape == whole.shape


def test_a_long_file_with_nan_samples_is_refused_when_read(tmp_path, monkeypatch):
    path = tmp_path / "nan.wav"
    samples = np.zeros(3 * 22050, np.float32)
    samples[40000] = np.nan
    sf.write(path, samples, 22050, subtype="FLOAT")
    monkeypatch.setattr(audio_module, "HOLD_SECONDS", 1.0)
    with AudioStream(path) as take, pytest.raises(MidivaeError, match="NaN"):
        take.mean()
