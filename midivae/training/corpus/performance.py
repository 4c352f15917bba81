"""A player's performance as an audio-domain augmentation: tuning, vibrato, glides, timing.

Corpora are rendered from note lists by some ``render(notes, seconds)`` (fluidsynth, a sample
player, a synthesiser) that plays every note dead in tune, on the grid. :func:`perform` plays the
notes the way a person would instead: the onset and release times move a little
(:func:`humanize`), the whole batch sits at one tuning between A4 = 430 and 450 Hz, and, for a
monophonic line, long notes get a delayed vibrato and some notes slide in from below or above
(:func:`pitch_curve`).

Pitch is changed by a time warp, which works with any renderer. For a pitch curve ``c(t)`` in
cents, the output is ``y(t) = x(tau(t))`` with ``tau(t) = integral_0^t 2^(c(u)/1200) du``; every
frequency of ``x`` is multiplied by ``tau'(t) = 2^(c(t)/1200)``. The renderer plays the notes at
the warped times ``tau(start)``, ``tau(end)``, and reading ``x`` at ``tau(t)`` (a 32-tap
Kaiser-windowed sinc interpolation) puts every note back at its own start and end. The returned
notes (labels) are the humanized ones; their pitches stay the MIDI pitches, since a tuning within
+-40 cents is the same note.

numpy and scipy only; every draw comes from the ``rng`` given, and each function returns a
JSON-able record of what it drew.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from midivae.training.corpus.content import Note

#: Sample rate of corpus audio.
SAMPLE_RATE = 22050
#: Shortest note that may get a vibrato, in seconds.
VIBRATO_MIN_SECONDS = 0.3
#: Seconds over which a vibrato's depth fades in after its delay.
VIBRATO_FADE_IN_S = 0.2
#: Seconds over which a vibrato fades out before the note's end.
VIBRATO_FADE_OUT_S = 0.05
#: Smallest gap kept between a note and a later note of the same pitch, in seconds.
REPEAT_GAP_S = 0.010

Renderer = Callable[[list[Note], float], np.ndarray]


@dataclass(frozen=True)
class PlayerSettings:
    """What a player varies, and by how much (ranges are drawn uniformly)."""

    #: Share of (long enough) notes with vibrato.
    vibrato_probability: float = 0.6
    vibrato_rate_hz: tuple[float, float] = (4.0, 7.0)
    #: Peak deviation, in cents.
    vibrato_cents: tuple[float, float] = (10.0, 60.0)
    #: Seconds after the onset before the vibrato starts (then faded in over 0.2 s).
    vibrato_delay_s: tuple[float, float] = (0.1, 0.4)
    #: Share of notes that slide in from below or above.
    glide_probability: float = 0.15
    glide_cents: tuple[float, float] = (30.0, 150.0)
    glide_seconds: tuple[float, float] = (0.03, 0.12)
    #: One tuning per rendered batch.
    tuning_a4_hz: tuple[float, float] = (430.0, 450.0)
    #: Standard deviation of each note's own offset from that tuning, in cents (a melody
    #: placed by ear; clipped at two of them; 0: every note dead on the tuning).
    intonation_cents: float = 0.0
    #: Standard deviation of the start and end shifts, in seconds (clipped at two of them).
    timing_jitter_s: float = 0.015

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return float(low) if high <= low else float(rng.uniform(low, high))


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    array = np.asarray(values, dtype=np.float64)
    return {
        "min": round(float(array.min()), 4),
        "mean": round(float(array.mean()), 4),
        "max": round(float(array.max()), 4),
    }


def humanize(
    notes: Sequence[Note], rng: np.random.Generator, settings: PlayerSettings
) -> list[Note]:
    """Expressive timing: notes moved by small random amounts.

    Notes starting together (a chord) move together. Each onset moves by at most a quarter of
    the time to its neighbouring onsets (so notes are never reordered) and at most two
    ``timing_jitter_s``; ends move independently by as much. A note that did not overlap a
    later note does not overlap it afterwards (so a monophonic line stays monophonic), and a
    repeat of the same pitch keeps a gap of at least 10 ms. Starts stay >= 0; every note keeps
    at least half its length (and at least 5 ms). Returned in the input's order.
    """
    if not notes:
        return []
    sigma = float(settings.timing_jitter_s)
    starts = np.array([n.start for n in notes], dtype=np.float64)
    ends = np.array([n.end for n in notes], dtype=np.float64)
    pitches = np.array([n.pitch for n in notes])
    n = len(notes)

    # onset groups: notes starting within 1 ms of each other move together
    onsets, group = np.unique(np.round(starts, 3), return_inverse=True)
    limit = np.full(len(onsets), 2.0 * sigma)
    if len(onsets) > 1:
        ioi = np.diff(onsets)
        limit[:-1] = np.minimum(limit[:-1], 0.25 * ioi)
        limit[1:] = np.minimum(limit[1:], 0.25 * ioi)
    shift = np.clip(rng.normal(0.0, sigma, len(onsets)) if sigma > 0 else 0.0, -limit, limit)
    new_starts = np.maximum(starts + shift[group], 0.0)

    end_shift = (
        np.clip(rng.normal(0.0, sigma, n), -2.0 * sigma, 2.0 * sigma) if sigma > 0 else np.zeros(n)
    )
    new_ends = ends + end_shift
    lengths = ends - starts
    new_ends = np.maximum(new_ends, new_starts + np.maximum(0.5 * lengths, 0.005))

    # no overlap created: bound each end by the (moved) start of later notes it did not overlap
    order = np.argsort(starts, kind="stable")
    sorted_starts = starts[order]
    # the earliest moved start among notes starting at or after a given original time
    suffix_min = np.minimum.accumulate(new_starts[order][::-1])[::-1]
    k = np.searchsorted(sorted_starts, ends - 1e-9, side="left")
    bound = np.where(k < n, suffix_min[np.minimum(k, n - 1)], np.inf)
    for pitch in np.unique(pitches):
        members = np.flatnonzero(pitches == pitch)
        members = members[np.argsort(starts[members], kind="stable")]
        member_starts = starts[members]
        member_min = np.minimum.accumulate(new_starts[members][::-1])[::-1]
        k = np.searchsorted(member_starts, ends[members] - 1e-9, side="left")
        later = k < len(members)
        repeat = np.full(len(members), np.inf)
        repeat[later] = member_min[k[later]] - REPEAT_GAP_S
        bound[members] = np.minimum(bound[members], repeat)
    cut = new_ends > bound
    new_ends[cut] = np.maximum(bound[cut], new_starts[cut] + 0.005)
    return [
        Note(int(note.pitch), int(note.velocity), float(s), float(e))
        for note, s, e in zip(notes, new_starts, new_ends, strict=True)
    ]


def pitch_curve(
    notes: Sequence[Note],
    seconds: float,
    rng: np.random.Generator,
    settings: PlayerSettings,
    *,
    monophonic: bool,
    control_rate: int = 1000,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Cents relative to A4 = 440 Hz at ``control_rate``, from 0 to ``seconds`` inclusive.

    The batch's tuning offset plus, for a monophonic line only, each note's intonation offset
    (``settings.intonation_cents``; drawn only when it is above 0), vibrato (notes of
    at least 0.3 s; it starts after the drawn delay, at most 40 % of the note, fades in over
    0.2 s and out over the last 50 ms) and glide (from the drawn offset back to the note's pitch
    over at most half the note, at its start). Only one note sounds at a time in a monophonic
    line; where notes overlap, the later one's curve wins. Returns float64 ``(n,)`` with
    ``n = round(seconds * control_rate) + 1`` and the record.
    """
    n = round(float(seconds) * control_rate) + 1
    t = np.arange(n, dtype=np.float64) / control_rate
    a4 = _uniform(rng, settings.tuning_a4_hz)
    tuning = 1200.0 * float(np.log2(a4 / 440.0))
    curve = np.full(n, tuning)
    vibratos: list[list[float]] = []
    glides: list[list[float]] = []
    intonation: list[list[float]] = []
    if monophonic:
        for index in sorted(range(len(notes)), key=lambda i: (notes[i].start, notes[i].pitch)):
            note = notes[index]
            length = note.end - note.start
            # one draw per note and property, whether used or not, keeps draws aligned
            wants_vibrato = rng.random() < settings.vibrato_probability
            rate = _uniform(rng, settings.vibrato_rate_hz)
            depth = _uniform(rng, settings.vibrato_cents)
            delay = _uniform(rng, settings.vibrato_delay_s)
            phase = float(rng.uniform(0.0, 2.0 * np.pi))
            wants_glide = rng.random() < settings.glide_probability
            glide_sign = 1.0 if rng.random() < 0.5 else -1.0
            glide_cents = glide_sign * _uniform(rng, settings.glide_cents)
            glide_s = _uniform(rng, settings.glide_seconds)
            off_tune = 0.0
            if settings.intonation_cents > 0:
                spread = settings.intonation_cents
                off_tune = float(np.clip(rng.normal(0.0, spread), -2 * spread, 2 * spread))
            lo = int(np.ceil(note.start * control_rate - 1e-9))
            hi = min(int(np.floor(note.end * control_rate + 1e-9)) + 1, n)
            if hi <= lo or length <= 0:
                continue
            local = t[lo:hi] - note.start
            part = np.full(hi - lo, tuning + off_tune)
            if off_tune:
                intonation.append([index, round(off_tune, 2)])
            if wants_vibrato and length >= VIBRATO_MIN_SECONDS and depth > 0:
                delay = min(delay, 0.4 * length)
                fade_in = np.clip((local - delay) / VIBRATO_FADE_IN_S, 0.0, 1.0)
                fade_out = np.clip((length - local) / VIBRATO_FADE_OUT_S, 0.0, 1.0)
                envelope = np.sin(0.5 * np.pi * fade_in) ** 2 * np.sin(0.5 * np.pi * fade_out) ** 2
                part += depth * envelope * np.sin(2.0 * np.pi * rate * (local - delay) + phase)
                vibratos.append([index, round(rate, 3), round(depth, 2), round(delay, 3)])
            if wants_glide and glide_cents != 0:
                glide_s = min(glide_s, 0.5 * length)
                progress = np.clip(local / glide_s, 0.0, 1.0) if glide_s > 0 else 1.0
                part += glide_cents * (1.0 - progress) ** 2
                glides.append([index, round(glide_cents, 2), round(glide_s, 4)])
            curve[lo:hi] = part
    record: dict[str, Any] = {
        "tuning_a4_hz": round(a4, 4),
        "tuning_cents": round(tuning, 4),
        "monophonic": bool(monophonic),
        "vibrato_notes": len(vibratos),
        "glide_notes": len(glides),
        "vibrato_rate_hz": _summary([v[1] for v in vibratos]),
        "vibrato_cents": _summary([v[2] for v in vibratos]),
        "glide_cents": _summary([g[1] for g in glides]),
        # per note: [index into the notes, rate Hz, peak cents, delay s] / [index, cents, s]
        "vibrato": vibratos,
        "glides": glides,
    }
    if intonation:  # [index into the notes, cents off the tuning]
        record["intonation"] = intonation
    return curve, record


