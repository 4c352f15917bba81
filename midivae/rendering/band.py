"""Partials above the models' band: each note's harmonic series carried past 11 kHz.

The models work at 22050 Hz, so a render holds nothing above the top NSGT bin (about 11 kHz)
whatever the output rate, and sounds dull beside a sample player at 44.1 kHz. A note's
decoded frames do say how its partials fall off towards 11 kHz: per note, the partials in the
top two octaves of the band give a spectral slope (dB per octave, by least squares over their
mean levels) and the partials of the top octave an envelope (their level frame by frame). The
partials from 11 kHz up to ``TOP_HZ`` are added as sinusoids at the note's pitch, each at the
envelope's level continued along the slope, with seeded random phases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from midivae.spectral import SpectralConfig

#: Highest partial added (Hz), and the share of the output's Nyquist frequency it stays under.
TOP_HZ = 18000.0
NYQUIST_SHARE = 0.9
#: Most partials added per note (low notes have hundreds above 11 kHz; the rest add little).
MAX_PARTIALS = 64
#: The slope a note's partials may continue at (dB per octave), and the one used where the
#: band holds too few of its partials to fit one.
SLOPE_RANGE_DB = (-40.0, -3.0)
DEFAULT_SLOPE_DB = -12.0
#: Partials that never reach this amplitude (-100 dBFS) are left out.
INAUDIBLE = 1e-5


@dataclass(frozen=True)
class NoteSpan:
    """Where a note sounds in a part's frames: its (sounding) pitch, first frame, and how
    many frames its attack, hold and release tail take."""

    pitch: int
    start: int
    length: int


def partial_levels(frames: np.ndarray, freqs: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Amplitude ``(n_frames, len(freqs))`` of a sinusoid at each of ``freqs`` in magnitude
    ``frames``: the power over the bins within one of its position (a sinusoid between two
    bins spreads over both)."""
    position = config.bins_per_octave * np.log2(np.asarray(freqs) / config.fmin)
    centre = np.clip(np.round(position).astype(int), 1, config.n_bins - 2)
    power = frames[:, centre - 1] ** 2 + frames[:, centre] ** 2 + frames[:, centre + 1] ** 2
    return np.sqrt(power)


def note_band(
    frames: np.ndarray, span: NoteSpan, config: SpectralConfig, top_hz: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The partials ``span``'s note adds above the band: their frequencies ``(k,)`` and
    amplitudes ``(k, span.length)`` frame by frame; None when it adds none."""
    f0 = 440.0 * 2.0 ** ((span.pitch - 69) / 12)
    fmax = config.fmax
    harmonics = np.arange(1, int(top_hz / f0) + 1) * f0
    above = harmonics[(harmonics > fmax) & (harmonics < top_hz)][:MAX_PARTIALS]
    heard = harmonics[(harmonics >= fmax / 4) & (harmonics < fmax * 0.98)]
    if len(above) == 0 or len(heard) == 0:
        return None
    segment = np.asarray(frames[span.start : span.start + span.length], dtype=np.float64)
    levels = partial_levels(segment, heard, config)
    mean_db = 10 * np.log10(np.mean(levels**2, axis=0) + 1e-20)
    slope = DEFAULT_SLOPE_DB
    if len(heard) >= 3:
        slope = float(np.polyfit(np.log2(heard), mean_db, 1)[0])
    slope = float(np.clip(slope, *SLOPE_RANGE_DB))
    top = heard >= min(fmax / 2, heard.max())
    envelope = np.sqrt(np.mean(levels[:, top] ** 2, axis=1))
    reference = float(np.exp(np.mean(np.log(heard[top]))))
    gains = 10.0 ** (slope * np.log2(above / reference) / 20.0)
    audible = gains * envelope.max(initial=0.0) >= INAUDIBLE
    if not audible.any():
        return None
    return above[audible], gains[audible, None] * envelope[None, :]


def extend_band(
    frames: np.ndarray,
    spans: list[NoteSpan],
    config: SpectralConfig,
    rate: int,
    n_samples: int,
    seed: int = 0,
) -> np.ndarray:
    """Audio ``(n_samples,)`` at ``rate`` holding the notes' partials from the top of the
    models' band up to ``TOP_HZ`` (and ``NYQUIST_SHARE`` of ``rate / 2``); silence where the
    output rate leaves no room above the band."""
    out = np.zeros(n_samples, dtype=np.float64)
    top_hz = min(TOP_HZ, NYQUIST_SHARE * rate / 2)
    if top_hz <= config.fmax:
        return out.astype(np.float32)
    rng = np.random.default_rng(seed)
    step = config.frame_seconds * rate  # output samples per frame
    for span in spans:
        band = note_band(frames, span, config, top_hz)
        if band is None:
            continue
        freqs, amplitudes = band
        phases = rng.uniform(0.0, 2 * np.pi, size=len(freqs))
        _add_partials(out, freqs / rate, amplitudes, phases, span.start, step)
    return out.astype(np.float32)


@numba.njit(cache=True)
def _add_partials(
    out: np.ndarray,
    cycles: np.ndarray,
    amplitudes: np.ndarray,
    phases: np.ndarray,
    start: int,
    step: float,
) -> None:
    """Add sinusoids of ``cycles`` per sample to ``out``, each at its ``amplitudes`` row
    (one value a frame from frame ``start``, linearly interpolated between frames), phase
    ``phases`` at sample 0 (a rotating phasor per partial: one multiply a sample)."""
    n_frames = amplitudes.shape[1]
    first = int(np.ceil(start * step))
    last = min(int((start + n_frames - 1) * step), len(out))
    if last <= first:
        return
    for k in range(len(cycles)):
        w = 2.0 * np.pi * cycles[k]
        cos_w, sin_w = np.cos(w), np.sin(w)
        re = np.cos(w * first + phases[k])
        im = np.sin(w * first + phases[k])
        for n in range(first, last):
            at = n / step - start
            i = int(at)
            frac = at - i
            if i + 1 < n_frames:
                level = amplitudes[k, i] * (1.0 - frac) + amplitudes[k, i + 1] * frac
            else:
                level = amplitudes[k, n_frames - 1]
            out[n] += level * im
            re, im = re * cos_w - im * sin_w, re * sin_w + im * cos_w
