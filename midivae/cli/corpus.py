"""``midivae corpus build``: render a note corpus with fluidsynth, sample libraries or the
project's synthesiser (a thin wrapper)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from midivae.cli.options import SEED, shown_option
from midivae.music import INSTRUMENTS
from midivae.training.corpus.render import SOUNDFONTS


@click.group(
    "corpus",
    epilog="Example: midivae corpus build --instrument violin --library fluidr3 "
    "--library musescore --library synth -o corpora/violin-all",
)
def corpus() -> None:
    """Build note corpora (FluidR3_GM for training, MuseScore_General for dev-test)."""


@corpus.command(
    "build",
    epilog="Example: midivae corpus build --instrument flute --soundfont musescore "
    "-o corpora/flute-musescore",
)
@click.option(
    "--instrument", required=True, type=click.Choice(list(INSTRUMENTS)), help="Instrument."
)
@shown_option(
    "--soundfont",
    click.Choice(list(SOUNDFONTS)),
    "fluidr3",
    "fluidr3 = training corpus, musescore = dev-test set.",
)
@click.option(
    "--library",
    "libraries",
    multiple=True,
    help="Play the training content with these libraries instead (repeat it): fluidr3, "
    "musescore, synth (the project's synthesiser), an .sf2/.sf3 or .sfz file, or a folder of "
    "samples named by note (bench/install_libraries.sh installs some). Calibrated to "
    "FluidR3's level.",
)
@click.option(
    "--players/--no-players",
    default=False,
    help="With --library: players' vibrato, glides, tunings (A4 = 430-450 Hz) and timing.",
)
@click.option(
    "--rooms/--no-rooms",
    default=False,
    help="With --library: rooms, microphone colouration, background noise and hum.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Content seed.")
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
    help="Corpus folder (created; reused when it already holds this build).",
)  # fmt: skip
@click.option("--tiny", is_flag=True, hidden=True, help="A few seconds of content (tests).")
def build(
    instrument: str,
    soundfont: str,
    libraries: tuple[str, ...],
    players: bool,
    rooms: bool,
    seed: int,
    out_dir: Path,
    tiny: bool,
) -> None:
    """Render, analyse and label one instrument's note corpus into OUTPUT.

    \b
    Examples:
      midivae corpus build --instrument flute -o corpora/flute
      midivae corpus build --instrument alto_sax --library fluidr3 --library synth \\
          --library ../shared/libraries/karoryfer-weresax --players --rooms -o corpora/sax-all
    """
    import shlex

    from midivae.cli.common import progress, report_error
    from midivae.errors import MidivaeError
    from midivae.training.corpus import build_corpus, read_manifest

    if (players or rooms) and not libraries:
        raise click.UsageError("--players and --rooms go with --library")
    try:
        if libraries:
            from midivae.training.corpus.build import build_library_corpus
            from midivae.training.corpus.performance import PlayerSettings
            from midivae.training.corpus.rooms import RoomSettings

            command = "midivae " + " ".join(shlex.quote(a) for a in sys.argv[1:])
            build_library_corpus(
                instrument,
                out_dir,
                libraries=libraries,
                seed=seed,
                players=PlayerSettings() if players else None,
                rooms=RoomSettings() if rooms else None,
                tiny=tiny,
                progress=progress,
                command=command,
            )
        else:
            command = (
                f"midivae corpus build --instrument {instrument} --soundfont {soundfont} "
                f"--seed {seed} -o {out_dir}" + (" --tiny" if tiny else "")
            )
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
