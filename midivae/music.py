"""Musical facts both directions share: instruments, piano keys, dynamics classes, partials.

The instrument table is the one place that knows an instrument's name, GM program, playable
range and polyphony; everything else asks it. Ranges are sounding MIDI pitches (inclusive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from midivae.errors import MidivaeError


@dataclass(frozen=True)
class Instrument:
    """One instrument of the corpus.

    Attributes
    ----------
    name : str
        The name used on the command line and in manifests.
    program : int
        General MIDI program number (0-based, as in pretty_midi).
    low, high : int
        Lowest and highest playable sounding MIDI pitch, inclusive.
    polyphonic : bool
        Whether the instrument plays chords (labels then include an 88-key vector).
    max_polyphony : int
        Most notes sounding at once in generated content.
    sibling_programs : tuple of int
        Other GM programs of the training library that play the same part with another
        timbre (e.g. other pianos); training batches cycle through ``program`` and these.
    """

    name: str
    program: int
    low: int
    high: int
    polyphonic: bool = False
    max_polyphony: int = 1
    sibling_programs: tuple[int, ...] = ()

    @property
    def training_programs(self) -> tuple[int, ...]:
        """The programs training batches cycle through (``program`` first)."""
        return (self.program, *self.sibling_programs)

    @property
    def pitches(self) -> range:
        """Every semitone of the playable range."""
        return range(self.low, self.high + 1)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "program": self.program,
            "range": [self.low, self.high],
            "polyphonic": self.polyphonic,
            "max_polyphony": self.max_polyphony,
        }
        if self.sibling_programs:
            out["sibling_programs"] = list(self.sibling_programs)
        return out


INSTRUMENTS: dict[str, Instrument] = {
    inst.name: inst
    for inst in (
        Instrument("flute", 73, 60, 96),  # C4 - C7
        Instrument("violin", 40, 55, 96),  # G3 - C7
        Instrument("alto_sax", 65, 49, 80),  # Db3 - Ab5 (sounding)
        Instrument("trumpet", 56, 54, 86),  # F#3 - D6 (C trumpet, as the paper's TpC)
        # A0 - C8; FluidR3's grand, bright grand, electric grand and honky-tonk
        Instrument("piano", 0, 21, 108, True, 8, sibling_programs=(1, 2, 3)),
    )
}

#: Instruments that play one note at a time (the slots of the ensemble preset).
MELODY_INSTRUMENTS: tuple[str, ...] = ("flute", "violin", "alto_sax", "trumpet")

#: Named mixtures made at training time (paper §4.1), in slot order.
MIXTURES: dict[str, tuple[str, ...]] = {
    "alto_sax+violin": ("alto_sax", "violin"),
    "alto_sax+violin+flute": ("alto_sax", "violin", "flute"),
    "ensemble": MELODY_INSTRUMENTS,
}

#: Number of piano keys in a multi-hot key vector (MIDI 21..108).
N_KEYS = 88
LOWEST_KEY = 21


def fold_into_range(pitch: int, low: int, high: int) -> int:
    """``pitch`` moved by whole octaves into ``[low, high]``."""
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch


def get_instrument(name: str) -> Instrument:
    """The instrument called ``name``, or a MidivaeError listing the known ones."""
    try:
        return INSTRUMENTS[name]
    except KeyError:
        known = ", ".join(INSTRUMENTS)
        raise MidivaeError(f"unknown instrument (known: {known})", name) from None


#: Dynamics classes (as in the paper) and their velocity bins: class ``k`` holds velocities
#: ``DYNAMICS_EDGES[k] <= v < DYNAMICS_EDGES[k + 1]`` (centres near 33, 80, 112).
DYNAMICS_NAMES: tuple[str, ...] = ("pp", "mf", "ff")
DYNAMICS_EDGES: tuple[int, ...] = (1, 56, 96, 128)


def dynamics_class(velocity: np.ndarray | int) -> np.ndarray:
    """Dynamics class index of MIDI velocities (0 = pp, 1 = mf, 2 = ff)."""
    edges = np.asarray(DYNAMICS_EDGES[1:-1])
    return np.searchsorted(edges, np.asarray(velocity), side="right").astype(np.int8)


#: Semitones from a fundamental up to its strongest partials after the octave: the octave
#: (2nd partial), the twelfth (3rd) and two octaves (4th), where a note's partials are most
#: often heard as a note of their own.
PARTIAL_INTERVALS: tuple[int, ...] = (12, 19, 24)
