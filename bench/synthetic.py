"""Pitch on tones from neither soundfont: random additive-synthesis instruments.

Each tone has its own spectral slope (1/h^0.5 .. 1/h^2), a random +-6 dB gain per
partial, vibrato (4-6 Hz, up to 25 cents), an attack of 10-80 ms, and a noise floor 40 dB
under the peak, at a steady mf-like level (-30 dBFS RMS). For the piano the tones are struck
instead: no vibrato, a 5 ms attack and an exponential decay (-26 dB per second). None of
this is a FluidR3 or MuseScore sample, so it shows how far a preset reads pitch from where
the partials are rather than from one timbre. For every shipped single-instrument preset
(or the preset folders given), every other semitone of its range, three draws each: the
share of frames in the held part of the tone (100-500 ms) whose most likely pitch (key for
the piano) is the tone's.

Usage: ``python bench/synthetic.py [PRESET ...]``. Last line: ``<preset>=<acc> ... mean=<acc>``.
"""

from __future__ import annotations

import sys

import numpy as np

from midivae.music import get_instrument
from midivae.presets.preset import load_preset, read_meta, shipped_presets, shipped_root
from midivae.spectral import SpectralConfig, analyse, compress

SR = 22050
SEED = 5
DRAWS = 3
LEAD, TAIL = 2000, 4000  # samples of silence around each tone


def synthetic_tone(
    pitch: int, rng: np.random.Generator, seconds: float = 0.6, *, struck: bool = False
) -> np.ndarray:
    """One random harmonic tone at MIDI ``pitch`` (mono, 22050 Hz, -30 dBFS RMS)."""
    t = np.arange(int(SR * seconds)) / SR
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    depth = 0.0 if struck else 2.0 ** (rng.uniform(0, 25) / 1200) - 1.0
    vibrato = 1.0 + depth * np.sin(2 * np.pi * rng.uniform(4, 6) * t)
    phase = 2 * np.pi * np.cumsum(f0 * vibrato) / SR
    slope = rng.uniform(0.5, 2.0)
    out = np.zeros_like(t)
    for h in range(1, 30):
        if f0 * h > 0.45 * SR:
            break
        gain = h**-slope * 10 ** (rng.normal(0, 6) / 20)
        out += gain * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    attack = 0.005 if struck else rng.uniform(0.01, 0.08)
    out *= np.minimum(1.0, t / attack) * np.minimum(1.0, (seconds - t) / 0.05)
    if struck:
        out *= np.exp(-3.0 * t)
    out += rng.normal(0, 1, len(t)) * 10 ** (-40 / 20) * np.abs(out).max()
    rms = np.sqrt(np.mean(out[int(attack * SR) :] ** 2))
    return out / rms * 10 ** (-30 / 20)


def pitch_accuracy(name: str) -> float:
    """Share of held frames whose most likely pitch is the synthetic tone's."""
    config = SpectralConfig()
    preset = load_preset(name)
    instrument = get_instrument(preset.instruments[0])
    keys = any(f.name == "keys" for f in preset.vocabulary.families)
    family = preset.vocabulary.family("keys" if keys else "pitch")
    rng = np.random.default_rng(SEED)
    first = int((LEAD / SR + 0.1) / config.frame_seconds)
    last = int((LEAD / SR + 0.5) / config.frame_seconds)
    right = total = 0
    for _ in range(DRAWS):
        for pitch in range(instrument.low, instrument.high + 1, 2):
            audio = np.concatenate(
                [np.zeros(LEAD), synthetic_tone(pitch, rng, struck=keys), np.zeros(TAIL)]
            )
            frames = compress(analyse(audio, config), config)
            probabilities = preset.read_signal(frames)["keys" if keys else "pitch"][first:last]
            if not keys:
                probabilities = probabilities[:, :-1]  # the last column is rest
            guess = family.offset + np.argmax(probabilities, axis=1)
            right += int(np.sum(guess == pitch))
            total += len(guess)
    return right / total


def main() -> None:
    names = sys.argv[1:] or [
        name
        for name in shipped_presets()
        if len(read_meta(shipped_root() / name)["instruments"]) == 1
    ]
    results = {}
    for name in names:
        results[name] = pitch_accuracy(name)
        print(f"{name:24s} held-frame pitch accuracy on synthetic tones {results[name]:.3f}")
    pairs = " ".join(
        f"{name.rstrip('/').split('/')[-1]}={acc:.3f}" for name, acc in results.items()
    )
    print(f"{pairs} mean={np.mean(list(results.values())):.3f}")


if __name__ == "__main__":
    main()
