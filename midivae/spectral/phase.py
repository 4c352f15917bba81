"""Phase reconstruction from NSGT magnitudes: peak-locked phase-gradient start + fast Griffin-Lim.

Initialisation (PGHI-style): in each frame, spectral peaks are located with sub-bin precision;
each peak is a sinusoid whose phase is integrated over time from its frequency (the phase's
time-gradient) and continued from the nearest peak of the previous frame. Every band takes the
phase of the peak it belongs to, demodulated to the band's centre, so all bands that describe
one partial start coherent (the frequency-gradient of the phase comes for free). Fast
Griffin-Lim (Perraudin et al., momentum 0.99) then refines, with early stop on spectral
convergence. Long inputs run block by block; each block starts from the previous block's audio
in their overlap and the seams are cross-faded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from midivae.spectral.analysis import (
    coefs_to_grid,
    grid_to_band_amplitudes,
    iter_blocks,
    transform_for,
)
from midivae.spectral.config import SpectralConfig
from midivae.spectral.transform import NSGT

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class PhaseSettings:
    """How magnitudes become audio. The defaults meet -20 dB spectral convergence."""

    n_iter: int = 16
    momentum: float = 0.99
    init: str = "pghi"  # "pghi" | "random" | "zero"
    tolerance_db: float = 0.01  # stop when an iteration improves convergence by less
    seed: int = 0
    crossfade_frames: int = 64
    dtype: str = "float32"


@njit(cache=True, nogil=True)
def _track_peaks(log_amp, freqs, floor, hop_seconds, seed_phases, inst_freq, peak_phase):
    """Per frame and bin: frequency (Hz) and running phase of the peak that bin belongs to."""
    n_frames, n_bins = log_amp.shape
    ratio = freqs[1] / freqs[0]
    prev_pos = np.empty(n_bins)
    prev_phase = np.empty(n_bins)
    prev_freq = np.empty(n_bins)
    n_prev = 0
    pos = np.empty(n_bins)
    phase = np.empty(n_bins)
    freq = np.empty(n_bins)
    n_seed = len(seed_phases)
    seed_index = 0
    for i in range(n_frames):
        row = log_amp[i]
        n_peaks = 0
        for k in range(1, n_bins - 1):
            if row[k] > floor[i] and row[k] >= row[k - 1] and row[k] > row[k + 1]:
                denom = row[k - 1] - 2.0 * row[k] + row[k + 1]
                delta = 0.0
                if denom < 0.0:
                    delta = 0.5 * (row[k - 1] - row[k + 1]) / denom
                p = k + delta
                f = freqs[0] * ratio**p
                best = -1
                best_dist = 2.0  # within half a semitone (2 bins at 48/oct)
                for q in range(n_prev):
                    d = abs(prev_pos[q] - p)
                    if d < best_dist:
                        best_dist = d
                        best = q
                if best >= 0:
                    ph = prev_phase[best] + math.pi * (prev_freq[best] + f) * hop_seconds
                else:
                    ph = seed_phases[seed_index % n_seed]
                    seed_index += 1
                pos[n_peaks] = p
                phase[n_peaks] = ph % (2.0 * math.pi)
                freq[n_peaks] = f
                n_peaks += 1
        # assign bins to the nearest peak
        q = 0
        for k in range(n_bins):
            if n_peaks == 0:
                inst_freq[i, k] = -1.0
                peak_phase[i, k] = 0.0
                continue
            while q + 1 < n_peaks and abs(pos[q + 1] - k) < abs(pos[q] - k):
                q += 1
            inst_freq[i, k] = freq[q]
            peak_phase[i, k] = phase[q]
        for q in range(n_peaks):
            prev_pos[q] = pos[q]
            prev_phase[q] = phase[q]
            prev_freq[q] = freq[q]
        n_prev = n_peaks


@njit(cache=True, nogil=True)
def _band_phases(
    inst_freq, peak_phase, band_rows, center, count, length, hop, sample_rate, random_phases, out
):
    """Phase of every coefficient of bands ``band_rows`` (model bins) on their own grid."""
    n_frames = inst_freq.shape[0]
    for r in range(len(band_rows)):
        k = band_rows[r]
        c = center[r]
        for j in range(count):
            tau = j * (length / count)
            i = int(tau / hop + 0.5)
            if i >= n_frames:
                i = n_frames - 1
            f = inst_freq[i, k]
            demod = 2.0 * math.pi * ((c * j) % count) / count
            if f < 0.0:
                out[r, j] = random_phases[(r * 7919 + j) % len(random_phases)]
            else:
                out[r, j] = peak_phase[i, k] + 2.0 * math.pi * f * (tau - i * hop) / sample_rate
                out[r, j] -= demod


def initial_phases(
    nsgt: NSGT, frames: np.ndarray, config: SpectralConfig, settings: PhaseSettings
) -> np.ndarray:
    """Initial phase of every coefficient (flat buffer layout) for amplitude ``frames``."""
    rng = np.random.default_rng(settings.seed)
    phases = np.zeros(nsgt.size)
    if settings.init == "zero":
        return phases
    if settings.init == "random":
        return rng.uniform(0.0, TWO_PI, nsgt.size)
    log_amp = np.log(np.maximum(frames, 1e-9)).astype(np.float64)
    floor = np.maximum(log_amp.max(axis=1) - np.log(1e4), np.log(1e-6))  # peaks within 80 dB
    inst_freq = np.empty_like(log_amp)
    peak_phase = np.empty_like(log_amp)
    _track_peaks(
        log_amp,
        config.frequencies,
        floor,
        config.frame_seconds,
        rng.uniform(0.0, TWO_PI, 4096),
        inst_freq,
        peak_phase,
    )
    random_phases = rng.uniform(0.0, TWO_PI, 8191)
    for group, view in zip(nsgt.groups, nsgt.group_views(phases), strict=True):
        model = (group.bands >= 1) & (group.bands <= frames.shape[1])
        if not model.any():
            continue
        bands, count = group.bands, group.count
        out = np.empty((int(model.sum()), count))
        _band_phases(
            inst_freq,
            peak_phase,
            bands[model] - 1,
            nsgt.frame.centers[bands[model]],
            count,
            nsgt.frame.length,
            config.hop_length,
            config.sample_rate,
            random_phases,
            out,
        )
        view[model] = out
    return phases


def spectral_convergence_db(estimate: np.ndarray, target: np.ndarray) -> float:
    """``20 log10(||estimate - target|| / ||target||)`` over all entries."""
    return _convergence_db(float(np.linalg.norm(estimate - target)), float(np.linalg.norm(target)))


def _convergence_db(error: float, norm: float) -> float:
    """Spectral convergence in dB from the error's and the target's norms."""
    if norm == 0.0:
        return -math.inf
    return 20.0 * math.log10(max(error / norm, 1e-12))


@njit(cache=True, nogil=True)
def _project(consistent, target, previous, momentum, coefs):
    """One fast Griffin-Lim update in one pass; returns the squared magnitude error.

    ``previous`` becomes the projection of ``consistent`` onto the target magnitudes and
    ``coefs`` the momentum step from the old ``previous`` (the numpy expressions
    ``target * c / max(|c|, 1e-12)`` and ``p + momentum * (p - previous)``, fused).
    """
    error = 0.0
    for i in range(len(target)):
        c = consistent[i]
        magnitude = abs(c)
        difference = magnitude - target[i]
        error += difference * difference
        projected = target[i] * c / max(magnitude, 1e-12)
        coefs[i] = projected + momentum * (projected - previous[i])
        previous[i] = projected
    return error


def fast_griffin_lim(
    nsgt: NSGT, target: np.ndarray, phases: np.ndarray, settings: PhaseSettings
) -> tuple[np.ndarray, list[float]]:
    """Fast Griffin-Lim over the NSGT pair from ``phases``; returns (signal, convergence dB)."""
    target = target.astype(nsgt.real_dtype)
    coefs = (target * np.exp(1j * phases)).astype(nsgt.complex_dtype)
    previous = coefs.copy()
    consistent = np.empty_like(coefs)
    momentum = nsgt.real_dtype.type(settings.momentum)
    norm = float(np.linalg.norm(target))
    history: list[float] = []
    for _ in range(settings.n_iter):
        nsgt.forward(nsgt.backward(coefs), out=consistent)
        error = math.sqrt(_project(consistent, target, previous, momentum, coefs))
        history.append(_convergence_db(error, norm))
        if len(history) > 3 and history[-4] - history[-1] < 3 * settings.tolerance_db:
            break
    return nsgt.backward(previous), history


def reconstruct(
    frames: np.ndarray,
    config: SpectralConfig | None = None,
    *,
    n_samples: int | None = None,
    settings: PhaseSettings | None = None,
    history: list[list[float]] | None = None,
) -> np.ndarray:
    """Audio whose NSGT amplitudes match ``frames`` ``(n_frames, n_bins)``.

    Works block by block (memory bounded by one block); the result has ``n_samples``
    samples (default ``(n_frames - 1) * hop + 1``), float32. When ``history`` is given, each
    block appends its spectral convergence (dB, on its own coefficients) per iteration.
    """
    config = config or SpectralConfig()
    settings = settings or PhaseSettings()
    frames = np.asarray(frames, dtype=np.float32)
    n_frames = frames.shape[0]
    hop, pad = config.hop_length, config.pad_frames
    n_samples = (n_frames - 1) * hop + 1 if n_samples is None else n_samples
    out = np.zeros(n_frames * hop + 2 * config.block_frames * hop)  # offset by the left pad
    fade = settings.crossfade_frames * hop
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade, endpoint=False))
    previous: tuple[int, np.ndarray] | None = None  # (first frame, signal) of the last block
    for block_frames, first, kept in iter_blocks(n_frames, config):
        nsgt = transform_for(config, block_frames, dtype=settings.dtype, on_grid=False)
        block = np.zeros((block_frames, frames.shape[1]), dtype=np.float32)
        lo, hi = max(first - pad, 0), min(first - pad + block_frames, n_frames)
        block[lo - (first - pad) : hi - (first - pad)] = frames[lo:hi]
        target = grid_to_band_amplitudes(nsgt, block)
        phases = initial_phases(nsgt, block, config, settings)
        if previous is not None:
            # Continue the previous block's phases where the blocks overlap (up to 1.5 pads,
            # clear of its far edge), so the cross-fade joins two signals that agree.
            shift = (first - previous[0]) * hop
            carried = np.zeros(nsgt.frame.length)
            tail = previous[1][shift:]
            carried[: len(tail)] = tail
            overlap = _overlap_mask(nsgt, (3 * pad * hop) // 2)
            phases[overlap] = np.angle(nsgt.forward(carried)[overlap])
        signal, convergence = fast_griffin_lim(nsgt, target, phases, settings)
        if history is not None:
            history.append(convergence)
        start = first * hop  # this block's sample 0 sits at out[start]
        keep_lo = (pad * hop - fade // 2) if previous is not None else 0
        keep_hi = (pad + kept) * hop + fade // 2
        piece = signal[keep_lo:keep_hi].astype(np.float64)
        if previous is not None:
            piece[:fade] *= ramp
            out[start + keep_lo : start + keep_lo + fade] *= 1.0 - ramp
            out[start + keep_lo + fade : start + keep_hi] = 0.0
        out[start + keep_lo : start + keep_hi] += piece
        previous = (first, signal)
    return out[pad * hop : pad * hop + n_samples].astype(np.float32)


def _overlap_mask(nsgt: NSGT, until_sample: int) -> np.ndarray:
    """Coefficients whose time position lies before ``until_sample`` of the block."""
    mask = np.zeros(nsgt.size, dtype=bool)
    for group, view in zip(nsgt.groups, nsgt.group_views(mask), strict=True):
        times = np.arange(group.count) * (nsgt.frame.length / group.count)
        view[:, times < until_sample] = True
    return mask


def analyse_error_db(audio: np.ndarray, frames: np.ndarray, config: SpectralConfig) -> float:
    """Spectral convergence (dB) of ``audio``'s frames against target ``frames``."""
    from midivae.spectral.analysis import analyse

    estimate = analyse(audio, config)[: len(frames)]
    return spectral_convergence_db(estimate, frames[: len(estimate)])


__all__ = [
    "PhaseSettings",
    "analyse_error_db",
    "coefs_to_grid",
    "fast_griffin_lim",
    "initial_phases",
    "reconstruct",
    "spectral_convergence_db",
]
