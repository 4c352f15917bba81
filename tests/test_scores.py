"""Score readers and writers: MIDI (pretty_midi) and MusicXML (music21) <-> note events."""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from midivae.errors import MidivaeError
from midivae.scores import (
    VELOCITY,
    NoteEvent,
    Part,
    Score,
    read_score,
    write_midi,
    write_musicxml,
)
from midivae.scores.dynamics import note_velocities

m21 = pytest.importorskip("music21")

MIDI_HEADER = b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0"  # type 1, 1 track, 480 ticks


# ---------------------------------------------------------------------------- helpers


def make_midi(path: Path, *instruments: pretty_midi.Instrument, tempo: float = 120.0) -> Path:
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=tempo)
    pm.instruments.extend(instruments)
    pm.write(str(path))
    return path


def instrument(notes, *, program=0, is_drum=False, name="", ccs=(), bends=()):
    """A pretty_midi Instrument from ``(pitch, start, end[, velocity])`` tuples."""
    inst = pretty_midi.Instrument(program=program, is_drum=is_drum, name=name)
    for pitch, start, end, *vel in notes:
        inst.notes.append(pretty_midi.Note(vel[0] if vel else 100, pitch, start, end))
    inst.control_changes = [pretty_midi.ControlChange(n, v, t) for n, v, t in ccs]
    inst.pitch_bends = [pretty_midi.PitchBend(p, t) for p, t in bends]
    return inst


def quarters(*pitches: str, ql: float = 1.0) -> list:
    return [m21.note.Note(p, quarterLength=ql) for p in pitches]


def make_xml(path: Path, measures: list[list], *, bpm: float | None = 120, setup=None) -> Path:
    """A one-part MusicXML file: each measure is a list of notes/marks appended in order.

    `setup(part, measures)` may add spanners or barlines before writing.
    """
    part = m21.stream.Part()
    part.insert(0, m21.instrument.Violin())
    built = []
    for k, content in enumerate(measures, start=1):
        measure = m21.stream.Measure(number=k)
        if k == 1:
            measure.insert(0, m21.meter.TimeSignature("4/4"))
            if bpm is not None:
                measure.insert(0, m21.tempo.MetronomeMark(number=bpm))
        for el in content:
            if isinstance(el, m21.dynamics.Dynamic):
                measure.insert(measure.highestTime, el)
            else:
                measure.append(el)
        built.append(measure)
        part.append(measure)
    if setup is not None:
        setup(part, built)
    score = m21.stream.Score()
    score.insert(0, part)
    score.write("musicxml", fp=path)
    return path


# ---------------------------------------------------------------------------- MIDI


def test_midi_round_trip_keeps_notes_programs_and_names(tmp_path):
    notes = [
        NoteEvent(0.0, 0.5, 60, 40, 0),
        NoteEvent(0.5, 1.25, 64, 90, 0),
        NoteEvent(0.5, 1.0, 67, 127, 0),
        NoteEvent(0.25, 2.0, 48, 1, 1),
    ]
    parts = [Part(0, "Lead", 73), Part(1, "Bass line", 32)]
    out = write_midi(notes, tmp_path / "a.mid", parts=parts, tempo_bpm=100)
    score = read_score(out)
    assert [(p.name, p.program, p.is_drum) for p in score.parts] == [
        ("Lead", 73, False),
        ("Bass line", 32, False),
    ]
    got = sorted((n.part, n.pitch, n.velocity) for n in score.notes)
    assert got == sorted((n.part, n.pitch, n.velocity) for n in notes)
    for want in notes:
        (match,) = [n for n in score.notes if (n.part, n.pitch) == (want.part, want.pitch)]
        assert match.onset == pytest.approx(want.onset, abs=1e-3)
        assert match.offset == pytest.approx(want.offset, abs=1e-3)
    assert score.tempo_bpm == pytest.approx(100)
    assert score.duration == pytest.approx(2.0, abs=1e-3)
    assert [p.index for p in score.parts] == [0, 1]


