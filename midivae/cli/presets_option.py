"""``--instrument NAME`` / ``--preset DIR``: which model a command uses."""

from __future__ import annotations

from pathlib import Path

import click


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
