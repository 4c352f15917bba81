"""Reading MusicXML (``.musicxml``, ``.mxl``, ``.xml``) as a `Score` (music21, imported lazily)."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from midivae.errors import MidivaeError
from midivae.scores._files import check_file, require_notes, warnings_as_notices
from midivae.scores.dynamics import DEFAULT_VELOCITY, note_velocities
from midivae.scores.types import NoteEvent, Part, Score, sort_notes

__all__ = ["MUSICXML_SUFFIXES", "read_musicxml"]

logger = logging.getLogger("midivae")

MUSICXML_SUFFIXES = (".musicxml", ".mxl", ".xml")

_VELOCITY_KEY = "midivae_velocity"  # editorial slot: survives the deep copies of expandRepeats
_TIE_TOLERANCE = 1e-3  # quarter lengths between a tie's end and the next note's start


@dataclass
class _Group:
    """Staves of one instrument (a piano's two PartStaffs are one part)."""

    key: str | None
    name: str
    program: int | None
    is_drum: bool
    staves: list[int] = field(default_factory=list)


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


#: Largest MusicXML read (uncompressed), and the most an archive may expand its bytes.
MAX_XML_BYTES = 64 * 2**20
MAX_ZIP_RATIO = 200


def _check_size(path: Path) -> None:
    """Refuse a score too big to parse, and an archive (.mxl) whose members would expand
    past ``MAX_XML_BYTES`` or by more than ``MAX_ZIP_RATIO`` (a zip bomb), before parsing;
    XML entities are never expanded (a document type declaration is refused)."""
    import zipfile

    size = path.stat().st_size
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise MidivaeError(f"not a readable MusicXML archive ({exc})", path) from None
        expanded = sum(member.file_size for member in members)
        if expanded > MAX_XML_BYTES or expanded > MAX_ZIP_RATIO * max(size, 1):
            raise MidivaeError(
                f"archive expands to {expanded / 2**20:.0f} MB from {size / 2**20:.1f} MB "
                f"(at most {MAX_XML_BYTES // 2**20} MB, {MAX_ZIP_RATIO} times)",
                path,
            )
        return
    if size > MAX_XML_BYTES:
        raise MidivaeError(f"over {MAX_XML_BYTES // 2**20} MB", path)
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if b"<!ENTITY" in head:
        raise MidivaeError("declares XML entities; refusing to expand them", path)


def read_musicxml(path: str | Path) -> Score:
    """Read a MusicXML score as a `Score`.

    Parts map to names and GM programs through their music21 instrument; transposing
    instruments and ottavas sound at concert pitch; tempo marks set the seconds; repeats
    are expanded (the score is read as written when that fails, with a notice); ties are
    merged; chords become several notes; dynamics marks and hairpins give velocities (see
    `midivae.scores.dynamics`), and a note's own ``dynamics`` attribute overrides them.
    Percussion parts and grace notes are skipped with a notice.

    Raises
    ------
    MidivaeError
        Missing, empty, not (valid) MusicXML, no notes, or only percussion parts.
    """
    from music21 import converter, stream

    path = Path(path)
    check_file(path)
    _check_size(path)
    try:
        with warnings_as_notices(path):
            parsed = converter.parseFile(
                path, format="musicxml", forceSource=True, storePickle=False
            )
    except Exception as exc:  # xml ParseError, MusicXMLImportException, BadZipFile, ...
        raise MidivaeError(f"not a readable MusicXML file ({_reason(exc)})", path) from None
    if isinstance(parsed, stream.Opus):
        if not parsed.scores:
            raise MidivaeError("no notes to render", path)
        if len(parsed.scores) > 1:
            logger.info("%s: holds %d scores, reading the first", path, len(parsed.scores))
        parsed = parsed.scores[0]
    if not isinstance(parsed, stream.Score):
        score = stream.Score()
        score.insert(0, parsed)
        parsed = score
    score = parsed
    with warnings_as_notices(path):
        score.toSoundingPitch(inPlace=True)

    groups = _groups(score)
    for group in groups:
        if not group.is_drum:
            _mark_velocities(score, [score.parts[k] for k in group.staves])
    expanded = _expand_repeats(score, path)
    seconds, tempo = _tempo_map(expanded, path)

    parts: list[Part] = []
    notes: list[NoteEvent] = []
    n_drums = n_grace = 0
    for group in groups:
        if group.is_drum:
            n_drums += 1
            continue
        events: list[list[Any]] = []
        for k in group.staves:
            n_grace += _collect(expanded.parts[k], events)
        if not events:
            continue
        index = len(parts)
        parts.append(Part(index, group.name, group.program, False))
        for on, off, pitch, velocity in events:
            onset, offset = max(seconds(on), 0.0), seconds(off)
            if offset > onset:
                notes.append(NoteEvent(onset, offset, pitch, velocity, index))
    if n_grace:
        logger.info("%s: skipped %d grace note(s)", path, n_grace)
    require_notes(notes, n_drums, path)
    if n_drums:  # after the check: with nothing else left the error alone says it
        logger.info("%s: skipped %d percussion part(s)", path, n_drums)
    duration = max(seconds(float(expanded.highestTime)), max(n.offset for n in notes))
    return Score(sort_notes(notes), parts, {}, {}, tempo, duration)


def _groups(score: Any) -> list[_Group]:
    """Instrument groups of `score.parts`, with names, GM programs and the drum flag."""
    from music21 import note, percussion, stream

    groups: list[_Group] = []
    for k, part in enumerate(score.parts):
        key = None
        if isinstance(part, stream.PartStaff):
            key = re.sub(r"-Staff\d+$", "", str(part.id))
        if key is not None and groups and groups[-1].key == key:
            groups[-1].staves.append(k)
            continue
        inst = part.getInstrument(returnDefault=True)
        name = (part.partName or inst.partName or inst.instrumentName or "").strip()
        found = list(part.recurse().notes)
        unpitched = all(isinstance(n, note.Unpitched | percussion.PercussionChord) for n in found)
        # not by instrument class: music21 calls GM programs 112-119 (woodblock, taiko, ...)
        # unpitched percussion, yet they play pitched notes on an ordinary channel
        is_drum = inst.midiChannel == 9 or (bool(found) and unpitched)
        program = inst.midiProgram
        if program is None and name:
            program = _program_from_name(name)
        groups.append(_Group(key, name or f"Part {len(groups) + 1}", program, is_drum, [k]))
    return groups


def _program_from_name(name: str) -> int | None:
    """GM program (0-based) of the instrument music21 recognises in `name`, if any."""
    from music21 import instrument

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a guess from a name; failures are expected
            found = instrument.fromString(name)
    except Exception:  # InstrumentException: not an instrument name
        return None
    return found.midiProgram


def _mark_velocities(score: Any, staves: list[Any]) -> None:
    """Store each note's velocity from the dynamics and hairpins of its instrument's staves."""
    from music21 import dynamics

    marks: list[tuple[float, str]] = []
    elements = []
    for staff in staves:
        flat = staff.flatten()
        for mark in flat.getElementsByClass(dynamics.Dynamic):
            marks.append((float(mark.getOffsetBySite(flat)), str(mark.value)))
        for el in flat.notes:
            elements.append((float(el.getOffsetBySite(flat)), el))
    hairpins = []
    for wedge in score.spannerBundle.getByClass(dynamics.DynamicWedge):
        span = _span(wedge, staves)
        if span is None:
            continue
        kind = wedge.type if isinstance(wedge.type, str) else ""
        direction = -1 if isinstance(wedge, dynamics.Diminuendo) or "dim" in kind else 1
        if isinstance(wedge, dynamics.Crescendo) or kind.startswith("cresc"):
            direction = 1
        hairpins.append((span[0], span[1], direction))
    onsets = [on for on, _ in elements]
    for (_, el), velocity in zip(elements, note_velocities(onsets, marks, hairpins), strict=True):
        el.editorial[_VELOCITY_KEY] = velocity


def _span(wedge: Any, staves: list[Any]) -> tuple[float, float] | None:
    """Start and end (quarter lengths) of a hairpin in one of `staves`, or None."""
    first, last = wedge.getFirst(), wedge.getLast()
    if first is None or last is None:
        return None
    for staff in staves:
        try:
            start = float(first.getOffsetInHierarchy(staff))
            end = float(last.getOffsetInHierarchy(staff)) + float(last.quarterLength)
        except Exception:  # SitesException: not in this staff
            continue
        return start, max(end, start)
    return None


def _expand_repeats(score: Any, path: Path) -> Any:
    """`score` with repeats (and D.C./D.S. marks) written out, or `score` when that fails."""
    from music21 import bar, repeat

    marks = score.recurse().getElementsByClass((bar.Repeat, repeat.RepeatExpression))
    if not marks:
        return score
    try:
        with warnings_as_notices(path):
            return score.expandRepeats()
    except Exception as exc:  # ExpanderException, StreamException, ...
        logger.info("%s: repeats not expanded, read as written (%s)", path, _reason(exc))
        return score


def _tempo_map(score: Any, path: Path) -> tuple[Callable[[float], float], float]:
    """Quarter-length offset -> seconds under the tempo marks, and the first tempo (q/min)."""
    try:
        bounds = score.metronomeMarkBoundaries()
        starts = np.array([float(start) for start, _, _ in bounds])
        per_quarter = np.array([float(mm.secondsPerQuarter()) for _, _, mm in bounds])
        first = float(bounds[0][2].getQuarterBPM())
        if not (np.all(per_quarter > 0) and np.isfinite(per_quarter).all()):
            raise ValueError("tempo is not positive")
    except Exception as exc:  # a mark without a number, or a broken one
        logger.info("%s: tempo marks not understood, using 120 BPM (%s)", path, _reason(exc))
        starts, per_quarter, first = np.array([0.0]), np.array([0.5]), 120.0
    elapsed = np.concatenate([[0.0], np.cumsum(np.diff(starts) * per_quarter[:-1])])

    def seconds(offset: float) -> float:
        i = max(int(np.searchsorted(starts, offset, side="right")) - 1, 0)
        return float(elapsed[i] + (offset - starts[i]) * per_quarter[i])

    return seconds, first


def _explicit_velocity(el: Any) -> int | None:
    """A note's own velocity (MusicXML ``<note dynamics="...">``), if it has one."""
    if el.hasVolumeInformation() and el.volume.velocity is not None:
        return min(max(int(el.volume.velocity), 1), 127)
    return None


def _collect(staff: Any, events: list[list[Any]]) -> int:
    """Append ``[on, off, pitch, velocity]`` (quarter lengths) of `staff`, ties merged.

    Returns the number of grace notes skipped.
    """
    from music21 import chord, note

    flat = staff.flatten()
    open_ties: dict[int, int] = {}
    n_grace = 0
    for el in flat.notes:
        if el.duration.isGrace or el.quarterLength == 0:
            n_grace += 1
            continue
        on = float(el.getOffsetBySite(flat))
        off = on + float(el.quarterLength)
        default = el.editorial.get(_VELOCITY_KEY, DEFAULT_VELOCITY)
        members = list(el.notes) if isinstance(el, chord.Chord) else [el]
        for member in members:
            if not isinstance(member, note.Note) or not 0 <= member.pitch.midi <= 127:
                continue
            pitch = int(member.pitch.midi)
            velocity = _explicit_velocity(member) or _explicit_velocity(el) or default
            tie = member.tie.type if member.tie is not None else None
            j = open_ties.get(pitch)
            if tie in ("stop", "continue") and j is not None:
                if abs(events[j][1] - on) <= _TIE_TOLERANCE:
                    events[j][1] = off
                else:
                    j = None
            else:
                j = None
            if j is None:
                events.append([on, off, pitch, velocity])
                j = len(events) - 1
            if tie in ("start", "continue"):
                open_ties[pitch] = j
            else:
                open_ties.pop(pitch, None)
    return n_grace
