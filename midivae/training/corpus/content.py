"""Seeded note lists for training corpora: isolated notes, monophonic phrases, piano chords
and pedalled two-handed piano pieces.

Every item is a short stretch of music (a note, a phrase, a chord) with times relative to its
own start and a ``length`` that includes a release gap, so items can be laid end to end.
Phrases are generated here from the seed, never taken from real music.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from midivae.music import Instrument

#: Item kinds, as stored per frame in ``kind``.
KINDS: tuple[str, ...] = ("isolated", "phrase", "chord", "piece")
ISOLATED, PHRASE, CHORD, PIECE = range(4)

#: Velocities of isolated notes: two in each of the pp / mf / ff classes.
VELOCITIES: tuple[int, ...] = (20, 40, 64, 84, 104, 124)
#: Held durations of isolated notes, in seconds (staccato, medium, long).
DURATIONS: tuple[float, ...] = (0.15, 0.5, 1.2)
PIANO_DURATIONS: tuple[float, ...] = (0.15, 0.4, 1.0)
#: Silence after an item's last note-off, in seconds (release tail, then rest).
NOTE_GAP = 0.4
PHRASE_GAP = 0.6
#: Seconds of generated phrases (and, for piano, chords) per instrument.
PHRASE_SECONDS = 300.0
PIANO_PHRASE_SECONDS = 600.0
CHORD_SECONDS = 400.0
PROGRESSION_SECONDS = 400.0
PEDALLED_SECONDS = 500.0

_MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic": (0, 2, 3, 5, 7, 8, 11),
    "chromatic": tuple(range(12)),
}
_CHORDS = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 3, 7, 10), (0, 3, 6, 9), (0, 4, 7, 11))
_DYADS = (3, 4, 5, 7, 8, 9, 12)


@dataclass(frozen=True)
class Note:
    """A note: MIDI pitch, velocity 1-127, start and end in seconds."""

    pitch: int
    velocity: int
    start: float
    end: float


@dataclass(frozen=True)
class Item:
    """A rendered unit: its kind (``KINDS`` index), notes, and length with its release gap."""

    kind: int
    notes: tuple[Note, ...]
    length: float


def _item(kind: int, notes: list[Note], gap: float) -> Item:
    end = max(n.end for n in notes)
    ordered = tuple(sorted(notes, key=lambda n: (n.start, n.pitch)))
    return Item(kind, ordered, round(float(end) + gap, 6))


def isolated_notes(
    instrument: Instrument,
    *,
    pitches: tuple[int, ...] | range | None = None,
    velocities: tuple[int, ...] = VELOCITIES,
    durations: tuple[float, ...] | None = None,
    gap: float = NOTE_GAP,
) -> list[Item]:
    """One item per pitch x velocity x duration, every semitone of the range by default."""
    if durations is None:
        durations = PIANO_DURATIONS if instrument.polyphonic else DURATIONS
    pitches = instrument.pitches if pitches is None else pitches
    return [
        _item(ISOLATED, [Note(p, v, 0.0, d)], gap)
        for p in pitches
        for v in velocities
        for d in durations
    ]


def _envelope(rng: np.random.Generator, n: int) -> np.ndarray:
    """Velocities for ``n`` notes: steady, crescendo, diminuendo or a swell, with accents."""
    shape = rng.choice(["steady", "crescendo", "diminuendo", "swell"])
    lo, hi = sorted(rng.integers(15, 128, size=2))
    if hi - lo < 30 and shape != "steady":
        lo, hi = max(15, lo - 20), min(127, hi + 20)
    ramp = np.linspace(0.0, 1.0, n)
    if shape == "steady":
        curve = np.full(n, rng.uniform(15, 127))
    elif shape == "crescendo":
        curve = lo + (hi - lo) * ramp
    elif shape == "diminuendo":
        curve = hi - (hi - lo) * ramp
    else:
        curve = lo + (hi - lo) * (1.0 - np.abs(2.0 * ramp - 1.0))
    curve = curve + rng.normal(0.0, 6.0, n)
    return np.clip(np.round(curve), 10, 127).astype(int)


def _reflect(pitch: int, step: int, low: int, high: int) -> tuple[int, int]:
    """Take ``step`` from ``pitch``; turn around at the range's edges. Returns (pitch, step)."""
    if not low <= pitch + step <= high:
        step = -step
    return int(np.clip(pitch + step, low, high)), step


