"""Leave one library out: how presets read a library they never heard.

For each instrument, one training corpus is played by every library that has it
(``bench/libraries.py``: FluidR3, MuseScore_General, the sample libraries, the project's
synthesiser), dry unless told otherwise (``midivae corpus build --library ...``; with
``--players`` / ``--rooms`` their augmentations). Then, for each real library in turn, a preset
is trained on that corpus without the library's frames (``midivae train --exclude-library
NAME``; the piano and the duet by their shipped recipes, ``bench/build_presets.py``; any model
config with ``--config``), and reads fresh content played by the library it never heard, dry
and at the reference level: melodic phrases (seed 99, as ``bench/transcribe_fluidr3.py``) and
same-pitch repeats for the melody instruments, piano phrases for the piano, and isolated notes
at pp / mf / ff for the dynamics order. ``duets``: phrase pairs of the alto sax and the violin
played by their sample libraries (weresax or MTG, and VSCO 2), read by a mixture preset trained
without both libraries, by the shipped mixture and by ``auto``; ``ensemble``: the same for a
flute and a trumpet, both VSCO 2's, read by the ensemble mixture. The shipped preset reads the
same renders in the same run; where it was trained on the library left out its row says
``shipped*`` (held-in) and stays out of the ``shipped_*`` figures. Per library, then the mean
and the worst library, for both; ``bench/synthetic.py``'s tones read by each preset; and
``auto``'s choice among the shipped presets on the first items of every library and duet, as
a confusion matrix. Each melody or piano row also says what the reading model's frames get
right before any note decoding (``frames A / B``: pitch on sounding frames / sounding or rest;
the piano: sounding keys found / keys read that sound).

Usage: ``python bench/generalisation.py [--epochs N] [--seconds S] [--work DIR] [--config NAME]
[--players] [--rooms] [--detune CENTS] [--played] [--pedalled] [--leave-out NAME ...]
[INSTRUMENT ... | duets | ensemble]``
(default: the four melody instruments, the piano and the duets; ``--epochs`` default 40,
the training default; ``--seconds`` of phrases per library, default 60; corpora and presets
go under ``--work``, default ``corpora/loo``, and are reused when their build or training
matches; ``--players`` / ``--rooms`` build the corpora with them; ``--detune`` trains the
left-out presets with ``midivae train --detune``; ``--played`` has the test phrases and repeats
played by a player, ``PLAYED``: off A4 = 440 Hz, each note a little off that, vibrato, glides,
timing, labelled as played; ``--pedalled`` has the piano read two-handed pieces under the
sustain pedal (``content.pedalled_pieces``, fresh seed) instead of its phrases;
``--leave-out`` runs only those libraries). Last line:
``loo_melody_on_f1=<a> loo_melody_worst=<b> loo_onoff_f1=<c>
loo_vel_f1=<d> loo_piano_on_f1=<e> loo_piano_vel_f1=<f> loo_duet_on_f1=<g> loo_dyn_order=<h>
shipped_melody_on_f1=<i> shipped_melody_worst=<j> shipped_piano_on_f1=<k>
shipped_duet_on_f1=<l> auto_duet_on_f1=<m> shipped_dyn_order=<n> auto_acc=<o>
synthetic_mean=<p> shipped_synthetic_mean=<q>`` (melody figures: means over the melody
instruments' held-out libraries of phrases and repeats; ``worst``: the lowest
instrument-library pair).
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
from transcribe_room import auto_choice

from libraries import SYNTH, available
from midivae.music import MELODY_INSTRUMENTS, MIXTURES, get_instrument
from midivae.presets.preset import cached_preset
from midivae.training.corpus.build import build_library_corpus
from midivae.training.corpus.content import Note, pedalled_pieces, phrases, piano_phrases
from midivae.training.corpus.levels import Calibration, calibrate, measure_levels
from midivae.training.corpus.libraries import open_library
from midivae.training.corpus.performance import PlayerSettings, perform
from midivae.training.corpus.rooms import RoomSettings
from midivae.transcription.timing import TrackingSettings
from midivae.transcription.transcribe import transcribe

SEED = 99
#: Duets whose instruments have sample libraries of their own, by the word that asks for them:
#: the mixture preset that reads them (its ``--instrument`` spec and its shipped folder) and
#: each instrument's libraries. Read by that mixture trained without those libraries, by the
#: shipped mixture and by ``auto`` over the shipped presets.
DUET = "alto_sax+violin"
DUETS: dict[str, tuple[str, str, dict[str, tuple[str, ...]]]] = {
    "duets": (DUET, "alto_sax-violin", {"alto_sax": ("weresax", "mtg"), "violin": ("vsco2",)}),
    "ensemble": ("ensemble", "ensemble", {"flute": ("vsco2",), "trumpet": ("vsco2",)}),
}
FIGURES = ("on_f1", "onoff_f1", "vel_f1")
DYNAMICS = (33, 80, 112)
REPEAT_GAPS_S = (0.02, 0.05)
#: Items per library (and duets per pair of libraries) that ``auto``'s choice is measured on.
AUTO_ITEMS = 4
#: How ``--played`` plays the test content: the corpora's player (a tuning between A4 = 430 and
#: 450 Hz, vibrato, glides, timing) placing each note of a melody by ear, 10 cents either way
#: (standard deviation).
PLAYED = PlayerSettings(intonation_cents=10.0)


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


#: ``midivae train --no-augment``'s fit settings (the mixtures' recipe).
NO_AUGMENT = {"timbre_db": 0.0, "damping_db_per_octave": 0.0, "noise_floor_db": None}
#: How a left-out preset trains when it is not the training default: as the shipped preset's
#: recipe (``bench/build_presets.py``), the epochs included.
RECIPES: dict[str, dict] = {
    "piano": {"config": "compact-wide", "epochs": 30, "fit": {"damping_db_per_octave": 48.0}},
    DUET: {"epochs": 40, "fit": NO_AUGMENT},
    # 20 epochs: four library corpora make an epoch about twice the duet's, and a preset
    # trains in under 30 minutes on two cores
    "ensemble": {"config": "compact-mixture-fixed", "epochs": 20, "fit": NO_AUGMENT},
}


def loo_preset(
    name: str,
    corpora: list[Path],
    left_out: list[str],
    work: Path,
    epochs: int,
    config: str | None = None,
    detune: float = 0.0,
) -> Path:
    """A preset trained on ``corpora`` without the ``left_out`` libraries, by the shipped
    recipe where it has one, with model ``config`` and ``detune`` (``midivae train
    --detune``) when given (reused when already trained so)."""
    from midivae.model.fit import FitSettings
    from midivae.training.train import train

    recipe = RECIPES.get(name, {})
    epochs = recipe.get("epochs", epochs)
    suffix = (f"-{config}" if config else "") + (f"-detune{detune:g}" if detune else "")
    folder = work / f"{name}-without-{'-'.join(left_out)}{suffix}"
    config = config or recipe.get("config")
    meta = folder / "preset.json"
    if meta.is_file():
        provenance = json.loads(meta.read_text()).get("provenance", {})
        planned = provenance.get("fit", {}).get("max_epochs", provenance.get("epochs"))
        detuned = provenance.get("fit", {}).get("detune_cents", 0.0)
        same = provenance.get("excluded_libraries") == left_out and planned == epochs
        if same and detuned == detune:
            return folder  # trained so (early stopping may have ended it sooner)
    train(
        name,
        folder,
        corpus=corpora,
        devtest=(),
        config=config,
        epochs=epochs,
        fit_settings=FitSettings(**recipe.get("fit", {}), detune_cents=detune),
        exclude_libraries=left_out,
        baseline=False,
        overwrite=True,
        progress=print,
        command=f"bench/generalisation.py: {name} without {', '.join(left_out)}, {epochs} epochs",
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


def calibration_of(library, inst, reference: dict[int, float]) -> Calibration:
    """What brings ``library``'s levels onto FluidR3's ``reference`` (FluidR3: nothing)."""
    if library.name == "fluidr3":
        return Calibration()
    return calibrate(reference, measure_levels(library, inst))


def played(library, inst, notes: list[Note], seconds: float, calibration) -> np.ndarray:
    """``notes`` as the (calibrated) library plays them, dry."""
    voices = [library.programs(inst)[0]] * len(notes)
    return calibration.play(library, notes, instrument=inst, voices=voices, seconds=seconds)


def performed(
    library, inst, notes: list[Note], seconds: float, calibration, rng: np.random.Generator
) -> tuple[np.ndarray, list[Note]]:
    """``notes`` as a player (``PLAYED``) plays them on the library, and the notes as played
    (their labels)."""

    def render(source: list[Note], length: float) -> np.ndarray:
        return played(library, inst, source, length, calibration)

    audio, notes, _ = perform(render, notes, seconds, rng, PLAYED, monophonic=not inst.polyphonic)
    return audio, notes


def test_content(
    inst, library, seconds: float, pedalled: bool = False
) -> list[tuple[list[Note], float]]:
    """Fresh phrases (and repeats, for a melody instrument) inside the library's keys; for the
    piano a melody over an accompaniment, or ``pedalled`` two-handed pieces."""
    rng = np.random.default_rng(SEED)
    low, high = library.key_range(inst)
    make = (pedalled_pieces if pedalled else piano_phrases) if inst.polyphonic else phrases
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
        heard = transcribe(audio, preset=str(preset), calibrated=True).notes
        levels.append([(n.onset, n.offset, n.pitch, n.velocity) for n in heard])
    reference = [(n.start, n.end, n.pitch, n.velocity) for n in notes]
    return float(np.mean([ordered(v) for _, v in velocity_triples(levels, reference)]))


def fitting_phrase(inst, rng: np.random.Generator, low: int, high: int):
    """The first 8 s phrase of ``inst`` (drawn from ``rng``, again until one does) whose
    notes all lie within ``low`` to ``high``."""
    for _ in range(100):
        for item in phrases(inst, rng, seconds=8.0):
            if all(low <= n.pitch <= high for n in item.notes):
                return item
    raise RuntimeError(f"no {inst.name} phrase within {low}-{high}")


def duet_rows(
    which_duets: str, work: Path, leave_out, players: bool, rooms: bool, seconds: float, choices
) -> list:
    """Rows for ``DUETS[which_duets]``: for each pair of its instruments' sample libraries,
    fresh phrase pairs played by both (calibrated, dry) and summed, read by its mixture
    trained without the libraries, by the shipped mixture and by ``auto`` over the shipped
    presets."""
    mixture, shipped, libraries = DUETS[which_duets]
    (a, a_libraries), (b, b_libraries) = libraries.items()
    slots = MIXTURES[mixture] if mixture in MIXTURES else mixture.split("+")
    corpora = [library_corpus(n, work, players=players, rooms=rooms)[0] for n in slots]
    rows = []
    for a_name in a_libraries:
        for b_name in b_libraries:
            left_out = list(dict.fromkeys((a_name, b_name)))
            if leave_out and not set(left_out) <= set(leave_out):
                continue
            specs = {a: available(a)[a_name], b: available(b)[b_name]}
            players_ = {}
            for name, spec in specs.items():
                inst, library = get_instrument(name), open_library(spec)
                reference = measure_levels(open_library("fluidr3"), inst)
                players_[name] = (inst, library, calibration_of(library, inst, reference))
            preset = loo_preset(mixture, corpora, left_out, work, 40)
            items = []
            for k in range(max(1, round(seconds / 8.0))):
                parts = []
                for offset, (inst, library, _) in enumerate(players_.values()):
                    low, high = library.key_range(inst)
                    rng = np.random.default_rng(SEED + 100 * offset + k)
                    parts.append(fitting_phrase(inst, rng, low, high))
                length = max(item.length for item in parts)
                audio = sum(
                    played(library, inst, list(item.notes), length, calibration)
                    for (inst, library, calibration), item in zip(
                        players_.values(), parts, strict=True
                    )
                )
                items.append((audio, [n for item in parts for n in item.notes]))
            choices += [(mixture, auto_choice(audio)) for audio, _ in items[:AUTO_ITEMS]]
            for which, model in (("loo", preset), ("shipped", shipped), ("auto", "auto")):
                scores = [score_audio(audio, notes, model) for audio, notes in items]
                row = (
                    mixture,
                    f"{a_name}+{b_name}",
                    which,
                    *(float(np.mean([getattr(s, k) for s in scores])) for k in FIGURES),
                    float("nan"),
                )
                rows.append(row)
                print(
                    f"{mixture:9s} {row[1]:10s} {which:8s} on {row[3]:.3f}  on+off {row[4]:.3f}  "
                    f"+vel {row[5]:.3f}  ({len(items)} duets)",
                    flush=True,
                )
    return rows


def frame_figures(preset, audio: np.ndarray, notes: list[Note], inst) -> tuple[float, float]:
    """What the reading model's frames get right, before any note decoding: for a melody,
    the pitch on sounding frames and sounding-or-rest on every frame; for the piano, the
    sounding keys found (recall) and the keys read that sound (precision), at p > 0.5."""
    from midivae.spectral import SpectralConfig, analyse, compress
    from midivae.training.corpus.labels import note_labels

    config = SpectralConfig()
    model = cached_preset(str(preset))
    frames = compress(analyse(np.asarray(audio, np.float64), config), config)
    read = model.read_signal(frames)
    labels = note_labels(notes, len(frames), config, polyphonic=inst.polyphonic)
    if inst.polyphonic:
        keys, truth = read["keys"] > 0.5, labels["keys"]
        hits = float((keys & truth).sum())
        return hits / max(float(truth.sum()), 1.0), hits / max(float(keys.sum()), 1.0)
    probabilities = read["pitch"]
    offset = model.vocabulary.family("pitch").offset
    best = probabilities.argmax(axis=1)
    pitch = np.where(best == probabilities.shape[1] - 1, -1, best + offset)
    sounding = labels["pitch"] >= 0
    right = float(np.mean(pitch[sounding] == labels["pitch"][sounding])) if sounding.any() else 1.0
    return right, float(np.mean((pitch >= 0) == sounding))


def print_confusion(choices: list[tuple[str, str]]) -> float:
    """What played (rows) against what ``auto`` chose (columns); returns the share chosen
    right (a duet: the preset of its two instruments)."""
    if not choices:
        return float("nan")
    truths = sorted({t for t, _ in choices})
    chosen = sorted({c for _, c in choices} | {t.replace("+", "-") for t in truths})
    print("auto's choice (rows: what plays; columns: the preset chosen)")
    print(f"{'':16s}" + "".join(f"{c[:9]:>10s}" for c in chosen))
    for truth in truths:
        counts = [sum(1 for t, c in choices if t == truth and c == col) for col in chosen]
        print(f"{truth:16s}" + "".join(f"{n:10d}" for n in counts))
    return float(np.mean([t.replace("+", "-") == c for t, c in choices]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instruments", nargs="*", default=[*MELODY_INSTRUMENTS, "piano", "duets"])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=Path("corpora/loo"))
    parser.add_argument("--config", help="model config of the left-out presets (default: recipe)")
    parser.add_argument("--players", action="store_true", help="corpora with players")
    parser.add_argument("--rooms", action="store_true", help="corpora with rooms")
    parser.add_argument(
        "--detune", type=float, default=0.0, help="left-out presets train with this --detune"
    )
    parser.add_argument(
        "--played", action="store_true", help="test content played by a player, not dead on"
    )
    parser.add_argument(
        "--pedalled", action="store_true", help="the piano reads pedalled two-handed pieces"
    )
    parser.add_argument(
        "--leave-out", action="append", default=None, help="only these libraries (repeat it)"
    )
    args = parser.parse_args()
    rows = []  # (instrument, library, which, on, onoff, vel, dyn)
    choices = []  # (what plays, the shipped preset auto chose)
    synthetic = {"loo": [], "shipped": []}  # tones from bench/synthetic.py, per preset
    for name in args.instruments:
        if name in DUETS:
            rows += duet_rows(
                name, args.work, args.leave_out, args.players, args.rooms, args.seconds, choices
            )
            continue
        inst = get_instrument(name)
        synthetic["shipped"].append(pitch_accuracy(name))
        corpus, specs = library_corpus(name, args.work, players=args.players, rooms=args.rooms)
        reference = measure_levels(open_library("fluidr3"), inst)
        for left_out, spec in specs.items():
            if left_out == SYNTH or (args.leave_out and left_out not in args.leave_out):
                continue  # the synthesiser is a training source, not a library players own
            library = open_library(spec)
            calibration = calibration_of(library, inst, reference)
            preset = loo_preset(
                name, [corpus], [left_out], args.work, args.epochs, args.config, args.detune
            )
            synthetic["loo"].append(pitch_accuracy(str(preset)))
            content = test_content(inst, library, args.seconds, args.pedalled)
            shipped = "shipped*" if heard_by_shipped(name, left_out) else "shipped"
            if args.played:
                rng = np.random.default_rng(SEED + 1)
                pairs = [
                    performed(library, inst, notes, seconds, calibration, rng)
                    for notes, seconds in content
                ]
                audios = [audio for audio, _ in pairs]
                content = [
                    (notes, seconds)
                    for (_, notes), (_, seconds) in zip(pairs, content, strict=True)
                ]
            else:
                audios = [
                    played(library, inst, notes, seconds, calibration) for notes, seconds in content
                ]
            choices += [(name, auto_choice(audio)) for audio in audios[:AUTO_ITEMS]]
            for which, model in (("loo", preset), (shipped, name)):
                scores = [
                    score_audio(audio, notes, model)
                    for audio, (notes, _) in zip(audios, content, strict=True)
                ]
                dyn = dynamics_order(inst, library, calibration, model)
                partials = ""
                if any(f.name == "onset" for f in cached_preset(str(model)).vocabulary.families):
                    rise = TrackingSettings(read_onsets=False)
                    timed = [
                        score_audio(audio, notes, model, rise).on_f1
                        for audio, (notes, _) in zip(audios, content, strict=True)
                    ]
                    partials = f"  (onsets from the partials' rise: on {np.mean(timed):.3f})"
                frames = np.mean(
                    [
                        frame_figures(model, audio, notes, inst)
                        for audio, (notes, _) in zip(audios, content, strict=True)
                    ],
                    axis=0,
                )
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
                    f"+vel {row[5]:.3f}  dyn order {dyn:.3f}  frames {frames[0]:.3f} / "
                    f"{frames[1]:.3f}  ({len(content)} items){partials}",
                    flush=True,
                )

    def figure(which: str, kind: str, column: int, reduce=np.mean) -> float:
        values = [r[column] for r in rows if r[2] == which and kind_of(r[0]) == kind]
        return float(reduce(values)) if values else float("nan")

    def kind_of(name: str) -> str:
        mixtures = {mixture: "duet" for mixture, _, _ in DUETS.values()}
        return ({"piano": "piano"} | mixtures).get(name, "melody")

    def dyn(which: str) -> float:
        values = [r[6] for r in rows if r[2] == which and kind_of(r[0]) != "duet"]
        return float(np.mean(values)) if values else float("nan")

    auto_acc = print_confusion(choices)
    print(
        f"loo_melody_on_f1={figure('loo', 'melody', 3):.3f} "
        f"loo_melody_worst={figure('loo', 'melody', 3, np.min):.3f} "
        f"loo_onoff_f1={figure('loo', 'melody', 4):.3f} "
        f"loo_vel_f1={figure('loo', 'melody', 5):.3f} "
        f"loo_piano_on_f1={figure('loo', 'piano', 3):.3f} "
        f"loo_piano_vel_f1={figure('loo', 'piano', 5):.3f} "
        f"loo_duet_on_f1={figure('loo', 'duet', 3):.3f} "
        f"loo_dyn_order={dyn('loo'):.3f} "
        f"shipped_melody_on_f1={figure('shipped', 'melody', 3):.3f} "
        f"shipped_melody_worst={figure('shipped', 'melody', 3, np.min):.3f} "
        f"shipped_piano_on_f1={figure('shipped', 'piano', 3):.3f} "
        f"shipped_duet_on_f1={figure('shipped', 'duet', 3):.3f} "
        f"auto_duet_on_f1={figure('auto', 'duet', 3):.3f} "
        f"shipped_dyn_order={dyn('shipped'):.3f} auto_acc={auto_acc:.3f} "
        f"synthetic_mean={np.mean(synthetic['loo']) if synthetic['loo'] else np.nan:.3f} "
        f"shipped_synthetic_mean="
        f"{np.mean(synthetic['shipped']) if synthetic['shipped'] else np.nan:.3f}"
    )


if __name__ == "__main__":
    main()
