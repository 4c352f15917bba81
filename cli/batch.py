"""Files and folders in, one output per input: naming, errors, progress and the summary.

The contract (DESIGN.md §9): one input file -> ``-o`` is the output file (default: beside the
input); several inputs or a folder -> ``-o`` is a folder whose outputs keep the input stems.
A bad input is one line ``error: FILE: problem`` and the batch goes on; the run ends with
``N ok, M failed`` (not after a single file) and exit 1 when anything failed, 130 on Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from midivae.cli.common import options, progress, report_error
from midivae.errors import MidivaeError

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def collect_inputs(paths: Sequence[Path], suffixes: Sequence[str]) -> list[Path]:
    """Input files: files as given, folders walked (sorted) for ``suffixes``."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in suffixes
            )
        else:
            found.append(path)  # a missing file is reported by the job itself
    return found


def plan_outputs(
    paths: Sequence[Path], inputs: Sequence[Path], output: Path | None, suffix: str
) -> list[Path]:
    """Where each input's result goes, by the one-file / several-files rule."""
    single = len(paths) == 1 and not paths[0].is_dir()
    if single and output is not None:
        return [output]
    if output is not None and output.exists() and not output.is_dir():
        raise click.UsageError(f"{output}: several inputs need -o to be a folder")
    targets = []
    for path in inputs:
        folder = output if output is not None else path.parent
        targets.append(folder / (path.stem + suffix))
    return targets


def run_batch(
    paths: Sequence[Path],
    output: Path | None,
    *,
    suffixes: Sequence[str],
    default_suffix: str,
    job: Callable[[Path, Path], str | None],
) -> None:
    """Run ``job(input, output)`` over every input; exit with the batch's status.

    ``job`` returns an optional short result to print after the file name.
    """
    inputs = collect_inputs(paths, suffixes)
    if not inputs:
        raise click.UsageError("no input files found")
    targets = plan_outputs(paths, inputs, output, default_suffix)
    ok = failed = 0
    try:
        for number, (source, target) in enumerate(zip(inputs, targets, strict=True), start=1):
            progress(f"[{number}/{len(inputs)}] {source}")
            try:
                result = job(source, target)
            except MidivaeError as error:
                report_error(error)
                failed += 1
                continue
            ok += 1
            if not options().quiet:
                click.echo(f"{target}" + (f"  ({result})" if result else ""))
    except KeyboardInterrupt:
        click.echo(f"interrupted: {ok} ok, {failed} failed", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if len(inputs) > 1 or any(path.is_dir() for path in paths):
        click.echo(f"{ok} ok, {failed} failed", err=True)  # one file: its error line says it
    if failed:
        sys.exit(EXIT_FAILED)
