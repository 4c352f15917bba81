"""Transcriptions engraved: does the MusicXML read like notation?

Transcribes FluidR3 renders of generated lines (``bench/daw.py``'s: a flute line, a piano line
doubled an octave down, a violin line, each at its own tempo) and the shipped example to
MusicXML at the estimated tempo, engraves each with MuseScore 3 (``mscore3 -o PAGE.png``,
Debian ``musescore3``, offscreen) into ``--out`` (default ``out/engraving``) for a person to
look at, and counts what makes a page hard to read (music21 reads each file back): tuplets
(and those over three notes), tied notes, dynamics marks, notes, measures.

Usage: ``python bench/engraving.py [--out DIR]``. Last line: ``engraved=<a/b> notes=<n>
tuplets=<t> tuplets_gt3=<g> ties_per_note=<x> dynamics_per_note=<y>``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
from daw import EXAMPLE, line

from midivae.audio import load_audio
from midivae.music import get_instrument
from midivae.training.corpus.render import get_soundfont, render_notes
from midivae.transcription.transcribe import transcribe

ROOT = Path(__file__).resolve().parents[1]
#: (name, preset that plays and reads it, doubled an octave down, tempo)
TAKES = (
    ("flute-96", "flute", False, 96),
    ("piano-100", "piano", True, 100),
    ("violin-84", "violin", False, 84),
)


def counts(path: Path) -> dict[str, int]:
    """What the MusicXML at ``path`` holds, as music21 reads it."""
    import music21

    score = music21.converter.parse(str(path))
    notes = list(score.recurse().notes)
    tuplets = [t for n in score.recurse().notesAndRests for t in n.duration.tuplets]
    return {
        "notes": len(notes),
        "tuplets": len(tuplets),
        "tuplets_gt3": sum(t.numberNotesActual > 3 for t in tuplets),
        "ties": sum(1 for n in notes if n.tie is not None and n.tie.type in ("start", "continue")),
        "dynamics": len(list(score.recurse().getElementsByClass("Dynamic"))),
        "measures": max(
            (len(part.getElementsByClass("Measure")) for part in score.parts), default=0
        ),
    }


def engrave(musicxml: Path, png: Path) -> bool:
    """MuseScore 3's pages of ``musicxml`` as ``png`` (it numbers pages: ``png-1.png`` ...)."""
    program = shutil.which("mscore3")
    if program is None:
        return False
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [program, "-o", str(png), str(musicxml)], env=env, capture_output=True, timeout=120
    )
    return done.returncode == 0 and any(png.parent.glob(f"{png.stem}*.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "engraving")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    font = get_soundfont("fluidr3").path()
    rng = np.random.default_rng(11)
    takes = []
    for name, preset, octaves, bpm in TAKES:
        notes, seconds = line(bpm, rng, octaves)
        program = get_instrument(preset).program
        takes.append(
            (name, render_notes(notes, program=program, soundfont=font, seconds=seconds), preset)
        )
    takes.append(("example", load_audio(EXAMPLE), "flute"))
    totals = {"notes": 0, "tuplets": 0, "tuplets_gt3": 0, "ties": 0, "dynamics": 0}
    engraved = 0
    for name, audio, preset in takes:
        result = transcribe(audio, preset=preset)
        musicxml = args.out / f"{name}.musicxml"
        result.save(musicxml, overwrite=True, title=name)
        found = counts(musicxml)
        ok = engrave(musicxml, args.out / f"{name}.png")
        engraved += ok
        for key in totals:
            totals[key] += found[key]
        print(
            f"{name:10s} {result.tempo_bpm or 120:6.1f} BPM  {found['notes']:3d} notes  "
            f"{found['measures']:3d} measures  tuplets {found['tuplets']:3d} "
            f"(over three {found['tuplets_gt3']})  ties {found['ties']:3d}  "
            f"dynamics {found['dynamics']:3d}  {'engraved' if ok else 'NOT engraved'}",
            flush=True,
        )
    n = max(totals["notes"], 1)
    print(f"pages: {args.out}")
    print(
        f"engraved={engraved}/{len(takes)} notes={totals['notes']} tuplets={totals['tuplets']} "
        f"tuplets_gt3={totals['tuplets_gt3']} ties_per_note={totals['ties'] / n:.2f} "
        f"dynamics_per_note={totals['dynamics'] / n:.2f}"
    )


if __name__ == "__main__":
    main()
