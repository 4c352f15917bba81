"""Score -> per-note symbols -> q(z|y) -> latent trajectories -> spectra -> audio.

Each note becomes a symbol vector (pitch, pitch class, octave, dynamics, velocity), the symbol
encoder gives its posterior, and a latent trajectory runs over the note's frames
(:mod:`midivae.latent`: ``mean``, a seeded ``sample`` per note, or a ``walk`` inside the
posterior). The signal decoder turns every latent frame into magnitudes; the instrument's
measured attack and release envelope shapes them; notes are summed per instrument (power sum,
as partials of independent notes add), CC7/CC11 gain curves scale them and pitch bend shifts
them; phase reconstruction and the numba inverse NSGT make audio. Levels are absolute (the
model's amplitudes are calibrated to the reference render gain), with a soft limiter only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from midivae.audio import save_audio
from midivae.errors import MidivaeError
from midivae.latent import TrajectorySettings, note_trajectory
from midivae.scores import NoteEvent, Score, read_score
from midivae.spectral import SpectralConfig, decompress
from midivae.spectral.phase import PhaseSettings, reconstruct

logger = logging.getLogger("midivae")

TAIL_SECONDS = 1.0  # rendered after the last note-off
LIMIT = 0.98  # soft limiter ceiling


@dataclass(frozen=True)
class RenderSettings:
    """How latents are drawn and audio is made."""

    trajectory: TrajectorySettings = field(default_factory=TrajectorySettings)
    phase: PhaseSettings = field(default_factory=PhaseSettings)
    sample_rate: int = 22050


def soft_limit(audio: np.ndarray, ceiling: float = LIMIT) -> np.ndarray:
    """Leave samples under half the ceiling alone; bend louder ones smoothly below it."""
    knee = ceiling / 2
    out = np.asarray(audio, dtype=np.float64).copy()
    loud = np.abs(out) > knee
    excess = (np.abs(out[loud]) - knee) / (ceiling - knee)
    out[loud] = np.sign(out[loud]) * (knee + (ceiling - knee) * np.tanh(excess))
    return out.astype(np.float32)


def note_labels(note: NoteEvent) -> dict[str, np.ndarray]:
    """Frame labels (as the corpus stores them) for one sounding frame of ``note``."""
    from midivae.corpus.labels import dynamics_class

    return {
        "pitch": np.array([note.pitch]),
        "pitch_class": np.array([note.pitch % 12]),
        "octave": np.array([note.pitch // 12 - 1]),
        "dynamics": np.atleast_1d(dynamics_class(note.velocity)),
        "velocity": np.array([note.velocity]),
        "keys": _keys(note.pitch),
    }


def symbol_vector(preset, pitch: int, velocity: int) -> np.ndarray:
    """The preset's symbol vector ``(1, width)`` for one note; other slots rest."""
    labels = note_labels(NoteEvent(0.0, 1.0, pitch, velocity))
    slots = preset.vocabulary.n_slots
    if slots > 1:
        rest = {"pitch": -1, "pitch_class": 12, "octave": -1, "dynamics": -1, "velocity": 0}
        labels = {
            key: np.concatenate(
                [value[:, None] if value.ndim == 1 else value[:, None, :]]
                + [
                    np.full_like(
                        value[:, None] if value.ndim == 1 else value[:, None, :], rest.get(key, 0)
                    )
                ]
                * (slots - 1),
                axis=1,
            )
            for key, value in labels.items()
        }
    return preset.vocabulary.encode(labels)


def _keys(pitch: int) -> np.ndarray:
    keys = np.zeros((1, 88), dtype=bool)
    if 21 <= pitch <= 108:
        keys[0, pitch - 21] = True
    return keys


def fit_range(pitch: int, low: int, high: int) -> int:
    """``pitch`` moved by octaves into ``[low, high]``."""
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch


def render_part(
    preset,
    notes: list[NoteEvent],
    n_frames: int,
    *,
    settings: RenderSettings,
    seed: int,
    gain: np.ndarray | None = None,
) -> np.ndarray:
    """Amplitude frames ``(n_frames, n_bins)`` of one instrument playing ``notes``."""
    from midivae.corpus.envelopes import Envelope
    from midivae.corpus.instruments import get_instrument

    config: SpectralConfig = preset.spectral
    instrument = get_instrument(preset.instruments[0])
    low, high = instrument.low, instrument.high
    envelope_data = preset.meta.get("envelope")
    envelope = Envelope.from_dict(envelope_data) if envelope_data else Envelope.flat()
    power = np.zeros((n_frames, config.n_bins), dtype=np.float64)
    moved = 0
    rng = np.random.default_rng(seed)
    for note in notes:
        pitch = fit_range(note.pitch, low, high)
        moved += pitch != note.pitch
        vector = preset.vocabulary.encode(
            note_labels(NoteEvent(note.onset, note.offset, pitch, note.velocity, note.part))
        )
        mu, logvar = preset.encode_symbols(vector)
        start = round(note.onset / config.frame_seconds)
        held = max(1, round(note.offset / config.frame_seconds) - start)
        gains = envelope.gains(held, config.frame_seconds)
        length = min(len(gains), n_frames - start)
        if length <= 0:
            continue
        z = note_trajectory(mu[0], logvar[0], length, settings.trajectory, rng)
        amplitude = decompress(preset.decode_signal(z), config).astype(np.float64)
        power[start : start + length] += (amplitude * gains[:length, None]) ** 2
    if moved:
        logger.info(f"{moved} notes outside {preset.name}'s range moved by octaves")
    frames = np.sqrt(power)
    if gain is not None:
        frames *= gain[:, None]
    return frames.astype(np.float32)


