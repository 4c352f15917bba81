"""Audio -> NSGT frames -> q(z|x) -> per-frame symbol posteriors -> notes -> MIDI / MusicXML.

The pipeline: load and analyse the audio; scale by ``--gain-db`` (how far the recording is
from the reference level the presets were trained at); estimate the reference pitch and
retune the frames to A4 = 440 Hz; encode with the preset's signal encoder and decode the
posterior mean with its symbol decoder; turn each slot's frame posteriors into notes with the
HMM of :mod:`midivae.note_tracking` (onset evidence from the partials' flux); give each note
the calibrated velocity the model reads over its attack. ``--instrument auto`` compares the
shipped presets on the first seconds of sound by the signal decoder's log-likelihood per bin
(and counts the voices the ensemble preset hears there, for duets).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from midivae.audio import load_audio, remove_dc
from midivae.errors import MidivaeError
from midivae.note_tracking import TrackingSettings, decode_notes, program_of
from midivae.scores import NoteEvent, Part, write_midi, write_musicxml
from midivae.spectral import SpectralConfig, analyse, compress
from midivae.tuning import estimate_offset_cents, reference_hz

logger = logging.getLogger("midivae")

AUTO_SECONDS = 10.0
#: ``auto`` scores every tenth sounding frame (116 ms apart, ~86 frames in 10 s): scoring
#: every shipped preset was a quarter of the dev-set batch's time at every fifth frame, and
#: every tenth (or twentieth) frame makes the same 50 choices on the dev set.
AUTO_STRIDE = 10
#: Per-bin log-likelihood under which no preset is taken to fit. Seen on the dev set: a
#: recording's own preset scores about -0.8 to +0.2, another instrument's -1.6 to -15, noise
#: below -25.
POOR_FIT = -1.5
#: A mixture preset is chosen when it fits this much better than the best solo preset: on
#: the dev set's solos mixtures came within +0.12 of the right solo preset (on fresh FluidR3
#: solos within +0.15, ``python bench/transcribe_fluidr3.py auto``) ...
MIXTURE_MARGIN = 0.3
#: ... or when it fits better at all and the widest mixture preset hears two or more voices
#: in this share of the frames: on fresh FluidR3 solos it heard two in at most 4 % (the
#: piano's 19 %, which fits its own preset far better), on duets in 2-38 %, while the fits
#: of half the duets led by under 0.3 (same bench).
TWO_VOICES_SHARE = 0.1
#: Semitones from a fundamental to its partials 1-8 (rounded).
PARTIAL_INTERVALS = (0, 12, 19, 24, 28, 31, 34, 36)
SILENCE = 1e-4  # amplitude below which a frame is silent (-80 dBFS)
#: A median note velocity at or past these suggests a level far from the reference (the
#: example flute recording reads 110-127 normalised to -1 dBFS, 5-29 at -26 dB; pp notes
#: (velocity 33) at the reference level read a median 34-36 from FluidR3's melody
#: instruments and 36-45 from MuseScore_General's, so the quiet end is set below them).
LOUD_VELOCITY = 120
QUIET_VELOCITY = 24
MIN_NOTES_FOR_LEVEL = 4
DC_NOTICE = 1e-2  # a DC offset this large (-40 dBFS) is reported when removed (8-bit WAVs
#: decode with -0.004: removed, not worth a notice)
RETUNE_CENTS = 3.0  # smaller tuning offsets are left alone


@dataclass(frozen=True)
class Transcription:
    """Notes and what was decided on the way."""

    notes: list[NoteEvent]
    parts: list[Part]
    preset: str
    reference_hz: float
    seconds: float
    fit: float | None = None
    notices: list[str] = field(default_factory=list)
    frames: np.ndarray | None = field(default=None, repr=False)  # compressed, retuned


def _shift_frames(amplitude: np.ndarray, cents: float, config: SpectralConfig) -> np.ndarray:
    """Move every frame by ``cents`` (fractional bins, linear interpolation)."""
    from midivae.corpus.augment import detune

    return detune(amplitude, cents, config)


def fit_score(preset, compressed: np.ndarray) -> float:
    """Mean log-likelihood per bin of sounding frames under the preset (higher fits better)."""
    mu, _ = preset.encode_signal(compressed)
    return float(np.mean(preset.log_likelihood(compressed, mu)) / compressed.shape[1])


def choose_preset(compressed: np.ndarray, amplitude: np.ndarray, names: list[str]):
    """The preset that fits the first ``AUTO_SECONDS`` of sound best, and all scores.

    A mixture preset must lead the best solo preset by ``MIXTURE_MARGIN``, or lead at all
    while the widest mixture preset hears two voices in ``TWO_VOICES_SHARE`` of the frames.
    """
    from midivae.preset import cached_preset

    frame_seconds = SpectralConfig().frame_seconds
    sounding = np.flatnonzero(amplitude.max(axis=1) > SILENCE)[: int(AUTO_SECONDS / frame_seconds)]
    if len(sounding) == 0:
        sounding = np.arange(min(len(compressed), int(AUTO_SECONDS / frame_seconds)))
    sounding = sounding[::AUTO_STRIDE]
    frames = compressed[sounding]
    presets = {name: cached_preset(name) for name in names}
    scores = {name: fit_score(preset, frames) for name, preset in presets.items()}
    mixtures = [n for n in names if len(presets[n].instruments) > 1]
    solos = [n for n in names if n not in mixtures]
    if not mixtures or not solos:
        return max(scores, key=scores.get), scores
    solo = max(solos, key=scores.get)
    mixture = max(mixtures, key=scores.get)
    lead = scores[mixture] - scores[solo]
    if lead > MIXTURE_MARGIN:
        return mixture, scores
    widest = max(mixtures, key=lambda n: len(presets[n].instruments))
    if lead > 0 and voice_share(presets[widest], frames) >= TWO_VOICES_SHARE:
        return mixture, scores
    return solo, scores


def voice_share(preset, compressed: np.ndarray) -> float:
    """Share of frames in which a mixture preset hears two voices (slots with p > 0.5) whose
    most likely pitches are not a partial of one another (a unison, an octave, a twelfth...:
    one instrument's partials read as a second voice)."""
    from midivae.note_tracking import slot_posteriors

    symbols = preset.read_signal(compressed)
    slots = [slot_posteriors(symbols, preset, s) for s in range(len(preset.instruments))]
    melodic = [(pitches, rest, p) for pitches, rest, p in slots if rest is not None]
    if len(melodic) < 2:
        return 0.0
    on = np.stack([rest < 0.5 for _, rest, _ in melodic], axis=1)
    pitch = np.stack([pitches[np.argmax(p, axis=1)] for pitches, _, p in melodic], axis=1)
    two = np.zeros(len(on), bool)
    for a in range(on.shape[1]):
        for b in range(a + 1, on.shape[1]):
            interval = np.abs(pitch[:, a] - pitch[:, b])
            two |= on[:, a] & on[:, b] & ~np.isin(interval, PARTIAL_INTERVALS)
    return float(np.mean(two))


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
    preset: str | Path = "auto",
    gain_db: float = 0.0,
    settings: TrackingSettings | None = None,
    candidates: list[str] | None = None,
) -> Transcription:
    """Transcribe an audio file (or mono audio at 22050 Hz) into notes.

    Parameters
    ----------
    source : path or np.ndarray
        The recording.
    preset : str or Path
        A shipped preset name, a preset folder, or ``"auto"`` (the best-fitting shipped one).
    gain_db : float
        How many dB the recording is above the presets' reference level (it is attenuated
        by that much before analysis; negative values boost).
    settings : TrackingSettings, optional
        Note-tracking costs.
    candidates : list of str, optional
        Presets that ``auto`` chooses from (default: every shipped preset).
    """
    from midivae.preset import cached_preset, shipped_presets

    config = SpectralConfig()
    audio = source if isinstance(source, np.ndarray) else load_audio(source)
    audio, offset_dc = remove_dc(audio)
    if gain_db:
        audio = audio * np.float32(10.0 ** (-gain_db / 20.0))
    amplitude = analyse(np.asarray(audio, dtype=np.float64), config)
    notices = []
    if abs(offset_dc) >= DC_NOTICE:
        notices.append(f"removed a DC offset of {offset_dc:+.4f}")
    offset = estimate_offset_cents(amplitude, config)
    if abs(offset) >= RETUNE_CENTS:
        amplitude = _shift_frames(amplitude, -offset, config)
        notices.append(f"tuning: A4 = {reference_hz(offset):.1f} Hz ({offset:+.0f} cents)")
    compressed = compress(amplitude, config)
    fit = None
    silent = amplitude.max() <= SILENCE
    if str(preset) == "auto":
        names = candidates or shipped_presets()
        if not names:
            raise MidivaeError("no shipped presets to choose from; use --preset DIR", "auto")
        if silent:  # nothing to choose by, and no notes either way
            preset = names[0]
        else:
            preset, scores = choose_preset(compressed, amplitude, names)
            fit = scores[preset]
            notices.append(f"instrument: {preset} (fit {fit:.2f} per bin)")
            if fit < POOR_FIT:
                notices.append("no preset fits well; the notes may be unreliable")
    model = cached_preset(str(preset))
    if model.spectral != config:
        raise MidivaeError("preset analyses audio differently from this version", str(preset))
    if silent:
        notices.append("silence: no notes")
        notes, parts = [], [Part(0, model.instruments[0], program_of(model.instruments[0]), False)]
    else:
        notes, parts = decode_notes(model, compressed, audio=audio, cents=offset, settings=settings)
        notices.extend(level_notices(notes))
    where = "" if isinstance(source, np.ndarray) else f"{source}: "
    for notice in notices:
        logger.info(where + notice)
    return Transcription(
        notes=notes,
        parts=parts,
        preset=model.name,
        reference_hz=reference_hz(offset),
        seconds=len(audio) / config.sample_rate,
        fit=fit,
        notices=notices,
        frames=compressed,
    )


def transcribe_file(
    source: Path,
    target: Path,
    *,
    preset: str | Path = "auto",
    gain_db: float = 0.0,
    tempo_bpm: float = 120.0,
    plot: bool = False,
    overwrite: bool = False,
) -> str:
    """Transcribe ``source`` into ``target`` (``.mid`` or ``.musicxml`` by suffix)."""
    suffix = target.suffix.lower()
    if suffix not in (".mid", ".midi", ".musicxml", ".xml", ".mxl"):
        raise MidivaeError("output must end in .mid or .musicxml", target)
    result = transcribe(source, preset=preset, gain_db=gain_db)
    writer = write_midi if suffix in (".mid", ".midi") else write_musicxml
    writer(result.notes, target, tempo_bpm=tempo_bpm, parts=result.parts, overwrite=overwrite)
    if plot:
        from midivae import plots

        notes = [(n.onset, n.offset, n.pitch, n.velocity, n.part) for n in result.notes]
        plots.spectrogram(
            result.frames,
            target.with_suffix(".png"),
            notes=notes,
            title=source.name,
            overwrite=overwrite,
        )
    return f"{len(result.notes)} notes, {result.preset}, A4 = {result.reference_hz:.1f} Hz"
