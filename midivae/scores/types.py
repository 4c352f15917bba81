"""The note-event form that every score reader returns and every writer takes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Curve", "NoteEvent", "Part", "Score"]


@dataclass(frozen=True, order=True)
class NoteEvent:
    """One sounding note.

    Attributes
    ----------
    onset, offset : float
        Start and end in seconds, ``0 <= onset < offset``.
    pitch : int
        MIDI note number 0-127 (60 = middle C).
    velocity : int
        MIDI velocity 1-127.
    part : int
        Index into `Score.parts`.
    """

    onset: float
    offset: float
    pitch: int
    velocity: int
    part: int = 0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.onset) and np.isfinite(self.offset)):
            raise ValueError(f"note times must be finite, got {self.onset}, {self.offset}")
        if not 0.0 <= self.onset < self.offset:
            raise ValueError(f"need 0 <= onset < offset, got {self.onset}, {self.offset}")
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"pitch must be 0-127, got {self.pitch}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be 1-127, got {self.velocity}")
        if self.part < 0:
            raise ValueError(f"part must be >= 0, got {self.part}")

    @property
    def duration(self) -> float:
        """``offset - onset`` in seconds."""
        return self.offset - self.onset


@dataclass(frozen=True)
class Part:
    """One instrument line of a score.

    Attributes
    ----------
    index : int
        Position in `Score.parts`; `NoteEvent.part` refers to it.
    name : str
        Track or part name (may be empty).
    program : int or None
        General MIDI program, 0-based as in pretty_midi (0 = piano, 40 = violin);
        None when the score does not say.
    is_drum : bool
        A percussion part (MIDI channel 10). Readers drop these.
    pan : float or None
        Stereo position from -1 (left) to 1 (right), from MIDI CC10; None when the score
        does not say.
    """

    index: int
    name: str = ""
    program: int | None = None
    is_drum: bool = False
    pan: float | None = None

    def __post_init__(self) -> None:
        if self.program is not None and not 0 <= self.program <= 127:
            raise ValueError(f"program must be 0-127 or None, got {self.program}")
        if self.pan is not None and not -1.0 <= self.pan <= 1.0:
            raise ValueError(f"pan must be -1 to 1 or None, got {self.pan}")


@dataclass(frozen=True, eq=False)
class Curve:
    """A controller value that changes over time, held between its points (a step function).

    Attributes
    ----------
    times : np.ndarray, shape (n,), float64
        Seconds, non-decreasing, read-only.
    values : np.ndarray, shape (n,), float64
        The value from each time on (gain in [0, 1], bend in semitones), read-only.
    """

    times: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        times = np.array(self.times, dtype=np.float64).reshape(-1)
        values = np.array(self.values, dtype=np.float64).reshape(-1)
        if times.shape != values.shape or times.size == 0:
            raise ValueError("a curve needs as many times as values, at least one")
        if np.any(np.diff(times) < 0) or not np.isfinite(times).all():
            raise ValueError("curve times must be finite and non-decreasing")
        times.setflags(write=False)
        values.setflags(write=False)
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "values", values)

    def at(self, t: float | np.ndarray) -> np.ndarray:
        """The held value at time(s) `t` in seconds (the first value before the first time)."""
        idx = np.searchsorted(self.times, np.asarray(t, dtype=np.float64), side="right") - 1
        return self.values[np.clip(idx, 0, self.values.size - 1)]

    def is_constant(self) -> bool:
        """Whether the curve holds one value throughout."""
        return bool(np.all(self.values == self.values[0]))


@dataclass(frozen=True, eq=False)
class Score:
    """Notes, parts and controller curves of one piece, in seconds.

    Attributes
    ----------
    notes : list of NoteEvent
        Sorted by onset, then pitch. Sustain pedal and ties are already applied.
    parts : list of Part
        ``parts[i].index == i``; drum parts have been dropped by the readers.
    gain_curves : dict of int to Curve
        Per part index: channel volume x expression (CC7 x CC11) in [0, 1]; parts
        without controllers have no entry (gain 1).
    bend_curves : dict of int to Curve
        Per part index: pitch bend in semitones; parts without bends have no entry.
    tempo_bpm : float
        The first tempo, quarter notes per minute (120 when the file gives none).
    duration : float
        Seconds until the last note (or controller) ends.
    """

    notes: list[NoteEvent]
    parts: list[Part]
    gain_curves: dict[int, Curve] = field(default_factory=dict)
    bend_curves: dict[int, Curve] = field(default_factory=dict)
    tempo_bpm: float = 120.0
    duration: float = 0.0

    def part_notes(self, index: int) -> list[NoteEvent]:
        """The notes of part `index`, in onset order."""
        return [n for n in self.notes if n.part == index]


def sort_notes(notes: Sequence[NoteEvent]) -> list[NoteEvent]:
    """Notes in (onset, pitch, part, offset) order."""
    return sorted(notes, key=lambda n: (n.onset, n.pitch, n.part, n.offset))


def writer_input(
    score_or_notes: Score | Sequence[NoteEvent],
    parts: Sequence[Part] | None,
    tempo_bpm: float | None,
) -> tuple[list[NoteEvent], list[Part], dict[int, Curve], dict[int, Curve], float]:
    """Notes, parts, gain and bend curves and tempo of a writer's input."""
    if isinstance(score_or_notes, Score):
        score = score_or_notes
        notes, gains, bends = list(score.notes), score.gain_curves, score.bend_curves
        parts = list(score.parts if parts is None else parts)
        tempo = score.tempo_bpm if tempo_bpm is None else tempo_bpm
    else:
        notes, gains, bends = list(score_or_notes), {}, {}
        tempo = 120.0 if tempo_bpm is None else tempo_bpm
        if parts is None:
            parts = [Part(i) for i in range(max((n.part for n in notes), default=-1) + 1)]
        parts = list(parts)
    if not (math.isfinite(tempo) and tempo > 0):
        raise ValueError(f"tempo_bpm must be positive, got {tempo}")
    known = {p.index for p in parts}
    missing = sorted({n.part for n in notes} - known)
    if missing:
        raise ValueError(f"notes refer to parts {missing} that are not in parts")
    return notes, parts, gains, bends, float(tempo)
