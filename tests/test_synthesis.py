"""The project's own synthesiser: determinism, length, silence, pitch, level, piano physics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from midivae.music import get_instrument
from midivae.training.corpus.content import Note
from midivae.training.corpus.synthesis import (
    MAX_PARTIALS,
    STRUCK,
    SUSTAINED,
    Timbre,
    draw_timbre,
    synthesize_notes,
)

SR = 22050
MELODY = ("flute", "violin", "alto_sax", "trumpet")
UPSAMPLE = 4


def _render(name: str, notes: list[Note], voices=None, seconds: float = 1.5, seed: int = 0):
    return synthesize_notes(
        notes, instrument=get_instrument(name), voices=voices, seconds=seconds, seed=seed
    )


def _yin_hz(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Fundamental by YIN (cumulative mean normalised difference) on 4x upsampled audio."""
    x = resample_poly(np.asarray(audio, dtype=np.float64), UPSAMPLE, 1)
    rate = SR * UPSAMPLE
    max_lag = int(rate / low_hz) + 2
    window = len(x) - max_lag
    energy = np.concatenate([[0.0], np.cumsum(x**2)])
    lags = np.arange(max_lag)
    # d(t) = sum over the window of (x[j] - x[j + t])^2, from the energies and a windowed ACF
    windowed = np.array([np.dot(x[:window], x[t : t + window]) for t in lags])
    diff = energy[window] + (energy[lags + window] - energy[lags]) - 2.0 * windowed
    cmndf = np.ones(max_lag)
    cmndf[1:] = diff[1:] * lags[1:] / np.maximum(np.cumsum(diff[1:]), 1e-12)
    first = int(rate / high_hz)
    below = np.flatnonzero(cmndf[first:] < 0.2)
    lag = first + (below[0] if len(below) else int(np.argmin(cmndf[first:])))
    while lag + 1 < max_lag and cmndf[lag + 1] < cmndf[lag]:
        lag += 1
    a, b, c = cmndf[lag - 1], cmndf[lag], cmndf[lag + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c > 0 else 0.0
    return rate / (lag + shift)


def _peak_hz(audio: np.ndarray, around: float, cents: float = 100.0) -> float:
    """The strongest spectral peak within ``cents`` of ``around`` (Hann, zero-padded)."""
    size = 16 * len(audio)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), size))
    freq = np.fft.rfftfreq(size, 1.0 / SR)
    band = np.flatnonzero(np.abs(1200 * np.log2(np.maximum(freq, 1e-9) / around)) <= cents)
    k = band[np.argmax(spectrum[band])]
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return float(freq[k] + 0.5 * (a - c) / (a - 2 * b + c) * (freq[1] - freq[0]))


def _cents(hz: float, pitch: int) -> float:
    return 1200 * np.log2(hz / (440.0 * 2 ** ((pitch - 69) / 12)))


def _db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_timbres_by_instrument_and_seed():
    flute = draw_timbre(get_instrument("flute"), 3)
    assert flute == draw_timbre(get_instrument("flute"), 3)
    assert flute != draw_timbre(get_instrument("flute"), 4)
    assert isinstance(flute, Timbre) and flute.kind == SUSTAINED and flute.inharmonicity == 0
    assert len(flute.partial_db) == MAX_PARTIALS
    piano = draw_timbre(get_instrument("piano"), 0)
    assert piano.kind == STRUCK and piano.inharmonicity > 0
    for name in MELODY:
        timbre = draw_timbre(get_instrument(name), 0)
        assert timbre.kind == SUSTAINED
        assert -40 <= timbre.noise_db <= -20 and -40 <= timbre.transient_db <= -20
        assert 0.05 <= timbre.release <= 0.3


def test_deterministic_exact_length_and_voices_differ():
    notes = [Note(67, 80, 0.2, 0.7), Note(71, 100, 0.8, 1.1)]
    a = _render("violin", notes, seconds=1.337, seed=5)
    assert a.dtype == np.float32 and a.shape == (round(1.337 * SR),)
    assert np.array_equal(a, _render("violin", notes, seconds=1.337, seed=5))
    assert not np.array_equal(a, _render("violin", notes, seconds=1.337, seed=6))
    other = _render("violin", notes, voices=[1, 1], seconds=1.337, seed=5)
    assert np.abs(a - other).max() > 0.01
    # the default voice is 0; a note past the end is cut, not an error
    assert np.array_equal(a, _render("violin", notes, voices=[0, 0], seconds=1.337, seed=5))
    assert _render("violin", [Note(67, 80, 1.0, 3.0)], seconds=1.2).shape == (round(1.2 * SR),)
    with pytest.raises(ValueError):
        _render("violin", notes, voices=[0])


