"""``midivae plot``: a piano roll, a spectrogram or a latent map as PNG."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from midivae.cli.common import report_error
from midivae.errors import MidivaeError


@click.command(epilog="Example: midivae plot take1.wav -o take1.png")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="PNG file (default: beside).")
@click.option("--overwrite", is_flag=True, help="Replace an existing PNG.")
def plot(source: Path, output: Path | None, overwrite: bool) -> None:
    """Draw SOURCE: a score (.mid, .musicxml) as a piano roll, audio as an NSGT spectrogram
    (with the notes of a .mid of the same stem beside it), a preset folder as a latent map."""
    from midivae.plots import plot_file

    target = output or source.with_suffix(".png")
    try:
        what = plot_file(source, target, overwrite=overwrite)
    except MidivaeError as error:
        report_error(error)
        sys.exit(1)
    click.echo(f"{target}  ({what})")
