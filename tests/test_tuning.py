"""Reference pitch estimation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SR

from midivae.spectral import analyse
from midivae.transcription.tuning import TuningMeter, estimate_offset_cents, reference_hz


def melody(a4: float, seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    out = np.zeros_like(t)
    for i, midi in enumerate([60, 64, 67, 72, 65, 69]):
        f0 = a4 * 2 ** ((midi - 69) / 12)
        segment = (t >= i * 0.5) & (t < (i + 1) * 0.5)
        for h in range(1, 7):
            out[segment] += 0.2 / h * np.sin(2 * np.pi * f0 * h * t[segment])
    return out


@pytest.mark.parametrize("a4", [440.0, 446.0, 432.0, 452.0, 429.0])
def test_reference_within_five_cents(a4):
    offset = estimate_offset_cents(analyse(melody(a4)))
    true_cents = 1200 * np.log2(a4 / 440.0)
    assert abs(offset - true_cents) <= 5.0
    assert reference_hz(offset) == pytest.approx(a4, rel=0.003)


def test_silence_and_noise_give_no_offset(rng):
    assert estimate_offset_cents(analyse(np.zeros(SR))) == 0.0
    noise_offset = estimate_offset_cents(analyse(0.1 * rng.standard_normal(SR * 2)))
    assert -50.0 < noise_offset <= 50.0


def test_tuning_measured_piece_by_piece_is_the_whole_takes(rng):
    t = np.arange(int(6 * SR)) / SR
    audio = sum(0.2 / k * np.sin(2 * np.pi * k * 446.0 * t) for k in (1, 2, 3))
    frames = analyse(audio.astype(np.float32))
    meter = TuningMeter()
    for first in range(0, len(frames), 97):
        meter.add(frames[first : first + 97])
    assert meter.offset_cents() == pytest.approx(estimate_offset_cents(frames), abs=1e-9)
    assert TuningMeter().offset_cents() == 0.0
