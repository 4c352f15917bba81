"""Frame labels from note lists: frame ``i`` sits at time ``i * hop_length / sample_rate``.

Labels follow MIDI note-on / note-off: a note covers the frames from the one nearest its
note-on (its ``onset`` frame) up to, not including, the one nearest its note-off; the release
tail after note-off is rest, as in users' MIDI files. Times are rounded to samples first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from midivae.music import LOWEST_KEY, N_KEYS, dynamics_class
from midivae.spectral import SpectralConfig
from midivae.training.corpus.content import Note

#: ``pitch_class`` of a rest frame; ``pitch``, ``octave``, ``dynamics`` use -1 for rest.
REST_CLASS = 12

LABEL_DOCS: dict[str, str] = {
    "pitch": "int16 MIDI pitch sounding at the frame (highest key for piano), -1 = rest",
    "velocity": "uint8 MIDI velocity of that note, 0 = rest",
    "onset": "bool, the frame nearest a note-on (any note for piano)",
    "pitch_class": "int8 pitch % 12, 12 = rest",
    "octave": "int8 MIDI octave pitch // 12 - 1 (C4 = 60 is octave 4), -1 = rest",
    "dynamics": "int8 index into dynamics.names by velocity bin, -1 = rest",
    "item": "int32 id of the rendered note/phrase/chord the frame belongs to, -1 = padding",
    "kind": "int8 index into kinds, -1 = padding",
    "keys": "bool (n_frames, 88) multi-hot sounding keys MIDI 21..108 (piano only)",
}


def _frame_span(start: float, end: float, config: SpectralConfig) -> tuple[int, int]:
    """Frames nearest ``start`` and nearest ``end`` (the first one past the span)."""
    hop, sr = config.hop_length, config.sample_rate
    return round(round(start * sr) / hop), round(round(end * sr) / hop)


def note_labels(
    notes: Sequence[Note], n_frames: int, config: SpectralConfig, *, polyphonic: bool = False
) -> dict[str, np.ndarray]:
    """Per-frame note labels (see ``LABEL_DOCS``) for notes with absolute times in seconds."""
    pitch = np.full(n_frames, -1, dtype=np.int16)
    velocity = np.zeros(n_frames, dtype=np.uint8)
    onset = np.zeros(n_frames, dtype=bool)
    keys = np.zeros((n_frames, N_KEYS), dtype=bool) if polyphonic else None
    for note in sorted(notes, key=lambda n: (n.pitch, n.start)):  # the highest pitch wins
        first, stop = _frame_span(note.start, note.end, config)
        first, stop = max(first, 0), min(stop, n_frames)
        pitch[first:stop] = note.pitch
        velocity[first:stop] = note.velocity
        if first < stop:
            onset[first] = True
        if keys is not None and LOWEST_KEY <= note.pitch < LOWEST_KEY + N_KEYS:
            keys[first:stop, note.pitch - LOWEST_KEY] = True
    sounding = pitch >= 0
    labels = {
        "pitch": pitch,
        "velocity": velocity,
        "onset": onset,
        "pitch_class": np.where(sounding, pitch % 12, REST_CLASS).astype(np.int8),
        "octave": np.where(sounding, pitch // 12 - 1, -1).astype(np.int8),
        "dynamics": np.where(sounding, dynamics_class(velocity), -1).astype(np.int8),
    }
    if keys is not None:
        labels["keys"] = keys
    return labels


def item_labels(
    spans: Sequence[tuple[int, int, float, float]], n_frames: int, config: SpectralConfig
) -> dict[str, np.ndarray]:
    """Per-frame ``item`` and ``kind`` from ``(item_id, kind, start, end)`` spans in seconds."""
    item = np.full(n_frames, -1, dtype=np.int32)
    kind = np.full(n_frames, -1, dtype=np.int8)
    for item_id, item_kind, start, end in spans:
        first, stop = _frame_span(start, end, config)
        item[max(first, 0) : min(stop, n_frames)] = item_id
        kind[max(first, 0) : min(stop, n_frames)] = item_kind
    return {"item": item, "kind": kind}
