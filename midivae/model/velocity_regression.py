"""A note's velocity from what the model reads over its attack and how loud the note gets.

The model reads velocity frame by frame, and over a note's first frames it cannot tell a soft note
from a loud one early in its attack, nor hear how loud the note grows. A preset may carry a
*velocity regression*: a least-squares line, measured on fresh renders of its training library
(:mod:`midivae.training.velocity_fit`), from three things heard per note to its MIDI velocity: the
model's attack velocity (the median over the attack frames), the note's peak level (its own pitch's
partial envelope, :func:`midivae.transcription.timing.pitch_envelopes`, over the note) and its pitch
(instruments are louder in some registers). The level enters as the square root of the peak
amplitude: sample players turn velocity ``v`` into an attenuation of ``40 log10(127 / v)`` dB (the
SoundFont default, fluidsynth's), so ``v`` grows with the amplitude's square root, which a line in
dB would miss at the soft end (measurements: docs/experiments.md, "Velocity regression"). Presets
without one keep the attack velocity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from midivae.errors import MidivaeError

#: The pitch the pitch weight is measured from (middle C).
PITCH_ORIGIN = 60
#: The level feature: LEVEL_SCALE * sqrt(peak amplitude) (a full-scale sine reads 100).
LEVEL_SCALE = 100.0


@dataclass(frozen=True)
class VelocityRegression:
    """``velocity = attack * attack_velocity + level * note_level + pitch * (pitch - 60) +
    offset`` (:func:`note_level`), clipped to 1-127; ``notes`` is how many notes it was
    fitted on."""

    attack: float
    level: float
    pitch: float
    offset: float
    notes: int = 0

    def predict(self, attack_velocity: float, level: float, pitch: int) -> int:
        value = (
            self.attack * attack_velocity
            + self.level * level
            + self.pitch * (pitch - PITCH_ORIGIN)
            + self.offset
        )
        return int(np.clip(round(value), 1, 127))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> VelocityRegression:
        """From a preset's ``velocity_regression`` (weights only; its ``fit`` record is kept
        beside them); ``MidivaeError`` when a weight is missing or not finite."""
        try:
            values = {key: float(data[key]) for key in ("attack", "level", "pitch", "offset")}
            notes = int(data.get("notes", 0))
        except (TypeError, KeyError, ValueError) as exc:
            raise MidivaeError(f"velocity_regression: bad or missing weight ({exc})") from None
        if not all(np.isfinite(v) for v in values.values()):
            raise MidivaeError("velocity_regression: weights must be finite numbers")
        return cls(**values, notes=notes)


def note_level(envelope: np.ndarray, start: int, end: int) -> float:
    """``LEVEL_SCALE * sqrt(peak)`` of a note's own partial envelope ``(n_frames,)`` (an
    amplitude) over frames ``start`` to ``end`` (at least its first frame)."""
    end = min(max(end, start + 1), len(envelope))
    start = min(start, end - 1)
    return float(LEVEL_SCALE * np.sqrt(max(float(envelope[start:end].max()), 0.0)))


def fit_velocity_regression(
    attack: np.ndarray, level: np.ndarray, pitch: np.ndarray, velocity: np.ndarray
):
    """The least-squares :class:`VelocityRegression` of true ``velocity`` per note from the
    notes' attack velocities, levels (:func:`note_level`) and pitches; None with fewer than
    20 notes or when the line is degenerate (e.g. one pitch, one level)."""
    attack, level, pitch, velocity = (
        np.asarray(a, dtype=np.float64) for a in (attack, level, pitch, velocity)
    )
    if len(velocity) < 20:
        return None
    design = np.stack([attack, level, pitch - PITCH_ORIGIN, np.ones_like(attack)], axis=1)
    weights, _, rank, _ = np.linalg.lstsq(design, velocity, rcond=None)
    if rank < design.shape[1] or not np.all(np.isfinite(weights)):
        return None
    return VelocityRegression(*(round(float(w), 5) for w in weights), notes=len(velocity))
