"""Transcription on fresh FluidR3_GM phrases: the held-in library, for tuning note tracking.

Phrases generated with a seed the corpora never used (``content.phrases``, or
``content.piano_phrases`` for ``piano``; seed 99), rendered by fluidsynth with FluidR3_GM,
transcribed with each instrument's own preset; a note on a key that FluidR3 plays as silence
(the violin's A#6) is left out of the reference. Constants of the note tracker (costs, onset
shift) are chosen here, never on the MuseScore_General dev set. ``duets`` (named like an
instrument) mixes fresh phrases of every pair of melody instruments and transcribes them with
the ``ensemble`` preset (and the violin + alto sax pair with the ``alto_sax-violin`` preset
too), for the mixture decoding's constants; its last line is ``duets (ensemble) on_f1=<a>
precision=<p> recall=<r>``. ``piano`` also gets isolated notes over its range at three
velocities, and four 4-voice Bach chorales that neither the corpora nor the dev set use
(``SELECTION_CHORALES``), the kind of music the dev set's chorales are, in the held-in library,
and two-handed pieces under the sustain pedal (``content.pedalled_pieces``, seed 99).
``repeats`` (named like an instrument) plays each melody instrument's same-pitch repeats (four
notes of 0.25-0.5 s across its range) with gaps of 10-80 ms, legato re-articulations (a bow
change, a tongued repeat) that the model hears as one held note; its last line is ``repeats
on_f1=<a>`` (mean over instruments and gaps). ``auto`` lets ``--instrument auto`` choose among
the shipped presets for fresh solos (two phrases of each instrument, piano too) and duets (two
of each pair of melody instruments), and prints the chosen preset's fit and the chooser's share
for it; its last line is ``auto acc=<a>``. ``dynamics`` plays the dev set's isolated-note files
(pp / mf / ff) with FluidR3 and counts the pitches whose velocities come out in order, the
held-in counterpart of the dev line's ``dyn_order`` (last line ``dynamics order=<a>``; the five
instruments unless others are named after it). ``lines`` plays chorale lines (``BENCH_LINES``:
no corpus, dev file or velocity fit uses them) with the dev set's kind of dynamics (pp / mf /
ff levels every few seconds, linear between), the held-in counterpart of the dev melodies; last
line ``lines on_f1=<a> onoff_f1=<b> vel_f1=<c>`` (the melody instruments unless others are
named after it).

Usage: ``python bench/transcribe_fluidr3.py [--presets DIR] [--room RT60] [INSTRUMENT ...]``
(default: the four melody instruments; ``piano`` too when named; ``--presets`` takes each
instrument's preset from ``DIR/<instrument>`` instead of the shipped one, to compare a
candidate; ``--room`` plays the phrases in ``bench/transcribe_room.py``'s room, RT60 seconds
and a tail 6 dB under the direct sound, the held-in counterpart of that report). Last line:
``on_f1=<a> onoff_f1=<b> vel_f1=<c> median_onset_ms=<d>`` (means over instruments).
"""

from __future__ import annotations

import sys
from functools import cache
from itertools import combinations
from pathlib import Path

import numpy as np
from devset import DYNAMICS, isolated_layout
from scoring import ONSET_TOLERANCE, ordered, score, velocity_triples
from transcribe_room import WET_DB, in_room, room_response

from midivae.music import MELODY_INSTRUMENTS, get_instrument
from midivae.training.corpus.content import Note, pedalled_pieces, phrases, piano_phrases
from midivae.training.corpus.pieces import piece_item, score_notes
from midivae.training.corpus.render import get_soundfont, render_notes
from midivae.transcription.transcribe import transcribe

SEED = 99
SECONDS = 40.0
SATB = ("Soprano", "Alto", "Tenor", "Bass")
REPEAT_GAPS_S = (0.01, 0.02, 0.03, 0.05, 0.08)
SELECTION_CHORALES = ("bach/bwv10.7", "bach/bwv101.7", "bach/bwv102.7", "bach/bwv103.6")
BENCH_LINES = (
    ("bach/bwv1.6", "Soprano"),
    ("bach/bwv104.6", "Alto"),
    ("bach/bwv108.6", "Soprano"),
    ("bach/bwv11.6", "Tenor"),
    ("bach/bwv113.8", "Soprano"),
    ("bach/bwv114.7", "Alto"),
    ("bach/bwv115.6", "Soprano"),
    ("bach/bwv116.6", "Tenor"),
)
LINES_SEED = 5


def chorale_items(inst, rng: np.random.Generator) -> list:
    """The selection chorales as piano items (20 s each, varied dynamics)."""
    return [
        piece_item(
            score_notes(work, None, SATB, bpm=float(rng.uniform(60, 90))),
            inst,
            rng,
            monophonic=False,
            seconds=20.0,
        )
        for work in SELECTION_CHORALES
    ]


