"""``midivae resynth``: the spectral round trip (analyse, drop the phase, rebuild)."""

from __future__ import annotations

from pathlib import Path

import click

from midivae.audio import AUDIO_SUFFIXES
from midivae.cli.batch import run_batch
from midivae.cli.options import SEED


@click.command(epilog="Example: midivae resynth take1.wav -o take1.resynth.wav")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file or folder.")
@click.option(
    "--iterations",
    type=click.IntRange(0, 1000),
    default=None,
    help="Fast Griffin-Lim iterations (default 16, early stop on convergence).",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed for the phase start.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def resynth(
    inputs: tuple[Path, ...],
    output: Path | None,
    iterations: int | None,
    seed: int,
    overwrite: bool,
) -> None:
    """Rebuild audio from its NSGT magnitudes alone (what a render can sound like at best).

    Output is <stem>.resynth.wav beside each input unless -o says otherwise.
    """
    from midivae.rendering.resynth import resynthesize_file
    from midivae.spectral.phase import PhaseSettings

    settings = (
        PhaseSettings(seed=seed)
        if iterations is None
        else PhaseSettings(n_iter=iterations, seed=seed)
    )

    def job(source: Path, target: Path) -> str:
        convergence = resynthesize_file(source, target, settings=settings, overwrite=overwrite)
        return f"spectral convergence {convergence:.1f} dB"

    run_batch(
        inputs,
        output,
        suffixes=AUDIO_SUFFIXES,
        default_suffix=".resynth.wav",
        job=job,
        overwrite=overwrite,
    )
