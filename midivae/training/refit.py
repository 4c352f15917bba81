"""Re-measuring a trained preset's calibrations (``midivae train --refit-velocity``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from midivae.errors import MidivaeError
from midivae.music import get_instrument
from midivae.presets.preset import load_preset, save_preset
from midivae.training.fit_renders import preset_players, training_soundfont
from midivae.training.provenance import git_commit
from midivae.training.velocity_fit import measure_velocity_regression
from midivae.training.verifier_fit import measure_note_verifier


def refit_velocity(
    source: str | Path,
    out_dir: str | Path,
    *,
    instruments: tuple[str, ...] | None = None,
    command: str | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
):
    """Write ``source`` (a preset name or folder) to ``out_dir`` with a velocity regression
    measured at this version (a polyphonic preset's note verifier first,
    :mod:`midivae.training.verifier_fit`: it decides which notes the regression is fitted on); its
    model, renders and other metadata stay as they are. ``instruments``, when given, must
    be the preset's."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise MidivaeError("exists, use --overwrite", out_dir)
    preset = load_preset(source)
    if instruments is not None and tuple(instruments) != preset.instruments:
        raise MidivaeError(
            f"the preset plays {'+'.join(preset.instruments)}; give the same --instrument", source
        )
    if len(preset.instruments) != 1:
        raise MidivaeError(
            "a velocity regression is measured for solo presets, not mixtures", source
        )
    seed = int(preset.meta.get("provenance", {}).get("seed", 0))
    measures = [
        (
            "velocity_regression",
            measure_velocity_regression,
            training_soundfont(preset),
            "found",
            "a velocity regression",
        )
    ]
    if get_instrument(preset.instruments[0]).polyphonic:  # first: it decides the notes
        verifier = ("note_verifier", measure_note_verifier, preset_players(preset))
        measures.insert(0, (*verifier, "tracked", "a note verifier"))
    for key, measure, heard_by, notes, what in measures:
        measured = measure(preset, preset.instruments[0], heard_by, seed, progress=progress)
        if measured is None:
            raise MidivaeError(f"too few notes {notes} to measure {what}", source)
        measured["fit"] |= {"command": command, "git_commit": git_commit()}
        preset.meta[key] = measured
    save_preset(preset, out_dir, overwrite=overwrite)
    return preset
