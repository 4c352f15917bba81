"""``midivae morph``: one sound into another through the latent space."""

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


@click.command(epilog="Example: midivae morph flute_a4.wav violin_a4.wav --steps 8 -o morph.wav")
@click.argument("first", type=click.Path(path_type=Path))
@click.argument("second", type=click.Path(path_type=Path))
@output_option("Output .wav or .flac.", required=True)
@click.option("--steps", type=click.IntRange(2, 200), default=8, show_default=True)
@shown_option(
    "--seconds-per-step",
    Finite(0.05, 10.0),
    0.5,
    "How long each step of the path is held.",
)
@shown_option(
    "--clarity",
    Finite(0.0, 10.0),
    0.5,
    "Pull of each step towards a clearly read note (0: the straight latent line).",
)
@model_options(
    instrument_default="auto",
    instrument_help="Shipped preset, or auto (best fit).",
    preset_help="Use this preset folder.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the phase start.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
def morph(
    first: Path,
    second: Path,
    output: Path,
    steps: int,
    seconds_per_step: float,
    clarity: float,
    instrument: str,
    preset_dir: Path | None,
    seed: int,
    overwrite: bool,
) -> None:
    """Morph the sound of FIRST into the sound of SECOND (steps held, then cross-faded).

    Both sounds' stationary parts are encoded; the path between their latent distributions
    is decoded and resynthesised. It is not a crossfade: the steps are sounds of the model.
    """
    from midivae.rendering.latent_space import MorphSettings, morph_files
    from midivae.spectral.phase import PhaseSettings

    preset = preset_choice(instrument, preset_dir, allow_auto=True)
    settings = MorphSettings(
        steps=steps,
        seconds_per_step=seconds_per_step,
        clarity=clarity,
        phase=PhaseSettings(seed=seed),
    )
    try:
        summary = morph_files(
            first, second, output, preset=preset, settings=settings, overwrite=overwrite
        )
    except MidivaeError as error:
        report_error(error)
        sys.exit(1)
    click.echo(f"{output}  ({summary})")
