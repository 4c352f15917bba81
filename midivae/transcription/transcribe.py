"""Audio -> NSGT frames -> q(z|x) -> per-frame symbol posteriors -> notes -> MIDI / MusicXML.

The pipeline: load and analyse the audio; scale by ``--gain-db`` (how far the recording is
from the reference level the presets were trained at; by default a take far outside the
trained levels is scaled into them, :mod:`midivae.transcription.level`); estimate the
reference pitch and retune the frames to A4 = 440 Hz; encode with the preset's signal encoder
and decode the posterior mean with its symbol decoder; turn each slot's frame posteriors into
notes with the HMM of :mod:`midivae.transcription.notes` (onset evidence from the partials'
flux); give each note the calibrated velocity the model reads over its attack.
``--instrument auto`` asks the shipped chooser (:mod:`midivae.transcription.choice`) which
preset the first seconds of sound need.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from midivae.audio import AudioStream
from midivae.errors import MidivaeError
from midivae.scores import (
    Curve,
    NoteEvent,
    Part,
    Score,
    write_midi,
    write_musicxml,
    write_note_csv,
)
from midivae.spectral import SpectralConfig, compress
from midivae.spectral.analysis import StreamedFrames, analysis_blocks, n_frames_for
from midivae.transcription.choice import AUTO_SECONDS, POOR_FIT, SILENCE, choose_preset
from midivae.transcription.level import LoudLevel, correction_db, describe_correction
from midivae.transcription.notes import TrackingSettings, program_of
from midivae.transcription.segments import SEGMENT_SECONDS, blank_picture, decode_take
from midivae.transcription.tempo import DEFAULT_BPM
from midivae.transcription.tuning import TuningMeter, reference_hz

logger = logging.getLogger("midivae")

#: A median note velocity at or past these suggests a level far from the reference: a
#: recording normalised near full scale reads at the top of the range, one far under the
#: reference at the bottom; the quiet end sits below what pp notes (velocity 33) at the
#: reference level read (measurements: docs/experiments.md, "Velocity regression").
LOUD_VELOCITY = 120
QUIET_VELOCITY = 24
MIN_NOTES_FOR_LEVEL = 4
#: Takes longer than this tell ``progress`` each stage of their work.
PROGRESS_SECONDS = 60.0
DC_NOTICE = 1e-2  # a DC offset this large (-40 dBFS) is reported when removed (8-bit WAVs
#: decode with -0.004: removed, not worth a notice)
RETUNE_CENTS = 3.0  # smaller tuning offsets are left alone


MIDI_SUFFIXES = (".mid", ".midi")
OUTPUT_SUFFIXES = (*MIDI_SUFFIXES, ".musicxml", ".xml", ".mxl", ".csv")


def check_output_suffix(target: Path) -> None:
    """A MidivaeError unless ``target`` names a MIDI, MusicXML or CSV file."""
    if Path(target).suffix.lower() not in OUTPUT_SUFFIXES:
        raise MidivaeError("output must end in .mid, .musicxml or .csv", target)


@dataclass(frozen=True)
class Transcription:
    """Notes and what was decided on the way.

    ``notes`` are sorted by onset; each names its part (an index into ``parts``, one per
    instrument heard). ``fit`` is the chosen preset's fit per bin when ``auto`` chose it.

    Examples
    --------
    >>> result = midivae.transcribe("take1.wav")  # doctest: +SKIP
    >>> result.save("take1.mid")  # doctest: +SKIP
    """

    notes: list[NoteEvent]
    parts: list[Part]
    preset: str
    reference_hz: float
    seconds: float
    fit: float | None = None
    notices: list[str] = field(default_factory=list)
    #: The take's compressed, in-tune frames for a picture (a long take's pooled in time:
    #: each row ``frame_seconds`` long).
    frames: np.ndarray | None = field(default=None, repr=False)
    frame_seconds: float = SpectralConfig().frame_seconds
    #: Per part index, the notes' pitch bends in semitones (``pitch_bends=True``).
    bends: dict[int, Curve] = field(default_factory=dict, repr=False)
    #: Per part index, the level inside each note, 0-1, as CC11 (``expression=True``).
    expression: dict[int, Curve] = field(default_factory=dict, repr=False)
    #: The take's tempo as estimated (:mod:`midivae.transcription.tempo`), None when not.
    tempo_bpm: float | None = None
    #: Where the music's first bar begins, as estimated with the tempo (0: at the start).
    downbeat_s: float = 0.0

    def _tempo(self, tempo_bpm: float | None) -> float:
        """``tempo_bpm`` when given, else the estimated tempo, else 120."""
        return tempo_bpm or self.tempo_bpm or DEFAULT_BPM

    def _downbeat(self, tempo_bpm: float | None) -> float:
        """The estimated downbeat, which goes with the estimated tempo only."""
        return 0.0 if tempo_bpm else self.downbeat_s

    def to_midi(self, path: str | Path, *, tempo_bpm: float | None = None, overwrite: bool = False):
        """Write the notes (and their pitch bends and expression) as a MIDI file at
        ``tempo_bpm`` (default: the estimated tempo, its first bar ending at the estimated
        downbeat), atomically; an existing file only with ``overwrite``."""
        score = Score(
            self.notes, list(self.parts), dict(self.expression), bend_curves=dict(self.bends)
        )
        write_midi(
            score,
            Path(path),
            tempo_bpm=self._tempo(tempo_bpm),
            overwrite=overwrite,
            gain_controller=11,
            downbeat_s=self._downbeat(tempo_bpm),
        )

    def to_musicxml(
        self,
        path: str | Path,
        *,
        tempo_bpm: float | None = None,
        overwrite: bool = False,
        title: str | None = None,
    ) -> None:
        """Write the notes as MusicXML, quantised at ``tempo_bpm`` (default: the estimated
        tempo, from the estimated downbeat), titled ``title`` (default: the file name's
        stem)."""
        write_musicxml(
            self.notes,
            Path(path),
            tempo_bpm=self._tempo(tempo_bpm),
            parts=self.parts,
            overwrite=overwrite,
            title=title,
            downbeat_s=self._downbeat(tempo_bpm),
        )

    def to_csv(self, path: str | Path, *, overwrite: bool = False) -> None:
        """Write the notes as a CSV note list (onset, offset, pitch, velocity, instrument)."""
        write_note_csv(self.notes, Path(path), parts=self.parts, overwrite=overwrite)

    def save(
        self,
        path: str | Path,
        *,
        tempo_bpm: float | None = None,
        overwrite: bool = False,
        title: str | None = None,
    ):
        """Write MIDI, MusicXML (titled ``title``, default the file name's stem) or a CSV
        note list, by the suffix of ``path``."""
        path = Path(path)
        check_output_suffix(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            self.to_csv(path, overwrite=overwrite)
        elif suffix in MIDI_SUFFIXES:
            self.to_midi(path, tempo_bpm=tempo_bpm, overwrite=overwrite)
        else:
            self.to_musicxml(path, tempo_bpm=tempo_bpm, overwrite=overwrite, title=title)

    def summary(self) -> str:
        """One line: how many notes, by which preset, at which reference pitch (and the
        tempo, when estimated)."""
        line = f"{len(self.notes)} notes, {self.preset}, A4 = {self.reference_hz:.1f} Hz"
        return line + (f", {self.tempo_bpm:g} BPM" if self.tempo_bpm else "")


def _shift_frames(amplitude: np.ndarray, cents: float, config: SpectralConfig) -> np.ndarray:
    """Move every frame by ``cents`` (fractional bins, linear interpolation)."""
    from midivae.spectral.shift import detune

    return detune(amplitude, cents, config)


def _spoken(preset: str) -> str:
    """A preset's instruments in words: ``a flute``, ``an alto sax and a violin``, ``an
    ensemble``."""
    words = [name.replace("_", " ") for name in preset.replace("+", "-").split("-")]
    return " and ".join(("an " if w[0] in "aeiou" else "a ") + w for w in words)


def level_notices(notes: list) -> list[str]:
    """A hint when most velocities sit at an end of the range: the recording is probably far
    from the reference level (README, Levels), where velocities saturate and, when quiet,
    repeated notes can merge."""
    if len(notes) < MIN_NOTES_FOR_LEVEL:
        return []
    median = float(np.median([n.velocity for n in notes]))
    if median >= LOUD_VELOCITY:
        return [
            f"median velocity {median:.0f}: the recording is probably louder than the "
            "reference level; if so, say by how much with --gain-db (e.g. --gain-db 12)"
        ]
    if median <= QUIET_VELOCITY:
        return [
            f"median velocity {median:.0f}: the recording is probably quieter than the "
            "reference level; if so, say by how much with --gain-db (e.g. --gain-db -20)"
        ]
    return []


def transcribe(
    source: str | Path | np.ndarray,
    *,
    instrument: str = "auto",
    preset: str | Path | None = None,
    gain_db: float = 0.0,
    settings: TrackingSettings | None = None,
    candidates: list[str] | None = None,
    calibrated: bool = False,
    pitch_bends: bool = False,
    expression: bool = False,
    tempo: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Transcription:
    """Transcribe an audio file (or mono audio at 22050 Hz) into notes.

    Parameters
    ----------
    source : path or np.ndarray
        The recording.
    instrument : str
        A shipped preset name (``midivae presets`` lists them), or ``"auto"``: the shipped
        preset that the shipped chooser hears in the first seconds of sound.
    preset : str or Path, optional
        A preset folder (or shipped name) to use instead of ``instrument``.
    gain_db : float
        How many dB the recording is above the presets' reference level (it is attenuated
        by that much before analysis; negative values boost). 0 (the default) lets a take
        recorded far louder or quieter than anything the presets learned from be scaled
        into range (:mod:`midivae.transcription.level`, with a notice).
    calibrated : bool
        Read the levels as they are (a take recorded at the reference gain), never scaled.
    pitch_bends : bool
        Also read each note's vibrato and glides as a pitch-bend curve per part
        (:mod:`midivae.transcription.bends`), written to MIDI.
    expression : bool
        Also read the level inside each note as a CC11 curve per part
        (:mod:`midivae.transcription.expression`), written to MIDI.
    progress : callable, optional
        Told each stage (``"analysing"``, ``"reading"``, ``"finding notes"``) of a take longer
        than ``PROGRESS_SECONDS``, for a progress line.
    tempo : bool
        Estimate the take's tempo (:mod:`midivae.transcription.tempo`), which the MIDI and
        MusicXML are then written at unless a tempo is given when saving.
    settings : TrackingSettings, optional
        Note-tracking costs, the shortest note and the pitch range read.
    candidates : list of str, optional
        Presets that ``auto`` chooses from (default: every shipped preset).

    Examples
    --------
    >>> result = midivae.transcribe("examples/example_recording.flac", instrument="flute")
    >>> [(round(n.onset, 2), n.pitch, n.velocity) for n in result.notes][:2]
    [(0.41, 76, 40), (1.02, 76, 50)]
    """
    if preset is None:
        preset = instrument
    config = SpectralConfig()
    with AudioStream(source, sample_rate=config.sample_rate) as take:
        return _transcribe_take(
            take,
            None if isinstance(source, np.ndarray) else source,
            config,
            preset=str(preset),
            gain_db=gain_db,
            settings=settings,
            candidates=candidates,
            calibrated=calibrated,
            pitch_bends=pitch_bends,
            expression=expression,
            tempo=tempo,
            progress=progress,
        )


def _survey(
    take: AudioStream, config: SpectralConfig
) -> tuple[float, float, np.ndarray, list[tuple[int, np.ndarray]]]:
    """One pass over the take's analysis blocks: its tuning offset (cents), its loudest
    amplitude, its first ``AUTO_SECONDS`` of sounding frames (what ``auto`` hears) and, for
    a take of one segment, the blocks themselves (read again, not analysed again)."""
    tuning, loudest, heard, kept = TuningMeter(config), 0.0, [], []
    wanted = int(AUTO_SECONDS / config.frame_seconds)
    short = take.seconds <= SEGMENT_SECONDS
    for first, frames in analysis_blocks(take.read, take.n_samples, config):
        tuning.add(frames)
        loudest = max(loudest, float(frames.max(initial=0.0)))
        missing = wanted - sum(map(len, heard))
        if missing > 0:
            heard.append(frames[frames.max(axis=1) > SILENCE][:missing])
        if short:
            kept.append((first, frames))
    sounding = np.concatenate(heard) if heard else np.zeros((0, config.n_bins), np.float32)
    return tuning.offset_cents(), loudest, sounding, kept


def _transcribe_take(
    take: AudioStream,
    source: str | Path | None,
    config: SpectralConfig,
    *,
    preset: str,
    gain_db: float,
    settings: TrackingSettings | None,
    candidates: list[str] | None,
    calibrated: bool,
    pitch_bends: bool,
    expression: bool,
    tempo: bool,
    progress: Callable[[str], None] | None,
) -> Transcription:
    """:func:`transcribe` of an open take (``source``: its file, for notices)."""
    from midivae.presets.preset import cached_preset, shipped_presets

    seconds = take.seconds

    def stage(name: str) -> None:
        if progress is not None and seconds > PROGRESS_SECONDS:
            progress(f"{name} ({seconds / 60:.1f} min of audio)")

    offset_dc = take.offset = take.mean()
    notices = []
    scaled = False  # into the trained levels: the velocity hint below would be moot
    if not gain_db and not calibrated:
        meter = LoudLevel(config.sample_rate)
        for piece in take.pieces():
            meter.add(piece)
        level = meter.level_db()
        correction = correction_db(level)
        if correction:
            gain_db, scaled = -correction, True
            notices.append(describe_correction(correction, level))
    if gain_db:
        take.gain = 10.0 ** (-gain_db / 20.0)
    stage("analysing")
    offset, loudest, sounding, blocks = _survey(take, config)
    if abs(offset_dc) >= DC_NOTICE:
        notices.append(f"removed a DC offset of {offset_dc:+.4f}")
    retune = None
    if abs(offset) >= RETUNE_CENTS:
        retune = partial(_shift_frames, cents=-offset, config=config)
        notices.append(f"tuning: A4 = {reference_hz(offset):.1f} Hz ({offset:+.0f} cents)")
    fit = None
    silent = loudest <= SILENCE
    if preset == "auto":
        names = candidates or shipped_presets()
        if not names:
            raise MidivaeError("no shipped presets to choose from; use --preset DIR", "auto")
        if silent:  # nothing to choose by, and no notes either way
            preset = names[0]
        else:
            sounding = retune(sounding) if retune is not None else sounding
            choice = choose_preset(compress(sounding, config), sounding, names)
            preset, fit = choice.name, choice.fit
            notices.append(f"sounds like {_spoken(preset)} (--instrument {preset})")
            if fit < POOR_FIT:
                notices.append("no preset fits well; the notes may be unreliable")
    stage("reading")
    model = cached_preset(preset)
    if model.spectral != config:
        raise MidivaeError("preset analyses audio differently from this version", preset)

    def in_tune() -> StreamedFrames:
        frames = StreamedFrames(take.read, take.n_samples, config, retune)
        frames.prime(blocks)
        return frames

    if silent:
        notices.append("silence: no notes")
        notes, parts = [], [Part(0, model.instruments[0], program_of(model.instruments[0]), False)]
        picture, pool = blank_picture(n_frames_for(take.n_samples, config), config.n_bins)
        frame_seconds = config.frame_seconds * pool
    else:
        decoded = decode_take(model, in_tune(), cents=offset, settings=settings, progress=stage)
        notes, parts = decoded.notes, decoded.parts
        picture, frame_seconds = decoded.frames, decoded.frame_seconds
        if not scaled:
            notices.extend(level_notices(notes))
    where = "" if source is None else f"{source}: "
    for notice in notices:
        logger.info(where + notice)
    bends = {}
    if pitch_bends and notes:
        from midivae.transcription.bends import pitch_bends as read_bends

        bends = read_bends(in_tune(), notes, config)
    levels = {}
    if expression and notes:
        from midivae.transcription.expression import expression_curves

        levels = expression_curves(in_tune(), notes, config)
    bpm, downbeat = None, 0.0
    if tempo and notes:
        from midivae.transcription.tempo import MAX_SECONDS, estimate_grid

        first = take.read(0, min(take.n_samples, int(MAX_SECONDS * config.sample_rate)))
        grid = estimate_grid(first, config.sample_rate, [n.onset for n in notes])
        if grid is not None:
            bpm, downbeat = grid.bpm, grid.downbeat_s
    return Transcription(
        notes=notes,
        parts=parts,
        preset=model.name,
        reference_hz=reference_hz(offset),
        seconds=seconds,
        fit=fit,
        notices=notices,
        frames=picture,
        frame_seconds=frame_seconds,
        bends=bends,
        expression=levels,
        tempo_bpm=bpm,
        downbeat_s=downbeat,
    )
