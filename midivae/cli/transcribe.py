"""``midivae transcribe``: audio files and folders to MIDI (or MusicXML)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from midivae.audio import AUDIO_SUFFIXES
from midivae.cli.batch import jobs_option, run_batch
from midivae.cli.options import Finite, model_options, output_option, preset_choice, shown_option


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option(
    "Output file (one input: its suffix .mid, .musicxml or .csv says the format) or folder "
    "(several inputs or a folder: subfolders are mirrored in it)."
)
@model_options(
    instrument_default="auto",
    instrument_help="A shipped preset name, or auto: the one the first 10 s sound like.",
    preset_help="Any preset folder (e.g. one made by `midivae train`).",
)
@click.option(
    "--tempo",
    type=Finite(20, 400),
    default=None,
    metavar="BPM",
    help="Tempo written to the MIDI file and used to quantise MusicXML "
    "[default: estimated from the take; 120 for takes under 4 s].",
)
@shown_option(
    "--gain-db",
    Finite(-120.0, 120.0),
    0.0,
    "How far (dB) the recording is above the presets' reference level (default: a take "
    "far louder or quieter than the presets learned from is scaled into range, with a notice).",
)
@click.option(
    "--calibrated",
    is_flag=True,
    help="Read levels as they are: the take was recorded at the presets' reference gain.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["mid", "musicxml", "csv"]),
    default=None,
    help="What to write where the output is named for you (a folder's recordings, no -o): "
    "MIDI, MusicXML or a CSV note list (onset, offset, pitch, velocity, instrument) "
    "[default: mid, or -o's suffix].",
)
@click.option(
    "--min-note-ms",
    type=Finite(10, 2000),
    default=None,
    help="Drop notes shorter than this [default: 46 ms].",
)
@click.option(
    "--min-pitch",
    type=click.IntRange(0, 127),
    default=0,
    help="Lowest MIDI pitch read (frames that sound lower read as rests).",
)
@click.option(
    "--max-pitch", type=click.IntRange(0, 127), default=127, help="Highest MIDI pitch read."
)
@click.option(
    "--onset-threshold",
    type=Finite(0.01, 0.99),
    default=None,
    help="How sure a note's start must be: higher reads fewer, surer notes; lower reads "
    "more, ghost notes too. [default: the preset's own where it has one (the piano's is "
    "fitted on fresh renders of its library), else 0.5]",
)
@click.option(
    "--pitch-bends",
    is_flag=True,
    help="Also write each note's vibrato and glides as pitch bends (MIDI; solo lines).",
)
@click.option(
    "--expression",
    is_flag=True,
    help="Also write the level inside each note as CC11 expression (MIDI; solo lines).",
)
@click.option("--plot", is_flag=True, help="Also write <stem>.png: spectrogram with the notes.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace existing outputs (in a batch, inputs whose outputs exist are skipped).",
)
@jobs_option("Recordings")
def transcribe(
    inputs: tuple[Path, ...],
    output: Path | None,
    instrument: str,
    preset_dir: Path | None,
    tempo: float | None,
    gain_db: float,
    calibrated: bool,
    output_format: str | None,
    min_note_ms: float | None,
    min_pitch: int,
    max_pitch: int,
    onset_threshold: float | None,
    pitch_bends: bool,
    expression: bool,
    plot: bool,
    overwrite: bool,
    jobs: int,
) -> None:
    """Transcribe recordings into MIDI notes with velocities.

    Folders are searched for .wav .flac .ogg .aiff .mp3; one output per input keeps its stem
    and the subfolder it was found in. Inputs whose outputs exist are skipped (a re-run
    finishes a batch) unless --overwrite. A folder's recordings are transcribed two at a time
    on a machine with two cores or more (``--jobs``), each on one torch thread.

    Example: midivae transcribe takes/ -o midi/ --format musicxml
    """
    from contextlib import nullcontext

    from midivae.audio import atomic_outputs, check_target
    from midivae.cli.common import progress, shown
    from midivae.cli.threads import one_torch_thread
    from midivae.spectral import SpectralConfig
    from midivae.transcription.timing import TrackingSettings
    from midivae.transcription.transcribe import check_output_suffix
    from midivae.transcription.transcribe import transcribe as transcribe_audio

    if min_pitch > max_pitch:
        raise click.BadParameter(
            f"{min_pitch} is above --max-pitch {max_pitch}", param_hint="--min-pitch"
        )
    settings = TrackingSettings(lowest_pitch=min_pitch, highest_pitch=max_pitch)
    if onset_threshold is not None:
        settings = settings.with_onset_threshold(onset_threshold)
    if min_note_ms is not None:
        frame_ms = 1000.0 * SpectralConfig().frame_seconds
        settings = replace(settings, min_note_frames=max(1, round(min_note_ms / frame_ms)))
    preset = preset_choice(instrument, preset_dir, allow_auto=True)
    if output_format is not None:
        suffix = f".{output_format}"
    else:
        suffix = output.suffix.lower() if output is not None and output.suffix else ".mid"

    def job(source: Path, target: Path) -> str:
        check_output_suffix(target)
        outputs = [target, *([target.with_suffix(".png")] if plot else [])]
        for path in outputs:  # before the work, not after it
            check_target(path, overwrite=overwrite)
        result = transcribe_audio(
            source,
            preset=preset,
            gain_db=gain_db,
            settings=settings,
            calibrated=calibrated,
            pitch_bends=pitch_bends,
            expression=expression,
            tempo=tempo is None,
            progress=lambda stage: progress(f"{shown(source)}: {stage}"),
        )
        with atomic_outputs(outputs, overwrite=overwrite) as written:  # all or none
            result.save(written[0], tempo_bpm=tempo, overwrite=True, title=target.stem)
            if plot:
                from midivae import plots

                notes = [(n.onset, n.offset, n.pitch, n.velocity, n.part) for n in result.notes]
                title = source.name
                plots.spectrogram(
                    result.frames,
                    written[1],
                    notes=notes,
                    title=title,
                    overwrite=True,
                    frame_seconds=result.frame_seconds,
                )
        return result.summary()

    # Two jobs on two torch threads each would fight over the cores (measurements:
    # docs/experiments.md, "Transcription speed and benches").
    with one_torch_thread() if jobs > 1 else nullcontext():
        run_batch(
            inputs,
            output,
            suffixes=AUDIO_SUFFIXES,
            default_suffix=suffix,
            job=job,
            jobs=jobs,
            overwrite=overwrite,
        )
