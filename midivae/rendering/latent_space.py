"""Creative latent tools (paper §6.2): spectral morphing and a free walk with symbolic feedback.

``morph``: the stationary frames of two sounds (after the first 100 ms, within 6 dB of the
sound's peak level) are encoded with the signal encoder and pooled into one posterior each;
a path of ``steps`` posteriors interpolates mean and log-variance; each step's mean is
decoded and held for a segment; neighbouring segments cross-fade in the magnitude domain;
one phase reconstruction makes the audio. The straight line between two notes crosses a
region that decodes to a blend (both fundamentals, a louder sum of shared partials, a rest
reading), so each step is pulled a little towards where the symbol decoder reads one clear
note (:func:`clarify`, ``clarity=0`` keeps the line): the midpoint is a sound of the model,
read as one pitch, not a mixture of both.

``explore``: a smooth random walk in the prior ``N(0, I)``
(:func:`midivae.rendering.trajectories.smooth_walk`) decoded frame by frame. Most of the prior
decodes to the rest label, so rests longer than ``max_rest_seconds`` are shortened (their middle is
cut; every kept frame is still on the prior walk). The symbol decoder's reading of the same frames,
tracked into notes by :mod:`midivae.transcription.notes`, is the walk's score; the decoded
magnitudes sound only inside those notes (a frame the decoder reads as rest is silent), so what is
heard is what is written. Both are calibrated (no normalisation), seeded and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from midivae.audio import load_audio, save_audio
from midivae.errors import MidivaeError
from midivae.rendering.trajectories import interpolate_posteriors, shorten_rests, smooth_walk
from midivae.scores import NoteEvent, Part
from midivae.spectral import analyse, compress, decompress
from midivae.spectral.phase import PhaseSettings, reconstruct

if TYPE_CHECKING:
    from midivae.presets.preset import Preset

SILENCE = 1e-4  # amplitude under which a sound is silent (-80 dBFS)
SKIP_SECONDS = 0.1  # the attack left out of a sound's stationary part
STATIONARY_DB = 6.0  # stationary frames: within this many dB of the peak level


@dataclass(frozen=True)
class MorphSettings:
    """How a morph is laid out in time."""

    steps: int = 8
    seconds_per_step: float = 0.5
    crossfade_seconds: float = 0.06
    attack_seconds: float = 0.03
    release_seconds: float = 0.15
    clarity: float = 0.5  # pull of each step towards a clearly read note; 0: straight line
    phase: PhaseSettings = field(default_factory=PhaseSettings)

    def __post_init__(self) -> None:
        if self.steps < 2:
            raise ValueError("a morph needs at least 2 steps")
        if self.seconds_per_step <= 0:
            raise ValueError("seconds_per_step must be positive")


@dataclass(frozen=True)
class Morph:
    """A morph's audio and its parts: the path, the segments' frames and spectra."""

    audio: np.ndarray  # float32 mono at 22050 Hz
    mu: np.ndarray  # (steps, latent)
    logvar: np.ndarray  # (steps, latent)
    frames: np.ndarray  # amplitudes (n_frames, n_bins) that were resynthesised
    segments: list[tuple[int, int]]  # frame range [start, stop) of each step
    spectra: np.ndarray  # decoded compressed spectrum (steps, n_bins) of each step


def stationary_posterior(preset: Preset, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled signal posterior ``(mu, logvar)`` of a sound's stationary frames.

    Frames after the first ``SKIP_SECONDS`` whose level is within ``STATIONARY_DB`` of the
    peak; ``mu`` is their mean posterior mean, the variance the mean variance plus the
    spread of the means (the moments of their equal mixture).
    """
    config = preset.spectral
    amplitude = analyse(np.asarray(audio, dtype=np.float64), config)
    if amplitude.size == 0 or amplitude.max() <= SILENCE:
        raise MidivaeError("silent: nothing to encode")
    level = 10 * np.log10(np.sum(amplitude.astype(np.float64) ** 2, axis=1) + 1e-20)
    skip = min(round(SKIP_SECONDS / config.frame_seconds), len(level) - 1)
    after = level[skip:]
    chosen = skip + np.flatnonzero(after >= after.max() - STATIONARY_DB)
    mu, logvar = preset.encode_signal(compress(amplitude[chosen], config))
    mean = mu.astype(np.float64).mean(axis=0)
    var = np.exp(logvar.astype(np.float64)).mean(axis=0) + mu.astype(np.float64).var(axis=0)
    return mean, np.log(var)


