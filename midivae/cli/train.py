"""``midivae train``: fit a cross-modal VAE into a preset folder (a thin wrapper)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from midivae.cli.options import SEED, Finite, shown_option


@click.command(
    epilog="Example: midivae train --instrument flute --data my_flute_takes/ -o my_flute"
)
@click.option(
    "--instrument", required=True, help="NAME, NAME+NAME... (a mixture, one slot each) or ensemble."
)
@click.option(
    "--corpus",
    "corpus",
    multiple=True,
    type=click.Path(path_type=Path),
    help="FluidR3 corpus folder (or a folder of them); repeatable. Default: built in the cache.",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="Your own audio folder instead (a .mid beside a file labels it).",
)
@click.option(
    "--devtest",
    multiple=True,
    type=click.Path(path_type=Path),
    help="MuseScore_General corpus for the dev-test figures (default: the cache's).",
)
@click.option("--config", default=None, help="Model config (compact, compact-mixture, paper, ...).")
@click.option(
    "--epochs",
    type=click.IntRange(1, 10000),
    default=None,
    help="Most epochs (default 40; early stopping usually ends sooner).",
)
@shown_option(
    "--device", click.Choice(["auto", "cpu", "cuda"]), "auto", "auto = CUDA when present, else CPU."
)
@click.option(
    "--augment/--no-augment",
    default=None,
    help="Random timbre curves, low-pass damping and noise floors on the training frames "
    "(default: on; with --refine-reading: as the preset was trained).",
)
@click.option(
    "--damping",
    type=Finite(0.0, 120.0),
    default=None,
    help="Steepest low-pass damping of the augmentation, in dB per octave (duller timbres; "
    "default 24).",
)
@click.option(
    "--detune",
    type=Finite(0.0, 50.0),
    default=None,
    metavar="CENTS",
    help="Shift each training window along the pitch axis by up to this many cents either way "
    "(players off tune; default 0).",
)
@click.option(
    "--refine-reading",
    "refine",
    default=None,
    metavar="PRESET",
    help="Start from PRESET (name or folder) and train only its reading half (signal "
    "encoder, symbol decoder): transcription changes, renders stay bit for bit.",
)
@click.option(
    "--keep-writing",
    default=None,
    metavar="PRESET",
    help="Train a new pair as usual, but keep PRESET's pair for rendering and transcribe "
    "with the new pair's reading half, stored beside it (one preset, two pairs).",
)
@click.option(
    "--exclude-library",
    "exclude_libraries",
    multiple=True,
    metavar="NAME",
    help="Leave this library's frames out of a corpus of several libraries (repeat it).",
)
@click.option(
    "--refit-velocity",
    default=None,
    metavar="PRESET",
    help="Train nothing: write PRESET (name or folder) with a velocity regression (and, for "
    "the piano, a note verifier) measured on fresh renders of its training library; its "
    "model and renders stay as they are.",
)
@click.option(
    "--cross-weight",
    type=Finite(0.0, 100.0),
    default=None,
    help="Weight of the symbols decoded from the signal's latent (default: the config's).",
)
@click.option(
    "--onset-symbols/--no-onset-symbols",
    default=False,
    help="Melody slots also read an onset bit, which then times the notes (not beside a kept "
    "pair; off by default: it measured worse than the partials' rise).",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of everything.")
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="Preset folder to write."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing preset folder.")
def train(
    instrument: str,
    corpus: tuple[Path, ...],
    data: Path | None,
    devtest: tuple[Path, ...],
    config: str | None,
    epochs: int | None,
    device: str,
    augment: bool | None,
    damping: float | None,
    detune: float | None,
    refine: str | None,
    keep_writing: str | None,
    exclude_libraries: tuple[str, ...],
    refit_velocity: str | None,
    cross_weight: float | None,
    onset_symbols: bool,
    seed: int,
    output: Path,
    overwrite: bool,
) -> None:
    """Train a model on note corpora (or your audio) into a preset folder, with its metrics."""
    from midivae.cli.common import log_line
    from midivae.errors import MidivaeError
    from midivae.model import CONFIGS
    from midivae.model.fit import FitSettings
    from midivae.training.train import parse_instruments

    if corpus and data:
        raise click.UsageError("give --corpus or --data, not both")
    try:
        parse_instruments(instrument)
    except MidivaeError as error:
        raise click.BadParameter(str(error), param_hint="--instrument") from None
    if config is not None and config not in CONFIGS:
        raise click.BadParameter(f"{config} (known: {', '.join(CONFIGS)})", param_hint="--config")
    from midivae.training.train import train as run

    command = "midivae " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if refit_velocity is not None:
        trains = (corpus, data, devtest, config, epochs, augment, damping, detune, refine)
        trains += (keep_writing, exclude_libraries, onset_symbols or None)
        if any(v not in (None, ()) for v in trains) or cross_weight is not None:
            raise click.UsageError("--refit-velocity trains nothing: give only --instrument and -o")
        _refit(refit_velocity, instrument, output, command, overwrite)
        return
    detune_cents = detune or 0.0
    if augment is False:
        settings = FitSettings(
            timbre_db=0.0, damping_db_per_octave=0.0, noise_floor_db=None, detune_cents=detune_cents
        )
    elif augment or damping is not None or detune is not None or refine is None:
        settings = FitSettings(
            damping_db_per_octave=24.0 if damping is None else damping, detune_cents=detune_cents
        )
    else:
        settings = None  # the refined preset's own augmentations
    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))  # on the CPU: two threads at most
    preset = _or_exit(
        lambda: run(
            instrument,
            output,
            corpus=corpus,
            data=data,
            devtest=devtest or None,
            config=config,
            epochs=epochs,
            device=device,
            seed=seed,
            fit_settings=settings,
            model_overrides=None if cross_weight is None else {"cross_weight": cross_weight},
            refine_reading=refine,
            keep_writing=keep_writing,
            exclude_libraries=exclude_libraries,
            onset_symbols=onset_symbols,
            command=command,
            overwrite=overwrite,
            progress=log_line,
        )
    )
    from midivae.training.evaluate import format_tables

    click.echo(format_tables(preset.meta["metrics"], preset.vocabulary))
    click.echo(
        f"{output}: {preset.meta['size_bytes'] / 1e6:.1f} MB, "
        f"{preset.meta['provenance']['wall_seconds']:.0f} s"
    )


def _refit(source: str, instrument: str, output: Path, command: str, overwrite: bool) -> None:
    """``--refit-velocity``: the preset with a newly measured velocity regression (and note
    verifier, for a polyphonic preset)."""
    from midivae.cli.common import log_line
    from midivae.training.refit import refit_velocity
    from midivae.training.train import parse_instruments

    names = parse_instruments(instrument)
    preset = _or_exit(
        lambda: refit_velocity(
            source,
            output,
            instruments=names,
            command=command,
            overwrite=overwrite,
            progress=log_line,
        )
    )
    if "note_verifier" in preset.meta:
        checked = preset.meta["note_verifier"]
        click.echo(
            f"{output}: note verifier threshold {checked['threshold']}, onset F1 on its "
            f"renders {checked['fit']['tracked_f1']:.3f} -> {checked['fit']['kept_f1']:.3f}"
        )
    fit = preset.meta["velocity_regression"]["fit"]
    click.echo(
        f"{output}: velocity regression from {fit['items']} renders, mean error "
        f"{fit['attack_only_mean_abs_error']:.1f} -> {fit['mean_abs_error']:.1f}"
    )


def _or_exit(call: Callable[[], Any]) -> Any:
    """``call()``; a MidivaeError is reported as one line and exits 1."""
    from midivae.cli.common import report_error
    from midivae.errors import MidivaeError

    try:
        return call()
    except MidivaeError as error:
        report_error(error)
        sys.exit(1)
