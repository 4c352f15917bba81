"""``midivae render``: MIDI and MusicXML scores to audio through the models."""

from __future__ import annotations

from pathlib import Path

import click

from midivae.cli.batch import jobs_option, run_batch
from midivae.cli.options import (
    SEED,
    Finite,
    model_options,
    output_option,
    preset_choice,
    shown_option,
)
from midivae.cli.threads import one_torch_thread


@click.command(epilog="Example: midivae render song.mid --stems --sample-rate 48000 -o song.wav")
@click.argument("scores", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option("Output file (one score) or folder (several). Suffix .wav or .flac.")
@model_options(
    instrument_default=None,
    instrument_help="Play every part with this shipped preset "
    "(default: by each part's GM program).",
    preset_help="Play every part with this preset folder.",
)
@shown_option(
    "--mode",
    click.Choice(["mean", "sample", "walk"]),
    "mean",
    "Latent trajectory per note: posterior mean, one seeded "
    "draw, or a smooth seeded random walk inside the posterior.",
)
@shown_option(
    "--walk-scale",
    Finite(0.0, 4.0),
    1.0,
    "How far the walk strays, in posterior standard deviations.",
)
@click.option(
    "--seed", type=SEED, default=0, show_default=True, help="Seed of sample, walk, phase."
)
@shown_option(
    "--sample-rate",
    click.IntRange(8000, 192000),
    22050,
    "Output rate (the models work at 22050 Hz; other rates are resampled for DAW import).",
)
@click.option("--stems", is_flag=True, help="Also write one file per instrument beside the mix.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@jobs_option("Scores")
def render(
    scores: tuple[Path, ...],
    output: Path | None,
    instrument: str | None,
    preset_dir: Path | None,
    mode: str,
    walk_scale: float,
    seed: int,
    sample_rate: int,
    stems: bool,
    overwrite: bool,
    jobs: int,
) -> None:
    """Render scores (.mid, .midi, .musicxml, .mxl, .xml) to audio.

    Folders are searched for scores; one output per score keeps its stem. A folder's scores
    are rendered two at a time on a machine with two cores or more (``--jobs``).
    """
    from midivae.rendering.render import PHASE_ITERATIONS, RenderSettings, render_file
    from midivae.rendering.trajectories import TrajectorySettings
    from midivae.scores import SCORE_SUFFIXES
    from midivae.spectral.phase import PhaseSettings

    preset = None
    if instrument is not None or preset_dir is not None:
        preset = preset_choice(instrument, preset_dir, allow_auto=False)
    settings = RenderSettings(
        trajectory=TrajectorySettings(mode=mode, walk_scale=walk_scale),
        phase=PhaseSettings(n_iter=PHASE_ITERATIONS, seed=seed),
        sample_rate=sample_rate,
    )
    suffix = output.suffix.lower() if output is not None and output.suffix else ".wav"

    def job(source: Path, target: Path) -> str:
        return render_file(
            source,
            target,
            preset=preset,
            settings=settings,
            seed=seed,
            stems=stems,
            overwrite=overwrite,
        )

    with one_torch_thread():  # renders run faster on one intra-op thread each
        run_batch(
            scores,
            output,
            suffixes=SCORE_SUFFIXES,
            default_suffix=suffix,
            job=job,
            jobs=jobs,
            overwrite=overwrite,
        )
