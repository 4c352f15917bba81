"""``--instrument auto`` on libraries it never heard: which preset it picks, as confusion
matrices.

For every real library (FluidR3 aside: every shipped pair trained on it) a chooser is trained
without it (``midivae.training.chooser_fit``, on the instruments' library corpora
``corpora/<instrument>-all``, built by ``bench/build_presets.py``) and chooses for fresh
phrases (seed 99, as ``bench/generalisation.py``) that the library plays, dry and calibrated,
and for duets of two left-out instruments: the alto sax with the violin (whose preset is
``alto_sax-violin``) and the flute with the trumpet (``ensemble``). The shipped ``auto``
(whatever ``midivae.transcription.choice`` does at this commit, with the shipped chooser if
one ships: held-in for every library it heard) chooses for the same audio.

Usage: ``python bench/choice.py [--items N] [--leave-out NAME ...]`` (default 4 items per
instrument and library, every library). Last line: ``loo_choice_acc=<a> loo_solo_acc=<b>
loo_duet_acc=<c> shipped_choice_acc=<d> shipped_solo_acc=<e> shipped_duet_acc=<f>``.
"""

from __future__ import annotations

import argparse
import functools
import inspect
from pathlib import Path

import numpy as np
from build_presets import LIBRARY_CORPORA, PRESETS
from generalisation import SEED, calibration_of, played, print_confusion

from libraries import SYNTH, available
from midivae.music import get_instrument
from midivae.presets.chooser import load_chooser, save_chooser
from midivae.presets.preset import shipped_presets
from midivae.spectral import SpectralConfig, analyse, compress
from midivae.training.chooser_fit import augmentation, fit_chooser
from midivae.training.corpus.content import phrases, piano_phrases
from midivae.training.corpus.levels import measure_levels
from midivae.training.corpus.libraries import open_library
from midivae.transcription.choice import choose_preset

ROOT = Path(__file__).resolve().parents[1]
SOLOS = ("flute", "violin", "alto_sax", "trumpet", "piano")
DUETS = {("alto_sax", "violin"): "alto_sax-violin", ("flute", "trumpet"): "ensemble"}


def library_names() -> dict[str, list[str]]:
    """Real library -> the instruments it plays (FluidR3 and the synthesiser aside)."""
    out: dict[str, list[str]] = {}
    for inst in SOLOS:
        for name in available(inst):
            if name not in (SYNTH, "fluidr3"):
                out.setdefault(name, []).append(inst)
    return out


def loo_chooser(library: str, work: Path):
    """A chooser trained without ``library`` (reused once trained so at these defaults)."""
    folder = work / f"chooser-without-{library}"
    if (folder / "chooser.json").is_file():
        chooser = load_chooser(folder)
        defaults = inspect.signature(fit_chooser).parameters
        planned = {k: defaults[k].default for k in ("epochs", "frames_per_class")}
        planned["augmentation"] = augmentation()
        if all(chooser.meta["provenance"].get(k) == v for k, v in planned.items()):
            return chooser
    presets = {name: PRESETS[name][1] for name in PRESETS}
    corpora = {inst: ROOT / "corpora" / f"{inst}-all" for inst in LIBRARY_CORPORA}
    chooser = fit_chooser(
        corpora,
        presets,
        excluded=[library],
        command=f"python bench/choice.py --leave-out {library}",
    )
    save_chooser(chooser, folder, overwrite=True)
    return chooser


@functools.cache
def player(inst_name: str, spec: str):
    """The instrument, library ``spec`` and its calibration to FluidR3's levels (measured
    once per instrument and library)."""
    inst, library = get_instrument(inst_name), open_library(spec)
    return (
        inst,
        library,
        calibration_of(library, inst, measure_levels(open_library("fluidr3"), inst)),
    )


def phrase_audio(inst_name: str, spec: str, k: int, seconds: float = 8.0) -> np.ndarray:
    """Fresh phrase ``k`` of ``inst_name`` as library ``spec`` plays it (calibrated, dry)."""
    inst, library, calibration = player(inst_name, spec)
    low, high = library.key_range(inst)
    rng = np.random.default_rng(SEED + 1000 * k)
    make = piano_phrases if inst.polyphonic else phrases
    item = next(
        item for item in make(inst, rng, seconds=seconds)
        if all(low <= n.pitch <= high for n in item.notes)
    )  # fmt: skip
    return played(library, inst, list(item.notes), item.length, calibration)


def frames_of(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    amplitude = analyse(np.asarray(audio, np.float64), SpectralConfig())
    return compress(amplitude), amplitude


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--leave-out", action="append", default=None)
    parser.add_argument("--work", type=Path, default=ROOT / "corpora" / "loo-choice")
    args = parser.parse_args()
    loo, shipped = [], []  # (what plays, chosen)
    names = shipped_presets()
    for library, instruments in library_names().items():
        if args.leave_out and library not in args.leave_out:
            continue
        chooser = loo_chooser(library, args.work)
        items = [
            (inst, phrase_audio(inst, available(inst)[library], k))
            for inst in instruments
            for k in range(args.items)
        ]
        for (a, b), _ in DUETS.items():
            if a in instruments and b in instruments:
                specs = (available(a)[library], available(b)[library])
            elif a in instruments or b in instruments:  # the other one from a library too
                other = b if a in instruments else a
                others = [n for n in available(other) if n not in (SYNTH, "fluidr3", library)]
                if not others:
                    continue
                specs = tuple(
                    available(i)[library if i in instruments else others[0]] for i in (a, b)
                )
            else:
                continue
            for k in range(args.items):
                one, two = (phrase_audio(i, s, k) for i, s in zip((a, b), specs, strict=True))
                length = max(len(one), len(two))
                mix = np.pad(one, (0, length - len(one))) + np.pad(two, (0, length - len(two)))
                items.append((f"{a}+{b}", mix))
        for truth, audio in items:
            compressed, amplitude = frames_of(audio)
            loo.append((truth, choose_preset(compressed, amplitude, names, chooser).name))
            shipped.append((truth, choose_preset(compressed, amplitude, names).name))
            print(f"{library:10s} {truth:16s} loo {loo[-1][1]:16s} shipped {shipped[-1][1]}")
    figures = {}
    for which, choices in (("loo", loo), ("shipped", shipped)):
        print(f"\n{which}:")
        right = [DUETS.get(tuple(t.split("+")), t) == c for t, c in choices]
        print_confusion([(t, c) for t, c in choices])
        duet = [r for (t, _), r in zip(choices, right, strict=True) if "+" in t]
        solo = [r for (t, _), r in zip(choices, right, strict=True) if "+" not in t]
        figures[which] = (np.mean(right), np.mean(solo), np.mean(duet) if duet else np.nan)
    print(
        " ".join(
            f"{which}_{name}={value:.3f}"
            for which, values in figures.items()
            for name, value in zip(("choice_acc", "solo_acc", "duet_acc"), values, strict=True)
        )
    )


if __name__ == "__main__":
    main()
