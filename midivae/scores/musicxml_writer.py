"""Writing note events as MusicXML quantised to a tempo grid (music21, imported lazily)."""

from __future__ import annotations

import copy
import itertools
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi

from midivae.audio import atomic_output
from midivae.errors import MidivaeError
from midivae.scores._files import warnings_as_notices
from midivae.scores.dynamics import dynamic_name
from midivae.scores.musicxml import MUSICXML_SUFFIXES
from midivae.scores.types import NoteEvent, Part, Score, writer_input

__all__ = ["GRID_DIVISORS", "write_musicxml"]

logger = logging.getLogger("midivae")

GRID_DIVISORS = (4, 3)
"""Quantisation grid of `write_musicxml`: 16th notes and 8th-note triplets (per quarter)."""


def write_musicxml(
    score_or_notes: Score | Sequence[NoteEvent],
    path: str | Path,
    *,
    tempo_bpm: float | None = None,
    parts: Sequence[Part] | None = None,
    overwrite: bool = False,
    title: str | None = None,
    downbeat_s: float = 0.0,
) -> Path:
    """Write notes as a MusicXML score quantised to the tempo grid, atomically.

    Note starts and ends are snapped (music21 ``quantize``) to 16th notes or 8th-note
    triplets at `tempo_bpm`, whichever is nearer; overlapping notes of a part become chords
    tied across the changes; each note keeps its velocity (``<note dynamics>``) and
    dynamics marks (ppp..fff) are written where the level changes. One part per instrument.

    Parameters
    ----------
    score_or_notes : Score or sequence of NoteEvent
        Notes in seconds (a `Score` brings its parts and tempo).
    path : str or Path
        ``.musicxml`` / ``.xml`` (uncompressed) or ``.mxl`` (compressed).
    tempo_bpm : float or None
        Quarter notes per minute of the grid and of the tempo mark; None: the score's
        tempo, 120 for bare notes.
    parts : sequence of Part or None
        Part names and GM programs; None as in `write_midi`. Drum parts are skipped.
    overwrite : bool
        Replace an existing file.
    title : str or None
        The score's title; None: the file name's stem.
    downbeat_s : float
        Where the first bar begins: the score starts there (what comes before it, less
        than a quarter beat of the first notes, joins the first beat).

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    MidivaeError
        Unsupported suffix, `path` exists without `overwrite`, or the write failed.
    """
    from music21 import clef, key, layout, stream, tempo
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MUSICXML_SUFFIXES:
        raise MidivaeError("cannot write this as MusicXML, use .musicxml or .mxl", path)
    from music21 import metadata

    notes, parts, _, _, bpm = writer_input(score_or_notes, parts, tempo_bpm)
    if downbeat_s > 0:
        notes = [_from_downbeat(n, downbeat_s) for n in notes]
    score = stream.Score()
    title = path.stem if title is None else title
    score.metadata = metadata.Metadata(title=title, movementName=title)
    # a creator of its own, so that music21 names no composer ("Music21") on the page
    score.metadata.add("transcriber", metadata.Contributor(role="transcriber", name="midivae"))
    for part in parts:
        if part.is_drum:
            logger.info("%s: percussion part %r not written", path, part.name)
            continue
        inst = _instrument_of(part)
        part_notes = _close_gaps([n for n in notes if n.part == part.index], bpm)
        sharps = key_sharps(part_notes)
        grand = part.program is not None and part.program in GRAND_STAFF_PROGRAMS
        staves = [stream.PartStaff(), stream.PartStaff()] if grand else [stream.Part()]
        for k, staff in enumerate(staves):
            staff.atSoundingPitch = True  # else music21 writes sounding pitch as written
            staff.partName = inst.partName
            # every staff the part's own instrument: a staff without one gets a default that
            # notation programs read as an instrument change at each of its notes
            staff.insert(0, inst if k == 0 else copy.deepcopy(inst))
            if k == 0:
                if not len(score.parts):
                    staff.insert(0, tempo.MetronomeMark(number=round(bpm, 3)))
            staff.insert(0, key.KeySignature(sharps))
        if grand:  # right hand from middle C up, left hand below, one brace
            staves[0].insert(0, clef.TrebleClef())
            staves[1].insert(0, clef.BassClef())
            _fill_part(staves[0], [n for n in part_notes if n.pitch >= SPLIT_PITCH], bpm, sharps)
            _fill_part(staves[1], [n for n in part_notes if n.pitch < SPLIT_PITCH], bpm, sharps,
                       dynamics=False)  # fmt: skip
            for staff in staves:
                score.insert(0, staff)
            score.insert(0, layout.StaffGroup(staves, name=inst.partName, symbol="brace"))
        else:
            _fill_part(staves[0], part_notes, bpm, sharps)
            score.insert(0, staves[0])
    if not len(score.parts):
        score.insert(0, stream.Part())
    with warnings_as_notices(path):
        data = GeneralObjectExporter(score).parse()  # bytes of the .musicxml document
    with atomic_output(path, overwrite=overwrite) as tmp:
        try:
            if suffix == ".mxl":
                _write_mxl(tmp, data, f"{path.stem}.musicxml")
            else:
                tmp.write_bytes(data)
        except OSError as exc:
            raise MidivaeError(f"cannot write: {exc.strerror or exc}", path) from None
    return path


