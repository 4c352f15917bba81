"""Leave one library out: how presets read a library they never heard.

For each instrument, one training corpus is played by every library that has it
(``bench/libraries.py``: FluidR3, MuseScore_General, the sample libraries, the project's
synthesiser), dry unless told otherwise (``midivae corpus build --library ...``; with
``--players`` / ``--rooms`` their augmentations). Then, for each real library in turn, a preset
is trained on that corpus without the library's frames (``midivae train --exclude-library
NAME``), and reads fresh content played by the library it never heard, dry and at the reference
level: melodic phrases (seed 99, as ``bench/transcribe_fluidr3.py``) and same-pitch repeats for
the melody instruments, piano phrases for the piano, and isolated notes at pp / mf / ff for the
dynamics order. The shipped preset reads the same renders in the same run; where it was trained
on the library left out its row says ``shipped*`` (held-in) and stays out of the ``shipped_*``
figures. Per library, then the mean and the worst library, for both; and
``bench/synthetic.py``'s tones read by each preset.

Usage: ``python bench/generalisation.py [--epochs N] [--seconds S] [--work DIR]
[--players] [--rooms] [--leave-out NAME ...] [INSTRUMENT ...]`` (default: the four
melody instruments and the piano; ``--epochs`` default 40, the training default;
``--seconds`` of phrases per library, default 60; corpora and presets go under ``--work``,
default ``corpora/loo``, and are reused when their build or training matches;
``--players`` / ``--rooms`` build the corpora with them; ``--leave-out`` runs only
those libraries). Last line: ``loo_melody_on_f1=<a> loo_melody_worst=<b> loo_onoff_f1=<c>
loo_vel_f1=<d> loo_piano_on_f1=<e> loo_dyn_order=<f> shipped_melody_on_f1=<g>
shipped_melody_worst=<h> shipped_piano_on_f1=<i> shipped_dyn_order=<j> synthetic_mean=<k>
shipped_synthetic_mean=<l>`` (melody figures: means over the melody instruments' held-out
libraries of phrases and repeats; ``worst``: the lowest instrument-library pair). Duets of
left-out instruments are not measured yet.
"""

from __future__ import annotations

import argparse
import json
import shlex
from itertools import pairwise
from pathlib import Path

import numpy as np
from scoring import ordered, velocity_triples
from synthetic import pitch_accuracy
from transcribe_fluidr3 import score_audio

from libraries import SYNTH, available
from midivae.music import MELODY_INSTRUMENTS, get_instrument
from midivae.training.corpus.build import build_library_corpus
from midivae.training.corpus.content import Note, phrases, piano_phrases
from midivae.training.corpus.levels import Calibration, calibrate, measure_levels
from midivae.training.corpus.libraries import open_library
from midivae.training.corpus.performance import PlayerSettings
from midivae.training.corpus.rooms import RoomSettings
from midivae.transcription.transcribe import transcribe

SEED = 99
DYNAMICS = (33, 80, 112)
REPEAT_GAPS_S = (0.02, 0.05)


def library_corpus(
    name: str, work: Path, *, players: bool, rooms: bool
) -> tuple[Path, dict[str, str]]:
    """The instrument's corpus over every available library (built once, then reused), with
    or without players and rooms."""
    specs = available(name)
    folder = work / f"{name}-all"
    build_library_corpus(
        name,
        folder,
        libraries=list(specs.values()),
        players=PlayerSettings() if players else None,
        rooms=RoomSettings() if rooms else None,
        progress=print,
    )
    return folder, specs


def loo_preset(name: str, corpus: Path, left_out: str, work: Path, epochs: int) -> Path:
    """A preset trained on ``corpus`` without ``left_out`` (reused when already trained so)."""
    from midivae.training.train import train

    folder = work / f"{name}-without-{left_out}"
    meta = folder / "preset.json"
    if meta.is_file():
        provenance = json.loads(meta.read_text()).get("provenance", {})
        if provenance.get("excluded_libraries") == [left_out] and provenance["epochs"] == epochs:
            return folder
    train(
        name,
        folder,
        corpus=[corpus],
        devtest=(),
        epochs=epochs,
        exclude_libraries=[left_out],
        baseline=False,
        overwrite=True,
        progress=print,
        command=f"bench/generalisation.py: {name} without {left_out}, {epochs} epochs",
    )
    return folder


def heard_by_shipped(name: str, library: str) -> bool:
    """Whether the shipped preset ``name`` transcribes with a pair trained on ``library`` (its
    corpora's commands name it after ``--soundfont`` or ``--library``): its row is held-in."""
    from midivae.presets.preset import read_meta, shipped_root

    for corpus in read_meta(shipped_root() / name).get("provenance", {}).get("corpora", []):
        words = shlex.split(corpus.get("command") or "")
        named = [b for a, b in pairwise(words) if a in ("--soundfont", "--library")]
        if any(word == library or word.startswith(f"{library}=") for word in named):
            return True
    return False


def played(library, inst, notes: list[Note], seconds: float, calibration) -> np.ndarray:
    """``notes`` as the (calibrated) library plays them, dry."""
    voices = [library.programs(inst)[0]] * len(notes)
    return calibration.play(library, notes, instrument=inst, voices=voices, seconds=seconds)


