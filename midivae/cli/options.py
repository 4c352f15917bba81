"""Options several commands share: ``--instrument NAME`` / ``--preset DIR`` (which model a
command uses) and ``-o/--output``; the option types that refuse what no command can use."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import click


class Finite(click.FloatRange):
    """A float in ``[low, high]`` that is a number (click's FloatRange lets NaN through)."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


#: Seeds: what numpy's and torch's generators take.
SEED = click.IntRange(0, 2**32 - 1)


def model_options(*, instrument_default: str | None, instrument_help: str, preset_help: str):
    """``--instrument`` (a shipped preset name) and ``--preset`` (a preset folder, passed to
    the command as ``preset_dir``); resolve them with :func:`preset_choice`."""

    def decorate(command: Callable) -> Callable:
        command = click.option(
            "--preset",
            "preset_dir",
            type=click.Path(path_type=Path, file_okay=False),
            help=preset_help,
        )(command)
        return click.option(
            "--instrument",
            default=instrument_default,
            show_default=instrument_default is not None,
            help=instrument_help,
        )(command)

    return decorate


def shown_option(name: str, type: click.ParamType | type, default: object, help: str) -> Callable:
    """An option whose default ``--help`` shows."""
    return click.option(name, type=type, default=default, show_default=True, help=help)


def output_option(help: str, *, required: bool = False) -> Callable:
    """``-o/--output`` as a path (the command's ``output`` parameter)."""
    return click.option(
        "-o", "--output", required=required, type=click.Path(path_type=Path), help=help
    )


def preset_choice(instrument: str | None, preset_dir: Path | None, *, allow_auto: bool) -> str:
    """The preset to load: a folder, a shipped name or ``auto``; unknown names exit 2."""
    if preset_dir is not None:
        return str(preset_dir)
    from midivae.presets.preset import shipped_presets

    known = shipped_presets()
    if instrument == "auto" and allow_auto:
        return "auto"
    if instrument not in known:
        choices = ", ".join(known) or "none shipped yet"
        raise click.BadParameter(
            f"unknown instrument {instrument!r} (known: {choices})", param_hint="--instrument"
        )
    return instrument
