"""PNG pictures: piano rolls, NSGT spectrograms with notes, latent maps (matplotlib, lazily).

Every function writes one PNG atomically and returns its path. Notes are
``(onset, offset, pitch, velocity, part)`` tuples (seconds, MIDI).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from midivae.audio import atomic_output
from midivae.spectral import SpectralConfig
from midivae.symbols import note_name

NoteTuple = tuple[float, float, int, int, int]
_PART_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


_PYPLOT_LOCK = threading.RLock()  # pyplot's figure registry is global: one picture at a time


def _one_at_a_time(function: Callable) -> Callable:
    """Run ``function`` under the pyplot lock (files may be worked on in threads)."""

    @functools.wraps(function)
    def locked(*args, **kwargs):
        with _PYPLOT_LOCK:
            return function(*args, **kwargs)

    return locked


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path, overwrite: bool) -> Path:
    with atomic_output(path, overwrite=overwrite) as tmp:
        figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    _pyplot().close(figure)
    return Path(path)


def _pitch_ticks(axis, low: float, high: float, to_y=lambda p: p) -> None:
    """Label every C, or every natural note when the range is under two octaves."""
    naturals = (0, 2, 4, 5, 7, 9, 11) if high - low < 24 else (0,)
    shown = [p for p in range(int(np.floor(low)), int(np.ceil(high)) + 1) if p % 12 in naturals]
    axis.set_yticks([to_y(p) for p in shown])
    axis.set_yticklabels([note_name(p) for p in shown])


@_one_at_a_time
def piano_roll(
    notes: Sequence[NoteTuple],
    path: str | Path,
    *,
    part_names: Sequence[str] = (),
    title: str = "",
    overwrite: bool = False,
) -> Path:
    """Notes as bars (time x pitch), one colour per part, opacity by velocity."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(12, 5))
    if notes:
        pitches = [n[2] for n in notes]
        for onset, offset, pitch, velocity, part in notes:
            colour = _PART_COLOURS[part % len(_PART_COLOURS)]
            axis.add_patch(
                plt.Rectangle(
                    (onset, pitch - 0.4),
                    max(offset - onset, 0.01),
                    0.8,
                    color=colour,
                    alpha=0.25 + 0.75 * velocity / 127,
                    linewidth=0,
                )
            )
        axis.set_xlim(0, max(n[1] for n in notes) + 0.2)
        axis.set_ylim(min(pitches) - 2, max(pitches) + 2)
        _pitch_ticks(axis, min(pitches) - 2, max(pitches) + 2)
    for part, name in enumerate(part_names):
        axis.plot([], [], color=_PART_COLOURS[part % len(_PART_COLOURS)], lw=6, label=name)
    if part_names:
        axis.legend(loc="upper right")
    axis.grid(axis="y", alpha=0.3)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("pitch")
    axis.set_title(title or f"{len(notes)} notes")
    return _save(figure, Path(path), overwrite)


@_one_at_a_time
def spectrogram(
    compressed: np.ndarray,
    path: str | Path,
    *,
    config: SpectralConfig | None = None,
    notes: Sequence[NoteTuple] = (),
    title: str = "",
    overwrite: bool = False,
    frame_seconds: float | None = None,
) -> Path:
    """Compressed NSGT magnitudes (frames x bins) with optional note outlines on top; each
    row ``frame_seconds`` long (default: the analysis hop; a long take's rows are pooled)."""
    config = config or SpectralConfig()
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(12, 6))
    seconds = compressed.shape[0] * (frame_seconds or config.frame_seconds)
    axis.imshow(
        compressed.T,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0, seconds, -0.5, config.n_bins - 0.5),
        interpolation="nearest",
    )
    for onset, offset, pitch, _velocity, part in notes:
        colour = _PART_COLOURS[part % len(_PART_COLOURS)]
        axis.add_patch(
            plt.Rectangle(
                (onset, config.midi_to_bin(pitch) - 2),
                max(offset - onset, 0.01),
                4,
                fill=False,
                edgecolor=colour,
                linewidth=1.2,
            )
        )
    _pitch_ticks(axis, 21, 21 + config.n_bins / 4, config.midi_to_bin)
    axis.set_xlabel("time (s)")
    axis.set_ylabel("pitch (NSGT band)")
    axis.set_title(title or "NSGT magnitudes (log1p)")
    return _save(figure, Path(path), overwrite)