def isolated_scores(preset: str | Path, inst, font) -> tuple[float, int, int]:
    """The dev set's isolated-note files (:func:`devset.isolated_layout`, pp / mf / ff) played
    by FluidR3 instead of MuseScore_General: mean onset F1, and how many of the notes from C5
    (MIDI 72) up were found, of how many."""
    f1, found, high = [], 0, 0
    for velocity in DYNAMICS.values():
        notes, seconds = isolated_layout(inst.name, velocity)
        audio = render_notes(notes, program=inst.program, soundfont=font, seconds=seconds)
        heard = transcribe(audio, preset=preset, calibrated=True).notes
        estimate = [(n.onset, n.offset, n.pitch, n.velocity) for n in heard]
        f1.append(score([(n.start, n.end, n.pitch, n.velocity) for n in notes], estimate).on_f1)
        for note in (n for n in notes if n.pitch >= 72):
            high += 1
            found += any(
                h.pitch == note.pitch and abs(h.onset - note.start) <= ONSET_TOLERANCE
                for h in heard
            )
    return float(np.mean(f1)), found, high


def dynamics_scores(folder: Path | None, font, names) -> None:
    """The dev set's isolated-note files played by FluidR3: per instrument, how many pitches
        come out pp < mf < ff, how many lack a level, the median velocity read at each level (played
    at 33 / 80 / 112), and the velocities of those out of order."""
    good = total = 0
    for name in names:
        inst = get_instrument(name)
        preset = folder / name if folder else name
        levels, reference = [], []
        for velocity in DYNAMICS.values():
            notes, seconds = isolated_layout(name, velocity)
            audio = render_notes(notes, program=inst.program, soundfont=font, seconds=seconds)
            heard = transcribe(audio, preset=preset, calibrated=True).notes
            levels.append([(n.onset, n.offset, n.pitch, n.velocity) for n in heard])
            reference = [(n.start, n.end, n.pitch, n.velocity) for n in notes]
        triples = velocity_triples(levels, reference)
        right = sum(ordered(v) for _, v in triples)
        missing = sum(None in v for _, v in triples)
        wrong = " ".join(f"{p}:{'/'.join(map(str, v))}" for p, v in triples if not ordered(v))
        medians = "/".join(
            f"{np.median([v[k] for _, v in triples if v[k] is not None] or [0]):.0f}"
            for k in range(len(DYNAMICS))
        )
        print(
            f"dynamics {name:10s} {right:2d} of {len(triples):2d} ordered, "
            f"{missing} missing, median velocity {medians}  {wrong}"
        )
        good, total = good + right, total + len(triples)
    print(f"dynamics order={good / total:.3f}")


def repeat_items(inst, gap: float, rng: np.random.Generator) -> list[tuple[list, float]]:
    """Four same-pitch notes ``gap`` seconds apart at every 5th semitone of the range, as
    ``(notes, seconds)`` items."""
    items = []
    for pitch in range(inst.low + 3, inst.high - 2, 5):
        notes, t = [], 0.2
        for _ in range(4):
            length = float(rng.uniform(0.25, 0.5))
            notes.append(Note(pitch, int(rng.integers(60, 100)), t, t + length))
            t += length + gap
        items.append((notes, t + 0.5))
    return items


def repeat_scores(folder: Path | None, font) -> None:
    """Onset F1 of same-pitch repeats per melody instrument and gap (see the module doc)."""
    print(f"{'repeats':10s}" + "".join(f"{1000 * g:8.0f} ms" for g in REPEAT_GAPS_S))
    means = []
    for name in MELODY_INSTRUMENTS:
        inst = get_instrument(name)
        preset = folder / name if folder else name
        row = []
        for k, gap in enumerate(REPEAT_GAPS_S):
            f1 = [
                score_audio(
                    render_notes(notes, program=inst.program, soundfont=font, seconds=seconds),
                    notes,
                    preset,
                ).on_f1
                for notes, seconds in repeat_items(inst, gap, np.random.default_rng(SEED + k))
            ]
            row.append(float(np.mean(f1)))
        means.append(np.mean(row))
        print(f"{name:10s}" + "".join(f"{v:11.3f}" for v in row))
    print(f"repeats on_f1={np.mean(means):.3f}")


