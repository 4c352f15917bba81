"""Note lists as CSV: one row per note, the columns a spreadsheet or a script wants."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from midivae.audio import atomic_output
from midivae.scores.types import NoteEvent, Part

#: Columns of a note list, in order.
COLUMNS = ("onset_s", "offset_s", "pitch", "velocity", "instrument")


def write_note_csv(
    notes: Sequence[NoteEvent], path: Path, *, parts: Sequence[Part], overwrite: bool = False
) -> None:
    """Write ``notes`` as CSV (``COLUMNS``; times in seconds to the millisecond, instrument
    by its part's name), atomically; an existing file only with ``overwrite``."""
    with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for note in sorted(notes, key=lambda n: (n.onset, n.pitch)):
            name = parts[note.part].name if note.part < len(parts) else ""
            writer.writerow(
                (f"{note.onset:.3f}", f"{note.offset:.3f}", note.pitch, note.velocity, name)
            )