def clarify(preset: Preset, z: np.ndarray, strength: float, iterations: int = 60) -> np.ndarray:
    """Move latents ``(n, latent)`` a little, towards where the symbol decoder reads one note.

    Each point minimises ``|z - z0|^2 / 2 + strength * (H(pitch | sound) - log p(sound))``
    (Adam, fixed steps): the entropy of the pitch reading among notes and the surprise of
    hearing one. A straight line between two notes crosses a region that decodes to a blend
    of both (both fundamentals, a rest reading, a louder sum of shared partials); the pulled
    path stays on sounds the model reads as one pitch. Presets without a ``pitch`` family are
    left alone.
    """
    import torch

    spans = [
        preset.vocabulary.span(index)
        for index, family in enumerate(preset.vocabulary.families)
        if family.name == "pitch" and family.has_rest
    ]
    if not spans:
        return z
    symbol = preset.model.symbol
    start = torch.as_tensor(np.asarray(z, np.float32))
    point = start.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([point], lr=0.05)
    for _ in range(iterations):
        probabilities = symbol.probabilities(symbol.decode(point))
        loss = 0.5 * ((point - start) ** 2).sum()
        for span in spans:
            family = probabilities[:, span]
            sound = 1.0 - family[:, -1]
            notes = family[:, :-1] / (sound[:, None] + 1e-8)
            entropy = -(notes * torch.log(notes + 1e-8)).sum(dim=1)
            loss = loss + strength * (entropy - torch.log(sound + 1e-6)).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return point.detach().numpy().astype(np.float64)


