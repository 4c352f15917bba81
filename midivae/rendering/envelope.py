"""A note's attack and release gains, as measured on an instrument and stored in its preset.

Rendering shapes every note's decoded frames with them (``training.corpus.envelopes``
measures them on the instrument's isolated corpus notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Envelope:
    """Per-frame gains: ``attack[k]`` for the k-th frame of a note, ``release[k]`` for the
    k-th frame after its note-off, both relative to the sustained level."""

    attack: tuple[float, ...]
    release: tuple[float, ...]
    decay_db_per_second: float = 0.0  # level slope while a note is held (piano: negative)
    release_db_per_second: float = 0.0  # how fast the sound stops after note-off (0: unknown)

    def to_dict(self) -> dict:
        return {
            "attack": list(self.attack),
            "release": list(self.release),
            "decay_db_per_second": self.decay_db_per_second,
            "release_db_per_second": self.release_db_per_second,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Envelope:
        return cls(
            tuple(float(v) for v in data["attack"]),
            tuple(float(v) for v in data["release"]),
            float(data.get("decay_db_per_second", 0.0)),
            float(data.get("release_db_per_second", 0.0)),
        )

    @classmethod
    def flat(cls) -> Envelope:
        """No shaping: full level from the first frame, silence after note-off."""
        return cls((1.0,), (0.0,))

    def gains(self, n_frames: int, frame_seconds: float) -> np.ndarray:
        """Gain of each frame of a note held ``n_frames`` frames, then of its release tail."""
        held = np.ones(n_frames)
        k = min(n_frames, len(self.attack))
        held[:k] = self.attack[:k]
        sustained = n_frames - len(self.attack)
        if sustained > 0:
            steps = np.arange(1, sustained + 1) * frame_seconds
            held[len(self.attack) :] = self.attack[-1] * 10.0 ** (
                self.decay_db_per_second * steps / 20.0
            )
        tail = np.asarray(self.release, dtype=np.float64) * (held[-1] if n_frames else 1.0)
        return np.concatenate([held, tail])
