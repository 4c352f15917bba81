"""Dev-test content (MuseScore_General builds): isolated notes at pp/mf/ff and real music.

Real melodies come from music21's corpus (folk songs and chorale lines) transposed into the
instrument's range with varied dynamics; piano gets Bach chorales (4 voices) and duets (two
voices of other chorales). Never used for training.
"""

from __future__ import annotations

import numpy as np

from midivae.music import Instrument, fold_into_range
from midivae.training.corpus.content import (
    ISOLATED,
    PHRASE_GAP,
    PIECE,
    Item,
    Note,
    _item,
    isolated_notes,
)

#: Isolated dev-test notes: the centres of the pp / mf / ff classes, two durations.
DEVTEST_VELOCITIES: tuple[int, ...] = (33, 80, 112)
DEVTEST_DURATIONS: tuple[float, ...] = (0.3, 1.0)
#: Pieces are cut after this many seconds.
MAX_PIECE_SECONDS = 40.0

#: (corpus work, ABC tune number or None, voices taken; None = the top voice).
MELODIES: tuple[tuple[str, int | None, tuple[str, ...] | None], ...] = (
    ("essenFolksong/altdeu10", 2, None),
    ("essenFolksong/han1", 1, None),
    ("essenFolksong/irl", 1, None),
    ("essenFolksong/folkHaydn", 1, None),
    ("essenFolksong/kinder0", 1, None),
    ("bach/bwv66.6", None, ("Soprano",)),
    ("bach/bwv40.8", None, ("Alto",)),
)
CHORALES: tuple[tuple[str, int | None, tuple[str, ...] | None], ...] = (
    ("bach/bwv269", None, ("Soprano", "Alto", "Tenor", "Bass")),
    ("bach/bwv347", None, ("Soprano", "Alto", "Tenor", "Bass")),
    ("bach/bwv153.1", None, ("Soprano", "Alto", "Tenor", "Bass")),
)
DUETS: tuple[tuple[str, int | None, tuple[str, ...] | None], ...] = (
    ("bach/bwv7.7", None, ("Soprano", "Bass")),
    ("bach/bwv66.6", None, ("Alto", "Tenor")),
)


def score_notes(work: str, number: int | None, voices: tuple[str, ...] | None, bpm: float):
    """``(pitch, start, end)`` in seconds from a music21 corpus work (top note of chords)."""
    from music21 import corpus

    score = corpus.parse(work, number=number) if number is not None else corpus.parse(work)
    parts = list(score.parts) or [score]
    if voices is not None:
        parts = [p for p in parts if p.partName in voices]
    beat = 60.0 / bpm
    out = []
    for part in parts:
        for element in part.stripTies().flatten().notes:
            pitches = [p.midi for p in element.pitches]
            start = float(element.offset) * beat
            end = start + float(element.duration.quarterLength) * beat
            for pitch in pitches if len(parts) > 1 else pitches[-1:]:
                out.append((int(pitch), start, end))
    return sorted(out, key=lambda n: (n[1], n[0]))


def transposition_into_range(pitches: list[int], low: int, high: int) -> int:
    """A transposition putting ``pitches`` inside ``[low, high]``, centred in the range.

    Octave shifts are preferred; then any semitone shift; a line wider than the range is
    centred (the caller folds the notes still outside by octaves).
    """
    lo, hi, centre = min(pitches), max(pitches), (low + high) / 2 - float(np.median(pitches))
    for step in (12, 1):
        fitting = [s for s in range(-60, 61, step) if low <= lo + s and hi + s <= high]
        if fitting:
            return min(fitting, key=lambda s: (abs(s - centre), abs(s)))
    return round(centre)


def _dynamics(rng: np.random.Generator, seconds: float):
    """A velocity curve over time: random pp/mf/ff levels every few seconds, linear between."""
    knots = np.arange(0.0, seconds + 4.0, rng.uniform(3.0, 6.0))
    levels = rng.choice(DEVTEST_VELOCITIES, size=len(knots)) + rng.integers(-8, 9, len(knots))
    return lambda t: int(np.clip(np.interp(t, knots, levels), 1, 127))


def piece_item(
    raw: list[tuple[int, float, float]],
    instrument: Instrument,
    rng: np.random.Generator,
    *,
    monophonic: bool,
    seconds: float = MAX_PIECE_SECONDS,
) -> Item:
    """One piece as an item: transposed (monophonic lines), cut, with varied dynamics."""
    raw = [n for n in raw if n[1] < seconds]
    shift = transposition_into_range([p for p, _, _ in raw], instrument.low, instrument.high)
    velocity = _dynamics(rng, seconds)
    notes = []
    for i, (pitch, start, end) in enumerate(raw):
        p = fold_into_range(pitch + shift, instrument.low, instrument.high)
        held = start + 0.95 * (end - start)
        if monophonic and i + 1 < len(raw):
            held = min(held, raw[i + 1][1])
        notes.append(Note(p, velocity(start), start, max(held, start + 0.05)))
    return _item(PIECE, notes, PHRASE_GAP)


def devtest_content(instrument: Instrument, seed: int, *, tiny: bool = False) -> list[Item]:
    """Everything a dev-test corpus renders, deterministic from ``seed``."""
    rng = np.random.default_rng(seed)
    if tiny:
        mid = (instrument.low + instrument.high) // 2
        items = isolated_notes(instrument, pitches=(mid,), velocities=(80,), durations=(0.5,))
        raw = score_notes(*MELODIES[0], bpm=100.0)[:6]
        return [*items, piece_item(raw, instrument, rng, monophonic=True, seconds=4.0)]
    items = isolated_notes(instrument, velocities=DEVTEST_VELOCITIES, durations=DEVTEST_DURATIONS)
    assert all(item.kind == ISOLATED for item in items)
    for work, number, voices in MELODIES:
        raw = score_notes(work, number, voices, bpm=float(rng.uniform(70, 110)))
        items.append(piece_item(raw, instrument, rng, monophonic=True))
    if instrument.polyphonic:
        for work, number, voices in CHORALES + DUETS:
            raw = score_notes(work, number, voices, bpm=float(rng.uniform(60, 90)))
            items.append(piece_item(raw, instrument, rng, monophonic=False))
    return items
