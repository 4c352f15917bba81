"""Short-window harmonic envelopes: NSGT scale, frame grid, sharp attacks, bounded blocks."""

from __future__ import annotations

import numpy as np

from midivae.spectral import SpectralConfig, analyse, n_frames_for, short_time
from midivae.spectral.analysis import array_reader
from midivae.spectral.short_time import harmonic_envelopes

CONFIG = SpectralConfig()
SR = CONFIG.sample_rate


def tone(f0: float, seconds: float, start: float = 0.0, amplitude: float = 0.1) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return np.where(t >= start, amplitude * np.sin(2 * np.pi * f0 * t), 0.0)


def test_a_sinusoid_reads_its_amplitude_on_the_nsgt_grid():
    audio = tone(440.0, 1.0)
    envelopes = harmonic_envelopes(audio, np.array([69, 57, 81]), CONFIG)
    assert envelopes.shape == (n_frames_for(len(audio), CONFIG), 3)
    assert envelopes.dtype == np.float32
    middle = envelopes[30:60]
    np.testing.assert_allclose(middle[:, 0], 0.1, rtol=0.05)  # A4 itself
    np.testing.assert_allclose(middle[:, 1], 0.1, rtol=0.05)  # A3: A4 is its 2nd partial
    assert middle[:, 2].max() < 0.01  # A5: no partial of it sounds


def test_fractional_pitches_follow_a_detuned_recording():
    f0 = 440.0 * 2 ** (40 / 1200)  # 40 cents sharp: upper partials miss A4's bins
    audio = sum(tone(f0 * h, 1.0, amplitude=0.05) for h in range(1, 9))
    tuned, untuned = harmonic_envelopes(audio, np.array([69.4, 69.0]), CONFIG)[40].tolist()
    assert tuned > 1.2 * untuned


def test_an_attack_is_sharper_than_in_the_nsgt_frames():
    """A sinusoid switched on at 1 s: the envelope rises within a few frames of it."""
    audio = tone(440.0, 2.0, start=1.0)
    onset = round(1.0 / CONFIG.frame_seconds)
    sharp = harmonic_envelopes(audio, np.array([69]), CONFIG)[:, 0]
    blurred = analyse(audio, CONFIG)[:, round(CONFIG.midi_to_bin(69))]

    def frames_rising(envelope: np.ndarray) -> int:
        db = 20 * np.log10(envelope + 1e-9)
        final = db[onset + 30]
        return int(np.sum((db > final - 30) & (db < final - 1)))

    assert frames_rising(sharp) <= 8
    assert frames_rising(blurred) > frames_rising(sharp) + 4
    assert sharp[: onset - 6].max() < 1e-3


def test_blocks_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(0)
    audio = rng.standard_normal(SR * 3) * 0.05
    whole = harmonic_envelopes(audio, np.arange(48, 84), CONFIG)
    monkeypatch.setattr(short_time, "BLOCK_FRAMES", 37)
    np.testing.assert_array_equal(harmonic_envelopes(audio, np.arange(48, 84), CONFIG), whole)


def test_envelopes_of_some_frames_are_those_of_the_whole():
    config = SpectralConfig()
    rng = np.random.default_rng(4)
    audio = (0.1 * rng.standard_normal(22050 * 30)).astype(np.float32)
    pitches = np.arange(50, 80) + 0.2
    whole = harmonic_envelopes(audio, pitches, config)
    some = short_time.streamed_harmonic_envelopes(
        array_reader(audio), len(audio), pitches, config, frames=range(1000, 2100)
    )
    np.testing.assert_array_equal(some, whole[1000:2100])