def _kernel_table(
    half_width: int = 16, phases: int = 1024, cutoff: float = 0.97, beta: float = 9.0
) -> np.ndarray:
    """Kaiser-windowed sinc weights ``(phases + 1, 2 * half_width)`` for fractions 0..1.

    Row ``p`` interpolates at ``i + p / phases`` from samples ``i - half_width + 1 .. i +
    half_width``; each row sums to 1.
    """
    taps = 2 * half_width
    frac = np.arange(phases + 1, dtype=np.float64)[:, None] / phases
    offsets = np.arange(-half_width + 1, half_width + 1, dtype=np.float64)[None, :]
    distance = offsets - frac
    window_x = np.clip(distance / half_width, -1.0, 1.0)
    window = np.i0(beta * np.sqrt(1.0 - window_x**2)) / np.i0(beta)
    weights = cutoff * np.sinc(cutoff * distance) * window
    weights /= weights.sum(axis=1, keepdims=True)
    assert weights.shape == (phases + 1, taps)
    return weights.astype(np.float32)


_TABLE = _kernel_table()
_HALF_WIDTH = 16
_PHASES = 1024


def read_at(x: np.ndarray, positions: np.ndarray, *, chunk: int = 1 << 16) -> np.ndarray:
    """``x`` (float32) read at fractional sample ``positions`` by windowed-sinc interpolation.

    Outside ``x`` is silence. Flat within 0.01 dB up to 0.8 of the Nyquist frequency (8.8 kHz
    at 22050 Hz), -0.2 dB at 0.85, -1.2 dB at 0.9.
    """
    x = np.asarray(x, dtype=np.float32)
    pad = _HALF_WIDTH + 1
    padded = np.concatenate([np.zeros(pad, np.float32), x, np.zeros(pad, np.float32)])
    positions = np.clip(np.asarray(positions, dtype=np.float64), -1.0, len(x))
    out = np.empty(len(positions), dtype=np.float32)
    offsets = np.arange(-_HALF_WIDTH + 1, _HALF_WIDTH + 1)
    for lo in range(0, len(positions), chunk):
        p = positions[lo : lo + chunk]
        base = np.floor(p)
        phase = np.rint((p - base) * _PHASES).astype(np.int64)
        index = base.astype(np.int64) + pad
        samples = padded[index[:, None] + offsets[None, :]]
        out[lo : lo + chunk] = np.einsum("ij,ij->i", samples, _TABLE[phase])
    return out


