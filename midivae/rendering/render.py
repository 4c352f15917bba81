"""Score -> per-note symbols -> q(z|y) -> latent trajectories -> spectra -> audio.

Each note becomes a symbol vector (pitch, pitch class, octave, dynamics, velocity), the symbol
encoder gives its posterior, and a latent trajectory runs over the note's frames
(:mod:`midivae.rendering.trajectories`: ``mean``, a seeded ``sample`` per note, or a ``walk`` inside
the posterior). The signal decoder turns every latent frame into magnitudes; the instrument's
measured attack and release envelope shapes them; notes are summed per instrument (power sum, as
partials of independent notes add), CC7/CC11 gain curves scale them and pitch bend shifts them;
phase reconstruction and the numba inverse NSGT make audio, gated to silence where the score (with
every release tail) is silent. Levels are absolute (the model's amplitudes are calibrated to the
reference render gain), with a soft limiter only. A part's notes go through the models in batches
(one symbol-encoder call, as few signal-decoder calls as memory allows).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from midivae.audio import atomic_outputs, check_target, save_audio
from midivae.errors import MidivaeError
from midivae.rendering.band import NoteSpan, extend_band
from midivae.rendering.mixdown import MixSettings, mixdown, resample, seating
from midivae.rendering.trajectories import TrajectorySettings, note_trajectory
from midivae.rendering.vibrato import vibrato_curve
from midivae.scores import NoteEvent, Score, read_score
from midivae.spectral import SpectralConfig, decompress
from midivae.spectral.phase import PhaseSettings, reconstruct

if TYPE_CHECKING:
    from midivae.presets.preset import Preset

logger = logging.getLogger("midivae")

TAIL_SECONDS = 1.0  # rendered after the last note-off
#: The articulation gate (:func:`articulation_gate`) opens over ``ONSET_RAMP`` from
#: ``ONSET_DELAY`` after each onset (reconstructed attacks start ~10 ms early: their frames'
#: windows reach back) and never closes below ``ARTICULATION_FLOOR`` (-14 dB). All three
#: chosen on renders compared with FluidR3's (``bench/render_fluidr3.py``; measurements:
#: docs/experiments.md, "Rendering").
ONSET_DELAY = 0.005
ONSET_RAMP = 0.005
ARTICULATION_FLOOR = 0.2
LIMIT = 0.98  # soft limiter ceiling


#: Fast Griffin-Lim iterations after the phase-gradient start: nearly the spectral
#: convergence of twice as many in much less time (``bench/phase.py``; measurements:
#: docs/experiments.md, "Spectral front end").
PHASE_ITERATIONS = 8


@dataclass(frozen=True)
class RenderSettings:
    """How latents are drawn, audio is made and mixed down (:class:`MixSettings`: rate,
    stereo, loudness), and which preset plays which GM programs beyond the defaults
    (``substitutes``: program -> shipped preset name)."""

    trajectory: TrajectorySettings = field(default_factory=TrajectorySettings)
    phase: PhaseSettings = field(default_factory=lambda: PhaseSettings(n_iter=PHASE_ITERATIONS))
    mix: MixSettings = field(default_factory=MixSettings)
    substitutes: dict[int, str] = field(default_factory=dict)
    #: A player's vibrato on the held notes of bowed and blown instruments, in ``walk``
    #: mode (:mod:`midivae.rendering.vibrato`).
    vibrato: bool = True


def soft_limit(audio: np.ndarray, ceiling: float = LIMIT) -> np.ndarray:
    """Leave samples under half the ceiling alone; bend louder ones smoothly below it."""
    knee = ceiling / 2
    out = np.asarray(audio, dtype=np.float64).copy()
    loud = np.abs(out) > knee
    excess = (np.abs(out[loud]) - knee) / (ceiling - knee)
    out[loud] = np.sign(out[loud]) * (knee + (ceiling - knee) * np.tanh(excess))
    return out.astype(np.float32)


def symbol_vector(preset: Preset, pitch: int, velocity: int, slot: int = 0) -> np.ndarray:
    """The preset's symbol vector ``(1, width)`` for one note in ``slot``; other slots rest."""
    return note_vectors(preset, np.array([pitch]), np.array([velocity]), slot)


DECODE_FRAMES = 32768  # latent frames per decode_signal call (bounds memory on long parts)


#: Labels of a slot that plays nothing (as the mixture corpora store them).
REST_LABELS = {"pitch": -1, "pitch_class": 12, "octave": -1, "dynamics": -1, "velocity": 0}


