"""Standard MIDI files <-> `Score` (pretty_midi)."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pretty_midi

from midivae.audio import atomic_output
from midivae.errors import MidivaeError
from midivae.scores._files import check_file, require_notes, warnings_as_notices
from midivae.scores.types import Curve, NoteEvent, Part, Score, sort_notes, writer_input

__all__ = ["read_midi", "write_midi"]

logger = logging.getLogger("midivae")

SUSTAIN, VOLUME, EXPRESSION, PAN = 64, 7, 11, 10
DEFAULT_BEND_RANGE = 2.0
"""Pitch-bend range in semitones when the file sets none (RPN 0)."""


#: Longest score read, and the most ticks a MIDI file may span (pretty_midi allocates a
#: time for every tick: 30 million ticks are 240 MB, four hours at 960 ticks per beat and
#: 120 beats per minute 28 million).
MAX_SCORE_SECONDS = 4 * 3600.0
MAX_TICKS = 30_000_000


def _check_length_in_ticks(path: Path, head: bytes) -> None:
    """Refuse a MIDI file whose events reach beyond ``MAX_TICKS`` before pretty_midi sizes
    its arrays by them (a 40-byte file can ask for terabytes)."""
    if not head.startswith((b"MThd", b"RIFF")):
        return  # not MIDI: pretty_midi's own error says so
    import mido

    try:
        tracks = mido.MidiFile(str(path), clip=True).tracks
    except Exception:  # damaged: pretty_midi's own error names the problem
        return
    longest = max((sum(message.time for message in track) for track in tracks), default=0)
    if longest > MAX_TICKS:
        raise MidivaeError(f"events reach tick {longest} (at most {MAX_TICKS})", path)


def read_midi(path: str | Path) -> Score:
    """Read a ``.mid`` file as a `Score`.

    Sustain pedal (CC64 >= 64) holds notes released under it until the pedal lifts (or the
    same key is struck again); CC7 x CC11 become a gain curve and pitch bend a curve in
    semitones (range from RPN 0, else +-2) per part. Drum tracks are dropped with a notice.

    Raises
    ------
    MidivaeError
        Missing, empty, not MIDI, damaged, no notes, or only drum tracks.
    """
    path = Path(path)
    head = check_file(path)
    _check_length_in_ticks(path, head)
    try:
        with warnings_as_notices(path):
            pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError, ...
        if not head.startswith((b"MThd", b"RIFF")):
            raise MidivaeError("not a MIDI file", path) from None
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise MidivaeError(f"damaged MIDI file ({reason})", path) from None

    end_time = float(pm.get_end_time())
    if end_time > MAX_SCORE_SECONDS:
        raise MidivaeError(
            f"lasts {end_time / 3600:.1f} hours (at most {MAX_SCORE_SECONDS / 3600:.0f}); "
            "a tempo or an event time is far off",
            path,
        )
    parts: list[Part] = []
    notes: list[NoteEvent] = []
    gains: dict[int, Curve] = {}
    bends: dict[int, Curve] = {}
    n_drums = n_empty = 0
    for inst in pm.instruments:
        if inst.is_drum:
            n_drums += bool(inst.notes)
            continue
        index = len(parts)
        ccs = sorted(inst.control_changes, key=lambda c: c.time)
        events = _sustained(inst.notes, _pedal_intervals(ccs, end_time))
        part_notes = []
        for start, end, pitch, velocity in events:
            if end > start:
                part_notes.append(NoteEvent(start, end, pitch, min(max(velocity, 1), 127), index))
            else:
                n_empty += 1
        if not part_notes:
            continue
        name = inst.name.strip() or pretty_midi.program_to_instrument_name(inst.program)
        pan = _pan_at(ccs, min(n.onset for n in part_notes))
        parts.append(Part(index, name, int(inst.program), False, pan))
        notes.extend(part_notes)
        gain = _gain_curve(ccs)
        if gain is not None:
            gains[index] = gain
        bend = _bend_curve(inst.pitch_bends, ccs)
        if bend is not None:
            bends[index] = bend
    if n_empty:
        logger.info("%s: dropped %d zero-length note(s)", path, n_empty)
    require_notes(notes, n_drums, path)
    if n_drums:  # after the check: with nothing else left the error alone says it
        logger.info("%s: skipped %d drum track(s)", path, n_drums)
    duration = max(end_time, max(n.offset for n in notes))
    times, tempi = pm.get_tempo_changes()
    # the tempo most of the file plays at (a pickup may have one of its own)
    spans = np.diff(np.append(times, max(duration, times[-1] if len(times) else 0.0)))
    tempo = float(tempi[int(np.argmax(spans))]) if len(tempi) else 120.0
    return Score(sort_notes(notes), parts, gains, bends, tempo, duration)


def _pedal_intervals(ccs: Sequence, end_time: float) -> list[tuple[float, float]]:
    """``(down, up)`` seconds of each sustain-pedal press (CC64 >= 64)."""
    out, down = [], None
    for cc in ccs:
        if cc.number != SUSTAIN:
            continue
        if cc.value >= 64 and down is None:
            down = cc.time
        elif cc.value < 64 and down is not None:
            out.append((down, cc.time))
            down = None
    if down is not None:
        out.append((down, end_time))
    return out


def _sustained(
    notes: Sequence[pretty_midi.Note], pedal: list[tuple[float, float]]
) -> list[tuple[float, float, int, int]]:
    """``(start, end, pitch, velocity)`` with notes released under the pedal held on."""
    by_pitch: dict[int, list[pretty_midi.Note]] = defaultdict(list)
    for n in notes:
        by_pitch[n.pitch].append(n)
    out = []
    for pitch, group in by_pitch.items():
        group.sort(key=lambda n: (n.start, n.end))
        for i, n in enumerate(group):
            end = n.end
            up = next((u for d, u in pedal if d <= n.end < u), None)
            if up is not None:
                restrike = next((m.start for m in group[i + 1 :] if m.start > n.start), math.inf)
                end = max(n.end, min(up, restrike))
            out.append((float(n.start), float(end), int(pitch), int(n.velocity)))
    return out


def _pan_at(ccs: Sequence, time: float) -> float | None:
    """The part's pan (CC10: 0 left, 64 centre, 127 right, as -1 to 1) in effect at ``time``
    (its first note), else its first pan; None without any. A DAW mix pans a track once."""
    pans = [cc for cc in ccs if cc.number == PAN]
    if not pans:
        return None
    before = [cc for cc in pans if cc.time <= time]
    value = (before[-1] if before else pans[0]).value
    return (value - 64) / (63 if value >= 64 else 64)


def _gain_curve(ccs: Sequence) -> Curve | None:
    """Channel volume x expression, each ``value / 127`` (127 until first set); None if unused."""
    times, values = [0.0], [1.0]
    level = {VOLUME: 127, EXPRESSION: 127}
    for cc in ccs:
        if cc.number not in level:
            continue
        level[cc.number] = cc.value
        gain = level[VOLUME] / 127 * level[EXPRESSION] / 127
        if cc.time <= times[-1]:
            values[-1] = gain
        else:
            times.append(float(cc.time))
            values.append(gain)
    if len(times) == 1 and values[0] == 1.0:
        return None
    return Curve(np.array(times), np.array(values))


def _bend_ranges(ccs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Times and values (semitones) of the pitch-bend range set through RPN 0 (CC101/100/6/38)."""
    times, values = [0.0], [DEFAULT_BEND_RANGE]
    rpn = [127, 127]
    # RPN select before data entry at one instant: pretty_midi writes same-tick CCs in
    # controller-number order, which puts CC6 before CC100/101
    for cc in sorted(ccs, key=lambda c: (c.time, c.number not in (100, 101))):
        if cc.number == 101:
            rpn[0] = cc.value
        elif cc.number == 100:
            rpn[1] = cc.value
        elif cc.number in (6, 38) and rpn == [0, 0]:
            semis = float(cc.value) if cc.number == 6 else math.floor(values[-1]) + cc.value / 100
            if cc.time <= times[-1]:
                values[-1] = semis
            else:
                times.append(float(cc.time))
                values.append(semis)
    return np.array(times), np.array(values)


