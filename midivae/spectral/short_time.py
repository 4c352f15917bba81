"""Short-window harmonic envelopes: the time-sharp companion of the NSGT frames.

At 48 bins per octave the NSGT's windows are long (about 150 ms at A4, over a second in the
bass), so a sharp attack spreads over many frames and a re-attack of a held pitch barely dips.
Note timing therefore reads a short-time Fourier transform instead: per pitch, the amplitude
of its first 8 partials in 2048-sample Hann windows (93 ms at 22050 Hz; each partial the
strongest bin within +-30 cents of it, at least its two neighbours, so a tuning error or
vibrato does not lose the upper partials), on the NSGT's frame grid (frame ``t`` centred on
sample ``t * hop_length``). Computed in blocks, so a long file needs little memory.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from midivae.spectral.analysis import Reader, array_reader, n_frames_for
from midivae.spectral.config import SpectralConfig

N_FFT = 2048
N_PARTIALS = 8
TOLERANCE_CENTS = 30.0
MAX_HALF_WIDTH = 4
BLOCK_FRAMES = 1024
WORKERS = 2  # threads of each block's batch of FFTs


def _partial_columns(
    pitches: np.ndarray, sample_rate: float, n_fft: int, n_partials: int, cents: float
) -> tuple[np.ndarray, np.ndarray]:
    """FFT bins ``(n_pitches, n_partials, 2 * MAX_HALF_WIDTH + 1)`` around each partial (those
    beyond ``cents`` repeat the centre; at least the two neighbours) and a mask of usable
    partials (below Nyquist)."""
    n_bins = n_fft // 2 + 1
    f0 = 440.0 * 2.0 ** ((np.asarray(pitches, dtype=np.float64)[:, None] - 69.0) / 12.0)
    exact = f0 * np.arange(1, n_partials + 1) * n_fft / sample_rate
    centre = np.rint(exact).astype(np.int64)
    half = np.clip(np.ceil(exact * (2.0 ** (cents / 1200.0) - 1.0)), 1, MAX_HALF_WIDTH)
    offsets = np.arange(-MAX_HALF_WIDTH, MAX_HALF_WIDTH + 1)
    within = np.abs(offsets) <= half[..., None]
    columns = np.where(within, centre[..., None] + offsets, centre[..., None])
    usable = centre + half.astype(np.int64) < n_bins
    return np.clip(columns, 0, n_bins - 1), usable


def harmonic_envelopes(
    audio: np.ndarray,
    pitches: np.ndarray,
    config: SpectralConfig | None = None,
    *,
    n_fft: int = N_FFT,
    n_partials: int = N_PARTIALS,
    tolerance_cents: float = TOLERANCE_CENTS,
) -> np.ndarray:
    """Amplitude of each pitch's partials per frame, ``(n_frames, n_pitches)`` float32.

    Parameters
    ----------
    audio : np.ndarray
        Mono audio at ``config.sample_rate``.
    pitches : np.ndarray
        MIDI pitches (fractional ones allowed, e.g. for a detuned recording).
    config : SpectralConfig, optional
        Gives the sample rate, hop and frame count (those of :func:`analyse`).

    A sinusoid of amplitude ``A`` at a pitch gives ``A`` there (the NSGT's scale).
    """
    config = config or SpectralConfig()
    audio = np.asarray(audio, dtype=np.float32)
    return streamed_harmonic_envelopes(
        array_reader(audio),
        len(audio),
        pitches,
        config,
        n_fft=n_fft,
        n_partials=n_partials,
        tolerance_cents=tolerance_cents,
    )


def streamed_harmonic_envelopes(
    read: Reader,
    n_samples: int,
    pitches: np.ndarray,
    config: SpectralConfig,
    *,
    frames: range | None = None,
    n_fft: int = N_FFT,
    n_partials: int = N_PARTIALS,
    tolerance_cents: float = TOLERANCE_CENTS,
) -> np.ndarray:
    """:func:`harmonic_envelopes` of the signal ``read`` gives (``n_samples`` long, zero
    outside), for its ``frames`` only (default: all), read a block at a time."""
    n_frames = n_frames_for(n_samples, config)
    frames = frames if frames is not None else range(n_frames)
    hop, half = config.hop_length, n_fft // 2
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    window_scale = np.float32(2.0 / window.sum())
    columns, usable = _partial_columns(
        np.asarray(pitches), config.sample_rate, n_fft, n_partials, tolerance_cents
    )
    out = np.empty((len(frames), len(columns)), dtype=np.float32)
    for first in range(frames.start, frames.stop, BLOCK_FRAMES):
        count = min(BLOCK_FRAMES, frames.stop - first)
        start = first * hop - half
        samples = np.asarray(read(start, start + (count - 1) * hop + n_fft), dtype=np.float32)
        block = sliding_window_view(samples, n_fft)[::hop][:count] * window
        magnitude = np.abs(scipy.fft.rfft(block, axis=1, workers=WORKERS)) * window_scale
        partials = magnitude[:, columns].max(axis=-1)  # (frames, pitches, partials)
        power = np.where(usable, partials.astype(np.float64) ** 2, 0.0).sum(axis=-1)
        out[first - frames.start : first - frames.start + count] = np.sqrt(power)
    return out
