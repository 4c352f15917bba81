"""A polyphonic preset's check of each key note the tracker found: played, or misheard?

The piano's frame model hears a played note's partials as keys of their own (most of its
wrong notes sit an octave, a twelfth or two octaves over a sounding note; measurements:
docs/experiments.md, "Piano") and reads upper voices faintly. A preset may carry a *note
verifier*: a logistic regression, measured on fresh renders of its training library
(:mod:`midivae.training.verifier_fit`), from what is heard of a tracked note (:data:`FEATURES`) to
the chance that it was played; notes under its ``threshold`` are dropped. The threshold is
the one whose kept notes scored best on the fit's own renders. Presets without one keep
every tracked note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from midivae.errors import MidivaeError

#: What each feature row holds, in order.
FEATURES = (
    "attack_probability",  # the key's mean probability over the note's first frames
    "onset",  # the strongest onset evidence of its partials near its (timed) start
    "log_frames",  # the natural log of its length in frames
    "lower_probability",  # the most probable key whose partial it could be, over its attack
    "octave_above_probability",  # the key an octave over it, over its attack
    "level",  # its partials' level over its attack, dB under the loudest pitch's, / 20
    "pitch",  # (MIDI pitch - 60) / 24
)
ATTACK_FRAMES = 6
#: Semitones from a lower note up to its 2nd-6th partials.
PARTIAL_STEPS = (12, 19, 24, 28, 31)
#: Thresholds the fit chooses from.
THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 13))
L2 = 1e-2


def note_features(
    heard: Sequence,
    timed: Sequence,
    probabilities: np.ndarray,
    onsets: np.ndarray,
    envelopes: np.ndarray,
    pitches: np.ndarray,
) -> np.ndarray:
    """:data:`FEATURES` of each tracked note, ``(n_notes, len(FEATURES))``.

    ``heard`` are the tracker's notes (:class:`~midivae.transcription.timing.TrackedNote`, frames as
    the model heard them), ``timed`` the same notes with onsets moved to their partials'
    rise; ``probabilities`` and ``onsets`` are ``(n_frames, n_keys)``, ``envelopes`` the
    keys' partial amplitudes (:func:`~midivae.transcription.timing.pitch_envelopes`) and
    ``pitches`` the MIDI pitch of each key column.
    """
    rows = np.zeros((len(heard), len(FEATURES)))
    if not len(heard):
        return rows
    level = 20.0 * np.log10(np.asarray(envelopes, dtype=np.float64) + 1e-9)
    loudest = level.max(axis=1)
    n_keys = probabilities.shape[1]
    for i, (note, time) in enumerate(zip(heard, timed, strict=True)):
        a, key = note.start, note.pitch
        b = min(note.end, a + ATTACK_FRAMES)
        attack = probabilities[a:b]
        lower = [attack[:, key - s].mean() for s in PARTIAL_STEPS if key - s >= 0]
        above = attack[:, key + 12].mean() if key + 12 < n_keys else 0.0
        rows[i] = (
            attack[:, key].mean(),
            onsets[max(time.start - 2, 0) : a + 3, key].max(),
            np.log(max(note.end - a, 1)),
            max(lower, default=0.0),
            above,
            (level[a:b, key] - loudest[a:b]).mean() / 20.0,
            (pitches[key] - 60) / 24.0,
        )
    return rows


@dataclass(frozen=True)
class NoteVerifier:
    """``P(played) = sigmoid(weights . (features - mean) / scale + bias)``; a note is kept
    when it reaches ``threshold``. ``notes``: how many tracked notes it was fitted on;
    ``tracking_threshold``: the onset threshold they were tracked at
    (``TrackingSettings.with_onset_threshold``), which transcription then tracks at too."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    notes: int = 0
    tracking_threshold: float = 0.5

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))

    def keep(self, features: np.ndarray) -> np.ndarray:
        """Which notes (rows of :func:`note_features`) to keep, ``(n,)`` bool."""
        if len(features) == 0:
            return np.zeros(0, dtype=bool)
        return self.probability(features) >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURES), **asdict(self)}

    @classmethod
    def from_dict(cls, data: Any) -> NoteVerifier:
        """From a preset's ``note_verifier`` (its ``fit`` record is kept beside it);
        ``MidivaeError`` when a field is missing, of the wrong length or not finite."""
        try:
            if list(data["features"]) != list(FEATURES):
                raise ValueError(f"features are not {list(FEATURES)}")
            vectors = {k: tuple(float(v) for v in data[k]) for k in ("mean", "scale", "weights")}
            bias, threshold = float(data["bias"]), float(data["threshold"])
            notes = int(data.get("notes", 0))
            tracking = float(data.get("tracking_threshold", 0.5))
        except (TypeError, KeyError, ValueError) as exc:
            raise MidivaeError(f"note_verifier: bad or missing field ({exc})") from None
        values = [bias, threshold, *(v for vec in vectors.values() for v in vec)]
        if any(len(v) != len(FEATURES) for v in vectors.values()):
            raise MidivaeError(f"note_verifier: {len(FEATURES)} values per vector")
        if not all(np.isfinite(values)) or min(vectors["scale"]) <= 0:
            raise MidivaeError("note_verifier: values must be finite, scales positive")
        if not 0.0 < tracking < 1.0:
            raise MidivaeError("note_verifier: tracking_threshold must be between 0 and 1")
        return cls(
            **vectors, bias=bias, threshold=threshold, notes=notes, tracking_threshold=tracking
        )


