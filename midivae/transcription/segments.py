"""A take read and decoded a segment at a time, so that memory does not grow with its length.

The take's frames are cut into segments of ``SEGMENT_SECONDS``. First each segment is read:
its amplitude frames (analysed block by block, retuned), with ``MARGIN_SECONDS`` of the take
either side so that the reading model's context is the whole take's, compressed and read by
the preset; its own frames' symbols and the audio's pitch envelopes are kept (in a temporary
folder when there is more than one segment). Then each segment's notes are decoded from its
symbols and envelopes with the margins of its neighbours around them, at the recording's one
onset gain. A note belongs to the segment its onset falls in; notes within a few frames of a
cut that only one side found are kept once; a note still sounding where a segment's window
ends goes on as the note of its pitch that the next window begins with. A take of one
segment is decoded exactly as a whole.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from midivae.scores import NoteEvent, Part
from midivae.spectral import compress
from midivae.spectral.short_time import streamed_harmonic_envelopes
from midivae.transcription.notes import every_pitch, notes_from_symbols, program_of, read_symbols
from midivae.transcription.timing import TrackingSettings, onset_gain

if TYPE_CHECKING:
    from midivae.presets.preset import Preset
    from midivae.spectral.analysis import StreamedFrames

SEGMENT_SECONDS = 120.0
MARGIN_SECONDS = 10.0
#: Notes of one pitch whose onsets lie this close across a cut are one note (mir_eval's
#: onset tolerance).
SAME_ONSET_S = 0.05
#: The frames of a long take's picture: its frames are pooled (maximum) down to at most this.
PLOT_ROWS = 20000


@dataclass(frozen=True)
class Segment:
    """Frames ``core`` of the take belong to this segment; ``window`` adds the margins."""

    core: range
    window: range


def plan_segments(
    n_frames: int,
    frame_seconds: float,
    *,
    seconds: float = SEGMENT_SECONDS,
    margin_seconds: float = MARGIN_SECONDS,
    multiple: int = 1,
) -> list[Segment]:
    """Segments of ``seconds`` (a ``multiple`` of frames long) covering ``n_frames``."""
    length = max(round(seconds / frame_seconds) // multiple, 1) * multiple
    margin = round(margin_seconds / frame_seconds)
    return [
        Segment(
            range(first, min(first + length, n_frames)),
            range(max(first - margin, 0), min(first + length + margin, n_frames)),
        )
        for first in range(0, max(n_frames, 1), length)
    ]


class _Store:
    """Each segment's symbols and envelopes: held for a single segment, else in files."""

    def __init__(self, count: int) -> None:
        self._held: dict[int, dict[str, np.ndarray]] = {}
        self._folder = tempfile.TemporaryDirectory(prefix="midivae-") if count > 1 else None

    def put(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        if self._folder is None:
            self._held[index] = arrays
        else:
            np.savez(Path(self._folder.name) / f"{index}.npz", **arrays)

    def get(self, index: int) -> dict[str, np.ndarray]:
        if self._folder is None:
            return self._held[index]
        with np.load(Path(self._folder.name) / f"{index}.npz") as data:
            return {key: data[key] for key in data.files}

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()


@dataclass
class Decoded:
    """A take's notes and parts, and its compressed frames pooled for a picture (each row
    ``frame_seconds`` long)."""

    notes: list[NoteEvent]
    parts: list[Part]
    frames: np.ndarray
    frame_seconds: float


ENVELOPES = "_envelopes"  # the store's key of the envelope table (no family's name)


def decode_take(
    preset: Preset,
    amplitude: StreamedFrames,
    *,
    cents: float = 0.0,
    settings: TrackingSettings | None = None,
    progress: Callable[[str], None] | None = None,
    segment_seconds: float = SEGMENT_SECONDS,
    margin_seconds: float = MARGIN_SECONDS,
) -> Decoded:
    """The notes ``preset`` reads in a take, a segment at a time (module docstring):
    ``amplitude`` its in-tune frames, analysed from its samples (``amplitude.read``) whose
    tuning is ``cents`` off."""
    config = preset.spectral
    n_frames, fs = len(amplitude), config.frame_seconds
    picture, pool = blank_picture(n_frames, config.n_bins)
    segments = plan_segments(
        n_frames, fs, seconds=segment_seconds, margin_seconds=margin_seconds, multiple=pool
    )
    pitches = every_pitch(preset) + cents / 100.0
    store = _Store(len(segments))
    loudest = np.zeros(n_frames, dtype=np.float32)  # per frame, the strongest envelope
    try:
        for index, segment in enumerate(segments):
            if progress is not None and len(segments) > 1:
                progress(f"reading ({100 * index // len(segments)} %)")
            window, core = segment.window, segment.core
            compressed = compress(amplitude[window.start : window.stop], config)
            inside = slice(core.start - window.start, core.stop - window.start)
            symbols = {k: v[inside] for k, v in read_symbols(preset, compressed).items()}
            rows = compressed[inside]
            picture[core.start // pool : -(-core.stop // pool)] = _pooled(rows, pool)
            table = streamed_harmonic_envelopes(
                amplitude.read, amplitude.n_samples, pitches, config, frames=core
            )
            loudest[core.start : core.stop] = table.max(axis=1, initial=0.0)
            store.put(index, symbols | {ENVELOPES: table})
        gain = onset_gain(loudest[:, None])
        notes, parts = _decode_segments(preset, segments, store, gain, settings, progress)
    finally:
        store.close()
    return Decoded(notes, parts, picture, fs * pool)


def blank_picture(n_frames: int, n_bins: int) -> tuple[np.ndarray, int]:
    """An empty picture of a take of ``n_frames`` (at most ``PLOT_ROWS`` rows) and how many
    frames each row pools."""
    pool = -(-n_frames // PLOT_ROWS)
    return np.zeros((-(-n_frames // pool), n_bins), dtype=np.float32), pool


def _pooled(rows: np.ndarray, pool: int) -> np.ndarray:
    """``rows`` pooled in groups of ``pool`` (the maximum; a shorter last group)."""
    if pool == 1:
        return rows
    groups = np.arange(0, len(rows), pool)
    return np.maximum.reduceat(rows, groups, axis=0)


def _decode_segments(
    preset: Preset,
    segments: list[Segment],
    store: _Store,
    gain: float,
    settings: TrackingSettings | None,
    progress: Callable[[str], None] | None,
) -> tuple[list[NoteEvent], list[Part]]:
    """Each segment's notes from its stored symbols and envelopes with its neighbours'
    margins, joined across the cuts (module docstring)."""
    fs = preset.spectral.frame_seconds
    n_frames = segments[-1].core.stop
    slack = round(SAME_ONSET_S / fs)
    kept: list[NoteEvent] = []
    near_cuts: list[NoteEvent] = []
    open_notes: list[int] = []  # indices into kept of notes still sounding at a window's end
    names: dict[int, str] = {}  # slot-ordered part names of the notes kept
    cached: dict[int, dict[str, np.ndarray]] = {}
    for index, segment in enumerate(segments):
        if progress is not None:
            share = f" ({100 * index // len(segments)} %)" if len(segments) > 1 else ""
            progress(f"finding notes{share}")
        window = segment.window
        wanted = [k for k, other in enumerate(segments) if _overlap(other.core, window)]
        cached = {k: cached[k] if k in cached else store.get(k) for k in wanted}
        arrays = {
            key: np.concatenate(
                [cached[k][key][_overlap(segments[k].core, window)] for k in wanted]
            )
            for key in cached[index]
        }
        table = arrays.pop(ENVELOPES)
        notes, parts = notes_from_symbols(
            preset, arrays, None, settings=settings, envelope_table=table, onset_compression=gain
        )
        shift = window.start * fs
        notes = [replace(n, onset=n.onset + shift, offset=n.offset + shift) for n in notes]
        slot_of = {part.index: _slot(preset, part) for part in parts}
        notes = [replace(n, part=slot_of[n.part]) for n in notes]
        names |= {slot_of[part.index]: part.name for part in parts}
        # notes sounding since before this window began carry on the open notes
        still_open = []
        for k in open_notes:
            carried = [
                n
                for n in notes
                if n.pitch == kept[k].pitch
                and n.part == kept[k].part
                and round(n.onset / fs) <= max(window.start, round(kept[k].onset / fs)) + slack
            ]
            if carried:
                kept[k] = replace(kept[k], offset=max(kept[k].offset, carried[0].offset))
                if _goes_on(kept[k], window, n_frames, fs):
                    still_open.append(k)
        open_notes = still_open
        for note in notes:
            frame = round(note.onset / fs)
            if segment.core.start <= frame < segment.core.stop:
                if _goes_on(note, window, n_frames, fs):
                    open_notes.append(len(kept))
                kept.append(note)
            elif (
                segment.core.start - slack <= frame < segment.core.start
                or segment.core.stop <= frame < segment.core.stop + slack
            ):
                near_cuts.append(note)
    for note in near_cuts:  # found on one side of a cut only: kept once
        if not any(
            n.pitch == note.pitch
            and n.part == note.part
            and abs(n.onset - note.onset) <= SAME_ONSET_S
            for n in kept
        ):
            kept.append(note)
    slots = sorted(names) if len(preset.instruments) > 1 else [0]
    number = {slot: i for i, slot in enumerate(slots)}
    parts = [
        Part(number[slot], preset.instruments[slot], program_of(preset.instruments[slot]), False)
        for slot in slots
    ]
    return sorted(replace(n, part=number[n.part]) for n in kept), parts


def _goes_on(note: NoteEvent, window: range, n_frames: int, frame_seconds: float) -> bool:
    """Whether ``note`` may sound on past ``window``: it lasts to the window's end, and the
    take goes on after it."""
    return round(note.offset / frame_seconds) >= window.stop - 1 and window.stop < n_frames


def _overlap(core: range, window: range) -> slice | None:
    """The rows of ``core``'s stored arrays that lie inside ``window`` (None: none do)."""
    lo, hi = max(core.start, window.start), min(core.stop, window.stop)
    return slice(lo - core.start, hi - core.start) if hi > lo else None


def _slot(preset: Preset, part: Part) -> int:
    """The preset slot a decoded part plays (parts are numbered among those with notes)."""
    return preset.instruments.index(part.name)