def note_vectors(
    preset: Preset, pitches: np.ndarray, velocities: np.ndarray, slot: int = 0
) -> np.ndarray:
    """Symbol vectors ``(n, width)`` of notes played by ``slot``, encoded in one call.

    A mixture preset's other slots rest; the piano's key vector marks the one key.
    """
    from midivae.music import dynamics_class

    pitches = np.asarray(pitches, dtype=np.int64)
    velocities = np.asarray(velocities, dtype=np.int64)
    keys = np.zeros((len(pitches), 88), dtype=bool)
    inside = (pitches >= 21) & (pitches <= 108)
    keys[np.flatnonzero(inside), pitches[inside] - 21] = True
    labels = {
        "pitch": pitches,
        "pitch_class": pitches % 12,
        "octave": pitches // 12 - 1,
        "dynamics": np.atleast_1d(dynamics_class(velocities)),
        "velocity": velocities,
        "keys": keys,
    }
    slots = preset.vocabulary.n_slots
    if slots > 1:
        labels = {key: _in_slot(value, REST_LABELS.get(key, 0), slot, slots)
                  for key, value in labels.items()}  # fmt: skip
    return preset.vocabulary.encode(labels)


def _in_slot(value: np.ndarray, rest: int, slot: int, slots: int) -> np.ndarray:
    """``value`` ``(n, ...)`` placed in ``slot`` of ``(n, slots, ...)``, the others at ``rest``."""
    out = np.full((value.shape[0], slots, *value.shape[1:]), rest, dtype=value.dtype)
    out[:, slot] = value
    return out


def slot_for_part(preset: Preset, part) -> int:
    """The mixture slot that plays ``part`` (by GM program, then name); 0 otherwise."""
    if len(preset.instruments) == 1:
        return 0
    wanted = preset_for_part(part.program, part.name, quiet=True)
    return preset.instruments.index(wanted) if wanted in preset.instruments else 0


def render_part(
    preset: Preset,
    notes: list[NoteEvent],
    n_frames: int,
    *,
    settings: RenderSettings,
    seed: int,
    gain: np.ndarray | None = None,
    slot: int = 0,
    label: str = "",
    placement: tuple[np.ndarray, list[tuple[int, int, np.ndarray]]] | None = None,
) -> np.ndarray:
    """Amplitude frames ``(n_frames, n_bins)`` of one instrument (``slot``) playing ``notes``.

    All notes of the part go through the symbol encoder in one call and all their latent
    frames through the signal decoder in as few calls as memory allows (``mean`` and
    ``sample`` trajectories hold one latent per note, so only that frame is decoded).
    ``placement`` is :func:`place_notes`'s answer when the caller has it already.
    """
    from midivae.music import get_instrument

    config: SpectralConfig = preset.spectral
    power = np.zeros((n_frames, config.n_bins), dtype=np.float64)
    if not notes:
        return power.astype(np.float32)
    original = np.array([note.pitch for note in notes], dtype=np.int64)
    pitches, placed = placement or place_notes(preset, notes, n_frames, slot)
    velocities = np.array([note.velocity for note in notes], dtype=np.int64)
    moved = int(np.sum(pitches != original))
    mu, logvar = preset.encode_symbols(note_vectors(preset, pitches, velocities, slot))
    rng = np.random.default_rng(seed)
    trajectory = settings.trajectory
    if trajectory.mode == "walk":
        batch: list[tuple[int, np.ndarray, np.ndarray]] = []
        size = 0
        for index, start, gains in placed:
            z = note_trajectory(mu[index], logvar[index], len(gains), trajectory, rng)
            z = hold_in_symbol(preset, z, mu[index], np.full(len(z), pitches[index]), slot)
            batch.append((start, gains, z))
            size += len(z)
            if size >= DECODE_FRAMES:
                _accumulate_walks(preset, batch, power)
                batch, size = [], 0
        _accumulate_walks(preset, batch, power)
    else:  # one latent per note: decode it once, scale it by the note's frame gains
        rows = [note_trajectory(mu[i], logvar[i], 1, trajectory, rng)[0] for i, _, _ in placed]
        if rows:
            chosen = [i for i, _, _ in placed]
            if trajectory.mode != "mean":
                rows = hold_in_symbol(preset, np.array(rows), mu[chosen], pitches[chosen], slot)
            spectra = decompress(preset.decode_signal(np.array(rows)), config)
            spectra = spectra.astype(np.float64) ** 2
            for (_, start, gains), spectrum in zip(placed, spectra, strict=True):
                power[start : start + len(gains)] += np.outer(gains**2, spectrum)
    if moved:
        instrument = get_instrument(preset.instruments[slot])
        logger.info(f"{label}{moved} of {len(notes)} notes outside {preset.name}'s range "
                    f"({instrument.low}-{instrument.high}) moved by octaves")  # fmt: skip
    frames = np.sqrt(power)
    if gain is not None:
        frames *= gain[:, None]
    return frames.astype(np.float32)


