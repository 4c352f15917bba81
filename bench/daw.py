"""A DAW user's checks of transcription: the shipped example, MusicXML tuplets, tempo, level,
batch collisions.

- ``example_notes``: notes read from ``examples/example_recording.flac`` (15 played).
- ``musicxml_tuplets_gt3``: tuplets of more than three notes in that transcription's MusicXML
  at its estimated tempo (music21 reads the file back).
- ``tempo_err_pct`` / ``tempo_within_4pct``: the estimated tempo's median error against the
  played one, and the share within 4 %, over FluidR3 renders of generated lines (flute,
  piano in octaves, violin; quarter, eighth and half notes, accented downbeats) at 72-160 BPM.
- ``downbeat_err_ms`` / ``downbeat_within_50ms``: where the tempo is within 4 %, the
  estimated first downbeat's median error against the lines' first note (on their downbeat),
  and the share within 50 ms.
- ``level_order_kept``: the example at 0, -12 and -30 dB and normalised to -1 dBFS reads the
  same pitches in the same velocity order (Spearman > 0.95 against 0 dB).
- ``collisions_refused``: two inputs that would write one output stop the run before any
  work (usage error, exit 2).

Last line: ``example_notes=<n> musicxml_tuplets_gt3=<n> tempo_err_pct=<x>
tempo_within_4pct=<a/b> downbeat_err_ms=<d> downbeat_within_50ms=<c/e> level_order_kept=<yes|no>
collisions_refused=<yes|no>``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from midivae.audio import load_audio
from midivae.music import get_instrument
from midivae.training.corpus.content import Note
from midivae.training.corpus.render import get_soundfont, render_notes
from midivae.transcription.transcribe import transcribe

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "example_recording.flac"
TEMPI = (72, 90, 108, 120, 138, 160)
LINES = (("flute", False), ("piano", True), ("violin", False))  # preset, doubled an octave down


def line(bpm: float, rng: np.random.Generator, octaves: bool, bars: int = 8):
    """Notes of a generated line at ``bpm`` and its length in seconds."""
    beat, t, pitch, notes = 60 / bpm, 0.5, 67, []
    while t < 0.5 + bars * 4 * beat - 1e-6:
        length = beat * rng.choice([0.5, 1, 1, 2], p=[0.3, 0.3, 0.2, 0.2])
        pitch = int(np.clip(pitch + rng.integers(-4, 5), 60, 84))
        velocity = 100 if abs(((t - 0.5) / beat) % 4) < 1e-6 else 75
        notes.append(Note(pitch, velocity, t, t + 0.9 * length))
        if octaves:
            notes.append(Note(pitch - 12, velocity - 10, t, t + 0.9 * length))
        t += length
    return notes, t + 1.0


def tempo_errors() -> tuple[list[float], list[float]]:
    """Each render's relative tempo error, and the downbeat's error (seconds) of those whose
    tempo is within 4 % (the lines' first note, on their first downbeat, is at 0.5 s)."""
    rng = np.random.default_rng(5)
    font = get_soundfont("fluidr3").path()
    errors, downbeats = [], []
    for bpm in TEMPI:
        for preset, octaves in LINES:
            program = get_instrument(preset).program
            notes, seconds = line(bpm, rng, octaves)
            audio = render_notes(notes, program=program, soundfont=font, seconds=seconds)
            result = transcribe(audio, preset=preset)
            estimate = result.tempo_bpm or float("nan")
            errors.append(abs(estimate - bpm) / bpm)
            if errors[-1] < 0.04:
                downbeats.append(abs(result.downbeat_s - notes[0].start))
            print(
                f"{bpm:4d} BPM  {preset:7s}: {estimate:6.1f}, "
                f"downbeat at {result.downbeat_s:.3f} s (played {notes[0].start:.3f})",
                flush=True,
            )
    return errors, downbeats


def tuplets_over_three(path: Path) -> int:
    import music21

    score = music21.converter.parse(str(path))
    return sum(
        1
        for n in score.recurse().notesAndRests
        for t in n.duration.tuplets
        if t.numberNotesActual > 3
    )


def level_order_kept() -> bool:
    from scipy.stats import spearmanr

    take = load_audio(EXAMPLE)
    versions = [take * 10 ** (db / 20) for db in (-12, -30)]
    versions.append(take / np.abs(take).max() * 10 ** (-1 / 20))
    reference = transcribe(take, preset="flute").notes
    for audio in versions:
        notes = transcribe(audio, preset="flute").notes
        if [n.pitch for n in notes] != [n.pitch for n in reference]:
            return False
        order = spearmanr([n.velocity for n in notes], [n.velocity for n in reference])
        if order.statistic <= 0.95:
            return False
    return True


def collisions_refused(tmp: Path) -> bool:
    for name in ("take.wav", "take.flac"):
        sf.write(tmp / name, load_audio(EXAMPLE), 22050)
    done = subprocess.run(
        [sys.executable, "-m", "midivae.cli", "transcribe", str(tmp / "take.wav"),
         str(tmp / "take.flac"), "-o", str(tmp / "out")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.returncode == 2 and not (tmp / "out").exists()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        result = transcribe(EXAMPLE)
        result.save(tmp / "example.musicxml")
        print(f"example: {result.summary()}")
        tuplets = tuplets_over_three(tmp / "example.musicxml")
        refused = collisions_refused(tmp)
    errors, downbeats = tempo_errors()
    within = sum(e < 0.04 for e in errors)
    on_time = sum(d <= 0.05 for d in downbeats)
    kept = level_order_kept()
    print(
        f"example_notes={len(result.notes)} musicxml_tuplets_gt3={tuplets} "
        f"tempo_err_pct={100 * np.median(errors):.1f} tempo_within_4pct={within}/{len(errors)} "
        f"downbeat_err_ms={1000 * np.median(downbeats):.0f} "
        f"downbeat_within_50ms={on_time}/{len(downbeats)} "
        f"level_order_kept={'yes' if kept else 'no'} "
        f"collisions_refused={'yes' if refused else 'no'}"
    )


if __name__ == "__main__":
    main()