def line_scores(folder: Path | None, font, names) -> None:
    """Onset, on+off and +velocity F1 of chorale lines with dev-style dynamics, per
    instrument (20 s each; ``BENCH_LINES``)."""
    rng = np.random.default_rng(LINES_SEED)
    rows = []
    for name in names:
        inst = get_instrument(name)
        items = []
        for work, voice in BENCH_LINES:
            raw = score_notes(work, None, (voice,), bpm=float(rng.uniform(80, 120)))
            items.append(piece_item(raw, inst, rng, monophonic=True, seconds=20.0))
        results, _ = score_items(folder / name if folder else name, inst, items, font)
        rows.append(
            [np.mean([getattr(r, k) for r in results]) for k in ("on_f1", "onoff_f1", "vel_f1")]
        )
        print(
            f"{name:10s} lines {len(items):2d}  on {rows[-1][0]:.3f}  "
            f"on+off {rows[-1][1]:.3f}  +vel {rows[-1][2]:.3f}"
        )
    mean = np.mean(rows, axis=0)
    print(f"lines on_f1={mean[0]:.3f} onoff_f1={mean[1]:.3f} vel_f1={mean[2]:.3f}")


def score_audio(audio: np.ndarray, notes, preset: str | Path, settings=None):
    """mir_eval scores of ``audio`` transcribed with ``preset`` (and tracking ``settings``)
    against the ``notes`` it plays."""
    heard = transcribe(audio, preset=preset, settings=settings, calibrated=True).notes
    estimate = [(n.onset, n.offset, n.pitch, n.velocity) for n in heard]
    reference = sorted((n.start, n.end, n.pitch, n.velocity) for n in notes)
    return score(reference, estimate)


@cache
def silent_keys(inst, font) -> frozenset[int]:
    """Keys of ``inst``'s range that ``font`` plays as silence (FluidR3's violin has no A#6):
    a note there makes no sound, so no reference of a render counts it."""
    silent = set()
    for pitch in range(inst.low, inst.high + 1):
        note = Note(pitch, 90, 0.05, 0.3)
        if not np.any(render_notes([note], program=inst.program, soundfont=font, seconds=0.4)):
            silent.add(pitch)
    return frozenset(silent)


def score_items(
    name: str | Path, inst, items: list, font, room: np.ndarray | None = None
) -> tuple[list, list]:
    """Scores of each item transcribed with preset ``name``, and every matched onset error
    (each item convolved with ``room``, an impulse response, when given)."""
    results, errors = [], []
    silent = silent_keys(inst, font)
    for item in items:
        audio = render_notes(
            list(item.notes), program=inst.program, soundfont=font, seconds=item.length
        )
        if room is not None:
            audio = in_room(audio, room)
        s = score_audio(audio, [n for n in item.notes if n.pitch not in silent], name)
        results.append(s)
        errors.extend(s.onset_errors)
    return results, errors


def render_together(parts, font) -> np.ndarray:
    """``(instrument name, item)`` pairs rendered with FluidR3 and summed, as long as the
    longest item."""
    seconds = max(item.length for _, item in parts)
    return sum(
        render_notes(
            list(item.notes), program=get_instrument(name).program, soundfont=font, seconds=seconds
        )
        for name, item in parts
    )


def duet_scores(preset: str | Path, font, pairs=None) -> None:
    """Two fresh phrases of each pair of melody instruments (or of ``pairs``), summed, through
    ``preset``; the phrases of a pair are the same whichever preset hears them."""
    results = []
    for k, (a, b) in enumerate(combinations(MELODY_INSTRUMENTS, 2)):
        if pairs is not None and (a, b) not in pairs:
            continue
        pair = []
        for first, second in zip(
            phrases(get_instrument(a), np.random.default_rng(SEED + k), seconds=8.0),
            phrases(get_instrument(b), np.random.default_rng(SEED + 100 + k), seconds=8.0),
            strict=False,
        ):
            audio = render_together(((a, first), (b, second)), font)
            pair.append(score_audio(audio, (*first.notes, *second.notes), preset))
        results += pair
        print(f"duet {a}+{b} ({Path(preset).name}): on {np.mean([r.on_f1 for r in pair]):.3f}")
    print(
        f"duets ({Path(preset).name}) on_f1={np.mean([r.on_f1 for r in results]):.3f} "
        f"precision={np.mean([r.on_precision for r in results]):.3f} "
        f"recall={np.mean([r.on_recall for r in results]):.3f}"
    )