def place_notes(
    preset: Preset, notes: list[NoteEvent], n_frames: int, slot: int = 0
) -> tuple[np.ndarray, list[tuple[int, int, np.ndarray]]]:
    """Each note's sounding pitch (folded by octaves into the instrument's range) and where
    the notes that fit sit: ``(note index, first frame, gain of each frame)`` (attack, hold,
    release tail of the preset's envelope, cut at ``n_frames``)."""
    from midivae.music import fold_into_range, get_instrument
    from midivae.rendering.envelope import Envelope

    fs = preset.spectral.frame_seconds
    instrument = get_instrument(preset.instruments[slot])
    pitches = np.array(
        [fold_into_range(int(n.pitch), instrument.low, instrument.high) for n in notes],
        dtype=np.int64,
    )
    envelope_data = preset.meta.get("envelope")
    envelope = Envelope.from_dict(envelope_data) if envelope_data else Envelope.flat()
    placed: list[tuple[int, int, np.ndarray]] = []
    for index, note in enumerate(notes):
        start = round(note.onset / fs)
        held = max(1, round(note.offset / fs) - start)
        gains = envelope.gains(held, fs)
        length = min(len(gains), n_frames - start)
        if length > 0:
            placed.append((index, start, gains[:length]))
    return pitches, placed


def reads_back(preset: Preset, z: np.ndarray, pitches: np.ndarray, slot: int = 0) -> np.ndarray:
    """Whether the symbol decoder reads each latent frame of ``z`` as its pitch in ``slot``."""
    symbols = preset.decode_symbols(z)
    prefix = preset.vocabulary.slot_prefix(slot)
    if prefix + "keys" in symbols:
        keys = symbols[prefix + "keys"]
        column = np.clip(pitches - preset.vocabulary.family(prefix + "keys").offset, 0, None)
        return keys[np.arange(len(z)), np.minimum(column, keys.shape[1] - 1)] >= 0.5
    offset = preset.vocabulary.family(prefix + "pitch").offset
    return symbols[prefix + "pitch"].argmax(axis=1) == pitches - offset


def hold_in_symbol(
    preset, z: np.ndarray, mu: np.ndarray, pitches: np.ndarray, slot: int = 0, rounds: int = 4
) -> np.ndarray:
    """Pull the frames of a sample or walk that stray out of their note halfway to the mean.

    The posterior q(z|y) is a Gaussian; its tails can reach where the symbol decoder reads a
    rest or a neighbour, which would then sound. Each round moves only the frames that read
    wrong, halving their distance to the posterior mean (``rounds`` rounds: 1/16 at most).
    Deterministic; frames that read right are untouched.
    """
    z = np.array(z, dtype=np.float32, copy=True)
    mu = np.broadcast_to(np.asarray(mu, dtype=np.float32), z.shape)
    for _ in range(rounds):
        wrong = ~reads_back(preset, z, pitches, slot)
        if not wrong.any():
            break
        z[wrong] = 0.5 * (z[wrong] + mu[wrong])
    return z


def _accumulate_walks(preset: Preset, batch: list, power: np.ndarray) -> None:
    """Decode the latent frames of ``batch`` ``[(start, gains, z)]`` in one call; add powers."""
    if not batch:
        return
    z = np.concatenate([z for _, _, z in batch])
    amplitude = decompress(preset.decode_signal(z), preset.spectral).astype(np.float64)
    at = 0
    for start, gains, part in batch:
        block = amplitude[at : at + len(part)] * gains[:, None]
        power[start : start + len(part)] += block**2
        at += len(part)


