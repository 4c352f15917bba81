"""``midivae presets``: the shipped presets, their instruments, sizes and headline metrics."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path))
def presets(folders: tuple[Path, ...]) -> None:
    """List the shipped presets (or the preset FOLDERS given) with their measured metrics."""
    from midivae.cli.common import report_error
    from midivae.errors import MidivaeError
    from midivae.presets.preset import describe, shipped_presets, shipped_root

    paths = list(folders) or [shipped_root() / name for name in shipped_presets()]
    if not paths:
        click.echo("no presets shipped yet (train one: midivae train --instrument NAME -o DIR)")
        return
    failed = 0
    for path in paths:
        try:
            info = describe(path)
        except MidivaeError as error:
            report_error(error)
            failed += 1
            continue
        metrics = "  ".join(f"{k} {v:.3f}" for k, v in info["headline"].items())
        click.echo(
            f"{info['name']:<18} {'+'.join(info['instruments']):<28} "
            f"{info['bytes'] / 1e6:5.1f} MB  {'two pairs  ' if info['two_pairs'] else ''}{metrics}"
        )
    if failed:
        sys.exit(1)
