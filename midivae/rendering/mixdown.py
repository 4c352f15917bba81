"""From the models' mono stems to what a DAW imports: output rate, stereo seating, loudness.

Each score part renders to a mono stem at the models' 22050 Hz. The mixdown resamples it to the
output rate, places it in the stereo field with a constant-power pan (the part's own, from MIDI
CC10, else a seating that spreads the parts across the stage in score order), optionally
normalises loudness (ITU-R BS.1770 integrated loudness, measured by ``pyloudnorm``) and holds
true peaks (4x oversampled, BS.1770 Annex 2) under a ceiling with a look-ahead limiter, so the
files neither clip nor overshoot on a DAW's meters.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numba
import numpy as np

MODEL_RATE = 22050
#: How far apart the default seating spreads a score's parts (pan of the outermost part).
SEATING_WIDTH = 0.6
#: True-peak ceiling (dBTP) that every output holds to, as streaming and broadcast specs ask.
TRUE_PEAK_DBTP = -1.0
#: The limiter's look-ahead and release (seconds).
LIMITER_ATTACK_S = 0.005
LIMITER_RELEASE_S = 0.08
#: How far a true peak may rise above the highest sample (dB): audio whose samples stay this
#: far under the ceiling cannot reach it, and skips the oversampling (band-limited signals
#: overshoot by well under 3 dB at 4x; 6 dB leaves room).
INTERSAMPLE_MARGIN_DB = 6.0
#: Quietest loudness the normaliser raises; quieter material (near silence) is left alone.
GATE_LUFS = -70.0


@dataclass(frozen=True)
class MixSettings:
    """What the files hold: rate, channels and level.

    Attributes
    ----------
    sample_rate : int
        Output rate in Hz (the models work at 22050 Hz).
    stereo : bool
        Two channels with each part panned; False gives mono (every part centred).
    loudness : float or None
        Integrated loudness of the mix in LUFS; the stems take the mix's gain, so they still
        sum to it. None keeps the calibrated levels (score dynamics relative to the reference
        renders).
    stem_loudness : float or None
        Normalise every stem to this loudness on its own (the mix is unaffected).
    """

    sample_rate: int = 44100
    stereo: bool = True
    loudness: float | None = None
    stem_loudness: float | None = None


def resample(audio: np.ndarray, rate: int, source_rate: int = MODEL_RATE) -> np.ndarray:
    """``audio`` (samples first) from ``source_rate`` to ``rate`` (polyphase, float32)."""
    if rate == source_rate:
        return np.asarray(audio, dtype=np.float32)
    from scipy.signal import resample_poly

    g = gcd(rate, source_rate)
    return resample_poly(audio, rate // g, source_rate // g, axis=0).astype(np.float32)


def seating(pans: list[float | None]) -> list[float]:
    """Each part's pan: its own where the score sets one, else spread evenly from
    ``-SEATING_WIDTH`` to ``SEATING_WIDTH`` in score order among the parts without one (a
    lone part sits in the centre)."""
    free = [i for i, pan in enumerate(pans) if pan is None]
    spread = np.linspace(-SEATING_WIDTH, SEATING_WIDTH, len(free)) if len(free) > 1 else [0.0]
    out = [0.0 if pan is None else float(pan) for pan in pans]
    for i, pan in zip(free, spread, strict=False):
        out[i] = float(pan)
    return out


def pan_mono(audio: np.ndarray, pan: float) -> np.ndarray:
    """Mono ``audio`` as ``(n, 2)`` with a constant-power pan (-1 left, 0 centre, 1 right):
    the two channels' powers always sum to the mono signal's, so loudness does not move."""
    angle = (float(np.clip(pan, -1.0, 1.0)) + 1.0) * np.pi / 4
    return np.stack([audio * np.cos(angle), audio * np.sin(angle)], axis=1).astype(np.float32)


def loudness_lufs(audio: np.ndarray, rate: int) -> float:
    """Integrated loudness (LUFS, BS.1770-4) of ``audio`` ``(n,)`` or ``(n, channels)``;
    ``-inf`` for silence or audio shorter than one 400 ms block."""
    import pyloudnorm

    audio = np.asarray(audio, dtype=np.float64)
    if len(audio) < int(0.4 * rate) + 1 or not np.any(audio):
        return float("-inf")
    return float(pyloudnorm.Meter(rate).integrated_loudness(audio))


def true_peak_dbtp(audio: np.ndarray, rate: int) -> float:
    """True peak of ``audio`` in dBTP (4x oversampled below 96 kHz, as BS.1770 asks)."""
    peaks = _oversampled_peaks(np.asarray(audio, dtype=np.float64), rate)
    top = float(peaks.max()) if len(peaks) else 0.0
    return 20 * np.log10(top) if top > 0 else float("-inf")


def _oversampled_peaks(audio: np.ndarray, rate: int) -> np.ndarray:
    """Per input sample, the largest magnitude of any channel's 4x oversampled signal around it."""
    if audio.ndim == 1:
        audio = audio[:, None]
    if rate >= 96000 or len(audio) == 0:
        return np.abs(audio).max(axis=1)
    from scipy.signal import resample_poly

    up = np.abs(resample_poly(audio, 4, 1, axis=0))
    up = up[: 4 * len(audio)].reshape(len(audio), 4, -1)
    return np.maximum(up.max(axis=(1, 2)), np.abs(audio).max(axis=1))