@pytest.mark.parametrize("name", [*MELODY, "piano"])
def test_silence_outside_notes(name):
    audio = _render(name, [Note(64, 100, 0.3, 0.6)], voices=[2], seconds=1.5)
    begin = round(0.3 * SR)
    assert not audio[:begin].any()
    assert np.abs(audio[begin : begin + 2000]).max() > 0.01
    release = draw_timbre(get_instrument(name), 2).release
    assert not audio[round((0.6 + release) * SR) + 1 :].any()


@pytest.mark.parametrize("name", MELODY)
def test_melody_pitch_across_the_range(name):
    instrument = get_instrument(name)
    pitches = np.linspace(instrument.low, instrument.high, 4).round().astype(int)
    for voice in range(2):
        for velocity in (40, 110):
            for pitch in pitches:
                audio = _render(name, [Note(int(pitch), velocity, 0.0, 0.8)], voices=[voice])
                f0 = 440.0 * 2 ** ((pitch - 69) / 12)
                hz = _yin_hz(audio[round(0.3 * SR) : round(0.45 * SR)], f0 / 2.5, f0 * 2.5)
                assert abs(_cents(hz, int(pitch))) < 20, (name, voice, velocity, pitch, hz)


def test_piano_fundamental_and_stretched_partials():
    for voice in range(2):
        for pitch in (24, 48, 60, 72, 96, 105):
            audio = _render("piano", [Note(pitch, 90, 0.0, 1.0)], voices=[voice])
            middle = audio[round(0.1 * SR) : round(0.6 * SR)]
            f0 = 440.0 * 2 ** ((pitch - 69) / 12)
            hz = _peak_hz(middle, f0)
            assert abs(_cents(hz, pitch)) < 20, (voice, pitch, hz)
            if 8 * hz < 0.4 * SR:
                eighth = _peak_hz(middle, 8 * f0, cents=60)
                assert eighth > 8 * hz * 2 ** (0.5 / 1200), (voice, pitch, eighth / hz)


def test_piano_decays_while_held():
    audio = _render("piano", [Note(60, 100, 0.0, 2.5)], seconds=3.0)
    early = _db(audio[round(0.05 * SR) : round(0.4 * SR)])
    late = _db(audio[round(2.0 * SR) : round(2.4 * SR)])
    assert late < early - 6


@pytest.mark.parametrize("name", [*MELODY, "piano"])
def test_levels_follow_velocity(name):
    peaks = {}
    levels = {}
    for velocity in (33, 80, 112):
        audio = _render(name, [Note(66, velocity, 0.0, 0.8)], voices=[1])
        peaks[velocity] = float(np.abs(audio).max())
        levels[velocity] = _db(audio[: round(0.8 * SR)])
    assert levels[112] > levels[80] + 3 > levels[33] + 6
    assert 0.1 <= peaks[112] <= 0.4


def test_brighter_at_ff():
    def centroid(velocity):
        audio = _render("trumpet", [Note(62, velocity, 0.0, 0.8)])[
            round(0.2 * SR) : round(0.7 * SR)
        ]
        power = np.abs(np.fft.rfft(audio)) ** 2
        return np.sum(np.fft.rfftfreq(len(audio), 1 / SR) * power) / np.sum(power)

    assert centroid(112) > 1.3 * centroid(33)


def test_chords_sum():
    notes = [Note(60, 100, 0.0, 0.5), Note(64, 100, 0.0, 0.5), Note(67, 100, 0.0, 0.5)]
    chord = _render("piano", notes, seconds=1.0)
    energy = sum(10 ** (_db(_render("piano", [n], seconds=1.0)) / 10) for n in notes)
    assert abs(_db(chord) - 10 * np.log10(energy)) < 2.5  # partials of random phases add up
    assert np.abs(chord).max() > np.abs(_render("piano", notes[:1], seconds=1.0)).max()
