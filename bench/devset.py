"""The MuseScore_General dev set for the transcription benchmark (built once, then reused).

Audio rendered by fluidsynth from MuseScore_General (never used for training) with the
reference MIDI beside each file:

- ``melody/``: real melodies (music21 corpus, 20 s, varied dynamics) on flute, violin,
  alto sax and trumpet;
- ``notes/``: isolated notes of all five instruments, one file per instrument and dynamic
  (pp, mf, ff), the same pitches in each, for the dynamics-order figure;
- ``piano/``: Bach chorales on piano (4 voices);
- ``duet/``: two chorale voices on two different melody instruments, rendered apart and
  mixed (one reference track per instrument).

Usage: ``python bench/devset.py [DIR]`` (default ``bench/data/devset``); prints the count.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from midivae.audio import save_audio
from midivae.music import MELODY_INSTRUMENTS, get_instrument
from midivae.training.corpus.content import Note
from midivae.training.corpus.pieces import CHORALES, MELODIES, piece_item, score_notes
from midivae.training.corpus.render import get_soundfont, render_notes

VERSION = 1
SEED = 2026
PIECE_SECONDS = 20.0
DYNAMICS = {"pp": 33, "mf": 80, "ff": 112}
DUETS = (
    ("bach/bwv269", ("Soprano", "Alto"), ("flute", "violin")),
    ("bach/bwv347", ("Soprano", "Tenor"), ("violin", "alto_sax")),
    ("bach/bwv153.1", ("Alto", "Tenor"), ("trumpet", "alto_sax")),
    ("bach/bwv66.6", ("Soprano", "Alto"), ("flute", "trumpet")),
)
ROOT = Path(__file__).resolve().parent / "data" / "devset"


@dataclass(frozen=True)
class Entry:
    """One dev-set file: its kind, path stem (relative), instruments in track order."""

    kind: str
    stem: str
    instruments: tuple[str, ...]


def _write(folder: Path, stem: str, tracks: list[tuple[str, list[Note]]], seconds: float) -> None:
    font = get_soundfont("musescore").path()
    mix = np.zeros(round(seconds * 22050), dtype=np.float64)
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for name, notes in tracks:
        program = get_instrument(name).program
        mix += render_notes(notes, program=program, soundfont=font, seconds=seconds)
        track = pretty_midi.Instrument(program=program, name=name)
        track.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in notes]
        midi.instruments.append(track)
    path = folder / f"{stem}.flac"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_audio(path, mix.astype(np.float32), overwrite=True)
    midi.write(str(folder / f"{stem}.mid"))


def isolated_layout(name: str, velocity: int) -> tuple[list[Note], float]:
    """The isolated-note files' notes (every 5 keys over the range, 1.4 s apart) and length."""
    inst = get_instrument(name)
    pitches = range(inst.low + 2, inst.high - 1, 5)
    notes, t = [], 0.3
    for pitch in pitches:
        notes.append(Note(pitch, velocity, t, t + 0.8))
        t += 1.4
    return notes, t + 0.5


def build(folder: Path = ROOT) -> list[Entry]:
    """Build (or reuse) the dev set in ``folder``; returns its entries."""
    index = folder / "devset.json"
    if index.is_file():
        data = json.loads(index.read_text())
        if data.get("version") == VERSION:
            return [Entry(e["kind"], e["stem"], tuple(e["instruments"])) for e in data["entries"]]
    rng = np.random.default_rng(SEED)
    entries: list[Entry] = []
    for name in MELODY_INSTRUMENTS:
        inst = get_instrument(name)
        for number, (work, tune, voices) in enumerate(MELODIES):
            raw = score_notes(work, tune, voices, bpm=float(rng.uniform(80, 120)))
            item = piece_item(raw, inst, rng, monophonic=True, seconds=PIECE_SECONDS)
            stem = f"melody/{name}-{number}"
            _write(folder, stem, [(name, list(item.notes))], item.length)
            entries.append(Entry("melody", stem, (name,)))
    for name in (*MELODY_INSTRUMENTS, "piano"):
        for dynamic, velocity in DYNAMICS.items():
            notes, seconds = isolated_layout(name, velocity)
            stem = f"notes/{name}-{dynamic}"
            _write(folder, stem, [(name, notes)], seconds)
            entries.append(Entry("notes", stem, (name,)))
    piano = get_instrument("piano")
    for number, (work, tune, voices) in enumerate(CHORALES):
        raw = score_notes(work, tune, voices, bpm=float(rng.uniform(60, 80)))
        item = piece_item(raw, piano, rng, monophonic=False, seconds=PIECE_SECONDS)
        stem = f"piano/chorale-{number}"
        _write(folder, stem, [("piano", list(item.notes))], item.length)
        entries.append(Entry("piano", stem, ("piano",)))
    for number, (work, voices, names) in enumerate(DUETS):
        bpm = float(rng.uniform(60, 80))
        tracks = []
        for voice, name in zip(voices, names, strict=True):
            raw = score_notes(work, None, (voice,), bpm=bpm)
            item = piece_item(
                raw, get_instrument(name), rng, monophonic=True, seconds=PIECE_SECONDS
            )
            tracks.append((name, list(item.notes)))
        seconds = max(max(n.end for n in notes) for _, notes in tracks) + 0.6
        stem = f"duet/{'+'.join(names)}-{number}"
        _write(folder, stem, tracks, seconds)
        entries.append(Entry("duet", stem, names))
    index.write_text(
        json.dumps({"version": VERSION, "entries": [e.__dict__ for e in entries]}, indent=1)
    )
    return entries


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    built = build(target)
    print(f"{len(built)} files in {target}")
