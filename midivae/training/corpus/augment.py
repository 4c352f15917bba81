"""Training-time augmentations of linear amplitude frames ``(n_frames, n_bins)``; all seeded.

Corpora are rendered at one reference gain so absolute level is a calibrated cue; these
options trade that cue (gain) and the clean timbre (EQ tilt, noise, detune, reverb) for
robustness. Which ones to use is decided by measurement in the model issue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from midivae.spectral import SpectralConfig
from midivae.spectral.shift import detune


def gain(amplitude: np.ndarray, db: float) -> np.ndarray:
    """Scale by ``db`` decibels."""
    return amplitude * np.float32(10.0 ** (db / 20.0))


def eq_tilt(
    amplitude: np.ndarray, db_per_octave: float, config: SpectralConfig, *, pivot_hz: float = 1000.0
) -> np.ndarray:
    """A spectral tilt of ``db_per_octave`` around ``pivot_hz`` (positive = brighter)."""
    octaves = np.log2(config.frequencies / pivot_hz)
    return amplitude * (10.0 ** (db_per_octave * octaves / 20.0)).astype(np.float32)


def noise(amplitude: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add a noise floor ``snr_db`` below the signal's mean frame power.

    The noise is flat across constant-Q bands (pink-like) with a random phase against the
    signal, so each bin becomes ``|a + n|`` with ``n`` circular complex Gaussian.
    """
    signal_power = float(np.mean(np.sum(amplitude.astype(np.float64) ** 2, axis=-1)))
    if signal_power <= 0.0:
        return amplitude
    per_bin = signal_power / amplitude.shape[-1] / 10.0 ** (snr_db / 10.0)
    scale = np.sqrt(per_bin / 2.0)
    real = rng.standard_normal(amplitude.shape) * scale
    imag = rng.standard_normal(amplitude.shape) * scale
    return np.hypot(amplitude + real, imag).astype(np.float32)


def reverb(
    amplitude: np.ndarray,
    rt60: float,
    wet_db: float,
    config: SpectralConfig,
    *,
    high_damping: float = 0.5,
) -> np.ndarray:
    """A room as a per-band exponential smear of power over consecutive frames.

    ``rt60`` (seconds) holds at the lowest band and falls to ``high_damping * rt60`` at the
    top; the smeared power, ``wet_db`` relative to the dry power, is added to it. Needs
    frames in time order (a contiguous run, not shuffled frames).
    """
    from scipy.signal import lfilter  # slow to import; only reverb needs it

    position = np.linspace(0.0, 1.0, amplitude.shape[-1])
    band_rt60 = rt60 * (1.0 - (1.0 - high_damping) * position)
    decay = 10.0 ** (-6.0 * config.frame_seconds / band_rt60)  # power factor per frame
    power = amplitude.astype(np.float64) ** 2
    tail = np.empty_like(power)
    for k, a in enumerate(decay):
        tail[:, k] = lfilter([1.0 - a], [1.0, -a], power[:, k])
    return np.sqrt(power + 10.0 ** (wet_db / 10.0) * tail).astype(np.float32)


@dataclass(frozen=True)
class Augmentation:
    """Which augmentations to draw and from what ranges; ``None`` switches one off.

    Each enabled augmentation is applied with ``probability``, its parameter drawn uniformly
    from its range, once per call of :meth:`apply` (one draw for a whole run of frames).
    """

    gain_db: tuple[float, float] | None = None
    tilt_db_per_octave: tuple[float, float] | None = None
    snr_db: tuple[float, float] | None = None
    detune_cents: tuple[float, float] | None = None
    reverb_rt60: tuple[float, float] | None = None
    reverb_wet_db: tuple[float, float] = (-18.0, -6.0)
    probability: float = 0.5

    @classmethod
    def standard(cls, probability: float = 0.5) -> Augmentation:
        """Every augmentation on, with the ranges the issue names."""
        return cls(
            gain_db=(-18.0, 12.0),
            tilt_db_per_octave=(-1.5, 1.5),
            snr_db=(30.0, 50.0),
            detune_cents=(-15.0, 15.0),
            reverb_rt60=(0.2, 1.5),
            probability=probability,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Augmentation:
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
                      if k in known})  # fmt: skip

    def apply(
        self, amplitude: np.ndarray, rng: np.random.Generator, config: SpectralConfig
    ) -> np.ndarray:
        """Augment a run of linear amplitude frames ``(n_frames, n_bins)``."""

        def draw(bounds: tuple[float, float] | None) -> float | None:
            if bounds is None or rng.random() >= self.probability:
                return None
            return float(rng.uniform(*bounds))

        out = np.asarray(amplitude, dtype=np.float32)
        if (cents := draw(self.detune_cents)) is not None:
            out = detune(out, cents, config)
        if (rt60 := draw(self.reverb_rt60)) is not None:
            out = reverb(out, rt60, float(rng.uniform(*self.reverb_wet_db)), config)
        if (tilt := draw(self.tilt_db_per_octave)) is not None:
            out = eq_tilt(out, tilt, config)
        if (db := draw(self.gain_db)) is not None:
            out = gain(out, db)
        if (snr := draw(self.snr_db)) is not None:
            out = noise(out, snr, rng)
        return out
