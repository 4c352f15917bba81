"""The spectral round trip: audio -> NSGT magnitudes -> phase reconstruction -> audio.

What the models hear and speak: a render can sound no better than this round trip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from midivae.audio import load_audio, save_audio
from midivae.spectral import SpectralConfig, analyse
from midivae.spectral.phase import PhaseSettings, analyse_error_db, reconstruct


def resynthesize(
    audio: np.ndarray,
    *,
    config: SpectralConfig | None = None,
    settings: PhaseSettings | None = None,
) -> tuple[np.ndarray, float]:
    """Rebuild ``audio`` from its NSGT magnitudes alone.

    Returns the new audio (same length, float32) and its spectral convergence in dB against
    the original magnitudes (lower is closer; -20 dB and below sounds like the original).
    """
    config = config or SpectralConfig()
    frames = analyse(audio, config)
    rebuilt = reconstruct(frames, config, n_samples=len(audio), settings=settings)
    return rebuilt, analyse_error_db(rebuilt, frames, config)


def resynthesize_file(
    source: Path,
    target: Path,
    *,
    settings: PhaseSettings | None = None,
    overwrite: bool = False,
) -> float:
    """:func:`resynthesize` from one audio file into another; returns the convergence in dB."""
    config = SpectralConfig()
    audio = load_audio(source, sample_rate=config.sample_rate)
    rebuilt, convergence_db = resynthesize(audio, config=config, settings=settings)
    save_audio(target, rebuilt, sample_rate=config.sample_rate, overwrite=overwrite)
    return convergence_db
