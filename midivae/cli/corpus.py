"""``midivae corpus build``: render a note corpus with fluidsynth (a thin wrapper)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from midivae.cli.options import shown_option
from midivae.music import INSTRUMENTS
from midivae.training.corpus.render import SOUNDFONTS


@click.group("corpus")
def corpus() -> None:
    """Build note corpora (FluidR3_GM for training, MuseScore_General for dev-test)."""


@corpus.command("build")
@click.option(
    "--instrument", required=True, type=click.Choice(list(INSTRUMENTS)), help="Instrument."
)
@shown_option(
    "--soundfont",
    click.Choice(list(SOUNDFONTS)),
    "fluidr3",
    "fluidr3 = training corpus, musescore = dev-test set.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Content seed.")
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
    help="Corpus folder (created; reused when it already holds this build).",
)  # fmt: skip
@click.option("--tiny", is_flag=True, hidden=True, help="A few seconds of content (tests).")
def build(instrument: str, soundfont: str, seed: int, out_dir: Path, tiny: bool) -> None:
    """Render, analyse and label one instrument's note corpus into OUTPUT."""
    from midivae.cli.common import progress, report_error
    from midivae.errors import MidivaeError
    from midivae.training.corpus import build_corpus, read_manifest

    command = (
        f"midivae corpus build --instrument {instrument} --soundfont {soundfont} "
        f"--seed {seed} -o {out_dir}" + (" --tiny" if tiny else "")
    )
    try:
        build_corpus(
            instrument,
            out_dir,
            soundfont=soundfont,
            seed=seed,
            tiny=tiny,
            progress=progress,
            command=command,
        )
        counts = read_manifest(out_dir)["counts"]
    except MidivaeError as error:
        report_error(error)
        sys.exit(1)
    click.echo(
        f"{out_dir}: {instrument}, {counts['notes']} notes, {counts['n_frames']} frames, "
        f"{counts['seconds'] / 60:.1f} min of audio, {counts['bytes'] / 1e6:.1f} MB"
    )
