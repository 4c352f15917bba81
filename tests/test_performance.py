"""Player augmentations: timing, tuning, vibrato and glides by a time warp of any renderer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import hilbert

from midivae.training.corpus.content import Note
from midivae.training.corpus.performance import (
    PlayerSettings,
    humanize,
    perform,
    pitch_curve,
    read_at,
)

SR = 22050
FRAME_S = 256 / SR  # one 11.6 ms analysis frame
PLAIN = PlayerSettings(
    vibrato_probability=0.0, glide_probability=0.0, timing_jitter_s=0.0, tuning_a4_hz=(440, 440)
)


def hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def sine_render(notes: list[Note], seconds: float) -> np.ndarray:
    """Each note a sine at its MIDI pitch from start to end (2 ms ramps)."""
    n = round(seconds * SR)
    out = np.zeros(n, dtype=np.float64)
    ramp = round(0.002 * SR)
    for note in notes:
        lo, hi = round(note.start * SR), min(round(note.end * SR), n)
        if hi <= lo:
            continue
        t = np.arange(hi - lo) / SR
        envelope = np.minimum(1.0, np.minimum(np.arange(hi - lo), np.arange(hi - lo)[::-1]) / ramp)
        out[lo:hi] += 0.3 * envelope * np.sin(2 * np.pi * hz(note.pitch) * t)
    return out.astype(np.float32)


def cents_track(audio: np.ndarray, lo_s: float, hi_s: float, ref_hz: float) -> np.ndarray:
    """Instantaneous frequency (analytic signal) of a single sine, in cents re ``ref_hz``,
    smoothed over 5 ms, between ``lo_s`` and ``hi_s``."""
    phase = np.unwrap(np.angle(hilbert(audio.astype(np.float64))))
    freq = np.diff(phase) * SR / (2 * np.pi)
    width = round(0.005 * SR)
    freq = np.convolve(freq, np.ones(width) / width, mode="same")
    return 1200 * np.log2(freq[round(lo_s * SR) : round(hi_s * SR)] / ref_hz)


def peak_hz(audio: np.ndarray) -> float:
    """Frequency of the strongest spectral peak (Hann window, zero-padded, parabolic)."""
    n_fft = 1 << 21
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), n_fft))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / n_fft


def onsets(audio: np.ndarray, notes: list[Note]) -> np.ndarray:
    """Where the envelope first rises past half the note's level, near each note's start."""
    envelope = np.abs(hilbert(audio.astype(np.float64)))
    found = []
    for note in notes:
        lo = max(0, round((note.start - 0.03) * SR))
        above = np.flatnonzero(envelope[lo : round((note.start + 0.05) * SR)] > 0.15)
        found.append((lo + above[0]) / SR if len(above) else np.nan)
    return np.array(found)


def phrase(rng: np.random.Generator, seconds: float = 12.0) -> list[Note]:
    notes, t = [], 0.2
    while t < seconds - 1.5:
        length = float(rng.choice([0.12, 0.25, 0.5, 1.0]))
        notes.append(Note(int(rng.integers(55, 80)), 80, t, t + length))
        t += length + float(rng.choice([0.06, 0.1, 0.2]))
    return notes


def test_perform_is_deterministic_and_json_able():
    notes = phrase(np.random.default_rng(1))
    settings = PlayerSettings()
    a = perform(sine_render, notes, 12.0, np.random.default_rng(7), settings, monophonic=True)
    b = perform(sine_render, notes, 12.0, np.random.default_rng(7), settings, monophonic=True)
    c = perform(sine_render, notes, 12.0, np.random.default_rng(8), settings, monophonic=True)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])
    assert a[0].dtype == np.float32 and len(a[0]) == round(12.0 * SR)
    assert json.loads(json.dumps(a[2])) == a[2]
    assert json.loads(json.dumps(settings.to_dict())) == settings.to_dict()
    assert len(a[1]) == len(notes) and all(0 <= n.start < n.end <= 12.0 for n in a[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_onsets_stay_at_the_returned_notes(seed):
    rng = np.random.default_rng(seed)
    notes = phrase(rng)
    audio, played, record = perform(
        sine_render, notes, 12.0, rng, PlayerSettings(glide_probability=0.5), monophonic=True
    )
    assert record["vibrato_notes"] > 0 and record["glide_notes"] > 0
    moved = np.array([p.start - n.start for p, n in zip(played, notes, strict=True)])
    assert np.abs(moved).max() > 0.005  # the timing did change
    error = onsets(audio, played) - np.array([n.start for n in played])
    assert np.all(np.abs(error) < FRAME_S), error
    assert np.median(np.abs(error)) < 0.002


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_tuning_shifts_the_pitch_by_the_drawn_cents(seed):
    settings = PlayerSettings(vibrato_probability=0.0, glide_probability=0.0, timing_jitter_s=0.0)
    note = Note(64, 90, 0.1, 2.4)
    audio, _, record = perform(
        sine_render, [note], 2.6, np.random.default_rng(seed), settings, monophonic=True
    )
    assert -41 < record["tuning_cents"] < 40
    measured = 1200 * np.log2(peak_hz(audio[round(0.3 * SR) : round(2.2 * SR)]) / hz(64))
    assert measured == pytest.approx(record["tuning_cents"], abs=3.0)
    # the note is a clean sine: the warp adds no audible artefacts
    track = cents_track(audio, 0.3, 2.2, hz(64))
    assert np.ptp(track) < 2.0


def test_intonation_puts_each_note_off_the_tuning_by_the_drawn_cents():
    settings = PlayerSettings(
        vibrato_probability=0.0,
        glide_probability=0.0,
        timing_jitter_s=0.0,
        tuning_a4_hz=(440, 440),
        intonation_cents=10.0,
    )
    notes = [Note(64, 90, 0.1, 1.1), Note(67, 90, 1.2, 2.2), Note(64, 90, 2.3, 3.3)]
    audio, _, record = perform(
        sine_render, notes, 3.5, np.random.default_rng(1), settings, monophonic=True
    )
    offsets = dict(record["intonation"])
    assert len(offsets) == 3 and all(abs(c) <= 20.0 for c in offsets.values())
    for index, note in enumerate(notes):
        track = cents_track(audio, note.start + 0.1, note.end - 0.1, hz(note.pitch))
        assert np.median(track) == pytest.approx(offsets[index], abs=1.0)
    # off by default
    _, record = pitch_curve(notes, 3.5, np.random.default_rng(2), PlayerSettings(), monophonic=True)
    assert "intonation" not in record


def test_vibrato_on_long_notes_at_the_drawn_rate_and_depth():
    settings = PlayerSettings(
        vibrato_probability=1.0, glide_probability=0.0, timing_jitter_s=0.0, tuning_a4_hz=(440, 440)
    )
    long, short = Note(69, 90, 0.1, 3.1), Note(72, 90, 3.3, 3.55)
    for seed in range(3):
        audio, _, record = perform(
            sine_render, [long, short], 3.8, np.random.default_rng(seed), settings, monophonic=True
        )
        assert record["vibrato_notes"] == 1
        index, rate, depth, delay = record["vibrato"][0]
        assert index == 0 and 4.0 <= rate <= 7.0 and 10.0 <= depth <= 60.0
        track = cents_track(audio, 0.1 + delay + 0.25, 3.0, hz(69))
        assert 0.5 * np.ptp(track) == pytest.approx(depth, rel=0.1)
        spectrum = np.abs(np.fft.rfft((track - track.mean()) * np.hanning(len(track)), 1 << 22))
        assert np.argmax(spectrum) * SR / (1 << 22) == pytest.approx(rate, abs=0.2)
        # the short note keeps its pitch
        assert np.ptp(cents_track(audio, 3.36, 3.5, hz(72))) < 2.0


def test_glides_slide_in_and_settle():
    settings = PlayerSettings(
        vibrato_probability=0.0, glide_probability=1.0, timing_jitter_s=0.0, tuning_a4_hz=(440, 440)
    )
    note = Note(69, 90, 0.1, 1.0)
    for seed in range(4):
        audio, _, record = perform(
            sine_render, [note], 1.2, np.random.default_rng(seed), settings, monophonic=True
        )
        (_, cents, seconds) = record["glides"][0]
        early = cents_track(audio, 0.105, 0.105 + 0.2 * seconds, hz(69)).mean()
        assert np.sign(early) == np.sign(cents) and abs(early) > 0.3 * abs(cents)
        assert np.abs(cents_track(audio, 0.1 + seconds + 0.01, 0.95, hz(69))).max() < 2.0


def test_polyphonic_gets_tuning_and_timing_only():
    settings = PlayerSettings(vibrato_probability=1.0, glide_probability=1.0)
    chord = [Note(p, 80, 0.2, 2.0) for p in (60, 64, 67)]
    curve, record = pitch_curve(chord, 2.5, np.random.default_rng(0), settings, monophonic=False)
    assert record["vibrato_notes"] == record["glide_notes"] == 0
    assert np.ptp(curve) == 0 and curve[0] == pytest.approx(record["tuning_cents"], abs=1e-3)
    audio, played, record = perform(
        sine_render, [chord[0]], 2.5, np.random.default_rng(0), settings, monophonic=False
    )
    start = played[0].start
    assert np.ptp(cents_track(audio, start + 0.1, 1.8, hz(60))) < 2.0
    measured = 1200 * np.log2(peak_hz(audio[round((start + 0.1) * SR) : round(1.8 * SR)]) / hz(60))
    assert measured == pytest.approx(record["tuning_cents"], abs=3.0)


def test_pitch_curve_shape_and_determinism():
    notes = phrase(np.random.default_rng(3))
    a, ra = pitch_curve(notes, 12.0, np.random.default_rng(5), PlayerSettings(), monophonic=True)
    b, rb = pitch_curve(notes, 12.0, np.random.default_rng(5), PlayerSettings(), monophonic=True)
    assert a.shape == (12001,) and np.array_equal(a, b) and ra == rb
    long_notes = [i for i, n in enumerate(notes) if n.end - n.start >= 0.3]
    assert {v[0] for v in ra["vibrato"]} <= set(long_notes)
    assert np.abs(a - ra["tuning_cents"]).max() <= 60.0 + 150.0


def test_humanize_keeps_order_and_gaps():
    settings = PlayerSettings(timing_jitter_s=0.03)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        notes, t = [], 0.0
        for _ in range(40):  # a tight line with many same-pitch repeats
            length = float(rng.uniform(0.03, 0.4))
            notes.append(Note(int(rng.choice([60, 62])), 80, t, t + length))
            t += length + float(rng.choice([0.0, 0.012, 0.05]))
        moved = humanize(notes, rng, settings)
        starts = np.array([n.start for n in moved])
        ends = np.array([n.end for n in moved])
        assert np.all(np.diff(starts) > 0) and starts[0] >= 0
        assert np.all(ends > starts)
        assert np.all(ends[:-1] <= starts[1:] + 1e-12)  # no overlap created
        for i in range(len(moved) - 1):
            if moved[i].pitch == moved[i + 1].pitch and notes[i].end + 0.01 <= notes[i + 1].start:
                assert starts[i + 1] - ends[i] >= 0.010 - 1e-9
        shifts = starts - np.array([n.start for n in notes])
        assert np.abs(shifts).max() <= 2 * settings.timing_jitter_s + 1e-12
        assert [(n.pitch, n.velocity) for n in moved] == [(n.pitch, n.velocity) for n in notes]


def test_humanize_moves_chords_together():
    chord = [Note(p, 80, s, s + 0.5) for s in (0.5, 1.2) for p in (60, 64, 67)]
    moved = humanize(chord, np.random.default_rng(0), PlayerSettings())
    assert len({n.start for n in moved[:3]}) == 1 and len({n.start for n in moved[3:]}) == 1
    assert moved[0].start != 0.5


def test_read_at_is_exact_on_the_grid_and_smooth_between():
    t = np.arange(4000) / SR
    x = np.sin(2 * np.pi * 3000.0 * t).astype(np.float32)
    on_grid = read_at(x, np.arange(100, 3900, dtype=np.float64))
    assert np.abs(on_grid - x[100:3900]).max() < 2e-3
    half = read_at(x, np.arange(100, 3900) + 0.5)
    expected = np.sin(2 * np.pi * 3000.0 * (np.arange(100, 3900) + 0.5) / SR)
    assert np.abs(half - expected).max() < 2e-3
