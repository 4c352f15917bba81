"""Transcription on fresh FluidR3_GM phrases: the held-in library, for tuning note tracking.

Phrases generated with a seed the corpora never used (``content.phrases``, or
``content.piano_phrases`` for ``piano``; seed 99), rendered
by fluidsynth with FluidR3_GM, transcribed with each instrument's own preset. Constants of
the note tracker (costs, onset shift) are chosen here, never on the MuseScore_General dev set.

Usage: ``python bench/transcribe_fluidr3.py [INSTRUMENT ...]`` (default: the four melody
instruments; ``piano`` too when named). Last line:
``on_f1=<a> onoff_f1=<b> vel_f1=<c> median_onset_ms=<d>`` (means over instruments).
"""

from __future__ import annotations

import sys

import numpy as np
from scoring import score

from midivae.corpus.content import phrases, piano_phrases
from midivae.corpus.instruments import MELODY_INSTRUMENTS, get_instrument
from midivae.corpus.render import get_soundfont, render_notes
from midivae.transcribe import transcribe

SEED = 99
SECONDS = 40.0


def main() -> None:
    names = sys.argv[1:] or list(MELODY_INSTRUMENTS)
    font = get_soundfont("fluidr3").path()
    totals = []
    for name in names:
        inst = get_instrument(name)
        make = piano_phrases if inst.polyphonic else phrases
        items = make(inst, np.random.default_rng(SEED), seconds=SECONDS)
        results, errors = [], []
        for item in items:
            audio = render_notes(
                list(item.notes), program=inst.program, soundfont=font, seconds=item.length
            )
            estimate = [
                (n.onset, n.offset, n.pitch, n.velocity)
                for n in transcribe(audio, preset=name).notes
            ]
            reference = [(n.start, n.end, n.pitch, n.velocity) for n in item.notes]
            s = score(reference, estimate)
            results.append(s)
            errors.extend(s.onset_errors)
        row = (
            np.mean([r.on_f1 for r in results]),
            np.mean([r.onoff_f1 for r in results]),
            np.mean([r.vel_f1 for r in results]),
            1000 * np.median(errors),
        )
        totals.append(row)
        print(
            f"{name:10s} phrases {len(items):3d}  on {row[0]:.3f}  on+off {row[1]:.3f}  "
            f"+vel {row[2]:.3f}  median onset {row[3]:+.1f} ms"
        )
    mean = np.mean(totals, axis=0)
    print(
        f"on_f1={mean[0]:.3f} onoff_f1={mean[1]:.3f} vel_f1={mean[2]:.3f} "
        f"median_onset_ms={mean[3]:+.1f}"
    )


if __name__ == "__main__":
    main()
