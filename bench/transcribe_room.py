"""Transcription of the dev-set melodies played back in a synthetic room (report only).

The corpora and the dev set are rendered dry; recordings rarely are. Each melody of
``bench/data/devset`` is convolved with a seeded exponentially decaying noise tail (RT60 and
wet-to-dry energy ratio as given; the dry path kept), transcribed with its own instrument's
preset, and scored with mir_eval like ``bench/transcribe.py``; pYIN runs on the same audio.
``auto``'s choice is checked on the same melodies and on the dev set's duets, dry and in the
room (right as ``bench/transcribe.py`` counts it). Nothing is tuned on it.

Usage: ``python bench/transcribe_room.py [--rt60 1.2] [--wet-db -6]``. Last line:
``rt60=<s> wet_db=<d> dry_on_f1=<a> room_on_f1=<b> pyin_room_on_f1=<c> auto_dry_acc=<e>
auto_room_acc=<f>`` (F1: means over the four melody instruments).
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from devset import ROOT as DEVSET
from devset import build
from scipy.signal import fftconvolve
from scoring import midi_notes, pyin_notes, pyin_range, score
from transcribe import right_choices

from midivae.audio import load_audio
from midivae.presets.preset import shipped_presets
from midivae.spectral import SpectralConfig, analyse, compress
from midivae.transcription.choice import choose_preset
from midivae.transcription.transcribe import transcribe

WET_DB = -6.0  # the tail's energy against the direct sound, by default


def room_response(rt60: float, wet_db: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A unit direct path plus a decaying noise tail ``wet_db`` below it in energy."""
    n = int(1.5 * rt60 * sample_rate)
    t = np.arange(n) / sample_rate
    tail = np.random.default_rng(seed).standard_normal(n) * np.exp(-6.9 * t / rt60)
    response = tail * 10.0 ** (wet_db / 20.0) / np.sqrt(np.sum(tail**2))
    response[0] += 1.0
    return response


def in_room(audio: np.ndarray, response: np.ndarray) -> np.ndarray:
    """``audio`` played through the room ``response``, cut to its own length."""
    return fftconvolve(audio, response)[: len(audio)]


def mean_of_means(per_instrument: dict[str, list[float]]) -> float:
    return float(np.mean([np.mean(v) for v in per_instrument.values()]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rt60", type=float, default=1.2, help="seconds (default 1.2)")
    parser.add_argument("--wet-db", type=float, default=WET_DB, help="tail energy (default -6)")
    args = parser.parse_args()
    sample_rate = SpectralConfig().sample_rate
    response = room_response(args.rt60, args.wet_db, sample_rate)
    dry, room, pyin_room = defaultdict(list), defaultdict(list), defaultdict(list)
    chosen = defaultdict(list)  # dry / room -> whether auto chose right
    for entry in build(DEVSET):
        if entry.kind not in ("melody", "duet"):
            continue
        audio = load_audio(DEVSET / f"{entry.stem}.flac")
        wet = in_room(audio, response).astype(np.float32)
        for where, sound in (("dry", audio), ("room", wet)):
            chosen[where].append(auto_choice(sound) in right_choices(entry.instruments))
        if entry.kind != "melody":
            continue
        name = entry.instruments[0]
        reference = midi_notes(DEVSET / f"{entry.stem}.mid")
        for target, sound in ((dry, audio), (room, wet)):
            notes = transcribe(sound, preset=name, calibrated=True).notes
            estimate = [(n.onset, n.offset, n.pitch, n.velocity) for n in notes]
            target[name].append(score(reference, estimate).on_f1)
        fmin, fmax = pyin_range(name)
        pyin_room[name].append(score(reference, pyin_notes(wet, sample_rate, fmin, fmax)).on_f1)
    print(f"{'instrument':10s} {'dry':>6s} {'room':>6s} {'pyin room':>10s}")
    for name in dry:
        print(
            f"{name:10s} {np.mean(dry[name]):6.3f} {np.mean(room[name]):6.3f} "
            f"{np.mean(pyin_room[name]):10.3f}"
        )
    print(
        f"rt60={args.rt60:g} wet_db={args.wet_db:g} dry_on_f1={mean_of_means(dry):.3f} "
        f"room_on_f1={mean_of_means(room):.3f} pyin_room_on_f1={mean_of_means(pyin_room):.3f} "
        f"auto_dry_acc={np.mean(chosen['dry']):.3f} auto_room_acc={np.mean(chosen['room']):.3f}"
    )


def auto_choice(audio: np.ndarray) -> str:
    """The shipped preset ``auto`` chooses for ``audio`` (its first seconds)."""
    amplitude = analyse(np.asarray(audio, np.float64), SpectralConfig())
    return choose_preset(compress(amplitude), amplitude, shipped_presets()).name


if __name__ == "__main__":
    main()