def _bend_curve(bends: Sequence[pretty_midi.PitchBend], ccs: Sequence) -> Curve | None:
    """Pitch bend in semitones (0 until the first bend); None without bends."""
    if not bends:
        return None
    range_times, ranges = _bend_ranges(ccs)
    bends = sorted(bends, key=lambda b: b.time)
    times = np.array([0.0] + [float(b.time) for b in bends])
    raw = np.array([0.0] + [float(b.pitch) for b in bends])
    idx = np.searchsorted(range_times, times, side="right") - 1
    semis = raw / 8192.0 * ranges[np.clip(idx, 0, None)]
    # keep the last of several bends at one time
    keep = np.append(times[1:] != times[:-1], True)
    if not np.any(semis):
        return None
    return Curve(times[keep], semis[keep])


def write_midi(
    score_or_notes: Score | Sequence[NoteEvent],
    path: str | Path,
    *,
    tempo_bpm: float | None = None,
    parts: Sequence[Part] | None = None,
    overwrite: bool = False,
    gain_controller: int = VOLUME,
    downbeat_s: float = 0.0,
) -> Path:
    """Write notes as a type-1 MIDI file, one track per part, atomically.

    Parameters
    ----------
    score_or_notes : Score or sequence of NoteEvent
        A `Score` (its parts, gain curves as CC7 and bend curves as pitch wheel are
        written too) or bare notes.
    path : str or Path
        The ``.mid`` file.
    tempo_bpm : float or None
        Tempo written to the file (note times stay in seconds); None: the score's tempo,
        120 for bare notes.
    parts : sequence of Part or None
        Track names, GM programs and drum flags; None: the score's parts, or one unnamed
        piano part per part index for bare notes. Parts without notes become empty tracks.
    overwrite : bool
        Replace an existing file.
    gain_controller : int
        The controller gain curves are written as: channel volume (CC7, the default) or
        expression (CC11); read back, the gain is their product either way.
    downbeat_s : float
        Where the music's first bar begins (0: at the start). The time before it is a
        pickup of whole beats (at the tempo that fits them into it, in a bar of its own,
        :func:`lead_in`), so that the notes after it land on the ``tempo_bpm`` grid.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    MidivaeError
        `path` exists without `overwrite`, or cannot be written.
    """
    path = Path(path)
    notes, parts, gains, bends, tempo = writer_input(score_or_notes, parts, tempo_bpm)
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=tempo)
    if downbeat_s > 0:
        beats, lead_bpm = lead_in(downbeat_s, tempo)
        ticks = beats * pm.resolution
        scale = 60.0 / pm.resolution
        pm._tick_scales = [(0, scale / lead_bpm), (ticks, scale / tempo)]
        pm._update_tick_to_time(ticks + 1)
        pm.time_signature_changes.append(pretty_midi.TimeSignature(min(beats, 4), 4, 0.0))
        if beats < 4:
            pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, downbeat_s))
    else:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    for part in parts:
        inst = pretty_midi.Instrument(
            program=part.program or 0, is_drum=part.is_drum, name=part.name
        )
        inst.notes = [
            pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.onset, end=n.offset)
            for n in notes
            if n.part == part.index
        ]
        if part.pan is not None:
            value = round(64 + 63 * part.pan) if part.pan >= 0 else round(64 + 64 * part.pan)
            inst.control_changes.append(pretty_midi.ControlChange(PAN, value, 0.0))
        gain = gains.get(part.index)
        if gain is not None:
            inst.control_changes += [
                pretty_midi.ControlChange(
                    gain_controller, round(127 * min(max(float(g), 0.0), 1.0)), t
                )
                for t, g in zip(gain.times, gain.values, strict=True)
            ]
        bend = bends.get(part.index)
        if bend is not None:
            _add_bends(inst, bend)
        pm.instruments.append(inst)
    with atomic_output(path, overwrite=overwrite) as tmp:
        try:
            pm.write(str(tmp))
        except OSError as exc:
            raise MidivaeError(f"cannot write: {exc.strerror or exc}", path) from None
    return path