def segment_weights(n_segments: int, segment_frames: int, crossfade_frames: int) -> np.ndarray:
    """Weights ``(n_segments * segment_frames, n_segments)``: held segments, linear fades."""
    n_frames = n_segments * segment_frames
    hard = np.zeros((n_frames, n_segments))
    hard[np.arange(n_frames), np.arange(n_frames) // segment_frames] = 1.0
    width = int(np.clip(crossfade_frames, 1, segment_frames))
    if width == 1:
        return hard
    padded = np.pad(hard, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
    cumulative = np.cumsum(np.pad(padded, ((1, 0), (0, 0))), axis=0)
    return (cumulative[width:] - cumulative[:-width]) / width


def morph(
    preset, audio_a: np.ndarray, audio_b: np.ndarray, settings: MorphSettings | None = None
) -> Morph:
    """Morph ``audio_a`` into ``audio_b`` (mono float32 at 22050 Hz) through the latent space."""
    start = stationary_posterior(preset, audio_a)
    return morph_posteriors(preset, start, stationary_posterior(preset, audio_b), settings)


def morph_posteriors(
    preset: Preset,
    start: tuple[np.ndarray, np.ndarray],
    stop: tuple[np.ndarray, np.ndarray],
    settings: MorphSettings | None = None,
) -> Morph:
    """Morph between two posteriors ``(mu, logvar)``: decode, hold, cross-fade, resynthesise."""
    settings = settings or MorphSettings()
    config = preset.spectral
    mu, logvar = interpolate_posteriors(start, stop, settings.steps)
    if settings.clarity > 0:
        mu = clarify(preset, mu, settings.clarity)
    spectra = preset.decode_signal(mu.astype(np.float32))
    segment = max(1, round(settings.seconds_per_step / config.frame_seconds))
    weights = segment_weights(
        settings.steps, segment, round(settings.crossfade_seconds / config.frame_seconds)
    )
    frames = weights @ decompress(spectra, config).astype(np.float64)
    attack = max(1, round(settings.attack_seconds / config.frame_seconds))
    release = max(1, round(settings.release_seconds / config.frame_seconds))
    envelope = np.ones(len(frames))
    envelope[:attack] = np.linspace(0.0, 1.0, attack + 1)[1:]
    envelope[-release:] = np.minimum(envelope[-release:], np.linspace(1.0, 0.0, release))
    tail = np.zeros((release, frames.shape[1]))
    frames = np.concatenate([frames * envelope[:, None], tail]).astype(np.float32)
    sound = reconstruct(frames, config, settings=settings.phase)
    from midivae.rendering.render import soft_limit

    bounds = [(k * segment, (k + 1) * segment) for k in range(settings.steps)]
    return Morph(soft_limit(sound), mu, logvar, frames, bounds, spectra)


def morph_files(
    source_a: Path,
    source_b: Path,
    target: Path,
    *,
    preset: str | Path = "auto",
    settings: MorphSettings | None = None,
    overwrite: bool = False,
) -> str:
    """Morph two audio files into ``target`` (``.wav`` or ``.flac``); a one-line summary."""
    from midivae.presets.preset import cached_preset
    from midivae.transcription.choice import choose_preset

    settings = settings or MorphSettings()
    if target.suffix.lower() not in (".wav", ".flac"):
        raise MidivaeError("output must end in .wav or .flac", target)
    if target.exists() and not overwrite:
        raise MidivaeError("exists, use --overwrite", target)
    audio_a, audio_b = load_audio(source_a), load_audio(source_b)
    name = str(preset)
    if name == "auto":
        from midivae.presets.preset import shipped_presets

        amplitude = analyse(np.concatenate([audio_a, audio_b]).astype(np.float64))
        name = choose_preset(compress(amplitude), amplitude, shipped_presets()).name
    model = cached_preset(name)
    ends = []
    for source, sound in ((source_a, audio_a), (source_b, audio_b)):
        try:
            ends.append(stationary_posterior(model, sound))
        except MidivaeError as error:
            raise MidivaeError(error.message, source) from None
    result = morph_posteriors(model, ends[0], ends[1], settings)
    save_audio(target, result.audio, overwrite=overwrite)
    return f"{settings.steps} steps, {model.name}, {len(result.audio) / 22050:.1f} s"


@dataclass(frozen=True)
class ExploreSettings:
    """A free walk: how long, how fast it moves, how long its rests may last."""

    seconds: float = 10.0
    length_seconds: float = 0.5  # smoothness: the walk's Gaussian kernel width
    max_rest_seconds: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.length_seconds <= 0:
            raise ValueError("seconds and length_seconds must be positive")


@dataclass(frozen=True)
class Exploration:
    """A walk's audio, latents, magnitudes and its score as the symbol decoder reads it."""

    audio: np.ndarray
    z: np.ndarray  # (n_frames, latent)
    frames: np.ndarray  # gated amplitudes (n_frames, n_bins)
    gate: np.ndarray  # (n_frames,) gain: 1 inside the decoded notes, 0 in their rests
    notes: list[NoteEvent]
    parts: list[Part]


def _rest_probability(preset: Preset, symbols: dict[str, np.ndarray]) -> np.ndarray:
    """Per frame, the probability that no slot sounds (slots taken as independent)."""
    rest = np.ones(len(next(iter(symbols.values()))))
    for slot in range(len(preset.instruments)):
        prefix = preset.vocabulary.slot_prefix(slot)
        family = prefix + ("pitch" if prefix + "pitch" in symbols else "dynamics")
        rest = rest * symbols[family][:, -1]
    return rest


def explore(preset: Preset, settings: ExploreSettings) -> Exploration:
    """A seeded smooth walk in the prior, decoded to audio and to notes."""
    from midivae.rendering.render import soft_limit

    config = preset.spectral
    n_frames = max(2, round(settings.seconds / config.frame_seconds))
    max_rest = max(1, round(settings.max_rest_seconds / config.frame_seconds))
    rng = np.random.default_rng(settings.seed)
    total = 8 * n_frames
    while True:
        z = smooth_walk(
            total, preset.config.latent, settings.length_seconds / config.frame_seconds, rng
        )
        rest = _rest_probability(preset, preset.decode_symbols(z.astype(np.float32)))
        kept = shorten_rests(rest > 0.5, max_rest)
        if len(kept) >= n_frames or total > 64 * n_frames:
            break
        total *= 2
    kept = kept[:n_frames]
    z = z[kept].astype(np.float32)
    compressed = preset.decode_signal(z)
    symbols = confirmed_symbols(preset, preset.decode_symbols(z), compressed)
    notes, parts = read_notes(preset, symbols, compressed)
    gate = note_gate(notes, len(z), config.frame_seconds)
    frames = decompress(compressed, config) * gate[:, None].astype(np.float32)
    audio = soft_limit(reconstruct(frames, config, settings=PhaseSettings(seed=settings.seed)))
    return Exploration(audio, z, frames, gate, notes, parts)


def confirmed_symbols(
    preset, symbols: dict[str, np.ndarray], compressed: np.ndarray
) -> dict[str, np.ndarray]:
    """The symbol decoder's pitch reading, kept only where the decoded sound confirms it.

    The decoded magnitudes are transcribed (signal encoder, symbol decoder); a frame whose
    most likely pitch differs between the two readings becomes a rest. Far from the data, the
    prior can decode to a spectrum whose pitch is not the one the symbol decoder names; those
    frames are neither written nor heard.
    """
    heard = preset.read_signal(compressed)
    out = dict(symbols)
    for key, probabilities in symbols.items():
        if key.split(".")[-1] != "pitch":
            continue
        disagree = probabilities.argmax(axis=1) != heard[key].argmax(axis=1)
        rest = np.zeros_like(probabilities)
        rest[:, -1] = 1.0
        out[key] = np.where(disagree[:, None], rest, probabilities)
    return out


def note_gate(
    notes: list[NoteEvent], n_frames: int, frame_seconds: float, fade_frames: int = 3
) -> np.ndarray:
    """Gain per frame: 1 inside the notes, 0 in the rests, short linear fades inside notes."""
    gate = np.zeros(n_frames)
    for note in notes:
        start = round(note.onset / frame_seconds)
        stop = min(round(note.offset / frame_seconds), n_frames)
        length = stop - start
        if length <= 0:
            continue
        ramp = np.minimum(np.arange(1, length + 1), np.arange(length, 0, -1)) / (fade_frames + 1)
        gate[start:stop] = np.maximum(gate[start:stop], np.minimum(ramp, 1.0))
    return gate


def read_notes(
    preset, symbols: dict[str, np.ndarray], compressed: np.ndarray
) -> tuple[list[NoteEvent], list[Part]]:
    """Notes of every slot from decoded symbols and the magnitudes heard with them."""
    from midivae.transcription.notes import notes_from_symbols

    return notes_from_symbols(preset, symbols, compressed, calibrated=False)


def explore_file(
    preset: str | Path,
    target: Path,
    *,
    settings: ExploreSettings | None = None,
    labels: Path | None = None,
    overwrite: bool = False,
) -> str:
    """Write a walk's audio to ``target`` and, with ``labels``, its notes as MIDI."""
    from midivae.presets.preset import cached_preset
    from midivae.scores import write_midi

    settings = settings or ExploreSettings()
    for path in (target, labels):
        if path is not None and path.exists() and not overwrite:
            raise MidivaeError("exists, use --overwrite", path)
    if target.suffix.lower() not in (".wav", ".flac"):
        raise MidivaeError("output must end in .wav or .flac", target)
    if labels is not None and labels.suffix.lower() not in (".mid", ".midi"):
        raise MidivaeError("labels must end in .mid", labels)
    model = cached_preset(str(preset))
    result = explore(model, settings)
    save_audio(target, result.audio, overwrite=overwrite)
    if labels is not None:
        write_midi(result.notes, labels, parts=result.parts, overwrite=overwrite)
    return f"{len(result.notes)} notes, {model.name}, {len(result.audio) / 22050:.1f} s"