def test_sustain_pedal_holds_released_notes_until_pedal_up_or_restrike(tmp_path):
    inst = instrument(
        [(60, 0.0, 0.5), (64, 0.0, 0.5), (64, 1.0, 1.2), (67, 3.0, 3.5)],
        ccs=[(64, 127, 0.25), (64, 0, 2.0)],
    )
    score = read_score(make_midi(tmp_path / "ped.mid", inst))
    by = {(n.pitch, round(n.onset, 3)): n.offset for n in score.notes}
    assert by[(60, 0.0)] == pytest.approx(2.0, abs=1e-3)  # held to the pedal release
    assert by[(64, 0.0)] == pytest.approx(1.0, abs=1e-3)  # cut by the same key again
    assert by[(64, 1.0)] == pytest.approx(2.0, abs=1e-3)
    assert by[(67, 3.0)] == pytest.approx(3.5, abs=1e-3)  # after the pedal: unchanged


def test_volume_and_expression_multiply_into_a_gain_curve(tmp_path):
    inst = instrument([(60, 0.0, 3.0)], ccs=[(7, 64, 0.0), (11, 127, 0.0), (11, 32, 1.0)])
    plain = instrument([(62, 0.0, 1.0)], program=40)
    score = read_score(make_midi(tmp_path / "cc.mid", inst, plain))
    gain = score.gain_curves[0]
    assert gain.at(0.5) == pytest.approx(64 / 127)
    assert gain.at(2.0) == pytest.approx(64 / 127 * 32 / 127)
    assert np.all((gain.values >= 0) & (gain.values <= 1))
    assert 1 not in score.gain_curves  # no controllers: no curve (gain 1)


def test_pitch_bend_becomes_semitones_with_default_and_rpn_range(tmp_path):
    default = instrument([(60, 0.0, 2.0)], bends=[(4096, 0.5), (-8192, 1.0), (0, 1.5)])
    wide = instrument(
        [(62, 0.0, 2.0)],
        program=40,
        ccs=[(101, 0, 0.0), (100, 0, 0.0), (6, 12, 0.0)],
        bends=[(4096, 0.5)],
    )
    score = read_score(make_midi(tmp_path / "bend.mid", default, wide))
    bend = score.bend_curves[0]
    np.testing.assert_allclose(bend.at([0.25, 0.75, 1.25, 1.75]), [0.0, 1.0, -2.0, 0.0])
    assert score.bend_curves[1].at(1.0) == pytest.approx(6.0)


def test_midi_writer_keeps_gain_and_bend_curves(tmp_path):
    inst = instrument(
        [(60, 0.0, 2.0)], ccs=[(7, 100, 0.0), (7, 50, 1.0)], bends=[(-4096, 0.5), (0, 1.5)]
    )
    score = read_score(make_midi(tmp_path / "in.mid", inst))
    again = read_score(write_midi(score, tmp_path / "out.mid"))
    np.testing.assert_allclose(again.gain_curves[0].at([0.5, 1.5]), [100 / 127, 50 / 127])
    np.testing.assert_allclose(again.bend_curves[0].at([0.2, 1.0, 1.7]), [0, -1, 0], atol=1e-3)


def test_drum_tracks_are_skipped_with_a_notice(tmp_path, caplog):
    drums = instrument([(36, 0.0, 0.1), (38, 0.5, 0.6)], is_drum=True)
    melody = instrument([(72, 0.0, 1.0)], program=56)
    path = make_midi(tmp_path / "band.mid", drums, melody)
    with caplog.at_level(logging.INFO, logger="midivae"):
        score = read_score(path)
    assert [n.pitch for n in score.notes] == [72]
    assert [p.program for p in score.parts] == [56]
    assert any("drum" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)


def test_drum_only_midi_is_an_error(tmp_path):
    path = make_midi(tmp_path / "drums.mid", instrument([(36, 0.0, 0.1)], is_drum=True))
    with pytest.raises(MidivaeError, match="only drum tracks; nothing to render"):
        read_score(path)