#: General MIDI program ranges -> the shipped preset that plays them.
PROGRAM_PRESETS = (
    (range(0, 8), "piano"),
    (range(40, 48), "violin"),
    (range(56, 64), "trumpet"),
    (range(64, 72), "alto_sax"),
    (range(72, 80), "flute"),
)
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


def preset_for_part(program: int | None, name: str) -> str:
    """The shipped preset for a part: by GM program, else by name, else piano (with a notice)."""
    if program is not None:
        for programs, preset in PROGRAM_PRESETS:
            if program in programs:
                return preset
    lowered = name.lower()
    for word, preset in NAME_PRESETS.items():
        if word in lowered:
            return preset
    logger.info(f"part {name or program!r}: no matching preset, played by piano")
    return "piano"


def _preset_for_part(part, override: str | None, cache: dict):
    from midivae.preset import load_preset

    name = override or preset_for_part(part.program, part.name)
    if name not in cache:
        cache[name] = load_preset(name)
    return cache[name]


def _curve_frames(curve, n_frames: int, frame_seconds: float) -> np.ndarray:
    """A step curve sampled at every frame time."""
    return np.asarray(curve.at(np.arange(n_frames) * frame_seconds), dtype=np.float64)


def bend_frames(frames: np.ndarray, semitones: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Shift each frame by its pitch bend (fractional bins; held values share one shift)."""
    from midivae.corpus.augment import detune

    out = frames.copy()
    for value in np.unique(semitones):
        if value == 0.0:
            continue
        rows = semitones == value
        out[rows] = detune(frames[rows], 100.0 * float(value), config)
    return out


def render_score(
    score: Score,
    *,
    preset: str | None = None,
    settings: RenderSettings | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The mix and one stem per instrument (mono float32 at 22050 Hz) of ``score``."""
    settings = settings or RenderSettings()
    config = SpectralConfig()
    if not score.notes:
        raise MidivaeError("no notes to render")
    seconds = max(n.offset for n in score.notes) + TAIL_SECONDS
    n_frames = round(seconds / config.frame_seconds) + 1
    cache: dict = {}
    stems_power: dict[str, np.ndarray] = {}
    for part in score.parts:
        notes = score.part_notes(part.index)
        if not notes:
            continue
        model = _preset_for_part(part, preset, cache)
        gain = None
        if part.index in score.gain_curves:
            gain = _curve_frames(score.gain_curves[part.index], n_frames, config.frame_seconds)
        frames = render_part(
            model, notes, n_frames, settings=settings, seed=seed + 7919 * part.index, gain=gain
        )
        if part.index in score.bend_curves:
            bend = _curve_frames(score.bend_curves[part.index], n_frames, config.frame_seconds)
            frames = bend_frames(frames, bend, config)
        key = model.name
        stems_power[key] = stems_power.get(key, 0.0) + frames.astype(np.float64) ** 2
    n_samples = round(seconds * config.sample_rate)
    stems = {}
    for name, power in stems_power.items():
        audio = reconstruct(np.sqrt(power), config, n_samples=n_samples, settings=settings.phase)
        stems[name] = audio
    mix = np.sum(list(stems.values()), axis=0)
    return soft_limit(mix), {name: soft_limit(audio) for name, audio in stems.items()}


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
    """Render a score file into ``target`` (``.wav`` or ``.flac``); stems beside it."""
    settings = settings or RenderSettings()
    if target.suffix.lower() not in (".wav", ".flac"):
        raise MidivaeError("output must end in .wav or .flac", target)
    score = read_score(source)
    try:
        mix, parts = render_score(score, preset=preset, settings=settings, seed=seed)
    except MidivaeError as error:
        if error.path is None:
            raise MidivaeError(error.message, source) from None
        raise
    rate = settings.sample_rate
    save_audio(target, _resample(mix, rate), sample_rate=rate, overwrite=overwrite)
    if stems:
        for name, audio in parts.items():
            stem = target.with_name(f"{target.stem}.{name}{target.suffix}")
            save_audio(stem, _resample(audio, rate), sample_rate=rate, overwrite=overwrite)
    return f"{len(score.notes)} notes, {', '.join(parts)}, {len(mix) / 22050:.1f} s"


def _resample(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == 22050:
        return audio
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, 22050)
    return resample_poly(audio, rate // g, 22050 // g).astype(np.float32)
