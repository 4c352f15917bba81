"""How late decoded notes end: measured on held-out phrases at training time.

The model still hears a note through part of its release; the median of that lag is stored in
the preset as ``timing`` and taken off note ends when no audio gives sharper timing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from midivae.transcription.notes import decode_notes

if TYPE_CHECKING:
    from midivae.presets.preset import Preset


def reference_notes(pitch: np.ndarray, onset: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, end, pitch)`` frame runs of per-frame labels (a new note at each onset flag)."""
    notes, start = [], None
    for t in range(len(pitch) + 1):
        current = pitch[t] if t < len(pitch) else -1
        boundary = t == len(pitch) or current < 0 or onset[t] or (t > 0 and current != pitch[t - 1])
        if start is not None and boundary:
            notes.append((start, t, int(pitch[start])))
            start = None
        if t < len(pitch) and current >= 0 and start is None:
            start = t
    return notes


def measure_timing(preset: Preset, compressed: np.ndarray, labels: dict[str, np.ndarray]) -> dict:
    """Median offset error of decoded notes against the labels, per contiguous item.

    Run on held-out phrase frames of the training library at training time; the result is
    stored in the preset as ``timing`` and subtracted from note ends by
    :func:`~midivae.transcription.notes.decode_notes`.
    """
    frame_seconds = preset.spectral.frame_seconds
    item, kind = labels["item"], labels["kind"]
    errors = []
    for value in np.unique(item[(item >= 0) & (kind == 1)]):
        rows = np.flatnonzero(item == value)
        if len(rows) < 20 or np.any(np.diff(rows) != 1):
            continue
        notes, _ = decode_notes(preset, compressed[rows], calibrated=False)
        for start, end, pitch in reference_notes(labels["pitch"][rows], labels["onset"][rows]):
            for note in notes:
                if note.pitch == pitch and abs(note.onset / frame_seconds - start) <= 8:
                    errors.append(note.offset - end * frame_seconds)
                    break
    shift = float(np.median(errors)) if errors else 0.0
    return {"offset_shift_s": round(max(shift, 0.0), 4), "matched_notes": len(errors)}
