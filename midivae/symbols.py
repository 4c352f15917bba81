"""The symbol vocabulary as data: families of categorical, Bernoulli or continuous symbols.

A note frame is described per instrument slot by families such as ``pitch_class`` (12 + rest),
``octave``, ``dynamics`` (pp / mf / ff + rest), a joint ``pitch`` family and a continuous
``velocity``; a polyphonic slot (piano) has an 88-key Bernoulli ``keys`` family. A mixture
has one set of families per instrument, in slot order. The vocabulary is stored in every
preset (``to_dict`` / ``from_dict``), so a user-defined vocabulary is a config change. No torch.

Frame labels come as the corpus stores them (``pitch``, ``pitch_class`` with 12 = rest,
``octave`` / ``dynamics`` with -1 = rest, ``velocity`` 0-127, ``keys`` (n, 88)); mixture
labels are ``(n, n_slots)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from midivae.errors import MidivaeError
from midivae.music import DYNAMICS_NAMES

KINDS = ("categorical", "bernoulli", "continuous")
PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
REST = "rest"
#: MIDI velocity scale of the continuous ``velocity`` family (value = velocity / 127).
VELOCITY_SCALE = 127.0
#: Lowest MIDI key of a Bernoulli ``keys`` family (piano A0) and its size.
LOWEST_KEY, N_KEYS = 21, 88
#: Families of a melody slot, in vector order (``pitch`` and ``velocity`` beside the paper's).
MELODY_FAMILIES = ("pitch_class", "octave", "dynamics", "pitch", "velocity")
PIANO_FAMILIES = ("keys", "dynamics", "velocity")


def note_name(pitch: int) -> str:
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"


@dataclass(frozen=True)
class Family:
    """One symbol family of one instrument slot.

    Attributes
    ----------
    name : str
        Family name (``pitch_class``, ``octave``, ``dynamics``, ``pitch``, ``velocity``,
        ``keys``, ``onset``).
    kind : str
        ``categorical`` (one-hot, last class may be rest), ``bernoulli`` (multi-hot) or
        ``continuous`` (one value in [0, 1], undefined on rest frames).
    classes : tuple of str
        Class names (categorical), bit names (Bernoulli) or the value's name (continuous).
    source : str
        The frame label it is encoded from.
    offset : int
        Label value of class 0 (octave: the lowest octave, pitch: the lowest pitch).
    slot : int
        Instrument slot, 0 for a single instrument.
    """

    name: str
    kind: str
    classes: tuple[str, ...]
    source: str
    offset: int = 0
    slot: int = 0

    @property
    def width(self) -> int:
        return len(self.classes)

    @property
    def has_rest(self) -> bool:
        return self.kind == "categorical" and self.classes[-1] == REST

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "classes": list(self.classes),
            "source": self.source,
            "offset": self.offset,
            "slot": self.slot,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Family:
        family = cls(
            str(data["name"]),
            str(data["kind"]),
            tuple(map(str, data["classes"])),
            str(data["source"]),
            int(data.get("offset", 0)),
            int(data.get("slot", 0)),
        )
        if family.kind not in KINDS or family.width < 1:
            raise MidivaeError(f"vocabulary: bad family {data!r}")
        return family


def melody_families(low: int, high: int, slot: int = 0, names=MELODY_FAMILIES) -> list[Family]:
    """Families of a monophonic instrument playing MIDI pitches ``low..high``."""
    lo_oct, hi_oct = low // 12 - 1, high // 12 - 1
    make = {
        "pitch_class": lambda: Family(
            "pitch_class", "categorical", (*PITCH_NAMES, REST), "pitch_class", 0, slot
        ),
        "octave": lambda: Family(
            "octave",
            "categorical",
            (*(str(o) for o in range(lo_oct, hi_oct + 1)), REST),
            "octave",
            lo_oct,
            slot,
        ),
        "dynamics": lambda: Family(
            "dynamics", "categorical", (*DYNAMICS_NAMES, REST), "dynamics", 0, slot
        ),
        "pitch": lambda: Family(
            "pitch",
            "categorical",
            (*(note_name(p) for p in range(low, high + 1)), REST),
            "pitch",
            low,
            slot,
        ),
        "velocity": lambda: Family("velocity", "continuous", ("velocity",), "velocity", 0, slot),
        "onset": lambda: Family("onset", "bernoulli", ("onset",), "onset", 0, slot),
        "keys": lambda: Family(
            "keys",
            "bernoulli",
            tuple(note_name(p) for p in range(LOWEST_KEY, LOWEST_KEY + N_KEYS)),
            "keys",
            LOWEST_KEY,
            slot,
        ),
    }
    return [make[name]() for name in names]


@dataclass(frozen=True)
class Vocabulary:
    """The symbol space of a preset: instrument slots and their families, in vector order."""

    instruments: tuple[str, ...]
    families: tuple[Family, ...]
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = np.concatenate([[0], np.cumsum([f.width for f in self.families])])
        object.__setattr__(self, "_starts", tuple(int(s) for s in starts))
        names = [self.key(f) for f in self.families]
        if len(set(names)) != len(names) or not self.families:
            raise MidivaeError(f"vocabulary: empty or repeated families {names}")
        if any(not 0 <= f.slot < len(self.instruments) for f in self.families):
            raise MidivaeError("vocabulary: a family names a slot with no instrument")

    @classmethod
    def standard(
        cls,
        instruments: Sequence[tuple[str, int, int, bool]],
        families: Sequence[str] = (),
        *,
        onsets: bool = False,
    ) -> Vocabulary:
        """Melody families per ``(name, low, high, polyphonic)`` slot; piano gets keys;
        ``onsets``: melody slots also get the ``onset`` bit (the frame nearest a note-on)."""
        out: list[Family] = []
        for slot, (_, low, high, polyphonic) in enumerate(instruments):
            names = families or (PIANO_FAMILIES if polyphonic else MELODY_FAMILIES)
            if onsets and not polyphonic and "onset" not in names:
                names = (*names, "onset")
            out += melody_families(low, high, slot, names)
        return cls(tuple(i[0] for i in instruments), tuple(out))

    @property
    def width(self) -> int:
        """Length of a symbol vector."""
        return self._starts[-1]

    @property
    def n_slots(self) -> int:
        return len(self.instruments)

    def slot_prefix(self, slot: int) -> str:
        """What starts the keys of ``slot``'s families: ``""`` alone, ``"instrument."`` in a
        mixture."""
        return "" if len(self.instruments) == 1 else f"{self.instruments[slot]}."

    def key(self, family: Family) -> str:
        """``name`` for one slot, ``instrument.name`` in a mixture."""
        return self.slot_prefix(family.slot) + family.name

    def span(self, index: int) -> slice:
        """Columns of family ``index`` in a symbol vector."""
        return slice(self._starts[index], self._starts[index + 1])

    def layout(self) -> tuple[tuple[str, int, int], ...]:
        """``(kind, start, stop)`` per family: what the symbol model needs to know."""
        return tuple(
            (f.kind, self._starts[i], self._starts[i + 1]) for i, f in enumerate(self.families)
        )

    def family(self, key: str) -> Family:
        for f in self.families:
            if self.key(f) == key:
                return f
        raise KeyError(key)

    def _column(self, labels: dict[str, np.ndarray], family: Family) -> np.ndarray:
        if family.source not in labels:
            raise MidivaeError(f"vocabulary: labels lack {family.source!r}")
        values = np.asarray(labels[family.source])
        if values.ndim == (3 if family.name == "keys" else 2):  # mixture labels, per slot
            return values[:, family.slot]
        if family.slot:
            raise MidivaeError(f"vocabulary: slot {family.slot} needs mixture labels")
        return values

    def encode(self, labels: dict[str, np.ndarray]) -> np.ndarray:
        """Symbol vectors ``(n, width)`` float32 from frame labels (one-hot, bits, value)."""
        n = len(next(iter(labels.values())))
        out = np.zeros((n, self.width), dtype=np.float32)
        for index, family in enumerate(self.families):
            values = self._column(labels, family)
            block = out[:, self.span(index)]
            if family.kind == "continuous":
                block[:, 0] = np.clip(values.astype(np.float32) / VELOCITY_SCALE, 0.0, 1.0)
            elif family.kind == "bernoulli":
                block[:] = values.astype(np.float32).reshape(n, -1)
            else:
                block[np.arange(n), self._class_index(family, values)] = 1.0
        return out

    @staticmethod
    def _class_index(family: Family, values: np.ndarray) -> np.ndarray:
        values = values.astype(np.int64)
        rest = (values < 0) | ((family.source == "pitch_class") & (values >= 12))
        index = values - family.offset
        last = family.width - 1
        if not family.has_rest:
            return np.clip(index, 0, last)
        out_of_range = (index < 0) | (index >= last)
        if np.any(out_of_range & ~rest):
            raise MidivaeError(f"vocabulary: {family.name} labels outside {family.classes[:-1]}")
        return np.where(rest, last, index)

    def decode(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Per-family label values from symbol vectors or decoded probabilities.

        Categorical: the most probable class as a label value (rest: -1, or 12 for
        ``pitch_class``); Bernoulli: ``p > 0.5``; continuous: MIDI velocity (float).
        """
        out: dict[str, np.ndarray] = {}
        for index, family in enumerate(self.families):
            block = np.asarray(vectors)[:, self.span(index)]
            if family.kind == "continuous":
                out[self.key(family)] = block[:, 0] * VELOCITY_SCALE
            elif family.kind == "bernoulli":
                out[self.key(family)] = block > 0.5
            else:
                out[self.key(family)] = self.class_values(family, block.argmax(axis=1))
        return out

    @staticmethod
    def class_values(family: Family, index: np.ndarray) -> np.ndarray:
        """Label values of class indices (rest -> -1, or 12 for ``pitch_class``)."""
        values = index.astype(np.int64) + family.offset
        if family.has_rest:
            rest_value = 12 if family.source == "pitch_class" else -1
            values = np.where(index == family.width - 1, rest_value, values)
        return values

    def to_dict(self) -> dict[str, Any]:
        return {
            "instruments": list(self.instruments),
            "families": [f.to_dict() for f in self.families],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocabulary:
        try:
            return cls(
                tuple(map(str, data["instruments"])),
                tuple(Family.from_dict(f) for f in data["families"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MidivaeError(f"vocabulary: malformed ({exc})") from None
