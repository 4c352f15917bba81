"""``midivae explore``: a free walk in the latent space, heard and written as notes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from midivae.cli.common import report_error
from midivae.cli.options import (
    SEED,
    Finite,
    model_options,
    output_option,
    preset_choice,
    shown_option,
)
from midivae.errors import MidivaeError


@click.command(
    epilog="Example: midivae explore --instrument flute --seconds 20 --labels -o wander.wav"
)
@model_options(
    instrument_default=None,
    instrument_help="Shipped preset to explore.",
    preset_help="Preset folder to explore.",
)
@output_option("Output .wav or .flac.", required=True)
@click.option("--seconds", type=Finite(0.5, 600.0), default=10.0, show_default=True)
@shown_option(
    "--smoothness",
    Finite(0.05, 10.0),
    0.5,
    "Seconds over which the walk moves about one prior standard deviation.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of walk and phase.")
@click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="Also write the symbol decoder's reading of the walk as MIDI (.mid).",
)
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def explore(
    instrument: str | None,
    preset_dir: Path | None,
    output: Path,
    seconds: float,
    smoothness: float,
    seed: int,
    labels: Path | None,
    overwrite: bool,
) -> None:
    """Wander the prior of a preset's latent space: audio, and with --labels its notes.

    The same seed gives the same files. Long rests of the walk are shortened; what the
    symbol decoder reads as rest is silent.
    """
    from midivae.rendering.latent_space import ExploreSettings, explore_file

    if instrument is None and preset_dir is None:
        raise click.UsageError("give --instrument NAME or --preset DIR")
    preset = preset_choice(instrument, preset_dir, allow_auto=False)
    settings = ExploreSettings(seconds=seconds, length_seconds=smoothness, seed=seed)
    try:
        summary = explore_file(
            preset, output, settings=settings, labels=labels, overwrite=overwrite
        )
    except MidivaeError as error:
        report_error(error)
        sys.exit(1)
    click.echo(f"{output}  ({summary})")
