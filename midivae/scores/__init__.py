"""Scores as note events: MIDI (pretty_midi) and MusicXML (music21) readers and writers.

`read_score` turns a ``.mid`` / ``.midi`` / ``.musicxml`` / ``.mxl`` / ``.xml`` file into a
`Score` (notes in seconds, parts, controller curves); `write_midi`, `write_musicxml` and
`write_note_csv` write note events back. music21 is imported only when a MusicXML file is
read or written.
"""

from __future__ import annotations

from pathlib import Path

from midivae.errors import MidivaeError
from midivae.scores.dynamics import VELOCITY
from midivae.scores.midi import read_midi, write_midi
from midivae.scores.musicxml import MUSICXML_SUFFIXES, read_musicxml
from midivae.scores.musicxml_writer import write_musicxml
from midivae.scores.note_list import write_note_csv
from midivae.scores.types import Curve, NoteEvent, Part, Score

__all__ = [
    "MIDI_SUFFIXES",
    "SCORE_SUFFIXES",
    "VELOCITY",
    "Curve",
    "NoteEvent",
    "Part",
    "Score",
    "read_midi",
    "read_musicxml",
    "read_score",
    "write_midi",
    "write_musicxml",
    "write_note_csv",
]

MIDI_SUFFIXES = (".mid", ".midi")
SCORE_SUFFIXES = MIDI_SUFFIXES + MUSICXML_SUFFIXES
"""Suffixes of the score files that folders are searched for (lower case)."""


def read_score(path: str | Path) -> Score:
    """Read a MIDI or MusicXML file (chosen by suffix) as a `Score`.

    Parameters
    ----------
    path : str or Path
        ``.mid`` / ``.midi`` (see `read_midi`) or ``.musicxml`` / ``.mxl`` / ``.xml``
        (see `read_musicxml`).

    Returns
    -------
    Score
        Notes in seconds with velocities, the pitched parts, controller curves, tempo.

    Raises
    ------
    MidivaeError
        One line naming the file: unknown suffix, missing, empty, unreadable, not the
        format its suffix says, no notes to render, or only drum tracks.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return read_midi(path)
    if suffix in MUSICXML_SUFFIXES:
        return read_musicxml(path)
    raise MidivaeError(
        f"not a score file (use {', '.join(SCORE_SUFFIXES)})",
        path,
    )
