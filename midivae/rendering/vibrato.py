"""A player's vibrato on held notes of bowed and blown instruments (``--mode walk``).

Each note held long enough gets a sinusoidal pitch wobble that sets in after a delay and fades
in, at a rate and depth drawn per note (seeded) from the instrument's range: the violin's
wide and quick, the trumpet's narrow. The curve, in semitones per frame, joins the score's
own pitch bend (:func:`midivae.rendering.render.bend_frames` shifts the frames).
"""

from __future__ import annotations

import numpy as np

from midivae.scores import NoteEvent

#: Per instrument: (rate Hz low, high), (depth cents low, high). Instruments not listed
#: (the piano) get none.
RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "violin": ((5.0, 6.5), (15.0, 35.0)),
    "flute": ((4.5, 6.0), (8.0, 25.0)),
    "alto_sax": ((4.5, 6.0), (10.0, 30.0)),
    "trumpet": ((4.5, 6.0), (5.0, 15.0)),
}
#: Notes shorter than this get none; longer ones start it after ``DELAY_S`` (drawn within
#: +-40 %) and fade it in over ``FADE_S``.
MIN_NOTE_S = 0.35
DELAY_S = 0.25
FADE_S = 0.3
#: Bends are rounded to this (semitones), so frames sharing a value are shifted together.
STEP = 0.01


def vibrato_curve(
    instrument: str,
    notes: list[NoteEvent],
    n_frames: int,
    frame_seconds: float,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """Semitones of vibrato per frame ``(n_frames,)`` for ``notes`` of ``instrument``; None
    for an instrument without vibrato."""
    if instrument not in RANGES:
        return None
    (rate_low, rate_high), (depth_low, depth_high) = RANGES[instrument]
    curve = np.zeros(n_frames)
    times = np.arange(n_frames) * frame_seconds
    for note in notes:
        rate = rng.uniform(rate_low, rate_high)
        depth = rng.uniform(depth_low, depth_high) / 100.0
        delay = DELAY_S * rng.uniform(0.6, 1.4)
        phase = rng.uniform(0, 2 * np.pi)
        if note.duration < MIN_NOTE_S:
            continue
        inside = (times >= note.onset + delay) & (times < note.offset)
        since = times[inside] - note.onset - delay
        fade = np.minimum(since / FADE_S, 1.0)
        curve[inside] += depth * fade * np.sin(2 * np.pi * rate * since + phase)
    return np.round(curve / STEP) * STEP
