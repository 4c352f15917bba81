"""Paper tables 1-2 on our corpora: train (or read) presets, print their tables and the dev-test.

    python bench/tables.py                                   # every paper case, compact configs
    python bench/tables.py --case flute --case alto_sax+violin --epochs 40
    python bench/tables.py --preset out/tables/flute         # reprint from preset.json files

Corpora (FluidR3 for training, MuseScore_General for dev-test) are built under ``--corpora``
when missing; presets go to ``--out``. The last line holds ``key=value`` pairs: per case the
held-in signal->symbol ratios (loose ones for mixtures) and the dev-test figures with the
margin over the PCA + MLP baseline of the same run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
CASES = ("alto_sax", "violin", "trumpet", "flute", "piano", "alto_sax+violin")


def _summary(case: str, metrics: dict) -> dict[str, float]:
    sig = metrics["table2"]["signal_to_symbol"]
    keys = ("pitch_class", "octave", "dynamics", "keys_f1")
    if "+" in case or case == "ensemble":
        keys = ("pitch_class_loose", "octave_loose", "dynamics_loose")
    out = {f"{case}_{k}": sig[k] for k in keys if k in sig}
    dev = metrics.get("devtest")
    if dev:
        for key in ("pitch_class", "octave", "order_velocity"):
            if key in dev["model"]:
                out[f"{case}_dev_{key}"] = dev["model"][key]
                if key in dev.get("baseline", {}):
                    out[f"{case}_dev_{key}_vs_baseline"] = dev["model"][key] - dev["baseline"][key]
    return out


@click.command()
@click.option("--case", "cases", multiple=True, help=f"Preset to train (default: {CASES}).")
@click.option(
    "--preset",
    "presets",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Reprint the tables of existing preset folders instead.",
)
@click.option("--corpora", type=click.Path(path_type=Path), default=ROOT / "corpora")
@click.option("--out", type=click.Path(path_type=Path), default=ROOT / "out" / "tables")
@click.option("--config", default=None, help="Model config (default: compact / compact-mixture).")
@click.option("--epochs", type=int, default=None)
@click.option("--seed", type=int, default=0)
def main(cases, presets, corpora, out, config, epochs, seed) -> None:
    from midivae.presets.preset import load_preset
    from midivae.training.corpus import build_corpus
    from midivae.training.evaluate import format_tables
    from midivae.training.train import parse_instruments, train

    summary: dict[str, float] = {}
    if presets:
        for folder in presets:
            preset = load_preset(folder)
            case = "+".join(preset.instruments)
            print(
                f"== {case} ({folder})\n{format_tables(preset.meta['metrics'], preset.vocabulary)}"
            )
            summary |= _summary(case, preset.meta["metrics"])
    for case in cases or (() if presets else CASES):
        names = parse_instruments(case)
        for name in names:
            build_corpus(name, corpora / name, progress=print)
            if len(names) == 1:
                build_corpus(
                    name, corpora / f"{name}-musescore", soundfont="musescore", progress=print
                )
        tic = time.perf_counter()
        command = f"python bench/tables.py --case {case} --seed {seed}" + (
            f" --epochs {epochs}" if epochs else ""
        )
        preset = train(
            case,
            out / case.replace("+", "_"),
            corpus=[corpora / n for n in names],
            devtest=[corpora / f"{names[0]}-musescore"] if len(names) == 1 else (),
            config=config,
            epochs=epochs,
            seed=seed,
            command=command,
            overwrite=True,
            progress=lambda m: print(m, file=sys.stderr),
        )
        print(
            f"== {case}: {time.perf_counter() - tic:.0f} s, "
            f"{preset.meta['size_bytes'] / 1e6:.1f} MB"
        )
        print(format_tables(preset.meta["metrics"], preset.vocabulary))
        print(json.dumps(preset.meta["metrics"]["headline"]))
        summary |= _summary(case, preset.meta["metrics"])
    print(" ".join(f"{k}={v:.4f}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