def _warp(curve: np.ndarray, control_rate: int, n_samples: int, sample_rate: int) -> np.ndarray:
    """``tau(t)`` in seconds at every output sample: the running integral of 2^(c/1200)."""
    t = np.arange(n_samples, dtype=np.float64) / sample_rate
    t_control = np.arange(len(curve), dtype=np.float64) / control_rate
    ratio = np.exp2(np.interp(t, t_control, curve) / 1200.0)
    tau = np.empty(n_samples, dtype=np.float64)
    if n_samples:
        tau[0] = 0.0
        np.cumsum(0.5 * (ratio[1:] + ratio[:-1]) / sample_rate, out=tau[1:])
    return tau


def perform(
    render: Renderer,
    notes: Sequence[Note],
    seconds: float,
    rng: np.random.Generator,
    settings: PlayerSettings,
    *,
    monophonic: bool,
    sample_rate: int = SAMPLE_RATE,
    control_rate: int = 1000,
) -> tuple[np.ndarray, list[Note], dict[str, Any]]:
    """Render ``notes`` as a player would play them.

    Returns the float32 audio of ``round(seconds * sample_rate)`` samples, the notes to label
    it with (humanized: they start and end exactly where the audio's notes do, ends cut at
    ``seconds``) and the record. ``render(notes, seconds)`` is called once, on the notes at
    warped times and a length covering the warp plus a margin; it must return mono float32 at
    ``sample_rate``. The record's per-note ``vibrato`` and ``glides`` entries index the
    returned notes.
    """
    seconds = float(seconds)
    n_samples = round(seconds * sample_rate)
    humanized = humanize(notes, rng, settings)
    shifts = np.array([h.start - o.start for h, o in zip(humanized, notes, strict=True)])
    played = [
        Note(n.pitch, n.velocity, n.start, min(n.end, seconds))
        for n in humanized
        if n.start < seconds and min(n.end, seconds) > n.start
    ]
    curve, record = pitch_curve(
        played, seconds, rng, settings, monophonic=monophonic, control_rate=control_rate
    )
    # tau at every output sample, extended one control step past the end for the last notes
    tau = _warp(curve, control_rate, n_samples + 1, sample_rate)
    grid = np.arange(n_samples + 1, dtype=np.float64) / sample_rate

    def warped(time: float) -> float:
        if time <= grid[-1]:
            return float(np.interp(time, grid, tau))
        return float(tau[-1] + (time - grid[-1]) * np.exp2(curve[-1] / 1200.0))

    source = [Note(n.pitch, n.velocity, warped(n.start), warped(n.end)) for n in played]
    margin = (2 * _HALF_WIDTH + 2) / sample_rate
    source_seconds = float(tau[-1]) + margin
    x = np.asarray(render(source, source_seconds), dtype=np.float32).reshape(-1)
    audio = read_at(x, tau[:n_samples] * sample_rate)

    record = {
        **record,
        "timing_jitter_s": float(settings.timing_jitter_s),
        "start_shift_ms": _summary(list(1000.0 * shifts)) if len(shifts) else None,
        "source_seconds": round(source_seconds, 6),
    }
    return audio, played, record
