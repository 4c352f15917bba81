"""Dynamics marks and hairpins -> MIDI velocities (the one table that maps them).

Works on quarter-length offsets within one part, so it needs no music21 and can be
tested alone; `midivae.scores.musicxml` collects the marks and hairpins.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

__all__ = [
    "ACCENT_VELOCITY",
    "DEFAULT_VELOCITY",
    "LEVELS",
    "VELOCITY",
    "dynamic_name",
    "note_velocities",
    "step",
]

VELOCITY: dict[str, int] = {
    "ppp": 16,
    "pp": 33,
    "p": 49,
    "mp": 64,
    "mf": 80,
    "f": 96,
    "ff": 112,
    "fff": 127,
}
"""MIDI velocity of each dynamics mark, ppp..fff (the table every reader and writer uses)."""

LEVELS: tuple[int, ...] = tuple(VELOCITY.values())
"""The velocities of `VELOCITY` in order, soft to loud: the "steps" that hairpins move by."""

DEFAULT_VELOCITY = VELOCITY["mf"]
"""Velocity of notes before the first dynamics mark."""

# marks outside ppp..fff: softer / louder extremes clamp to the table's ends
_ALIASES = {"pppppp": "ppp", "ppppp": "ppp", "pppp": "ppp", "n": "ppp", "ffff": "fff"}
_ALIASES |= {"fffff": "fff", "ffffff": "fff"}

ACCENT_VELOCITY: dict[str, tuple[int, str | None]] = {
    "sf": (VELOCITY["f"], None),
    "sfz": (VELOCITY["f"], None),
    "fz": (VELOCITY["f"], None),
    "rf": (VELOCITY["f"], None),
    "rfz": (VELOCITY["f"], None),
    "sffz": (VELOCITY["ff"], None),
    "fp": (VELOCITY["f"], "p"),
    "sfp": (VELOCITY["f"], "p"),
    "sfpp": (VELOCITY["f"], "pp"),
    "pf": (VELOCITY["p"], "f"),
}
"""Accent marks: (velocity of the notes starting at the mark, level afterwards or None to keep).

An accent never makes a note softer than one step above the level in force."""

_EPS = 1e-6


def step(velocity: float, steps: int) -> int:
    """The table velocity `steps` marks louder (negative: softer) than the nearest to `velocity`."""
    i = int(np.argmin([abs(v - velocity) for v in LEVELS]))
    return LEVELS[min(max(i + steps, 0), len(LEVELS) - 1)]


def dynamic_name(velocity: float) -> str:
    """The mark (ppp..fff) whose velocity is nearest `velocity`."""
    return min(VELOCITY, key=lambda name: abs(VELOCITY[name] - velocity))


def note_velocities(
    onsets: Sequence[float],
    marks: Sequence[tuple[float, str]],
    hairpins: Sequence[tuple[float, float, int]] = (),
) -> list[int]:
    """Velocity of each note of one part from its dynamics marks and hairpins.

    A mark sets the level from its offset on (notes before the first mark get mf). A
    hairpin ramps linearly from the level at its start towards the next mark, when that
    mark comes before the next hairpin and lies in the hairpin's direction, reaching it at
    the mark (or at the hairpin's end when the mark comes later); otherwise it moves two
    steps of the table and that level holds after it. Accents (sfz, fp, ...) raise the
    notes that start at them.

    Parameters
    ----------
    onsets : sequence of float
        Note onsets in quarter lengths.
    marks : sequence of (float, str)
        Offset and text of each dynamics mark (``"p"``, ``"sfz"``; unknown texts are ignored).
    hairpins : sequence of (float, float, int)
        Start, end (quarter lengths) and direction (+1 crescendo, -1 diminuendo).

    Returns
    -------
    list of int
        Velocities 1-127, one per onset.
    """
    levels: list[tuple[float, float]] = []  # (offset, velocity) where the level changes
    accents: list[tuple[float, int]] = []
    for offset, text in sorted(marks, key=lambda m: m[0]):
        name = _ALIASES.get(text.strip().lower(), text.strip().lower())
        if name in VELOCITY:
            levels.append((float(offset), float(VELOCITY[name])))
        elif name in ACCENT_VELOCITY:
            velocity, after = ACCENT_VELOCITY[name]
            accents.append((float(offset), velocity))
            if after is not None:
                levels.append((float(offset), float(VELOCITY[after])))
    real_levels = list(levels)

    offsets = [o for o, _ in levels]

    def level_at(x: float) -> float:
        i = bisect_right(offsets, x + _EPS) - 1
        return levels[i][1] if i >= 0 else float(DEFAULT_VELOCITY)

    ramps: list[tuple[float, float, float, float]] = []  # start, end, v0, v1
    pins = sorted(hairpins, key=lambda h: h[0])
    for k, (start, end, direction) in enumerate(pins):
        if end <= start or direction == 0:
            continue
        v0 = level_at(start)
        next_pin = pins[k + 1][0] if k + 1 < len(pins) else np.inf
        target = next(((o, v) for o, v in real_levels if o > start + _EPS), None)
        if target is not None and target[0] <= next_pin + _EPS and (target[1] - v0) * direction > 0:
            v1, ramp_end = target[1], min(target[0], end)
        else:
            v1, ramp_end = float(step(v0, 2 * (1 if direction > 0 else -1))), end
        ramps.append((start, ramp_end, v0, v1))
        if ramp_end >= end and (target is None or target[0] > end + _EPS):
            levels.append((end, v1))  # the level reached holds until the next mark
            levels.sort(key=lambda lv: lv[0])
            offsets = [o for o, _ in levels]

    out = []
    for x in onsets:
        v = level_at(x)
        for start, ramp_end, v0, v1 in ramps:
            if start - _EPS <= x < ramp_end - _EPS:
                v = v0 + (v1 - v0) * (x - start) / (ramp_end - start)
        for offset, accent in accents:
            if abs(offset - x) <= _EPS:
                v = max(v, accent, step(v, 1))
        out.append(int(min(max(round(v), 1), 127)))
    return out