def limiter_gain(audio: np.ndarray, rate: int, ceiling_dbtp: float = TRUE_PEAK_DBTP) -> np.ndarray:
    """Per-sample gain ``(n,)`` that holds ``audio``'s true peaks under ``ceiling_dbtp``.

    The gain each sample needs goes through a look-ahead minimum and a moving average of
    ``LIMITER_ATTACK_S`` (so it is already down when the peak comes and never above what any
    sample in reach needs), then recovers at most as fast as ``LIMITER_RELEASE_S``. Ones
    where nothing reaches the ceiling.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    if np.abs(audio).max(initial=0.0) < ceiling * 10.0 ** (-INTERSAMPLE_MARGIN_DB / 20.0):
        return np.ones(len(audio), dtype=np.float32)
    peaks = _oversampled_peaks(np.asarray(audio, dtype=np.float64), rate)
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if needed.min() >= 1.0:
        return np.ones(len(needed), dtype=np.float32)
    width = max(1, int(LIMITER_ATTACK_S * rate))
    held = minimum_filter1d(needed, 2 * width + 1, mode="nearest")
    smooth = np.minimum(uniform_filter1d(held, width, mode="nearest"), needed)
    return _release(smooth, np.exp(-1.0 / (LIMITER_RELEASE_S * rate))).astype(np.float32)


@numba.njit(cache=True)
def _release(gain: np.ndarray, coefficient: float) -> np.ndarray:
    """``gain`` that falls at once and recovers along a one-pole curve: its depth below 1
    is a running maximum that decays by ``coefficient`` a sample."""
    out = np.empty_like(gain)
    depth = 0.0
    for i in range(len(gain)):
        depth = max(1.0 - gain[i], depth * coefficient)
        out[i] = 1.0 - depth
    return out


def limit(audio: np.ndarray, rate: int, ceiling_dbtp: float = TRUE_PEAK_DBTP) -> np.ndarray:
    """``audio`` with its true peaks held under ``ceiling_dbtp``."""
    return _apply_gain(audio, limiter_gain(audio, rate, ceiling_dbtp))


def _apply_gain(audio: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """``audio`` ``(n,)`` or ``(n, channels)`` times a per-sample ``gain`` ``(n,)``."""
    if gain.min(initial=1.0) >= 1.0:
        return audio.astype(np.float32)
    return (audio * (gain if audio.ndim == 1 else gain[:, None])).astype(np.float32)


def normalise(audio: np.ndarray, rate: int, target_lufs: float) -> tuple[np.ndarray, float]:
    """``audio`` at ``target_lufs`` integrated loudness and the linear gain used (1 for
    audio quieter than ``GATE_LUFS``, which has no loudness to speak of)."""
    measured = loudness_lufs(audio, rate)
    if not np.isfinite(measured) or measured < GATE_LUFS:
        return audio, 1.0
    gain = 10.0 ** ((target_lufs - measured) / 20.0)
    return (audio * gain).astype(np.float32), gain


def mixdown(
    stems: dict[str, np.ndarray],
    pans: dict[str, float],
    settings: MixSettings,
    source_rate: int = MODEL_RATE,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The mix and stems of mono ``stems`` at ``source_rate`` as ``settings`` ask:
    resampled, panned (``pans`` per stem) or mono, normalised, true peaks held under
    ``TRUE_PEAK_DBTP``."""
    rate = settings.sample_rate
    out: dict[str, np.ndarray] = {}
    for name, audio in stems.items():
        audio = resample(audio, rate, source_rate)
        out[name] = pan_mono(audio, pans.get(name, 0.0)) if settings.stereo else audio
    mix = np.sum(list(out.values()), axis=0).astype(np.float32)
    if settings.loudness is not None:
        mix, gain = normalise(mix, rate, settings.loudness)
        out = {name: (audio * gain).astype(np.float32) for name, audio in out.items()}
    gain = limiter_gain(mix, rate)
    mix = _apply_gain(mix, gain)
    for name, audio in out.items():
        audio = _apply_gain(audio, gain)
        if settings.stem_loudness is not None:
            audio, _ = normalise(audio, rate, settings.stem_loudness)
        out[name] = limit(audio, rate)
    return mix, out