def _write_mxl(path: Path, data: bytes, inner: str) -> None:
    """A compressed MusicXML archive holding `data` as `inner` (named after the output)."""
    container = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<container><rootfiles>'
        f'<rootfile full-path="{inner}" media-type="application/vnd.recordare.musicxml+xml"/>'
        "</rootfiles></container>\n"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.recordare.musicxml", zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container, zipfile.ZIP_DEFLATED)
        archive.writestr(inner, data, zipfile.ZIP_DEFLATED)


def _quantise(notes: Sequence[NoteEvent], bpm: float) -> list[tuple[Fraction, Fraction, int, int]]:
    """``(on, off, pitch, velocity)`` in quarter lengths, each beat on one grid of
    `GRID_DIVISORS`: the one the notes starting in it fit best (where none starts, the ends),
    16ths unless 8th-note triplets fit clearly better (`TRIPLET_MARGIN`). A beat never mixes
    the two, so no tuplet of more than three notes is needed."""
    starts: dict[int, list[float]] = {}
    ends: dict[int, list[float]] = {}
    for n in notes:
        for t, into in ((n.onset * bpm / 60.0, starts), (n.offset * bpm / 60.0, ends)):
            into.setdefault(int(np.floor(t + 1e-9)), []).append(t)
    grid = {beat: _best_divisor(starts.get(beat) or ends[beat]) for beat in {*starts, *ends}}

    def snap(t: float) -> Fraction:
        divisor = grid[int(np.floor(t + 1e-9))]
        return Fraction(round(t * divisor), divisor)

    out = []
    for n in notes:
        on, off = snap(n.onset * bpm / 60.0), snap(n.offset * bpm / 60.0)
        if off <= on:  # shorter than the grid: one step of the beat's grid
            off = on + Fraction(1, grid[int(np.floor(n.onset * bpm / 60.0 + 1e-9))])
        out.append((on, off, n.pitch, n.velocity))
    return out


#: Triplets are chosen for a beat only where they fit its points this much better.
TRIPLET_MARGIN = 0.7


def _best_divisor(times: list[float]) -> int:
    """The divisor of `GRID_DIVISORS` whose grid the ``times`` (quarter lengths) fit best."""
    errors = {d: sum(abs(t * d - round(t * d)) / d for t in times) for d in GRID_DIVISORS}
    sixteenths, triplets = GRID_DIVISORS
    return triplets if errors[triplets] < TRIPLET_MARGIN * errors[sixteenths] else sixteenths


