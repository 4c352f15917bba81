"""The frozen settings that fix how audio becomes model frames (stored in every preset)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from midivae.errors import MidivaeError


@dataclass(frozen=True)
class SpectralConfig:
    """Constant-Q NSGT analysis settings and the model's uniform frame grid.

    Bands sit at ``fmin * 2 ** (k / bins_per_octave)`` for ``k = 0 .. n_bins - 1``
    (with the defaults: A0 = 27.5 Hz up to 11017 Hz, just under Nyquist, four bins per
    semitone so MIDI note ``p`` is bin ``4 * (p - 21)``). Frame ``i`` is centred on sample
    ``i * hop_length``. Magnitudes are amplitudes (a full-scale sine at a band centre
    reads 1.0) compressed as ``log1p(log_gain * amplitude)``. Long signals are analysed in
    blocks of ``block_frames`` frames, of which ``pad_frames`` on each side are context.
    """

    sample_rate: int = 22050
    fmin: float = 27.5
    bins_per_octave: int = 48
    n_bins: int = 416
    hop_length: int = 256
    log_gain: float = 1000.0
    block_frames: int = 2592
    pad_frames: int = 432

    def __post_init__(self) -> None:
        if self.fmax >= self.sample_rate / 2:
            raise MidivaeError(
                f"spectral config: top band {self.fmax:.0f} Hz is not below Nyquist "
                f"{self.sample_rate / 2:.0f} Hz"
            )
        if self.block_frames <= 2 * self.pad_frames:
            raise MidivaeError("spectral config: block_frames must exceed 2 * pad_frames")
        if self.hop_length % 2:
            raise MidivaeError("spectral config: hop_length must be even")

    @property
    def fmax(self) -> float:
        """Centre frequency of the top band, in Hz."""
        return self.fmin * 2.0 ** ((self.n_bins - 1) / self.bins_per_octave)

    @property
    def frequencies(self) -> np.ndarray:
        """Band centre frequencies in Hz, shape ``(n_bins,)``."""
        return self.fmin * 2.0 ** (np.arange(self.n_bins) / self.bins_per_octave)

    @property
    def frame_seconds(self) -> float:
        """Spacing of the uniform frame grid, in seconds."""
        return self.hop_length / self.sample_rate

    def midi_to_bin(self, midi_pitch: float) -> float:
        """Fractional band index of a MIDI pitch (A4 = 69 = 440 Hz)."""
        return (midi_pitch - 69.0) * self.bins_per_octave / 12.0 + self.bins_per_octave * np.log2(
            440.0 / self.fmin
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpectralConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise MidivaeError(f"spectral config: unknown keys {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> SpectralConfig:
        return cls.from_dict(json.loads(text))
