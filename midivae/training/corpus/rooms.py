"""A recording as an audio-domain augmentation: room, microphone colouration, noise and hum.

Corpora are rendered dry, straight out of the renderer. :func:`place` makes a batch sound as if
it had been recorded in a room with a microphone: convolution with a synthetic impulse response
(:func:`synthetic_ir`: the direct path, sparse early reflections, a noise tail whose highs die
away faster), a gentle EQ (:func:`microphone_eq`: shelves and peaking bands), a pink or brown
noise floor at a drawn SNR and, sometimes, mains hum.

The direct path is a unit impulse at sample 0, so onsets do not move and the direct sound keeps
its level: absolute level is a calibrated cue for velocity downstream, so the output's loudness
is never normalised. numpy and scipy only; every draw comes from the ``rng`` given, and
:func:`place` returns a JSON-able record of what it drew.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.signal import oaconvolve, sosfilt, sosfreqz

#: Sample rate of corpus audio.
SAMPLE_RATE = 22050
#: Early reflections arrive within this window after the direct sound, in seconds.
EARLY_WINDOW_S = (0.005, 0.060)
#: Frequencies above which the reverberant tail decays faster, in Hz.
DAMPING_FROM_HZ = 1000.0
#: Per octave above ``DAMPING_FROM_HZ``, the RT60 is multiplied by a factor drawn here.
DAMPING_PER_OCTAVE = (0.6, 0.85)
#: Share of the reverberant energy in the early reflections.
EARLY_SHARE = (0.15, 0.4)
#: Lowest frequency of the noise colouring (below it the spectrum is flat), in Hz.
NOISE_FLOOR_HZ = 20.0

_LN_1000 = 3.0 * np.log(10.0)  # amplitude falls by 60 dB (x 1/1000) over one RT60


@dataclass(frozen=True)
class RoomSettings:
    """What a recording varies, and by how much (ranges are drawn uniformly)."""

    #: Share of batches played in a room.
    probability: float = 0.7
    rt60_s: tuple[float, float] = (0.2, 2.5)
    #: Reverberant energy relative to the direct sound's, in dB.
    wet_db: tuple[float, float] = (-18.0, 0.0)
    #: How many sparse reflections in the first 5-60 ms (inclusive bounds).
    early_reflections: tuple[int, int] = (3, 12)
    #: Share of batches with microphone/preamp colouration.
    eq_probability: float = 0.7
    #: Low shelf, high shelf and 1-2 peaking bands, together within +-eq_db everywhere.
    eq_db: float = 6.0
    noise_probability: float = 0.5
    #: Pink or brown background noise this far under the signal's RMS.
    snr_db: tuple[float, float] = (25.0, 60.0)
    hum_probability: float = 0.2
    #: 50 or 60 Hz and a few harmonics, RMS in dB relative to full scale (RMS 1).
    hum_db: tuple[float, float] = (-70.0, -45.0)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return float(low) if high <= low else float(rng.uniform(low, high))


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def synthetic_ir(
    rt60_s: float,
    rng: np.random.Generator,
    *,
    sample_rate: int = SAMPLE_RATE,
    early: int = 6,
    wet_db: float = 0.0,
) -> np.ndarray:
    """A room's impulse response, float64.

    A unit impulse at sample 0 (the direct path); ``early`` sparse reflections of random sign
    between 5 and 60 ms, weaker the later they come, slightly low-passed; and a noise tail
    that starts with the first reflection, rises over at most 20 ms and decays exponentially:
    at ``rt60_s`` up to 1 kHz, faster above (the RT60 shrinks by a drawn 0.6-0.85 per octave).
    Everything after the direct path together has ``wet_db`` dB of the direct path's energy.
    The response is ``rt60_s`` long after the tail's start (the lowest bands are 60 dB down).
    """
    rt60 = max(float(rt60_s), 1e-3)
    early = max(int(early), 0)
    lo, hi = (round(t * sample_rate) for t in EARLY_WINDOW_S)
    delays = np.sort(rng.integers(lo, hi + 1, size=early)) if early else np.array([hi], int)
    tail_start = int(delays[0])
    n = tail_start + int(np.ceil(rt60 * sample_rate)) + 2
    n = max(n, hi + 4)

    # early reflections: random signs, 1/sqrt(delay) fall-off with a random spread
    sparse = np.zeros(n)
    if early:
        magnitude = rng.uniform(0.4, 1.0, early) * np.sqrt(lo / delays)
        sign = np.where(rng.random(early) < 0.5, -1.0, 1.0)
        np.add.at(sparse, delays, sign * magnitude)
        sparse = np.convolve(sparse, [0.25, 0.5, 0.25])[1 : n + 1]

    # tail: white noise split into octave bands (amplitude-complementary cos^2 crossovers
    # in log frequency), each with its own exponential decay
    per_octave = _uniform(rng, DAMPING_PER_OCTAVE)
    length = n - tail_start
    noise = rng.standard_normal(length)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    octave = np.log2(np.maximum(freqs, 1.0) / DAMPING_FROM_HZ)
    t = np.arange(length) / sample_rate
    centres = np.arange(int(np.floor(octave.min())), int(np.ceil(octave.max())) + 1)
    tail = np.zeros(length)
    for k in centres:
        weight = np.cos(0.5 * np.pi * np.clip(octave - k, -1.0, 1.0)) ** 2
        if k == centres[0]:
            weight[octave < k] = 1.0
        if k == centres[-1]:
            weight[octave > k] = 1.0
        if not weight.any():
            continue
        band = np.fft.irfft(spectrum * weight, n=length)
        band_rt60 = rt60 * per_octave ** max(float(k), 0.0)
        tail += band * np.exp(-_LN_1000 * t / band_rt60)
    rise = max(1, round(min(0.02, 0.1 * rt60) * sample_rate))
    ramp = np.ones(length)
    ramp[:rise] = np.sin(0.5 * np.pi * np.arange(rise) / rise) ** 2
    tail *= ramp

    # levels: reverberant energy = wet, split between reflections and tail
    wet = 10.0 ** (float(wet_db) / 10.0)
    share = _uniform(rng, EARLY_SHARE) if early else 0.0
    ir = np.zeros(n)
    tail_energy = float(np.sum(tail**2))
    if tail_energy > 0:
        ir[tail_start:] += tail * np.sqrt((1.0 - share) / tail_energy)
    early_energy = float(np.sum(sparse**2))
    if early_energy > 0:
        ir += sparse * np.sqrt(share / early_energy)
    total = float(np.sum(ir**2))
    if total > 0:
        ir *= np.sqrt(wet / total)
    ir[0] = 1.0
    return ir


def _biquad(kind: str, freq: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """One RBJ-cookbook biquad as an sos row (shelves with slope 1: no overshoot)."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / sample_rate
    cos, sin = np.cos(w0), np.sin(w0)
    if kind == "peak":
        alpha = sin / (2.0 * q)
        b = [1.0 + alpha * a, -2.0 * cos, 1.0 - alpha * a]
        den = [1.0 + alpha / a, -2.0 * cos, 1.0 - alpha / a]
    else:
        alpha = sin / 2.0 * np.sqrt(2.0)
        root = 2.0 * np.sqrt(a) * alpha
        if kind == "low_shelf":
            b = [
                a * ((a + 1) - (a - 1) * cos + root),
                2 * a * ((a - 1) - (a + 1) * cos),
                a * ((a + 1) - (a - 1) * cos - root),
            ]
            den = [(a + 1) + (a - 1) * cos + root, -2 * ((a - 1) + (a + 1) * cos)]
            den.append((a + 1) + (a - 1) * cos - root)
        else:
            b = [
                a * ((a + 1) + (a - 1) * cos + root),
                -2 * a * ((a - 1) + (a + 1) * cos),
                a * ((a + 1) + (a - 1) * cos - root),
            ]
            den = [(a + 1) - (a - 1) * cos + root, 2 * ((a - 1) - (a + 1) * cos)]
            den.append((a + 1) - (a - 1) * cos - root)
    return np.array([*b, *den]) / den[0]


