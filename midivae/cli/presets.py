"""``midivae presets``: the shipped presets, their instruments, sizes and headline metrics."""

from __future__ import annotations

import sys
from pathlib import Path

import click

#: Columns of the listing: header -> headline metrics that fill it (the first one present).
COLUMNS = {
    "PITCH": ("pitch_class", "pitch_class_loose"),
    "OCTAVE": ("octave", "octave_loose"),
    "DYNAMICS": ("dynamics~velocity", "dynamics_loose"),
    "KEYS": ("keys_f1",),
}


@click.command()
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path))
@click.option("--all", "every", is_flag=True, help="Every headline metric, one preset a block.")
def presets(folders: tuple[Path, ...], every: bool) -> None:
    """List the shipped presets (or the preset FOLDERS given) with their measured metrics.

    The figures are frame accuracies on held-out frames of the presets' own training
    libraries (loose: any instrument of a mixture); README.md has the benches.

    Example: midivae presets --all
    """
    from midivae.cli.common import report_error
    from midivae.errors import MidivaeError
    from midivae.presets.preset import describe, shipped_presets, shipped_root

    paths = list(folders) or [shipped_root() / name for name in shipped_presets()]
    if not paths:
        click.echo("no presets shipped yet (train one: midivae train --instrument NAME -o DIR)")
        return
    failed = 0
    rows = []
    for path in paths:
        try:
            rows.append(describe(path))
        except MidivaeError as error:
            report_error(error)
            failed += 1
    if every:
        for info in rows:
            click.echo(f"{info['name']} ({'+'.join(info['instruments'])})")
            for key, value in info["headline"].items():
                click.echo(f"  {key:<28} {value:.3f}")
    elif rows:
        click.echo(f"{'PRESET':<16} {'INSTRUMENTS':<30} {'SIZE':>7}  " + "  ".join(COLUMNS))
        for info in rows:
            figures = []
            for header, keys in COLUMNS.items():
                value = next((info["headline"][k] for k in keys if k in info["headline"]), None)
                figures.append(f"{'-' if value is None else f'{value:.2f}':>{len(header)}}")
            pairs = "*" if info["two_pairs"] else " "
            click.echo(
                f"{info['name']:<16} {'+'.join(info['instruments']):<30} "
                f"{info['bytes'] / 1e6:5.1f}MB{pairs} " + "  ".join(figures)
            )
        if any(info["two_pairs"] for info in rows):
            click.echo("* two pairs: one renders, one (trained on more libraries) transcribes")
    if failed:
        sys.exit(1)