def item_f1(played: np.ndarray, n_played: int, keep: np.ndarray) -> float:
    """Onset F1 of one item's kept notes; ``played``: whether each tracked note was played."""
    found = float(np.sum(played[keep]))
    precision = found / max(int(np.sum(keep)), 1)
    recall = found / max(n_played, 1)
    return 0.0 if found == 0 else 2.0 * precision * recall / (precision + recall)


def fit_verifier(items: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> NoteVerifier | None:
    """The :class:`NoteVerifier` of renders ``items``: per item its tracked notes' features,
    whether each was played (0/1), and how many notes were played. A ridge logistic
    regression (Newton steps); the threshold is the one of :data:`THRESHOLDS` whose kept
    notes score the best mean :func:`item_f1`, none at all (0) when keeping every note
    scores better. None with fewer than 50 tracked notes or only one kind."""
    if not items:
        return None
    x = np.concatenate([np.asarray(f, dtype=np.float64) for f, _, _ in items])
    y = np.concatenate([np.asarray(p, dtype=np.float64) for _, p, _ in items])
    if len(y) < 50 or y.min() == y.max():
        return None
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    design = np.c_[(x - mean) / scale, np.ones(len(x))]
    w = np.zeros(design.shape[1])
    ridge = L2 * np.diag([1.0] * len(FEATURES) + [0.0])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-design @ w))
        gradient = design.T @ (p - y) / len(y) + ridge @ w
        hessian = (design * (p * (1.0 - p))[:, None]).T @ design / len(y) + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    verifier = NoteVerifier(
        tuple(round(float(v), 6) for v in mean),
        tuple(round(float(v), 6) for v in scale),
        tuple(round(float(v), 6) for v in w[:-1]),
        round(float(w[-1]), 6),
        0.0,
        notes=len(y),
    )
    best, best_threshold = np.mean([item_f1(p, n, p >= 0) for _, p, n in items]), 0.0
    for threshold in THRESHOLDS:
        candidate = NoteVerifier(**{**asdict(verifier), "threshold": threshold})
        score = np.mean([item_f1(p, n, candidate.keep(f)) for f, p, n in items])
        if score > best + 1e-9:
            best, best_threshold = score, threshold
    return NoteVerifier(**{**asdict(verifier), "threshold": best_threshold})