def _from_downbeat(note: NoteEvent, downbeat_s: float) -> NoteEvent:
    """``note`` timed from the first downbeat (one that begins before it, from it)."""
    onset = max(note.onset - downbeat_s, 0.0)
    return replace(note, onset=onset, offset=max(note.offset - downbeat_s, onset + 1e-3))


#: A silence shorter than this (quarter lengths: a 16th) before a part's next note is the
#: player's articulation, not a rest to write: the note is written up to the next one.
ARTICULATION_GAP = 0.25


def _close_gaps(notes: list[NoteEvent], bpm: float) -> list[NoteEvent]:
    """``notes`` (one part's) each held to the part's next onset where the silence before
    it is shorter than ``ARTICULATION_GAP``."""
    onsets = np.unique([n.onset for n in notes])
    gap = ARTICULATION_GAP * 60.0 / bpm
    out = []
    for n in notes:
        k = np.searchsorted(onsets, n.offset)  # the first onset at or after the note's end
        if k < len(onsets) and onsets[k] - n.offset < gap:
            n = replace(n, offset=float(onsets[k]))
        out.append(n)
    return out


def _restrike(
    events: list[tuple[Fraction, Fraction, int, int]],
) -> list[tuple[Fraction, Fraction, int, int]]:
    """One note per pitch at a time: a note ends where the same pitch starts again.

    Of notes on one pitch that start together, the longest is kept (with the loudest velocity).
    """
    out: list[list] = []
    for on, off, pitch, velocity in sorted(events, key=lambda e: (e[2], e[0], -e[1])):
        if out and out[-1][2] == pitch and out[-1][0] == on:
            out[-1][3] = max(out[-1][3], velocity)
            continue
        if out and out[-1][2] == pitch and out[-1][1] > on:
            out[-1][1] = on
        out.append([on, off, pitch, velocity])
    return sorted((tuple(e) for e in out), key=lambda e: (e[0], e[2]))


def _split_at_beats(bounds: list[Fraction]) -> list[Fraction]:
    """``bounds`` with the beats added that a span from or to a triplet point crosses (so
    each such span is written within one beat, as triplet notes and tied beats)."""
    out = set(bounds)
    for a, b in itertools.pairwise(bounds):
        if (a * 4).denominator == 1 and (b * 4).denominator == 1:
            continue  # on the 16th grid at both ends: plain (dotted) values
        out.update(Fraction(beat) for beat in range(int(a) + 1, int(np.ceil(b))))
    return sorted(out)


#: Parts of these GM programs (the pianos) are written on a grand staff split at middle C.
GRAND_STAFF_PROGRAMS = range(0, 8)
SPLIT_PITCH = 60


def _instrument_of(part: Part):
    """The music21 instrument of ``part`` (by GM program), named after the part."""
    from music21 import instrument

    try:
        inst = instrument.instrumentFromMidiProgram(part.program or 0)
    except Exception:  # InstrumentException: program without a music21 class
        inst = None
    if inst is None or isinstance(inst, instrument.UnpitchedPercussion):
        # GM 112-119 are pitched programs that music21 files under unpitched percussion
        inst = instrument.Instrument(pretty_midi.program_to_instrument_name(part.program or 0))
        inst.midiProgram = part.program or 0
    inst.partName = part.name or inst.instrumentName
    return inst


def key_sharps(notes: Sequence[NoteEvent]) -> int:
    """The key signature (sharps, negative for flats) of `notes`: music21's
    Krumhansl-Schmuckler estimate weighted by duration; 0 for fewer than `MIN_KEY_NOTES`."""
    from music21 import note, stream

    if len(notes) < MIN_KEY_NOTES:
        return 0
    line = stream.Stream()
    for n in notes:
        line.insert(n.onset, note.Note(n.pitch, quarterLength=max(n.offset - n.onset, 0.05)))
    return int(line.analyze("key").sharps)