def lead_in(downbeat_s: float, tempo_bpm: float) -> tuple[int, float]:
    """``(beats, bpm)`` of the pickup before a first downbeat at ``downbeat_s``: the whole
    number of beats nearest its length at ``tempo_bpm`` (whole bars of four beats past
    four), at the tempo that fits them into it exactly."""
    beats = max(round(downbeat_s * tempo_bpm / 60.0), 1)
    if beats > 4:
        beats = 4 * round(beats / 4)
    return int(beats), 60.0 * beats / downbeat_s


def _add_bends(inst: pretty_midi.Instrument, bend: Curve) -> None:
    """Pitch-wheel events for `bend`, with an RPN 0 range when it exceeds +-2 semitones."""
    semis_range = max(DEFAULT_BEND_RANGE, math.ceil(float(np.max(np.abs(bend.values)))))
    if semis_range > DEFAULT_BEND_RANGE:
        inst.control_changes += [
            pretty_midi.ControlChange(number, value, 0.0)
            for number, value in ((101, 0), (100, 0), (6, min(int(semis_range), 127)), (38, 0))
        ]
    for t, semis in zip(bend.times, bend.values, strict=True):
        raw = round(float(semis) / semis_range * 8192)
        inst.pitch_bends.append(pretty_midi.PitchBend(min(max(raw, -8192), 8191), float(t)))