def auto_choices(font) -> None:
    """``auto``'s choice on fresh solos and duets (with the chooser's share of the preset
    chosen, or the fit where the likelihoods chose)."""
    from midivae.presets.preset import cached_preset, shipped_presets
    from midivae.spectral import SpectralConfig, analyse, compress
    from midivae.transcription.choice import choose_preset

    names = shipped_presets()
    items: list[tuple[tuple[str, ...], list]] = []
    for k, name in enumerate((*MELODY_INSTRUMENTS, "piano")):
        inst = get_instrument(name)
        make = piano_phrases if inst.polyphonic else phrases
        for item in make(inst, np.random.default_rng(SEED + 200 + k), seconds=8.0)[:2]:
            items.append(((name,), [(name, item)]))
    for k, (a, b) in enumerate(combinations(MELODY_INSTRUMENTS, 2)):
        first = phrases(get_instrument(a), np.random.default_rng(SEED + 300 + k), seconds=8.0)
        second = phrases(get_instrument(b), np.random.default_rng(SEED + 400 + k), seconds=8.0)
        for pair in list(zip(first, second, strict=False))[:2]:
            items.append(((a, b), [(a, pair[0]), (b, pair[1])]))
    right = 0
    for truth, parts in items:
        audio = render_together(parts, font)
        amplitude = analyse(audio, SpectralConfig())
        choice = choose_preset(compress(amplitude, SpectralConfig()), amplitude, names)
        chosen = cached_preset(choice.name).instruments
        fits = set(truth) <= set(chosen)
        right += chosen == truth if len(truth) == 1 else len(chosen) > 1 and fits
        how = f"share {choice.shares[choice.name]:.2f}" if choice.shares else ""
        print(f"auto {'+'.join(truth):18s} -> {choice.name:16s} fit {choice.fit:+.2f} {how}")
    print(f"auto acc={right / len(items):.3f}")


def main() -> None:
    args = sys.argv[1:]
    folder = room = None
    if args[:1] == ["--presets"]:
        folder, args = Path(args[1]), args[2:]
    if args[:1] == ["--room"]:
        room, args = room_response(float(args[1]), WET_DB, 22050), args[2:]
    names = args or list(MELODY_INSTRUMENTS)
    font = get_soundfont("fluidr3").path()
    if "repeats" in names:
        names.remove("repeats")
        repeat_scores(folder, font)
        if not names:
            return
    if "dynamics" in names:
        names.remove("dynamics")
        dynamics_scores(folder, font, names or [*MELODY_INSTRUMENTS, "piano"])
        return
    if "lines" in names:
        names.remove("lines")
        line_scores(folder, font, names or list(MELODY_INSTRUMENTS))
        return
    if "auto" in names:
        names.remove("auto")
        auto_choices(font)
        if not names:
            return
    if "duets" in names:
        names.remove("duets")
        for name, pairs in (("alto_sax-violin", {("violin", "alto_sax")}), ("ensemble", None)):
            duet_scores(folder / name if folder else name, font, pairs)
        if not names:
            return
    totals = []
    for name in names:
        inst = get_instrument(name)
        make = piano_phrases if inst.polyphonic else phrases
        items = make(inst, np.random.default_rng(SEED), seconds=SECONDS)
        preset = folder / name if folder else name
        results, errors = score_items(preset, inst, items, font, room)
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
        if inst.polyphonic:
            chorales, _ = score_items(
                preset, inst, chorale_items(inst, np.random.default_rng(SEED)), font
            )
            precision = np.mean([r.on_precision for r in chorales])
            recall = np.mean([r.on_recall for r in chorales])
            f1 = np.mean([r.on_f1 for r in chorales])
            onoff = np.mean([r.onoff_f1 for r in chorales])
            vel = np.mean([r.vel_f1 for r in chorales])
            print(
                f"{name:10s} chorales {len(chorales):2d}  on {f1:.3f}"
                f"  (precision {precision:.3f}, recall {recall:.3f})  on+off {onoff:.3f}"
                f"  +vel {vel:.3f}"
            )
            pieces = pedalled_pieces(inst, np.random.default_rng(SEED), seconds=SECONDS)
            pedalled, _ = score_items(preset, inst, pieces, font)
            print(
                f"{name:10s} pedalled {len(pedalled):2d}  on "
                f"{np.mean([r.on_f1 for r in pedalled]):.3f}  (precision "
                f"{np.mean([r.on_precision for r in pedalled]):.3f}, recall "
                f"{np.mean([r.on_recall for r in pedalled]):.3f})  on+off "
                f"{np.mean([r.onoff_f1 for r in pedalled]):.3f}"
            )
            f1, found, high = isolated_scores(preset, inst, font)
            print(f"{name:10s} isolated notes  on {f1:.3f}  (from C5 up: {found} of {high} found)")
    mean = np.mean(totals, axis=0)
    print(
        f"on_f1={mean[0]:.3f} onoff_f1={mean[1]:.3f} vel_f1={mean[2]:.3f} "
        f"median_onset_ms={mean[3]:+.1f}"
    )


if __name__ == "__main__":
    main()