def _eq_sos(bands: list[dict[str, Any]], sample_rate: int) -> np.ndarray:
    return np.stack(
        [_biquad(b["kind"], b["hz"], b["db"], b.get("q", 0.707), sample_rate) for b in bands]
    )


def eq_response_db(sos: np.ndarray, sample_rate: int = SAMPLE_RATE, n: int = 4096) -> np.ndarray:
    """Magnitude response of ``sos`` in dB at ``n`` frequencies from 0 to Nyquist."""
    _, h = sosfreqz(sos, worN=n, fs=sample_rate)
    return 20.0 * np.log10(np.maximum(np.abs(h), 1e-12))


def microphone_eq(
    rng: np.random.Generator, eq_db: float, *, sample_rate: int = SAMPLE_RATE
) -> tuple[np.ndarray, dict[str, Any]]:
    """A microphone/preamp colouration: biquads ``sos`` and their record.

    A low shelf (60-300 Hz), a high shelf (2-8 kHz) and one or two peaking bands (150 Hz -
    6 kHz, Q 0.5-2.5), gains drawn within +-``eq_db``; where the bands add up to more than
    ``eq_db`` at some frequency, all gains shrink together until the whole stays within it.
    """
    nyquist = 0.5 * sample_rate
    bands: list[dict[str, Any]] = [
        {"kind": "low_shelf", "hz": _log_uniform(rng, 60.0, 300.0)},
        {"kind": "high_shelf", "hz": _log_uniform(rng, 2000.0, min(8000.0, 0.4 * nyquist * 2))},
    ]
    for _ in range(int(rng.integers(1, 3))):
        q = float(rng.uniform(0.5, 2.5))
        bands.append({"kind": "peak", "hz": _log_uniform(rng, 150.0, 6000.0), "q": q})
    for band in bands:
        band["db"] = float(rng.uniform(-eq_db, eq_db))
    sos = _eq_sos(bands, sample_rate)
    for _ in range(8):
        peak = float(np.max(np.abs(eq_response_db(sos, sample_rate))))
        if peak <= eq_db:
            break
        for band in bands:
            band["db"] *= 0.99 * eq_db / peak
        sos = _eq_sos(bands, sample_rate)
    else:  # pragma: no cover - the dB response is nearly linear in the gains
        total = sum(abs(b["db"]) for b in bands)
        for band in bands:
            band["db"] *= eq_db / total
        sos = _eq_sos(bands, sample_rate)
    record = {
        "bands": [
            {k: round(v, 3) if isinstance(v, float) else v for k, v in b.items()} for b in bands
        ],
        "max_abs_db": round(float(np.max(np.abs(eq_response_db(sos, sample_rate)))), 3),
    }
    return sos, record