@_one_at_a_time
def latent_map(
    points: np.ndarray,
    colours: dict[str, np.ndarray],
    path: str | Path,
    *,
    cmaps: dict[str, str] | None = None,
    title: str = "",
    overwrite: bool = False,
) -> Path:
    """2-D points (e.g. PCA of posterior means), one panel per labelling in ``colours``.

    ``cmaps`` names a matplotlib colour map per panel (default ``turbo``).
    """
    plt = _pyplot()
    cmaps = cmaps or {}
    figure, axes = plt.subplots(1, len(colours), figsize=(5 * len(colours), 4.6), squeeze=False)
    for axis, (name, values) in zip(axes[0], colours.items(), strict=True):
        cmap = cmaps.get(name, "turbo")
        scatter = axis.scatter(points[:, 0], points[:, 1], c=values, s=3, cmap=cmap, alpha=0.6)
        figure.colorbar(scatter, ax=axis, fraction=0.046)
        axis.set_title(name)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title)
    return _save(figure, Path(path), overwrite)


def plot_file(source: str | Path, target: str | Path, *, overwrite: bool = False) -> str:
    """The picture a person wants of ``source``; returns what was drawn.

    A score (``.mid``, ``.musicxml`` ...) -> piano roll; audio -> NSGT spectrogram, with the
    notes of a ``.mid`` of the same stem beside it drawn on top; a preset folder -> latent map.
    """
    from midivae.audio import AUDIO_SUFFIXES, load_audio
    from midivae.errors import MidivaeError
    from midivae.scores import SCORE_SUFFIXES, read_score
    from midivae.spectral import analyse, compress

    source = Path(source)
    suffix = source.suffix.lower()
    if source.is_dir():
        return preset_map(source, target, overwrite=overwrite)
    if suffix in SCORE_SUFFIXES:
        score = read_score(source)
        notes = [(n.onset, n.offset, n.pitch, n.velocity, n.part) for n in score.notes]
        names = [part.name or f"part {part.index + 1}" for part in score.parts]
        piano_roll(notes, target, part_names=names, title=source.name, overwrite=overwrite)
        return f"piano roll, {len(notes)} notes"
    if suffix in AUDIO_SUFFIXES:
        config = SpectralConfig()
        frames = compress(analyse(load_audio(source, sample_rate=config.sample_rate), config))
        notes = []
        beside = source.with_suffix(".mid")
        if beside.is_file():
            notes = [
                (n.onset, n.offset, n.pitch, n.velocity, n.part) for n in read_score(beside).notes
            ]
        spectrogram(
            frames, target, config=config, notes=notes, title=source.name, overwrite=overwrite
        )
        return "spectrogram" + (f" with {len(notes)} notes from {beside.name}" if notes else "")
    raise MidivaeError("not a score, an audio file or a preset folder", source)


def preset_map(folder: str | Path, target: str | Path, *, overwrite: bool = False) -> str:
    """Latent map of a preset: PCA of q(z|y) draws for every note of its first instrument.

    Every pitch of the instrument's range at pp, mf and ff is encoded by the symbol encoder;
    20 draws of each posterior are projected on their first two principal axes and coloured by
    pitch class, octave and dynamics.
    """
    from midivae.music import get_instrument
    from midivae.presets.preset import load_preset
    from midivae.rendering.render import symbol_vector

    preset = load_preset(folder)
    instrument = get_instrument(preset.instruments[0])
    pitches, levels = np.meshgrid(np.arange(instrument.low, instrument.high + 1), [33, 80, 112])
    pitches, levels = pitches.ravel(), levels.ravel()
    vectors = np.concatenate(
        [symbol_vector(preset, int(p), int(v)) for p, v in zip(pitches, levels, strict=True)]
    )
    mu, logvar = preset.encode_symbols(vectors)
    rng = np.random.default_rng(0)
    draws = 20
    z = np.repeat(mu, draws, axis=0) + np.exp(0.5 * np.repeat(logvar, draws, axis=0)) * (
        rng.standard_normal((len(mu) * draws, mu.shape[1]))
    )
    centred = z - z.mean(axis=0)
    _, _, axes = np.linalg.svd(centred[:: max(1, len(centred) // 5000)], full_matrices=False)
    points = centred @ axes[:2].T
    colours = {
        "pitch class": np.repeat(pitches % 12, draws),
        "octave": np.repeat(pitches // 12 - 1, draws),
        "dynamics (pp / mf / ff)": np.repeat(
            np.searchsorted([56, 96], levels, side="right"), draws
        ),
    }
    cmaps = {"pitch class": "twilight", "octave": "viridis", "dynamics (pp / mf / ff)": "brg"}
    latent_map(
        points,
        colours,
        target,
        cmaps=cmaps,
        title=f"{preset.name}: q(z|y), PCA",
        overwrite=overwrite,
    )
    return f"latent map of {len(mu)} notes x {draws} draws"