#: General MIDI program ranges -> the shipped preset that plays them.
PROGRAM_PRESETS = (
    (range(0, 8), "piano"),
    (range(40, 48), "violin"),
    (range(56, 64), "trumpet"),
    (range(64, 72), "alto_sax"),
    (range(72, 80), "flute"),
)
#: The GM programs each shipped preset is the instrument of; any other program it plays is a
#: substitution, and the render says so.
OWN_PROGRAMS = {
    "piano": range(0, 2),
    "violin": range(40, 41),
    "trumpet": range(56, 57),
    "alto_sax": range(65, 66),
    "flute": range(73, 74),
}
NAME_PRESETS = {
    "flute": "flute",
    "piccolo": "flute",
    "violin": "violin",
    "viola": "violin",
    "sax": "alto_sax",
    "trumpet": "trumpet",
    "horn": "trumpet",
    "piano": "piano",
}
#: Words in a part's name that mean the preset's own instrument (other matches substitute).
OWN_NAMES = {"flute": "flute", "violin": "violin", "alto_sax": "alto", "trumpet": "trumpet",
             "piano": "piano"}  # fmt: skip


def preset_for_part(
    program: int | None,
    name: str,
    *,
    quiet: bool = False,
    substitutes: dict[int, str] | None = None,
    label: str = "",
) -> str:
    """The shipped preset for a part: by ``substitutes`` (GM program -> preset), by GM
    program, by name, else piano. Unless ``quiet``, a notice says when the preset plays
    another instrument's part."""
    chosen, own = _choose(program, name, substitutes or {})
    if not quiet and not own:
        gm = "" if program is None else f" (GM {program + 1} {_program_name(program)})"
        logger.info(f"{label}part {name!r}{gm} played by {chosen}")
    return chosen


def _choose(program: int | None, name: str, substitutes: dict[int, str]) -> tuple[str, bool]:
    """The preset for a part and whether it is the part's own instrument (a substitution the
    user asked for counts as their choice)."""
    if program is not None and program in substitutes:
        return substitutes[program], True
    lowered = name.lower()
    if program is not None:
        for programs, preset in PROGRAM_PRESETS:
            if program in programs:
                return preset, program in OWN_PROGRAMS[preset] or OWN_NAMES[preset] in lowered
    for word, preset in NAME_PRESETS.items():
        if word in lowered:
            return preset, OWN_NAMES[preset] in lowered
    return "piano", False


def _program_name(program: int) -> str:
    import pretty_midi

    return pretty_midi.program_to_instrument_name(program)


def _preset_for_part(part, override: str | None, substitutes: dict[int, str], label: str):
    from midivae.presets.preset import cached_preset

    if override is not None:
        return cached_preset(override)
    return cached_preset(
        preset_for_part(part.program, part.name, substitutes=substitutes, label=label)
    )


def stem_path(target: Path, name: str) -> Path:
    """Where stem ``name`` of a render written to ``target`` goes: ``<stem>.<name><suffix>``
    beside it."""
    return target.with_name(f"{target.stem}.{name}{target.suffix}")


def stem_names(score: Score) -> dict[int, str]:
    """A file-name-safe, unique stem name per part index, from the part's name (its GM
    instrument or ``part<N>`` where it has none)."""
    import re

    names: dict[int, str] = {}
    taken: set[str] = set()
    for part in score.parts:
        raw = part.name or (_program_name(part.program) if part.program is not None else "")
        base = re.sub(r"[^A-Za-z0-9+-]+", "_", raw).strip("_")[:40] or f"part{part.index + 1}"
        name, k = base, 2
        while name.lower() in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name.lower())
        names[part.index] = name
    return names


def _curve_frames(curve, n_frames: int, frame_seconds: float) -> np.ndarray:
    """A step curve sampled at every frame time."""
    return np.asarray(curve.at(np.arange(n_frames) * frame_seconds), dtype=np.float64)