def melodic_line(rng: np.random.Generator, low: int, high: int) -> list[int]:
    """Pitches of one generated line: a scale, arpeggio, melodic walk or repeated notes."""
    kind = rng.choice(["scale", "arpeggio", "walk", "walk", "repeated"])
    n = int(rng.integers(6, 17))
    if kind == "repeated":
        pitches: list[int] = []
        while len(pitches) < n:
            pitches += [int(rng.integers(low, high + 1))] * int(rng.integers(2, 7))
        return pitches[:n]
    if kind == "walk":
        pitch, pitches = int(rng.integers(low, high + 1)), []
        steps = np.array([-12, -7, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 7, 12])
        weights = np.array([1, 2, 3, 4, 6, 10, 8, 3, 8, 10, 6, 4, 3, 2, 1], dtype=float)
        for _ in range(n):
            pitches.append(pitch)
            pitch, _ = _reflect(pitch, int(rng.choice(steps, p=weights / weights.sum())), low, high)
        return pitches
    if kind == "scale":
        mode = _MODES[str(rng.choice(list(_MODES)))]
        degrees = [o * 12 + d for o in range(-1, 9) for d in mode]
    else:
        chord = _CHORDS[int(rng.integers(len(_CHORDS)))]
        degrees = [o * 12 + d for o in range(-1, 9) for d in chord]
    tonic = int(rng.integers(low, max(low, high - 12) + 1))
    usable = [tonic + d for d in degrees if low <= tonic + d <= high]
    index = usable.index(tonic)
    direction = 1 if rng.random() < 0.5 else -1
    pitches = []
    for _ in range(n):
        pitches.append(usable[index])
        if not 0 <= index + direction < len(usable):
            direction = -direction
        index = int(np.clip(index + direction, 0, len(usable) - 1))
    return pitches


