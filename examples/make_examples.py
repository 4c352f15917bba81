"""Regenerate the shipped examples (run from the repo root: ``python examples/make_examples.py``).

- ``example_recording.flac``: ~10 s of a flute melody (Ode to Joy, public domain) with
  changing dynamics, rendered by fluidsynth with FluidR3_GM (MIT-licensed samples).
- ``example_score.musicxml`` and ``example_score.mid``: a short violin melody (Frère Jacques,
  public domain) marked p, crescendo, f, for ``midivae render``.
"""

from __future__ import annotations

from pathlib import Path

import music21

from midivae.audio import save_audio
from midivae.music import get_instrument
from midivae.training.corpus.content import Note
from midivae.training.corpus.render import get_soundfont, render_notes

HERE = Path(__file__).resolve().parent
ODE = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]
ODE_BEATS = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.5, 0.5, 2]
JACQUES = [60, 62, 64, 60, 60, 62, 64, 60, 64, 65, 67, 64, 65, 67]
JACQUES_BEATS = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 2]


def example_recording(path: Path) -> None:
    beat = 0.6
    notes, t = [], 0.4
    for i, (pitch, beats) in enumerate(zip(ODE, ODE_BEATS, strict=True)):
        velocity = int(45 + 70 * i / (len(ODE) - 1))  # a long crescendo, pp-ish to f
        notes.append(Note(pitch + 12, velocity, t, t + beats * beat * 0.92))
        t += beats * beat
    flute = get_instrument("flute")
    audio = render_notes(
        notes, program=flute.program, soundfont=get_soundfont("fluidr3").path(), seconds=t + 0.6
    )
    save_audio(path, audio, overwrite=True)


def example_score(musicxml: Path, midi: Path) -> None:
    part = music21.stream.Part()
    part.insert(0, music21.instrument.Violin())
    part.append(music21.tempo.MetronomeMark(number=96))
    part.append(music21.meter.TimeSignature("4/4"))
    notes = []
    for i, (pitch, beats) in enumerate(zip(JACQUES, JACQUES_BEATS, strict=True)):
        if i == 0:
            part.append(music21.dynamics.Dynamic("p"))
        if i == 8:
            part.append(music21.dynamics.Dynamic("f"))
        note = music21.note.Note(pitch + 7, quarterLength=beats)
        notes.append(note)
        part.append(note)
    part.insert(0, music21.dynamics.Crescendo(notes[4], notes[7]))
    score = music21.stream.Score([part])
    score.metadata = music21.metadata.Metadata(title="Frère Jacques (midivae example)")
    score.write("musicxml", fp=str(musicxml))
    score.write("midi", fp=str(midi))


if __name__ == "__main__":
    example_recording(HERE / "example_recording.flac")
    example_score(HERE / "example_score.musicxml", HERE / "example_score.mid")
    for path in sorted(HERE.glob("example_*")):
        print(path.relative_to(HERE.parent), path.stat().st_size, "bytes")
