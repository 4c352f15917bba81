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


@click.command(
    epilog="Example: midivae render song.mid --stems --loudness -16 --substitute 72=flute "
    "-o song.wav"
)
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
    "--no-vibrato",
    is_flag=True,
    help="In walk mode, no vibrato on the held notes of violin, flute, sax and trumpet.",
)
@click.option(
    "--seed", type=SEED, default=0, show_default=True, help="Seed of sample, walk, phase."
)
@shown_option(
    "--sample-rate",
    click.IntRange(8000, 192000),
    44100,
    "Output rate (the models work at 22050 Hz and are resampled).",
)
@click.option(
    "--mono",
    is_flag=True,
    help="One channel (default: stereo, each part panned by its CC10 or seated).",
)
@click.option(
    "--loudness",
    type=Finite(-70.0, 0.0),
    default=None,
    metavar="LUFS",
    help="Normalise the mix to this integrated loudness (stems take its gain). "
    "Default: the calibrated levels of the score's dynamics.",
)
@click.option(
    "--stem-loudness",
    type=Finite(-70.0, 0.0),
    default=None,
    metavar="LUFS",
    help="Normalise every stem to this loudness on its own.",
)
@click.option(
    "--substitute",
    "substitutes",
    multiple=True,
    metavar="PROGRAM=PRESET",
    callback=lambda _ctx, _param, value: substitute_table(value),
    help="Play GM program(s) (1-128, as in the GM list; a range like 41-44) with a shipped "
    "preset. Repeatable, e.g. --substitute 72=flute for clarinets.",
)
@click.option("--stems", is_flag=True, help="Also write one file per score part beside the mix.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@jobs_option("Scores")
def render(
    scores: tuple[Path, ...],
    output: Path | None,
    instrument: str | None,
    preset_dir: Path | None,
    mode: str,
    walk_scale: float,
    no_vibrato: bool,
    seed: int,
    sample_rate: int,
    mono: bool,
    loudness: float | None,
    stem_loudness: float | None,
    substitutes: dict[int, str],
    stems: bool,
    overwrite: bool,
    jobs: int,
) -> None:
    """Render scores (.mid, .midi, .musicxml, .mxl, .xml) to audio.

    Output is 44.1 kHz stereo by default, each part panned by its CC10 or seated across
    the stage in score order, true peaks held under -1 dBTP. A part played by another
    instrument's preset, or moved by octaves into its range, gets a notice. Folders are
    searched for scores; one output per score keeps its stem. A folder's scores are
    rendered two at a time on a machine with two cores or more (``--jobs``).
    """
    from midivae.rendering.mixdown import MixSettings
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
        mix=MixSettings(sample_rate, not mono, loudness, stem_loudness),
        substitutes=substitutes,
        vibrato=not no_vibrato,
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


def substitute_table(values: tuple[str, ...]) -> dict[int, str]:
    """``PROGRAM=PRESET`` words (GM numbers 1-128 or ranges ``A-B``) as 0-based program ->
    shipped preset name."""
    from midivae.presets.preset import shipped_presets

    out: dict[int, str] = {}
    for value in values:
        spec, _, preset = value.partition("=")
        low, _, high = spec.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            first = last = 0
        if not 1 <= first <= last <= 128:
            raise click.BadParameter(f"{value!r}: PROGRAM is 1-128 or a range like 41-44")
        if preset not in shipped_presets():
            names = ", ".join(shipped_presets())
            raise click.BadParameter(f"{value!r}: PRESET is one of {names}")
        out |= {program - 1: preset for program in range(first, last + 1)}
    return out