def test_content(inst, library, seconds: float) -> list[tuple[list[Note], float]]:
    """Fresh phrases (and repeats, for a melody instrument) inside the library's keys."""
    rng = np.random.default_rng(SEED)
    low, high = library.key_range(inst)
    make = piano_phrases if inst.polyphonic else phrases
    items = [
        (list(item.notes), item.length)
        for item in make(inst, rng, seconds=seconds)
        if all(low <= n.pitch <= high for n in item.notes)
    ]
    if not inst.polyphonic:
        for gap in REPEAT_GAPS_S:
            for pitch in np.linspace(low + 2, high - 2, 4).round().astype(int):
                t, notes = 0.3, []
                for _ in range(4):
                    notes.append(Note(int(pitch), 80, t, t + 0.35))
                    t += 0.35 + gap
                items.append((notes, t + 0.6))
    return items


def dynamics_order(inst, library, calibration, preset) -> float:
    """Share of pitches whose notes at pp / mf / ff read back in that order (one render per
    level, the same notes at the same times, as the dev set's isolated-note files)."""
    low, high = library.key_range(inst)
    pitches = np.linspace(low + 2, high - 2, 6).round().astype(int)
    levels = []
    for velocity in DYNAMICS:
        notes = [
            Note(int(p), velocity, 0.3 + 1.5 * k, 1.1 + 1.5 * k) for k, p in enumerate(pitches)
        ]
        audio = played(library, inst, notes, 0.3 + 1.5 * len(notes) + 1.0, calibration)
        heard = transcribe(audio, preset=str(preset)).notes
        levels.append([(n.onset, n.offset, n.pitch, n.velocity) for n in heard])
    reference = [(n.start, n.end, n.pitch, n.velocity) for n in notes]
    return float(np.mean([ordered(v) for _, v in velocity_triples(levels, reference)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instruments", nargs="*", default=[*MELODY_INSTRUMENTS, "piano"])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=Path("corpora/loo"))
    parser.add_argument("--players", action="store_true", help="corpora with players")
    parser.add_argument("--rooms", action="store_true", help="corpora with rooms")
    parser.add_argument(
        "--leave-out", action="append", default=None, help="only these libraries (repeat it)"
    )
    args = parser.parse_args()
    rows = []  # (instrument, library, which, on, onoff, vel, dyn)
    synthetic = {"loo": [], "shipped": []}  # tones from bench/synthetic.py, per preset
    for name in args.instruments:
        inst = get_instrument(name)
        synthetic["shipped"].append(pitch_accuracy(name))
        corpus, specs = library_corpus(name, args.work, players=args.players, rooms=args.rooms)
        reference = measure_levels(open_library("fluidr3"), inst)
        for left_out, spec in specs.items():
            if left_out == SYNTH or (args.leave_out and left_out not in args.leave_out):
                continue  # the synthesiser is a training source, not a library players own
            library = open_library(spec)
            calibration = (
                Calibration()
                if left_out == "fluidr3"
                else calibrate(reference, measure_levels(library, inst))
            )
            preset = loo_preset(name, corpus, left_out, args.work, args.epochs)
            synthetic["loo"].append(pitch_accuracy(str(preset)))
            content = test_content(inst, library, args.seconds)
            shipped = "shipped*" if heard_by_shipped(name, left_out) else "shipped"
            for which, model in (("loo", preset), (shipped, name)):
                scores = [
                    score_audio(played(library, inst, notes, seconds, calibration), notes, model)
                    for notes, seconds in content
                ]
                dyn = dynamics_order(inst, library, calibration, model)
                row = (
                    name,
                    left_out,
                    which,
                    float(np.mean([s.on_f1 for s in scores])),
                    float(np.mean([s.onoff_f1 for s in scores])),
                    float(np.mean([s.vel_f1 for s in scores])),
                    dyn,
                )
                rows.append(row)
                print(
                    f"{name:9s} {left_out:10s} {which:8s} on {row[3]:.3f}  on+off {row[4]:.3f}  "
                    f"+vel {row[5]:.3f}  dyn order {dyn:.3f}  ({len(content)} items)",
                    flush=True,
                )

    def figure(which: str, melody: bool, column: int, reduce=np.mean) -> float:
        values = [r[column] for r in rows if r[2] == which and (r[0] != "piano") == melody]
        return float(reduce(values)) if values else float("nan")

    print(
        f"loo_melody_on_f1={figure('loo', True, 3):.3f} "
        f"loo_melody_worst={figure('loo', True, 3, np.min):.3f} "
        f"loo_onoff_f1={figure('loo', True, 4):.3f} loo_vel_f1={figure('loo', True, 5):.3f} "
        f"loo_piano_on_f1={figure('loo', False, 3):.3f} "
        f"loo_dyn_order={np.mean([r[6] for r in rows if r[2] == 'loo']):.3f} "
        f"shipped_melody_on_f1={figure('shipped', True, 3):.3f} "
        f"shipped_melody_worst={figure('shipped', True, 3, np.min):.3f} "
        f"shipped_piano_on_f1={figure('shipped', False, 3):.3f} "
        f"shipped_dyn_order={np.mean([r[6] for r in rows if r[2] == 'shipped']):.3f} "
        f"synthetic_mean={np.mean(synthetic['loo']):.3f} "
        f"shipped_synthetic_mean={np.mean(synthetic['shipped']):.3f}"
    )


if __name__ == "__main__":
    main()