#: Fewest notes a key signature is estimated from.
MIN_KEY_NOTES = 8
#: A dynamics mark is written where the level of this many starting notes (their median
#: mark) moves to another mark; each note keeps its own velocity either way.
DYNAMICS_WINDOW = 5
PITCH_CLASS_FLATS = {1: "D-", 3: "E-", 6: "G-", 8: "A-", 10: "B-"}
PITCH_CLASS_SHARPS = {1: "C#", 3: "D#", 6: "F#", 8: "G#", 10: "A#"}


def _spelled(pitch: int, sharps: int):
    """A music21 pitch for MIDI ``pitch``, black keys spelled as flats in a flat key and as
    sharps in a sharp key (in C, music21's own: C#, E-, F#, G#, B-)."""
    from music21 import pitch as m21pitch

    names = PITCH_CLASS_FLATS if sharps < 0 else PITCH_CLASS_SHARPS if sharps > 0 else {}
    if pitch % 12 in names:
        return m21pitch.Pitch(f"{names[pitch % 12]}{pitch // 12 - 1}")
    return m21pitch.Pitch(midi=pitch)


def _marks(events: list[tuple[Fraction, Fraction, int, int]]) -> dict[Fraction, str]:
    """Where a dynamics mark goes and which: each start's mark is the median of the marks of
    the `DYNAMICS_WINDOW` starts around it, written where that changes."""
    from midivae.scores.dynamics import VELOCITY

    names = list(VELOCITY)
    starts: dict[Fraction, int] = {}
    for on, _, _, velocity in events:
        starts[on] = max(starts.get(on, 0), velocity)
    times = sorted(starts)
    levels = [names.index(dynamic_name(starts[t])) for t in times]
    half = DYNAMICS_WINDOW // 2
    out, last = {}, None
    for i, t in enumerate(times):
        window = levels[max(0, i - half) : i + half + 1]
        name = names[int(np.median(window))]
        if name != last:
            out[t], last = name, name
    return out


def _fill_part(
    m21_part: Any, notes: Sequence[NoteEvent], bpm: float, sharps: int = 0, dynamics: bool = True
) -> None:
    """Insert the quantised `notes` into `m21_part` as notes, chords, rests and ties, black
    keys spelled for the key signature of ``sharps``, with dynamics marks unless not."""
    from music21 import chord, note, tie
    from music21 import dynamics as marking

    events = _restrike(_quantise(notes, bpm))
    marks = _marks(events) if dynamics else {}
    bounds = sorted({t for on, off, _, _ in events for t in (on, off)} | {Fraction(0)})
    bounds = _split_at_beats(bounds)
    sounding: dict[int, tuple[Fraction, Fraction, int]] = {}  # pitch -> on, off, velocity
    k = 0
    for a, b in itertools.pairwise(bounds):
        sounding = {p: e for p, e in sounding.items() if e[1] > a}
        while k < len(events) and events[k][0] <= a:
            on, off, pitch, velocity = events[k]
            sounding[pitch] = (on, off, velocity)
            k += 1
        if not sounding:
            m21_part.insert(a, note.Rest(quarterLength=b - a))
            continue
        members = []
        for pitch in sorted(sounding):
            on, off, _ = sounding[pitch]
            member = note.Note(_spelled(pitch, sharps), quarterLength=b - a)
            starts, ends = on == a, off == b
            if not (starts and ends):
                member.tie = tie.Tie("start" if starts else "stop" if ends else "continue")
            members.append(member)
        el = members[0] if len(members) == 1 else chord.Chord(members, quarterLength=b - a)
        started = [v for on, _, v in sounding.values() if on == a]
        velocity = max(started) if started else max(v for _, _, v in sounding.values())
        el.volume.velocity = velocity
        if started and a in marks:
            m21_part.insert(a, marking.Dynamic(marks[a]))
        m21_part.insert(a, el)