def _timing(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and held durations for ``n`` notes with a random tempo and articulation."""
    ioi = rng.uniform(0.12, 0.6)
    rhythm = rng.choice(["even", "even", "dotted", "free"])
    if rhythm == "dotted":
        iois = np.where(np.arange(n) % 2 == 0, 1.5, 0.5) * ioi
    elif rhythm == "free":
        iois = ioi * rng.choice([0.5, 1.0, 1.0, 1.5, 2.0], size=n)
    else:
        iois = np.full(n, ioi)
    articulation = rng.choice(["legato", "staccato", "portato", "mixed"])
    fraction = {"legato": 1.0, "staccato": rng.uniform(0.25, 0.5), "portato": 0.8}.get(
        str(articulation)
    )
    if fraction is None:
        fraction = rng.choice([0.3, 0.8, 1.0], size=n)
    held = np.maximum(iois * fraction, 0.06)
    onsets = np.concatenate([[0.0], np.cumsum(iois)[:-1]])
    return np.round(onsets, 4), np.round(held, 4)


def _line_notes(rng: np.random.Generator, pitches: list[int], t0: float = 0.0) -> list[Note]:
    onsets, held = _timing(rng, len(pitches))
    velocity = _envelope(rng, len(pitches))
    notes = []
    for i, pitch in enumerate(pitches):
        end = float(onsets[i] + held[i])
        if i + 1 < len(pitches):  # monophonic: legato ends where the next note starts
            end = min(end, float(onsets[i + 1]) - (0.03 if pitches[i + 1] == pitch else 0.0))
        notes.append(Note(int(pitch), int(velocity[i]), t0 + float(onsets[i]), t0 + end))
    return notes


def phrases(instrument: Instrument, rng: np.random.Generator, *, seconds: float) -> list[Item]:
    """Monophonic phrases until their total length reaches ``seconds``."""
    items: list[Item] = []
    total = 0.0
    while total < seconds:
        notes = _line_notes(rng, melodic_line(rng, instrument.low, instrument.high))
        items.append(_item(PHRASE, notes, PHRASE_GAP))
        total += items[-1].length
    return items


def chord_pitches(rng: np.random.Generator, low: int, high: int) -> list[int]:
    """2-4 distinct pitches: a dyad, a triad or seventh chord (open or close), or a cluster."""
    size = int(rng.integers(2, 5))
    if size == 2:
        shape = [0, int(rng.choice(_DYADS))]
    elif rng.random() < 0.8:
        candidates = [c for c in _CHORDS if len(c) >= size]
        chord = candidates[int(rng.integers(len(candidates)))]
        shape = sorted(chord[:size] if size == len(chord) else rng.choice(chord, size, False))
        if rng.random() < 0.4:  # open voicing: lift the middle note an octave
            shape[len(shape) // 2] += 12
    else:
        shape = sorted(rng.choice(np.arange(0, 15), size, replace=False).tolist())
    shape = sorted({int(s) - int(min(shape)) for s in shape})
    root = int(rng.integers(low, high - shape[-1] + 1))
    return [root + s for s in shape]


def chords(instrument: Instrument, rng: np.random.Generator, *, seconds: float) -> list[Item]:
    """Isolated 2-4 note chords until their total length reaches ``seconds``."""
    items: list[Item] = []
    total = 0.0
    while total < seconds:
        pitches = chord_pitches(rng, instrument.low, instrument.high)
        velocity = int(rng.integers(15, 128))
        held = float(rng.choice([0.2, 0.5, 1.0, 1.5]))
        notes = [
            Note(p, int(np.clip(velocity + rng.integers(-6, 7), 1, 127)), 0.0, held)
            for p in pitches
        ]
        items.append(_item(CHORD, notes, NOTE_GAP))
        total += items[-1].length
    return items


def _accompaniment(rng: np.random.Generator, length: float, low: int, high: int) -> list[Note]:
    """A left-hand part over ``length`` seconds: block chords, broken chords or a bass line."""
    style = rng.choice(["block", "broken", "bass"])
    beat = rng.uniform(0.25, 0.6)
    velocity = _envelope(rng, max(1, int(length / beat) + 1))
    notes, t, i = [], 0.0, 0
    while t < length - 0.05:
        pitches = chord_pitches(rng, low, high)
        if style == "block":
            notes += [Note(p, int(velocity[i]), t, t + beat * 1.9) for p in pitches]
            t += beat * 2
        elif style == "broken":
            for p in pitches + pitches[1:-1][::-1]:
                notes.append(Note(p, int(velocity[min(i, len(velocity) - 1)]), t, t + beat * 0.9))
                t += beat / 2
        else:
            notes.append(Note(pitches[0], int(velocity[i]), t, t + beat * 0.95))
            t += beat
        i = min(i + 1, len(velocity) - 1)
    return [n for n in notes if n.start < length]


def _voice_chord(
    rng: np.random.Generator, previous: list[int], centre: int, spread: float, high: int
) -> list[int]:
    """Four voices (bass first) of a random chord: the bass on the root near ``centre``, each
    upper voice led to a chord tone near where it was (at first: spread evenly up to
    ``spread`` semitones above the bass), doublings allowed."""
    chord = _CHORDS[int(rng.integers(len(_CHORDS)))]
    root = int(rng.integers(0, 12))
    classes = {(root + c) % 12 for c in chord}
    bass = centre + (root - centre) % 12 - (12 if (root - centre) % 12 > 6 else 0)
    voices = [bass]
    for k in range(3):
        floor, ceiling = voices[-1] + 1, min(high, bass + 38) - (2 - k)
        tones = [p for p in range(floor, ceiling + 1) if p % 12 in classes]
        if not tones:
            break
        if len(previous) > k + 1:
            target = previous[k + 1]
        else:
            target = bass + spread * (k + 1) / 3
        voices.append(min(tones, key=lambda p: (abs(p - target), rng.random())))
    return voices


def progressions(instrument: Instrument, rng: np.random.Generator, *, seconds: float) -> list[Item]:
    """Four-voice chord progressions (hymn-like: wide voicings, doublings, voice leading,
    held common tones) until their total length reaches ``seconds``."""
    items: list[Item] = []
    total = 0.0
    while total < seconds:
        n = int(rng.integers(4, 13))
        beat = rng.uniform(0.3, 1.0)
        velocity = _envelope(rng, n)
        legato = rng.random() < 0.7
        notes: list[Note] = []
        voices: list[int] = []
        centre = int(rng.integers(max(instrument.low, 33), 62))
        spread = rng.uniform(12.0, 36.0)
        open_notes: dict[int, Note] = {}  # voice -> note still sounding
        t = 0.0
        for i in range(n):
            length = beat * float(rng.choice([1.0, 1.0, 2.0, 0.5]))
            voices = _voice_chord(rng, voices, centre, spread, instrument.high)
            held = length * (0.95 if legato else rng.uniform(0.5, 0.9))
            for v, pitch in enumerate(voices):
                vel = int(np.clip(velocity[i] + rng.integers(-6, 7), 1, 127))
                previous = open_notes.get(v)
                if previous is not None and previous.pitch == pitch and rng.random() < 0.5:
                    open_notes[v] = Note(pitch, previous.velocity, previous.start, t + held)
                    continue  # a held common tone
                if previous is not None:
                    notes.append(previous)
                open_notes[v] = Note(pitch, vel, t, t + held)
            for v in [v for v in open_notes if v >= len(voices)]:
                notes.append(open_notes.pop(v))
            t += length
        notes.extend(open_notes.values())
        items.append(_item(PHRASE, notes, PHRASE_GAP))
        total += items[-1].length
    return items


def piano_phrases(
    instrument: Instrument, rng: np.random.Generator, *, seconds: float
) -> list[Item]:
    """Polyphonic piano phrases (a melody over an accompaniment) up to ``seconds``."""
    items: list[Item] = []
    total = 0.0
    while total < seconds:
        split = int(rng.integers(52, 67))
        melody = _line_notes(rng, melodic_line(rng, split, min(instrument.high, split + 30)))
        length = max(n.end for n in melody)
        bass = _accompaniment(rng, length, max(instrument.low, split - 30), split - 1)
        items.append(_item(PHRASE, melody + bass, PHRASE_GAP))
        total += items[-1].length
    return items


def _triad(rng: np.random.Generator, tonic: int, mode: tuple[int, ...]) -> list[int]:
    """Pitch classes of a chord on a random degree of ``mode`` (root first; a seventh
    sometimes)."""
    degree = int(rng.integers(0, 7))
    size = 4 if rng.random() < 0.3 else 3
    return [(tonic + mode[(degree + 2 * k) % 7]) % 12 for k in range(size)]


def _tones(classes: list[int], low: int, high: int) -> list[int]:
    """Every pitch in ``low..high`` whose class is in ``classes``, ascending."""
    return [p for p in range(low, high + 1) if p % 12 in classes]


def _left_hand(
    rng: np.random.Generator, style: str, classes: list[int], t0: float, span: float, split: int
) -> list[tuple[int, float, float]]:
    """(pitch, start, key held) of one harmony's left hand below ``split``."""
    bass = max(p for p in _tones(classes[:1], split - 24, split - 13))
    upper = _tones(classes, bass + 1, split - 1)
    if style == "broken":  # an arpeggio up from the bass, over an octave and more
        figure = [bass, *upper[: int(rng.integers(3, 6))]]
    elif style == "alberti":  # bass, top, middle, top in close position
        close = _tones(classes, bass + 12, bass + 24)[:3] or [bass + 12]
        figure = [bass, close[-1], close[len(close) // 2], close[-1]] * 2
    elif style == "octaves":  # the bass doubled an octave below, twice per harmony
        return [(p, t0 + k * span / 2, span / 2 * 0.9) for k in range(2) for p in (bass, bass - 12)]
    else:  # block chords
        return [(p, t0, span * 0.95) for p in [bass, *upper[:3]]]
    step = span / len(figure)
    return [(p, t0 + k * step, step * rng.uniform(0.7, 1.0)) for k, p in enumerate(figure)]


def _right_hand(
    rng: np.random.Generator,
    style: str,
    classes: list[int],
    scale: list[int],
    t0: float,
    span: float,
    beat: float,
    previous: int,
) -> list[tuple[int, float, float]]:
    """(pitch, start, key held) of one harmony's right hand, on ``scale`` from ``previous``."""
    if style == "chords":
        tops = _tones(classes, previous - 5, previous + 7) or [previous]
        top = int(rng.choice(tops))
        chord = [top, *[p for p in _tones(classes, top - 9, top - 1)][-2:]]
        return [(p, t0 + k * beat, beat * 0.9) for k in range(round(span / beat)) for p in chord]
    if style == "run":  # a scale run in sixteenths
        step = max(beat / 4, 0.07)
        index = int(np.argmin(np.abs(np.array(scale) - previous)))
        direction = 1 if rng.random() < 0.5 else -1
        out = []
        for k in range(int(span / step)):
            if not 0 <= index + direction < len(scale):
                direction = -direction
            out.append((scale[index], t0 + k * step, step))
            index += direction
        return out
    out, t, pitch = [], t0, previous  # a melody leaning on chord tones
    while t < t0 + span - 0.05:
        length = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        low, high = max(scale[0], pitch - 5), min(scale[-1], pitch + 5)
        near = _tones(classes, low, high) if rng.random() < 0.6 else []
        nearby = near or [p for p in scale if low <= p <= high]
        pitch = int(rng.choice(nearby or scale))
        held = length * rng.uniform(0.6, 1.0)
        out.append((pitch, t, held))
        doubling = rng.random()
        if style == "doubled" and doubling < 0.5:
            out.append((pitch - 12, t, held))  # in octaves
        elif style == "doubled":
            below = [p for p in scale if pitch - 5 <= p <= pitch - 3]  # a third under
            out += [(below[-1], t, held)] if below else []
        t += length
    return out


def _under_pedal(notes: list[Note], pedal: list[tuple[float, float]]) -> list[Note]:
    """Notes as the sustain pedal holds them: a key released while the pedal is down sounds
    until the pedal lifts, or until the key is struck again."""
    held = []
    for note in notes:
        end = note.end
        for down, up in pedal:
            if down <= note.end < up:
                end = up
        held.append(Note(note.pitch, note.velocity, note.start, end))
    out: list[Note] = []
    by_key: dict[int, list[Note]] = {}
    for note in sorted(held, key=lambda n: (n.start, -n.velocity)):
        by_key.setdefault(note.pitch, []).append(note)
    for key_notes in by_key.values():
        for note, after in zip(key_notes, [*key_notes[1:], None], strict=True):
            if out and out[-1].pitch == note.pitch and out[-1].start == note.start:
                continue  # both hands on one key at once: one note
            end = note.end if after is None else min(note.end, after.start - 0.01)
            if end - note.start >= 0.03:
                out.append(Note(note.pitch, note.velocity, note.start, round(end, 4)))
    return out


def pedalled_pieces(
    instrument: Instrument, rng: np.random.Generator, *, seconds: float
) -> list[Item]:
    """Two-handed piano pieces up to ``seconds``, as pianists play: a harmony per bar or half
    bar of a key; the left hand in broken chords, Alberti figures, octave basses or block
    chords; the right hand a melody (alone, or doubled in octaves or thirds), scale runs in
    sixteenths or chords; on most pieces the sustain pedal, caught just after each change of
    harmony, so that released keys ring on (and are labelled sounding) until it lifts."""
    items: list[Item] = []
    total = 0.0
    while total < seconds:
        beat = rng.uniform(0.3, 0.75)
        harmonies = int(rng.integers(3, 9))
        span = beat * float(rng.choice([2.0, 4.0]))
        split = int(np.clip(rng.integers(52, 66), instrument.low + 26, instrument.high - 20))
        mode = _MODES[str(rng.choice(["major", "minor", "harmonic"]))]
        tonic = int(rng.integers(0, 12))
        scale = _tones([(tonic + d) % 12 for d in mode], split, min(instrument.high, split + 30))
        left = str(rng.choice(["broken", "alberti", "octaves", "block"]))
        right = str(rng.choice(["melody", "doubled", "run", "chords"]))
        loudness = _envelope(rng, harmonies)
        keys: list[Note] = []
        previous = int(rng.choice(scale[len(scale) // 4 : 3 * len(scale) // 4]))
        for h in range(harmonies):
            t0, classes = h * span, _triad(rng, tonic, mode)
            hands = (
                (_left_hand(rng, left, classes, t0, span, split), -int(rng.integers(5, 20))),
                (_right_hand(rng, right, classes, scale, t0, span, beat, previous), 0),
            )
            for played, offset in hands:
                for pitch, start, held in played:
                    if instrument.low <= pitch <= instrument.high:
                        velocity = int(np.clip(loudness[h] + offset + rng.integers(-6, 7), 8, 127))
                        keys.append(Note(pitch, velocity, round(start, 4), round(start + held, 4)))
            melody = [p for p, _, _ in hands[1][0]]
            previous = melody[-1] if melody else previous
        end = harmonies * span
        pedal = []
        if rng.random() < 0.75:
            pedal = [
                (h * span + rng.uniform(0.03, 0.15), (h + 1) * span - rng.uniform(0.0, 0.05))
                for h in range(harmonies)
            ]
            pedal[-1] = (pedal[-1][0], end + rng.uniform(0.3, 1.5))  # the last chord rings
        items.append(_item(PHRASE, _under_pedal(keys, pedal), PHRASE_GAP))
        total += items[-1].length
    return items


def training_content(instrument: Instrument, seed: int, *, tiny: bool = False) -> list[Item]:
    """Everything a training corpus renders, deterministic from ``seed``.

    ``tiny`` gives a few seconds (2 isolated notes, a short phrase, a chord for piano) for tests.
    """
    rng = np.random.default_rng(seed)
    if tiny:
        mid = (instrument.low + instrument.high) // 2
        items = isolated_notes(
            instrument, pitches=(mid, mid + 7), velocities=(84,), durations=(0.5,)
        )
        notes = [Note(mid + s, 70, 0.3 * i, 0.3 * i + 0.25) for i, s in enumerate((0, 4, 7, 12))]
        items.append(_item(PHRASE, notes, PHRASE_GAP))
        if instrument.polyphonic:
            items.append(
                _item(CHORD, [Note(p, 90, 0.0, 0.6) for p in (mid - 5, mid, mid + 4)], 0.4)
            )
        return items
    items = isolated_notes(instrument)
    if instrument.polyphonic:
        items += chords(instrument, rng, seconds=CHORD_SECONDS)
        items += phrases(instrument, rng, seconds=PHRASE_SECONDS / 3)
        items += piano_phrases(instrument, rng, seconds=PIANO_PHRASE_SECONDS)
        items += progressions(instrument, rng, seconds=PROGRESSION_SECONDS)
        items += pedalled_pieces(instrument, rng, seconds=PEDALLED_SECONDS)
    else:
        items += phrases(instrument, rng, seconds=PHRASE_SECONDS)
    return items