def bend_frames(frames: np.ndarray, semitones: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Shift each frame by its pitch bend (fractional bins; held values share one shift)."""
    from midivae.spectral.shift import detune

    out = frames.copy()
    for value in np.unique(semitones):
        if value == 0.0:
            continue
        rows = semitones == value
        out[rows] = detune(frames[rows], 100.0 * float(value), config)
    return out


@dataclass(frozen=True)
class RenderedPart:
    """One score part as rendered at the models' rate: its stem ``audio``, the magnitude
    ``frames`` it was reconstructed from, where its notes sound (``spans``), its ``notes``
    and its instrument's release slope (for gating what is added at the output rate)."""

    name: str
    pan: float
    audio: np.ndarray
    frames: np.ndarray = field(repr=False)
    spans: list[NoteSpan] = field(repr=False)
    notes: list[NoteEvent] = field(repr=False)
    release_db_per_second: float = 0.0


def render_parts(
    score: Score,
    *,
    preset: str | None = None,
    settings: RenderSettings | None = None,
    seed: int = 0,
    label: str = "",
) -> list[RenderedPart]:
    """Every part of ``score`` with notes, rendered (mono float32 at 22050 Hz), named by
    :func:`stem_names` and placed by :func:`~midivae.rendering.mixdown.seating`.

    ``label`` (e.g. ``"score.mid: "``) starts every notice.
    """
    settings = settings or RenderSettings()
    config = SpectralConfig()
    if not score.notes:
        raise MidivaeError("no notes to render")
    seconds = max(n.offset for n in score.notes) + TAIL_SECONDS
    n_frames = round(seconds / config.frame_seconds) + 1
    n_samples = round(seconds * config.sample_rate)
    names = stem_names(score)
    seats = seating([p.pan for p in score.parts])
    pans = {part.index: pan for part, pan in zip(score.parts, seats, strict=True)}
    out: list[RenderedPart] = []
    for part in score.parts:
        notes = score.part_notes(part.index)
        if not notes:
            continue
        part_label = f"{label}part {part.name or part.index + 1!r}: "
        model = _preset_for_part(part, preset, settings.substitutes, label)
        slot = slot_for_part(model, part)
        gain = None
        if part.index in score.gain_curves:
            curve = score.gain_curves[part.index]
            gain = _curve_frames(curve, n_frames, config.frame_seconds)
        pitches, placed = place_notes(model, notes, n_frames, slot)
        frames = render_part(
            model,
            notes,
            n_frames,
            settings=settings,
            seed=seed + 7919 * part.index,
            gain=gain,
            slot=slot,
            label=part_label,
            placement=(pitches, placed),
        )
        bend = None
        if part.index in score.bend_curves:
            bend = _curve_frames(score.bend_curves[part.index], n_frames, config.frame_seconds)
        if settings.trajectory.mode == "walk" and settings.vibrato:
            rng = np.random.default_rng(seed + 7919 * part.index + 1)
            wobble = vibrato_curve(
                model.instruments[slot], notes, n_frames, config.frame_seconds, rng
            )
            if wobble is not None:
                bend = wobble if bend is None else bend + wobble
        if bend is not None:
            frames = bend_frames(frames, bend, config)
        power = frames.astype(np.float64) ** 2
        audio = reconstruct(frames, config, n_samples=n_samples, settings=settings.phase)
        lengths = {i: len(gains) * config.frame_seconds for i, _, gains in placed}
        spans_s = [lengths.get(i, 0.0) for i in range(len(notes))]
        sounding = [NoteEvent(n.onset, n.offset, int(p), n.velocity, n.part)
                    for n, p in zip(notes, pitches, strict=True)]  # fmt: skip
        # the STFT gate first: its resynthesis must not leak into what the gates below silence
        audio = pre_echo_gate(audio, sounding, spans_s, config)
        audio = audio * silence_gate(power.sum(axis=1) > 0.0, n_samples, config)
        envelope = model.meta.get("envelope") or {}
        release = float(envelope.get("release_db_per_second", 0.0))
        audio = audio * articulation_gate(notes, release, n_samples, config.sample_rate)
        spans = [NoteSpan(int(pitches[i]), start, len(gains)) for i, start, gains in placed]
        audio = audio.astype(np.float32)
        out.append(
            RenderedPart(names[part.index], pans[part.index], audio, frames, spans, notes, release)
        )
    return out


def render_score(
    score: Score,
    *,
    preset: str | None = None,
    settings: RenderSettings | None = None,
    seed: int = 0,
    label: str = "",
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The mix (soft-limited) and one stem per part of ``score``, mono float32 at the
    models' 22050 Hz, the stems keyed by :func:`stem_names` (:func:`render_parts`)."""
    parts = render_parts(score, preset=preset, settings=settings, seed=seed, label=label)
    stems = {part.name: part.audio for part in parts}
    return soft_limit(np.sum(list(stems.values()), axis=0)), stems


def full_band(part: RenderedPart, rate: int, seed: int = 0) -> np.ndarray:
    """``part``'s stem at ``rate`` with its partials above the models' band
    (:func:`~midivae.rendering.band.extend_band`), gated as its notes end."""
    audio = resample(part.audio, rate)
    config = SpectralConfig()
    upper = extend_band(part.frames, part.spans, config, rate, len(audio), seed)
    if not upper.any():
        return audio
    gate = articulation_gate(part.notes, part.release_db_per_second, len(audio), rate)
    return (audio + upper * gate).astype(np.float32)


#: A note re-struck at its own pitch with (nearly) no gap lets go ``REARTICULATION_S`` before
#: the repeat, at least as fast as ``REARTICULATION_DB_PER_SECOND``, so the repeat has an
#: attack of its own (a dip of about 6 dB, as a re-bowed or re-tongued note has).
REARTICULATION_S = 0.04
REARTICULATION_DB_PER_SECOND = -200.0


def _repeated_before(notes: list[NoteEvent]) -> list[float | None]:
    """Per note, the onset of the same pitch's next note where it starts less than
    ``REARTICULATION_S`` after this one ends (a legato repeat), else None."""
    out: list[float | None] = [None] * len(notes)
    by_pitch: dict[int, list[int]] = {}
    for i, note in enumerate(notes):
        by_pitch.setdefault(note.pitch, []).append(i)
    for indices in by_pitch.values():
        indices.sort(key=lambda i: notes[i].onset)
        for a, b in itertools.pairwise(indices):
            if (
                notes[b].onset - notes[a].offset < REARTICULATION_S
                and notes[b].onset > notes[a].onset
            ):
                out[a] = notes[b].onset
    return out


def articulation_gate(
    notes: list[NoteEvent],
    release_db_per_second: float,
    n_samples: int,
    sample_rate: int,
    *,
    floor: float = ARTICULATION_FLOOR,
) -> np.ndarray:
    """Per-sample gain that lets each note stop as fast as the instrument does.

    Phase reconstruction works from magnitude frames whose low bands are smeared over their
    long analysis windows (~150 ms at A4), so a short gap between two notes (a tongued or
    re-bowed repeat, 50-100 ms) comes back only ~3 dB deep, and the next attack's smear
    reaches ~10 ms ahead of it. Each note contributes a gain that rises over ``ONSET_RAMP``
    from ``ONSET_DELAY`` after its onset, holds to as long after its offset, then falls at
    the instrument's measured ``release_db_per_second``; contributions add as power (so
    legato notes are untouched), and the gain never goes below ``floor`` (what is left of a
    release tail is held down, not taken away). A legato repeat of the same pitch is
    re-struck: the earlier note lets go ``REARTICULATION_S`` before it.
    """
    if release_db_per_second >= 0.0 or not notes:
        return np.ones(n_samples, dtype=np.float32)
    power = np.zeros(n_samples)
    repeated = _repeated_before(notes)
    for note, next_onset in zip(notes, repeated, strict=True):
        begin = note.onset + ONSET_DELAY
        hold_end = note.offset + ONSET_DELAY + ONSET_RAMP
        slope = release_db_per_second
        if next_onset is not None:  # re-struck legato: let go just before, quickly
            hold_end = min(hold_end, next_onset - REARTICULATION_S + ONSET_DELAY)
            slope = min(slope, REARTICULATION_DB_PER_SECOND)
        lo = max(int(begin * sample_rate), 0)
        hi = min(int(np.ceil((hold_end - 60.0 / slope) * sample_rate)), n_samples)
        if hi <= lo:
            continue
        t = np.arange(lo, hi) / sample_rate
        after = np.maximum(t - hold_end, 0.0)
        gain = np.clip((t - begin) / ONSET_RAMP, 0.0, 1.0) * 10.0 ** (slope * after / 20.0)
        power[lo:hi] += gain**2
    return (floor + (1.0 - floor) * np.minimum(np.sqrt(power), 1.0)).astype(np.float32)


#: The pre-echo gate (:func:`pre_echo_gate`) looks back before each onset as far as the
#: NSGT's window at each frequency reaches (``PRE_ECHO_WINDOWS`` of its length, at most
#: ``PRE_ECHO_MAX_S``) and lets a new note's partials rise by at most ``PRE_ECHO_RISE_DB``
#: there; its STFT.
PRE_ECHO_WINDOWS = 1.5
PRE_ECHO_MAX_S = 2.0
PRE_ECHO_RISE_DB = 1.0
GATE_FFT = 1024
GATE_HOP = 128


def pre_echo_gate(
    audio: np.ndarray,
    notes: list[NoteEvent],
    spans_s: list[float],
    config: SpectralConfig,
) -> np.ndarray:
    """``audio`` with each onset's pre-echo taken out.

    Phase reconstruction spreads an attack back over the long low-frequency analysis windows
    (a second at C2): a chord is heard swelling for hundreds of milliseconds before it is
    played. In an STFT of the part, before each onset (from the previous onset on, at most,
    and as far back as the constant-Q window at each bin's frequency reaches) the bins of the
    new notes' partials that no note sounding through the onset shares may not rise above
    the lowest level they had since that span began (plus ``PRE_ECHO_RISE_DB``): tails may
    decay, nothing may swell. Louder cells are scaled down to it, up to ``ONSET_DELAY``
    after the onset. ``spans_s`` is how long each note of
    ``notes`` sounds, its release tail included. Other bins, and vibrato or swells of the
    notes already sounding, are untouched.
    """
    from scipy.signal import istft, stft

    audio = np.asarray(audio, dtype=np.float64)
    if len(audio) < GATE_FFT or not notes:
        return audio.astype(np.float32)
    sample_rate = config.sample_rate
    overlap = GATE_FFT - GATE_HOP
    freqs, times, spectrum = stft(audio, sample_rate, nperseg=GATE_FFT, noverlap=overlap)
    magnitude = np.abs(spectrum)
    limit = np.full(magnitude.shape, np.inf)
    rise = 10.0 ** (PRE_ECHO_RISE_DB / 20.0)
    width = 1.5 * sample_rate / GATE_FFT  # Hz either side of a partial
    q = 1.0 / (2.0 ** (1.0 / config.bins_per_octave) - 1.0)
    reach = np.minimum(PRE_ECHO_WINDOWS * q / np.maximum(freqs, 1.0), PRE_ECHO_MAX_S)
    onsets = np.array([n.onset for n in notes])
    ends = onsets + np.asarray(spans_s)
    previous = -np.inf
    for onset in np.unique(onsets):
        begin = np.maximum(onset - reach, previous)  # per bin
        previous = onset
        starting = [n.pitch for n, t in zip(notes, onsets, strict=True) if t == onset]
        sounding = [n.pitch for n, t, e in zip(notes, onsets, ends, strict=True)
                    if t < onset < e]  # fmt: skip
        bins = np.flatnonzero(
            _partial_bins(starting, freqs, width) & ~_partial_bins(sounding, freqs, width)
        )
        inside = (times[None, :] >= begin[bins, None]) & (times[None, :] <= onset + ONSET_DELAY)
        lowest = np.minimum.accumulate(np.where(inside, magnitude[bins], np.inf), axis=1)
        block = limit[bins]
        limit[bins] = np.where(inside, np.minimum(block, lowest * rise), block)
    gain = np.minimum(1.0, limit / np.maximum(magnitude, 1e-20))
    if gain.min() >= 1.0:
        return audio.astype(np.float32)
    _, out = istft(spectrum * gain, sample_rate, nperseg=GATE_FFT, noverlap=overlap)
    return out[: len(audio)].astype(np.float32)


def _partial_bins(pitches: list[int], freqs: np.ndarray, width: float) -> np.ndarray:
    """Which STFT bins ``freqs`` lie within ``width`` Hz of a partial of ``pitches``."""
    near = np.zeros(len(freqs), dtype=bool)
    for pitch in set(pitches):
        f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
        partials = np.arange(1, int(freqs[-1] / f0) + 1) * f0
        index = np.searchsorted(partials, freqs)
        below = np.abs(freqs - partials[np.clip(index - 1, 0, len(partials) - 1)])
        above = np.abs(freqs - partials[np.clip(index, 0, len(partials) - 1)])
        near |= np.minimum(below, above) <= width
    return near


def silence_gate(sounding: np.ndarray, n_samples: int, config: SpectralConfig) -> np.ndarray:
    """Per-sample gain: 1 where any frame of the score sounds, 0 where all are silent.

    Phase reconstruction spreads every onset back over the analysis windows (up to seconds
    at the lowest bands), so a rest before an entry carries a faint pre-echo of it, 40 to 90
    dB down, that pitch trackers still hear as the next note arriving early. The score says
    those frames are silent (past the end of every release tail): they are made so, with a
    raised-cosine ramp of one hop from a silent frame's centre to the next frame's.
    """
    hop = config.hop_length
    frame = np.asarray(sounding, dtype=np.float64)
    times = np.arange(n_samples) / hop
    gate = np.interp(times, np.arange(len(frame)), frame)
    return (0.5 - 0.5 * np.cos(np.pi * gate)).astype(np.float32)


AUDIO_OUTPUT_SUFFIXES = (".wav", ".flac")


@dataclass(frozen=True)
class Rendering:
    """A rendered score: the mix and one stem per part at ``sample_rate``, float32, ``(n,)``
    mono or ``(n, 2)`` stereo (:class:`MixSettings`).

    Examples
    --------
    >>> rendering = midivae.render("score.musicxml", seed=3)  # doctest: +SKIP
    >>> rendering.save("score.wav", stems=True)  # doctest: +SKIP
    """

    audio: np.ndarray
    sample_rate: int
    #: One stem per score part (named by :func:`stem_names`), summing to the mix.
    stems: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    n_notes: int = 0

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate

    def save(self, path: str | Path, *, stems: bool = False, overwrite: bool = False) -> None:
        """Write the mix to ``path`` (``.wav`` or ``.flac``; an existing file only with
        ``overwrite``); with ``stems``, one ``<stem>.<part><suffix>`` per part beside it. All
        files appear together or, on any failure, none."""
        path = Path(path)
        check_audio_suffix(path)
        outputs = {path: self.audio}
        if stems:
            outputs |= {stem_path(path, name): audio for name, audio in self.stems.items()}
        with atomic_outputs(list(outputs), overwrite=overwrite) as temps:  # all or none
            for temp, audio in zip(temps, outputs.values(), strict=True):
                save_audio(temp, audio, sample_rate=self.sample_rate, overwrite=True)

    def summary(self) -> str:
        """One line: notes, parts, length, rate and channels."""
        channels = "stereo" if self.audio.ndim == 2 else "mono"
        return (
            f"{self.n_notes} notes, {', '.join(self.stems)}, {self.seconds:.1f} s, "
            f"{self.sample_rate} Hz {channels}"
        )


def check_audio_suffix(target: Path) -> None:
    """A MidivaeError unless ``target`` names a WAV or FLAC file."""
    if Path(target).suffix.lower() not in AUDIO_OUTPUT_SUFFIXES:
        raise MidivaeError("output must end in .wav or .flac", target)


def render(
    score: Score | str | Path,
    *,
    preset: str | Path | None = None,
    settings: RenderSettings | None = None,
    seed: int = 0,
) -> Rendering:
    """Render a score (a :class:`~midivae.scores.Score` or a MIDI / MusicXML file) to audio.

    Parameters
    ----------
    score : Score or path
        What to play; parts map to shipped presets by GM program and part name.
    preset : str or Path, optional
        Play every part with this shipped preset (name) or preset folder.
    settings : RenderSettings, optional
        Latent trajectory (``mean``, ``sample``, ``walk``), phase reconstruction, program
        substitutes and the mixdown (default 44.1 kHz stereo at the calibrated levels).
    seed : int
        Seed of sampled or walked latents and of the phase reconstruction's start.

    Examples
    --------
    >>> midivae.render("examples/example_score.musicxml").save("out.wav")  # doctest: +SKIP
    """
    source = None if isinstance(score, Score) else Path(score)
    if source is not None:
        score = read_score(source)
    return _render(score, source, preset=preset, settings=settings, seed=seed)


def _render(
    score: Score,
    source: Path | None,
    *,
    preset: str | Path | None,
    settings: RenderSettings | None,
    seed: int,
) -> Rendering:
    """:func:`render` of a read ``score``; ``source`` (its file) names it in notices and
    errors."""
    settings = settings or RenderSettings()
    try:
        parts = render_parts(
            score,
            preset=None if preset is None else str(preset),
            settings=settings,
            seed=seed,
            label="" if source is None else f"{source}: ",
        )
    except MidivaeError as error:
        if error.path is None and source is not None:
            raise MidivaeError(error.message, source) from None
        raise
    rate = settings.mix.sample_rate
    stems = {part.name: full_band(part, rate, seed + 7919 * k) for k, part in enumerate(parts)}
    mix, stems = mixdown(stems, {part.name: part.pan for part in parts}, settings.mix, rate)
    return Rendering(
        audio=mix, sample_rate=settings.mix.sample_rate, stems=stems, n_notes=len(score.notes)
    )


def render_file(
    source: Path,
    target: Path,
    *,
    preset: str | None = None,
    settings: RenderSettings | None = None,
    seed: int = 0,
    stems: bool = False,
    overwrite: bool = False,
) -> str:
    """Render a score file into ``target`` (``.wav`` or ``.flac``); stems beside it. Every
    output is checked before any rendering starts."""
    check_audio_suffix(target)
    score = read_score(source)
    names = stem_names(score).values() if stems else ()
    for path in (target, *(stem_path(target, name) for name in names)):
        check_target(path, overwrite=overwrite)
    rendering = _render(score, source, preset=preset, settings=settings, seed=seed)
    rendering.save(target, stems=stems, overwrite=overwrite)
    return rendering.summary()
