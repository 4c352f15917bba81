"""Partials above the models' band: a note's harmonic series carried past 11 kHz."""

from __future__ import annotations

import numpy as np
import pytest

from midivae.rendering.band import NoteSpan, extend_band, note_band
from midivae.spectral import SpectralConfig, analyse

CONFIG = SpectralConfig()
SLOPE_DB = -10.0  # per octave


def harmonic_tone(f0: float, seconds: float = 1.0, rate: int = 22050, top: float = 24000.0):
    """A tone whose partials fall ``SLOPE_DB`` per octave (partial 1 at amplitude 0.1),
    with its partials up to ``top`` Hz (below Nyquist)."""
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    for k in range(1, int(min(top, rate / 2 * 0.98) / f0) + 1):
        out += 0.1 * 10 ** (SLOPE_DB * np.log2(k) / 20) * np.sin(2 * np.pi * k * f0 * t + k)
    return out


def test_a_tones_partials_continue_along_their_slope_above_the_band():
    f0 = 880.0  # A5
    frames = analyse(harmonic_tone(f0, 2.0), CONFIG)
    span = NoteSpan(81, 0, len(frames))
    freqs, amplitudes = note_band(frames, span, CONFIG, 16000.0)
    np.testing.assert_allclose(freqs / f0, np.arange(13, 19))  # 11.4 to 15.8 kHz
    middle = amplitudes[:, len(frames) // 2]
    truth = 0.1 * 10 ** (SLOPE_DB * np.log2(freqs / f0) / 20)
    np.testing.assert_allclose(20 * np.log10(middle / truth), 0.0, atol=3.0)

    audio = extend_band(frames, [span], CONFIG, 44100, 2 * 44100, seed=1)
    spectrum = np.abs(np.fft.rfft(audio[22050:66150] * np.hanning(44100)))
    bins = np.fft.rfftfreq(44100, 1 / 44100)
    heard = [spectrum[np.argmin(np.abs(bins - f))] for f in freqs]
    between = spectrum[
        (bins > 11500) & (bins < 15500) & (np.min(np.abs(bins[:, None] - freqs), 1) > 200)
    ]
    assert min(heard) > 100 * between.max()  # partials, not noise
    assert spectrum[bins < 11000].max() < 1e-3 * max(heard)  # nothing added inside the band
    np.testing.assert_array_equal(audio, extend_band(frames, [span], CONFIG, 44100, 88200, seed=1))


def test_no_room_above_the_band_adds_nothing():
    frames = analyse(harmonic_tone(440.0), CONFIG)
    span = NoteSpan(69, 0, len(frames))
    assert not extend_band(frames, [span], CONFIG, 22050, 22050).any()
    silent = np.zeros_like(frames)
    assert np.abs(extend_band(silent, [span], CONFIG, 44100, 44100)).max() < 1e-12


@pytest.mark.presets
def test_a_render_at_441_khz_sounds_above_11_khz():
    from midivae.rendering.mixdown import MixSettings
    from midivae.rendering.render import RenderSettings, render
    from midivae.scores import NoteEvent, Part, Score

    score = Score([NoteEvent(0.1, 0.9, 79, 96)], [Part(0, "violin", 40)])
    full = render(score, settings=RenderSettings(mix=MixSettings(stereo=False))).audio
    spectrum = np.abs(np.fft.rfft(full)) ** 2
    bins = np.fft.rfftfreq(len(full), 1 / 44100)
    above = spectrum[(bins > 11200) & (bins < 16000)].sum() / spectrum.sum()
    assert 10 * np.log10(above) > -60
    model_rate = render(score, settings=RenderSettings(mix=MixSettings(22050, stereo=False)))
    assert len(model_rate.audio) * 2 == len(full)
