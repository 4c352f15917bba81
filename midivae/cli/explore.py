"""``midivae explore``: a free walk in the latent space, heard and written as notes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from midivae.cli.common import report_error
from midivae.cli.presets_option import preset_choice
from midivae.errors import MidivaeError


@click.command()
@click.option("--instrument", default=None, help="Shipped preset to explore.")
@click.option(
    "--preset",
    "preset_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Preset folder to explore.",
)
@click.option(
    "-o", "--output", required=True, type=click.Path(path_type=Path), help="Output .wav or .flac."
)
@click.option("--seconds", type=click.FloatRange(0.5, 600.0), default=10.0, show_default=True)
@click.option(
    "--smoothness",
    type=click.FloatRange(0.05, 10.0),
    default=0.5,
    show_default=True,
    help="Seconds over which the walk moves about one prior standard deviation.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of walk and phase.")
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
