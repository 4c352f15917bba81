"""Recording augmentations: room impulse responses, microphone EQ, noise and hum."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import butter, hilbert, sosfilt

from midivae.training.corpus.rooms import (
    RoomSettings,
    eq_response_db,
    microphone_eq,
    place,
    synthetic_ir,
)

SR = 22050
FRAME_S = 256 / SR  # one 11.6 ms analysis frame
NOTHING = RoomSettings(
    probability=0.0, eq_probability=0.0, noise_probability=0.0, hum_probability=0
)


def bursts(seconds: float = 6.0) -> tuple[np.ndarray, list[float]]:
    """Tone bursts (harmonic, 0.4 s on) every 1.5 s from 0.5 s; returns audio and onsets."""
    t = np.arange(round(seconds * SR)) / SR
    audio = np.zeros_like(t)
    starts = [0.5 + 1.5 * k for k in range(int((seconds - 1.0) / 1.5) + 1)]
    for start in starts:
        on = (t >= start) & (t < start + 0.4)
        tone = sum(np.sin(2 * np.pi * h * 220.0 * (t[on] - start)) / h for h in range(1, 6))
        audio[on] = 0.2 * tone
    return audio.astype(np.float32), starts


def decay_time(ir: np.ndarray, band: tuple[float, float]) -> float:
    """RT60 from the Schroeder energy decay curve of ``ir`` in ``band`` (T20: -5 to -25 dB)."""
    filtered = sosfilt(butter(4, band, btype="bandpass", fs=SR, output="sos"), ir)
    edc = np.cumsum((filtered**2)[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    fit = (edc_db <= -5) & (edc_db >= -25)
    slope = np.polyfit(np.flatnonzero(fit) / SR, edc_db[fit], 1)[0]
    return -60.0 / slope


def test_place_is_deterministic_keeps_length_and_is_json_able():
    audio, _ = bursts()
    everything = RoomSettings(
        probability=1, eq_probability=1, noise_probability=1, hum_probability=1
    )
    a, ra = place(audio, np.random.default_rng(3), everything)
    b, rb = place(audio, np.random.default_rng(3), everything)
    c, _ = place(audio, np.random.default_rng(4), everything)
    assert np.array_equal(a, b) and ra == rb and not np.array_equal(a, c)
    assert all(ra[k] is not None for k in ("room", "eq", "noise", "hum"))
    assert json.loads(json.dumps(ra)) == ra
    assert json.loads(json.dumps(everything.to_dict())) == everything.to_dict()
    for seed in range(6):
        out, record = place(audio[: 12345 + seed], np.random.default_rng(seed), RoomSettings())
        assert out.dtype == np.float32 and len(out) == 12345 + seed
        assert set(record) == {"room", "eq", "noise", "hum"}
    out, record = place(audio, np.random.default_rng(0), NOTHING)
    assert np.array_equal(out, audio) and set(record.values()) == {None}


@pytest.mark.parametrize("rt60", [0.3, 0.8, 2.0])
def test_ir_decays_at_the_drawn_rt60(rt60):
    ir = synthetic_ir(rt60, np.random.default_rng(int(rt60 * 10)), early=8, wet_db=-6.0)
    assert ir[0] == 1.0
    assert np.all(ir[1 : round(0.005 * SR) - 1] == 0)  # nothing before the first reflection
    assert np.sum(ir[1:] ** 2) == pytest.approx(10 ** (-6.0 / 10), rel=1e-6)
    mid = decay_time(ir[1:], (354.0, 707.0))
    assert mid == pytest.approx(rt60, rel=0.2)
    assert decay_time(ir[1:], (4000.0, 8000.0)) < 0.85 * mid  # highs die away faster


def test_direct_sound_and_onsets_unchanged():
    audio, starts = bursts()
    room_only = RoomSettings(
        eq_probability=0, noise_probability=0, hum_probability=0, probability=1
    )
    dry_envelope = np.abs(hilbert(audio.astype(np.float64)))
    for seed in range(4):
        out, record = place(audio, np.random.default_rng(seed), room_only)
        assert record["room"] is not None
        # the first 4 ms after the first onset are the dry sound itself (later onsets are
        # under the earlier bursts' reverberation)
        lo = round(starts[0] * SR)
        clean = slice(0, lo + round(0.004 * SR))
        assert np.allclose(out[clean], audio[clean], atol=1e-6)
    everything = RoomSettings(
        probability=1, eq_probability=1, noise_probability=1, hum_probability=1
    )
    for seed in range(4):
        out, _ = place(audio, np.random.default_rng(seed), everything)
        envelope = np.abs(hilbert(out.astype(np.float64)))
        for start in starts:
            lo, hi = round((start - 0.03) * SR), round((start + 0.05) * SR)
            # onset: where the envelope rises past a quarter of the dry burst's level
            level = 0.25 * dry_envelope[round((start + 0.1) * SR)]
            rise_dry = np.flatnonzero(dry_envelope[lo:hi] > level)[0]
            rise = np.flatnonzero(envelope[lo:hi] > level)[0]
            assert abs(rise - rise_dry) / SR < FRAME_S


def test_level_is_not_normalised():
    audio, _ = bursts()
    quiet_room = RoomSettings(
        probability=1,
        wet_db=(-40.0, -40.0),
        eq_probability=0,
        noise_probability=0,
        hum_probability=0,
    )
    out, _ = place(0.01 * audio, np.random.default_rng(0), quiet_room)
    level = 20 * np.log10(
        np.sqrt(np.mean(out.astype(np.float64) ** 2)) / np.sqrt(np.mean((0.01 * audio) ** 2))
    )
    assert abs(level) < 0.1


def test_eq_stays_within_eq_db():
    largest = 0.0
    for seed in range(150):
        sos, record = microphone_eq(np.random.default_rng(seed), 6.0)
        response = eq_response_db(sos, n=8192)
        assert np.abs(response).max() <= 6.0 + 1e-6
        assert record["max_abs_db"] == pytest.approx(np.abs(eq_response_db(sos)).max(), abs=2e-3)
        largest = max(largest, float(np.abs(response).max()))
    assert largest > 4.0  # it does colour
    # and the filter applied by place is that one: white noise through it, band levels within
    rng = np.random.default_rng(0)
    white = rng.standard_normal(SR * 4).astype(np.float32) * 0.1
    eq_only = RoomSettings(probability=0, eq_probability=1, noise_probability=0, hum_probability=0)
    out, record = place(white, np.random.default_rng(11), eq_only)
    gain = np.abs(np.fft.rfft(out)) / np.maximum(np.abs(np.fft.rfft(white)), 1e-9)
    smooth = np.convolve(20 * np.log10(np.maximum(gain, 1e-9)), np.ones(401) / 401, mode="valid")
    assert np.abs(smooth).max() <= 6.0 + 0.5


def test_noise_at_the_drawn_snr():
    audio, _ = bursts()
    noise_only = RoomSettings(
        probability=0, eq_probability=0, noise_probability=1, hum_probability=0, snr_db=(20, 40)
    )
    colours = set()
    for seed in range(8):
        out, record = place(audio, np.random.default_rng(seed), noise_only)
        noise = out.astype(np.float64) - audio
        snr = 10 * np.log10(np.mean(audio.astype(np.float64) ** 2) / np.mean(noise**2))
        assert snr == pytest.approx(record["noise"]["snr_db"], abs=2.0)
        colours.add(record["noise"]["colour"])
        spectrum = np.abs(np.fft.rfft(noise)) ** 2
        freqs = np.fft.rfftfreq(len(noise), 1 / SR)
        low = spectrum[(freqs > 100) & (freqs < 200)].mean()
        high = spectrum[(freqs > 3200) & (freqs < 6400)].mean()
        assert high < low / 10  # pink or brown: falls with frequency
    assert colours == {"pink", "brown"}


def test_hum_level_and_frequency():
    audio = np.zeros(SR * 3, dtype=np.float32)
    hum_only = RoomSettings(probability=0, eq_probability=0, noise_probability=0, hum_probability=1)
    for seed in range(6):
        out, record = place(audio, np.random.default_rng(seed), hum_only)
        rms_db = 20 * np.log10(np.sqrt(np.mean(out.astype(np.float64) ** 2)))
        assert rms_db == pytest.approx(record["hum"]["rms_dbfs"], abs=0.3)
        assert -70.0 <= record["hum"]["rms_dbfs"] <= -45.0
        spectrum = np.abs(np.fft.rfft(out.astype(np.float64) * np.hanning(len(out))))
        top = np.argmax(spectrum) / len(out) * SR
        assert top == pytest.approx(record["hum"]["hz"], abs=1.0)
        assert round(record["hum"]["hz"] / 10) * 10 in (50, 60)