def coloured_noise(
    n: int, rng: np.random.Generator, colour: str, *, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """``n`` samples of pink (1/f power) or brown (1/f^2) noise with RMS 1, no DC."""
    if n == 0:
        return np.zeros(0)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n, 1.0 / sample_rate), NOISE_FLOOR_HZ)
    exponent = {"pink": 0.5, "brown": 1.0, "white": 0.0}[colour]
    spectrum *= freqs**-exponent
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n=n)
    rms = float(np.sqrt(np.mean(noise**2)))
    return noise / rms if rms > 0 else noise


def place(
    audio: np.ndarray,
    rng: np.random.Generator,
    settings: RoomSettings,
    *,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[np.ndarray, dict[str, Any]]:
    """``audio`` as recorded in a room with a microphone; float32 of the same length.

    Each stage happens with its probability: the room (convolution with :func:`synthetic_ir`,
    cut to the input's length; direct path at 0 with gain 1), the EQ (:func:`microphone_eq`),
    the noise (pink or brown, ``snr_db`` under the RMS of the signal so far, over the whole
    batch) and the hum (50 or 60 Hz with 1-4 harmonics at ``hum_db`` dB RMS re full scale).
    Returns the audio and the record (None for each stage that did not happen).
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    n = len(x)
    record: dict[str, Any] = {"room": None, "eq": None, "noise": None, "hum": None}

    if rng.random() < settings.probability:
        rt60 = _uniform(rng, settings.rt60_s)
        wet_db = _uniform(rng, settings.wet_db)
        low, high = settings.early_reflections
        early = int(rng.integers(low, high + 1)) if high > low else int(low)
        ir = synthetic_ir(rt60, rng, sample_rate=sample_rate, early=early, wet_db=wet_db)
        if n:
            x = oaconvolve(x, ir)[:n]
        record["room"] = {
            "rt60_s": round(rt60, 4),
            "wet_db": round(wet_db, 3),
            "early_reflections": early,
            "ir_seconds": round(len(ir) / sample_rate, 4),
        }

    if rng.random() < settings.eq_probability:
        sos, record["eq"] = microphone_eq(rng, settings.eq_db, sample_rate=sample_rate)
        if n:
            x = sosfilt(sos, x)

    if rng.random() < settings.noise_probability:
        snr_db = _uniform(rng, settings.snr_db)
        colour = "pink" if rng.random() < 0.5 else "brown"
        signal_rms = float(np.sqrt(np.mean(x**2))) if n else 0.0
        if signal_rms > 0:
            noise_rms = signal_rms * 10.0 ** (-snr_db / 20.0)
            x = x + noise_rms * coloured_noise(n, rng, colour, sample_rate=sample_rate)
            record["noise"] = {
                "colour": colour,
                "snr_db": round(snr_db, 3),
                "rms_dbfs": round(20.0 * float(np.log10(noise_rms)), 3),
            }

    if rng.random() < settings.hum_probability:
        hum_db = _uniform(rng, settings.hum_db)
        mains = 50.0 if rng.random() < 0.5 else 60.0
        mains *= 1.0 + float(rng.uniform(-0.002, 0.002))
        harmonics = int(rng.integers(2, 6))  # the fundamental and 1-4 harmonics
        weights = rng.uniform(0.2, 1.0, harmonics) / np.arange(1, harmonics + 1)
        weights[0] = 1.0
        phases = rng.uniform(0.0, 2.0 * np.pi, harmonics)
        t = np.arange(n) / sample_rate
        hum = np.zeros(n)
        for h in range(harmonics):
            if (h + 1) * mains < 0.5 * sample_rate:
                hum += weights[h] * np.sin(2.0 * np.pi * (h + 1) * mains * t + phases[h])
        # RMS of the sum of sines: sqrt(sum w^2 / 2)
        hum *= 10.0 ** (hum_db / 20.0) / np.sqrt(0.5 * np.sum(weights**2))
        x = x + hum
        record["hum"] = {
            "hz": round(mains, 4),
            "harmonics": harmonics,
            "rms_dbfs": round(hum_db, 3),
        }

    return x.astype(np.float32), record