def test_midi_without_notes_is_an_error(tmp_path):
    path = make_midi(tmp_path / "silent.mid", instrument([], ccs=[(7, 100, 0.0)]))
    with pytest.raises(MidivaeError) as err:
        read_score(path)
    assert str(err.value) == f"{path}: no notes to render"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("junk.mid", b"this is plain text, not a MIDI file\n", "not a MIDI file"),
        ("cut.midi", MIDI_HEADER + b"MTrk\x00\x00\x00\x20\x00\x90", "damaged"),
        ("empty.mid", b"", "empty file"),
        ("empty.musicxml", b"", "empty file"),
    ],
)
def test_unreadable_files_give_one_line_errors_naming_the_file(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(MidivaeError) as err:
        read_score(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    assert err.value.path == path


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(MidivaeError, match="no such file"):
        read_score(tmp_path / "nope.mid")
    other = tmp_path / "song.txt"
    other.write_text("C D E")
    with pytest.raises(MidivaeError, match="not a score file"):
        read_score(other)


def test_write_midi_refuses_to_overwrite_and_leaves_the_file_untouched(tmp_path):
    path = tmp_path / "out.mid"
    path.write_bytes(b"keep me")
    notes = [NoteEvent(0.0, 1.0, 60, 80)]
    with pytest.raises(MidivaeError, match="exists, use --overwrite"):
        write_midi(notes, path)
    assert path.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mid"]  # no temp file left
    write_midi(notes, path, overwrite=True)
    assert [n.pitch for n in read_score(path).notes] == [60]


# ---------------------------------------------------------------------------- MusicXML


def test_truncated_musicxml_is_an_error(tmp_path):
    good = make_xml(tmp_path / "good.musicxml", [quarters("C4", "D4", "E4", "F4")])
    bad = tmp_path / "bad.musicxml"
    text = good.read_text()
    bad.write_text(text[: len(text) // 2])
    with pytest.raises(MidivaeError) as err:
        read_score(bad)
    assert str(err.value).startswith(f"{bad}: not a readable MusicXML file")
    assert "\n" not in str(err.value)


def test_musicxml_reads_pitches_chords_program_and_tempo(tmp_path):
    chord = m21.chord.Chord(["C4", "E4", "G4"], quarterLength=2.0)
    path = make_xml(tmp_path / "c.musicxml", [[*quarters("A4", "B4"), chord]], bpm=60)
    score = read_score(path)
    assert [(n.onset, n.pitch) for n in score.notes] == [
        (0.0, 69),
        (1.0, 71),
        (2.0, 60),
        (2.0, 64),
        (2.0, 67),
    ]
    assert all(n.offset == pytest.approx(4.0) for n in score.notes[2:])
    assert score.parts[0].program == 40 and score.parts[0].name == "Violin"
    assert score.tempo_bpm == pytest.approx(60)


def test_musicxml_percussion_part_is_skipped_and_programs_come_from_names(tmp_path, caplog):
    drums, horn = m21.stream.Part(), m21.stream.Part()
    drums.insert(0, m21.instrument.SnareDrum())
    drums.append([m21.note.Unpitched(displayName="C4") for _ in range(4)])
    horn.partName = "Trumpet"  # no instrument object: the program comes from the name
    horn.append(quarters("C5", "D5"))
    score = m21.stream.Score([drums, horn])
    path = tmp_path / "band.musicxml"
    score.write("musicxml", fp=path)
    with caplog.at_level(logging.INFO, logger="midivae"):
        read = read_score(path)
    assert [(p.name, p.program) for p in read.parts] == [("Trumpet", 56)]
    assert [n.pitch for n in read.notes] == [72, 74]
    assert any("percussion" in r.getMessage() for r in caplog.records)
    m21.stream.Score([drums]).write("musicxml", fp=tmp_path / "drums.musicxml")
    with pytest.raises(MidivaeError, match="only drum tracks"):
        read_score(tmp_path / "drums.musicxml")


def test_dynamics_p_then_f_raise_velocity(tmp_path):
    measures = [
        [m21.dynamics.Dynamic("p"), *quarters("C4", "D4", "E4", "F4")],
        [m21.dynamics.Dynamic("f"), *quarters("C4", "D4", "E4", "F4")],
    ]
    score = read_score(make_xml(tmp_path / "pf.musicxml", measures))
    velocities = [n.velocity for n in score.notes]
    assert velocities == [VELOCITY["p"]] * 4 + [VELOCITY["f"]] * 4


def test_crescendo_hairpin_ramps_velocity_to_the_next_mark(tmp_path):
    ramp = quarters("C4", "D4", "E4", "F4")

    def hairpin(part, measures):
        part.insert(0, m21.dynamics.Crescendo(ramp))

    measures = [[m21.dynamics.Dynamic("p"), *ramp], [m21.dynamics.Dynamic("f"), *quarters("G4")]]
    score = read_score(make_xml(tmp_path / "cresc.musicxml", measures, setup=hairpin))
    velocities = [n.velocity for n in score.notes]
    assert velocities[0] == VELOCITY["p"] and velocities[-1] == VELOCITY["f"]
    assert all(a < b for a, b in itertools.pairwise(velocities))


def test_hairpin_without_a_following_mark_moves_two_steps():
    # diminuendo from f over beats 0-4, no mark after: ends at mf - 1 step = mp, which holds
    got = note_velocities([0, 1, 2, 3, 4, 6], [(0, "f")], [(0.0, 4.0, -1)])
    assert got[0] == VELOCITY["f"] and got[4:] == [VELOCITY["mp"]] * 2
    assert got == sorted(got, reverse=True) and len(set(got[:4])) == 4
    assert note_velocities([0, 1], [(0, "sfz"), (0.5, "pp")]) == [VELOCITY["f"], VELOCITY["pp"]]


def test_tied_notes_merge_into_one(tmp_path):
    first, second = m21.note.Note("G4", quarterLength=4), m21.note.Note("G4", quarterLength=2)
    first.tie, second.tie = m21.tie.Tie("start"), m21.tie.Tie("stop")
    measures = [[first], [second, *quarters("A4", "A4")]]
    score = read_score(make_xml(tmp_path / "tie.musicxml", measures))
    assert [(n.pitch, n.onset, n.offset) for n in score.notes] == [
        (67, 0.0, 3.0),
        (69, 3.0, 3.5),
        (69, 3.5, 4.0),
    ]


def test_repeated_measure_plays_twice(tmp_path):
    def repeat(part, measures):
        measures[0].leftBarline = m21.bar.Repeat(direction="start")
        measures[0].rightBarline = m21.bar.Repeat(direction="end")

    measures = [quarters("C4", "D4", "E4", "F4"), [m21.note.Note("C5", quarterLength=4)]]
    score = read_score(make_xml(tmp_path / "rep.musicxml", measures, setup=repeat))
    assert [n.pitch for n in score.notes] == [60, 62, 64, 65] * 2 + [72]
    assert score.notes[4].onset == pytest.approx(2.0) and score.notes[-1].onset == 4.0


def test_tempo_marks_change_note_times(tmp_path):
    def slower(part, measures):
        measures[1].insert(0, m21.tempo.MetronomeMark(number=60))

    measures = [quarters("C4", "D4", "E4", "F4"), quarters("G4", "A4")]
    fast = read_score(make_xml(tmp_path / "t.musicxml", measures, bpm=120, setup=slower))
    assert [n.onset for n in fast.notes] == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 3.0])
    assert fast.notes[-1].offset == pytest.approx(4.0)
    assert fast.tempo_bpm == pytest.approx(120)


def test_write_musicxml_reads_back_with_the_same_pitches(tmp_path):
    rng = np.random.default_rng(7)
    notes, t = [], 0.0
    for _ in range(24):
        length, velocity = float(rng.uniform(0.1, 1.2)), int(rng.integers(20, 127))
        notes.append(NoteEvent(t, t + length, int(rng.integers(55, 80)), velocity))
        if rng.random() < 0.3:  # a second voice: a chord tone held longer
            notes.append(NoteEvent(t, t + 1.7 * length, int(rng.integers(40, 54)), 70))
        t += float(rng.uniform(0.05, 0.8))
    parts = [Part(0, "Alto Sax", 65)]  # a transposing instrument: written != sounding
    path = write_musicxml(notes, tmp_path / "out.musicxml", tempo_bpm=90, parts=parts)
    score = read_score(path)
    assert sorted(n.pitch for n in score.notes) == sorted(n.pitch for n in notes)
    assert score.parts[0].program == 65 and score.tempo_bpm == pytest.approx(90)
    grid = 60 / 90 / 12  # a 48th of a quarter: the 16th / triplet grids' common step
    for want, got in zip(sorted(notes), sorted(score.notes), strict=True):
        assert abs(got.onset - want.onset) <= 60 / 90 / 6 + 1e-9  # half an 8th-triplet
        assert round(got.onset / grid, 6) % 1 == 0
    with pytest.raises(MidivaeError, match="exists"):
        write_musicxml(notes, path)


def test_write_musicxml_keeps_velocities_and_writes_dynamics_marks(tmp_path):
    levels = (30, 33, 32, 31, 29, 110, 112, 108, 111, 113, 75, 109)  # one accent-less mf
    notes = [NoteEvent(0.5 * i, 0.5 * i + 0.4, 60 + i % 5, v) for i, v in enumerate(levels)]
    path = write_musicxml(notes, tmp_path / "dyn.mxl")
    assert [n.velocity for n in read_score(path).notes] == list(levels)  # every note's own
    marks = m21.converter.parse(path).flatten().getElementsByClass(m21.dynamics.Dynamic)
    assert [d.value for d in marks] == ["pp", "ff"]  # where the level moves, not per note


def test_write_musicxml_names_the_score_and_spells_in_its_key(tmp_path):
    f_major = (65, 67, 69, 70, 72, 74, 76, 77, 70, 69, 67, 65)  # with B flat
    notes = [NoteEvent(0.5 * i, 0.5 * i + 0.45, p, 80) for i, p in enumerate(f_major)]
    path = write_musicxml(notes, tmp_path / "tune.musicxml")
    assert "<work-title>tune</work-title>" in path.read_text()  # not "Music21 Fragment"
    parsed = m21.converter.parse(path)
    signature = parsed.flatten().getElementsByClass(m21.key.KeySignature)[0]
    assert signature.sharps == -1
    assert {n.pitch.name for n in parsed.flatten().notes if n.pitch.midi % 12 == 10} == {"B-"}


def test_midi_and_musicxml_of_the_same_music_agree(tmp_path):
    first, second = m21.note.Note("E4", quarterLength=2), m21.note.Note("E4", quarterLength=1)
    first.tie, second.tie = m21.tie.Tie("start"), m21.tie.Tie("stop")
    chord = m21.chord.Chord(["C4", "G4"], quarterLength=1.5)

    def slower(part, measures):
        measures[1].insert(0, m21.tempo.MetronomeMark(number=72))

    measures = [[*quarters("C4", "D4"), first], [second, chord, *quarters("B3", ql=1.5)]]
    xml = make_xml(tmp_path / "same.musicxml", measures, bpm=96, setup=slower)
    parsed = m21.converter.parse(xml)
    parsed.write("midi", fp=tmp_path / "same.mid")  # music21's own MIDI export
    a, b = read_score(xml), read_score(tmp_path / "same.mid")
    assert [n.pitch for n in a.notes] == [n.pitch for n in b.notes]
    np.testing.assert_allclose([n.onset for n in a.notes], [n.onset for n in b.notes], atol=0.01)
    np.testing.assert_allclose([n.offset for n in a.notes], [n.offset for n in b.notes], atol=0.02)


def test_score_types_validate():
    with pytest.raises(ValueError):
        NoteEvent(1.0, 1.0, 60, 80)
    with pytest.raises(ValueError):
        NoteEvent(0.0, 1.0, 60, 0)
    score = Score([NoteEvent(0.0, 1.0, 60, 80, 1)], [Part(0), Part(1)])
    assert score.part_notes(1) == score.notes and score.part_notes(0) == []


def test_musicxml_takes_one_grid_per_beat_and_no_tuplet_beyond_three(tmp_path):
    import music21

    from midivae.scores import write_musicxml

    third = 1 / 3
    starts = [0, third, 2 * third, 1, 1.25, 1.5, 1.75]  # a triplet beat, then 16ths
    notes = [NoteEvent(s + 0.01, s + 0.2, 60 + i, 80) for i, s in enumerate(starts)]
    notes.append(NoteEvent(2 + third - 0.02, 3.74, 72, 80))  # from a triplet point over a beat
    write_musicxml(notes, tmp_path / "grid.musicxml", tempo_bpm=60)
    score = music21.converter.parse(str(tmp_path / "grid.musicxml"))
    played = [n for n in score.recurse().notes if not (n.tie and n.tie.type != "start")]
    assert [float(n.getOffsetInHierarchy(score)) for n in played] == pytest.approx(
        [*starts, 2 + third], abs=1e-6
    )
    tuplets = [
        t.numberNotesActual for n in score.recurse().notesAndRests for t in n.duration.tuplets
    ]
    assert tuplets and max(tuplets) == 3


def test_a_piano_part_is_written_on_a_grand_staff(tmp_path):
    from midivae.scores import write_musicxml

    notes = [NoteEvent(0.5 * i, 0.5 * i + 0.45, p, 80) for i, p in enumerate((72, 48, 76, 43))]
    notes += [NoteEvent(0.0, 1.9, 60, 70), NoteEvent(0.0, 1.9, 55, 70)]  # a chord over the split
    path = write_musicxml(notes, tmp_path / "piano.musicxml", parts=[Part(0, "Piano", 0)])
    text = path.read_text()
    assert "<staves>2</staves>" in text and text.count("<part id") == 1
    assert sorted(n.pitch for n in read_score(path).notes) == sorted(n.pitch for n in notes)
    high = write_musicxml(notes[:1], tmp_path / "high.musicxml", parts=[Part(0, "Piano", 0)])
    assert [n.pitch for n in read_score(high).notes] == [72]  # an empty left hand is fine
    flute = write_musicxml(notes, tmp_path / "flute.musicxml", parts=[Part(0, "Flute", 73)])
    assert "<staves>" not in flute.read_text()


def test_a_grand_staff_is_one_instrument_and_no_composer_is_made_up(tmp_path):
    from midivae.scores import write_musicxml

    notes = [NoteEvent(0.5 * i, 0.5 * i + 0.45, p, 80) for i, p in enumerate((72, 48, 76, 43))]
    text = write_musicxml(notes, tmp_path / "p.musicxml", parts=[Part(0, "Piano", 0)]).read_text()
    # a staff of its own instrument reads as an instrument change at every note of it
    assert len(set(re.findall(r'<instrument id="([^"]+)"', text))) <= 1
    assert "Music21" not in text


def test_black_keys_are_sharps_in_a_sharp_key(tmp_path):
    e_major = (64, 66, 68, 69, 71, 73, 75, 76, 75, 73, 71, 68, 66, 64)
    notes = [NoteEvent(0.5 * i, 0.5 * i + 0.45, p, 80) for i, p in enumerate(e_major)]
    parsed = m21.converter.parse(write_musicxml(notes, tmp_path / "e.musicxml"))
    assert parsed.flatten().getElementsByClass(m21.key.KeySignature)[0].sharps == 4
    names = {n.pitch.name for n in parsed.flatten().notes if n.pitch.midi % 12 in (1, 3, 6, 8)}
    assert names == {"C#", "D#", "F#", "G#"}


def test_the_first_downbeat_starts_the_first_bar(tmp_path):
    # a tune at 100 BPM whose first note comes 0.9 s in, its notes a little short
    beat = 0.6
    notes = [NoteEvent(0.9 + beat * i, 0.9 + beat * i + 0.5, 60 + i, 80) for i in range(8)]
    midi_path = write_midi(notes, tmp_path / "t.mid", tempo_bpm=100, downbeat_s=0.9)
    midi = pretty_midi.PrettyMIDI(str(midi_path))
    ticks = [midi.time_to_tick(n.start) for n in midi.instruments[0].notes]
    assert [t % midi.resolution for t in ticks] == [0] * 8  # on the beats
    bars = midi.time_signature_changes  # a pickup bar, then 4/4 from the first note
    assert (bars[-1].numerator, bars[-1].time) == (4, pytest.approx(0.9, abs=1e-3))
    starts = [n.start for n in midi.instruments[0].notes]
    np.testing.assert_allclose(starts, [n.onset for n in notes], atol=1e-3)  # times kept
    assert read_score(midi_path).tempo_bpm == pytest.approx(100)  # not the pickup's
    xml = write_musicxml(notes, tmp_path / "t.musicxml", tempo_bpm=100, downbeat_s=0.9)
    parsed = m21.converter.parse(xml)
    played = list(parsed.recurse().notes)
    assert [float(n.getOffsetInHierarchy(parsed)) for n in played] == list(range(8))
    assert all(n.quarterLength == 1 for n in played[:-1])  # held to the next: no 16th rests
    rests = parsed.recurse().getElementsByClass(m21.note.Rest)
    assert all(r.getOffsetInHierarchy(parsed) >= 7 for r in rests)
