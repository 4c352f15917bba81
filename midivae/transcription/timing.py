"""Note timing from short-window harmonic envelopes: where a note's own partials rise
(onsets and their evidence), fall (releases) and dip (legato repeats).

The model's frame posteriors say which pitch sounds; its NSGT frames are too long in time
to say exactly when (~150 ms windows at A4). :mod:`midivae.transcription.notes` decodes notes and
then times them here, from :mod:`midivae.spectral.short_time` envelopes. Also the settings
and note type shared by both modules.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from midivae.spectral import SpectralConfig
from midivae.spectral.short_time import harmonic_envelopes

if TYPE_CHECKING:
    from midivae.scores import Curve

ONSET_GAIN = 1000.0  # onset evidence compresses envelopes as log1p(gain * envelope)
QUIET_LEVEL = 0.02  # ... with more gain for recordings whose loud frames sit under this
#: A rise counts as part of an attack while it gains at least 1 dB per frame.
RISE_PER_FRAME = 10.0 ** (-1.0 / 20.0)


#: Log-units of start and switch cost per unit of an onset threshold's log-odds.
ONSET_THRESHOLD_SCALE = 2.0


@dataclass(frozen=True)
class TrackingSettings:
    """Costs of the note model (natural-log units) and the shortest note kept."""

    start_cost: float = 3.0  # rest -> a note
    end_cost: float = 3.0  # a note -> rest
    switch_cost: float = 2.0  # a note -> another (or the same) note's attack
    onset_weight: float = 4.0  # how much onset evidence (its local peaks) counts
    attack_floor: float = 0.3  # an attack without onset evidence costs onset_weight*log(1/0.3)
    min_note_frames: int = 4  # ~46 ms at 11.6 ms frames
    lowest_pitch: int = 0  # notes outside these MIDI pitches are never read
    highest_pitch: int = 127
    read_onsets: bool = True  # a preset's onset bit (when it reads one) times the notes
    min_repeat_frames: int = 8  # a re-attack of the same pitch sooner than this (~93 ms) merges
    transient_frames: int = 10  # a shorter note (~116 ms) that leads into another ...
    transient_onset: float = 0.2  # ... without this much onset evidence (or a partial of it) drops
    repeat_dip_db: float = 3.0  # a repeat across a short gap needs the level to dip this much
    #: in a melody's change of pitch, an onset moves back only where its pitch outgrows the
    #: previous note's (``rise_start``'s ``against``)
    legato_contrast: bool = True
    onset_lookback_frames: int = 8  # how far back an onset may move to where its rise began
    key_lookback_frames: int = 16  # ... for a piano key (~190 ms): chords are heard late
    bass_lookback_frames: int = 30  # ... for pitches under bass_below (~350 ms)
    bass_below: int = 36  # MIDI C2 (65 Hz): lower fundamentals have NSGT windows over a second
    onset_floor_db: float = 30.0  # ... but not below this far under the attack's peak
    release_db_per_frame: float = 0.75  # a note ends where its partials fall this fast ...
    release_frames: int = 4  # ... for this many frames in a row (~46 ms)
    release_lookahead_frames: int = 10  # ... at most this far after the model's end
    rearticulation_rise_db: float = 6.0  # a rise this steep after a release is a new note
    rearticulation_hold_db: float = 2.0  # ... as is a level held this far above the gap
    repeat_split_dip_db: float = 7.0  # a held note splits where its partials dip this far ...
    repeat_split_rise_db: float = 4.0  # ... and rise again this far ...
    repeat_split_frames: int = 12  # ... each within this many frames of the dip's trough
    note_bias: float = 0.0  # log-odds every frame of a note pays against a rest
    #: the threshold these settings were made for (:meth:`with_onset_threshold`); None: the
    #: preset's own (a note verifier's ``tracking_threshold``), else 0.5
    onset_threshold: float | None = None

    def with_onset_threshold(self, threshold: float) -> TrackingSettings:
        """These settings with notes made as much harder (``threshold`` > 0.5: fewer, surer
        notes) or easier (< 0.5: more notes, ghost notes too) as the log-odds of
        ``threshold`` say: every frame of a note pays them against a rest (a frame joins a
        note where the model's probability for it beats ``threshold``), and a note's start
        pays them ``ONSET_THRESHOLD_SCALE`` times. 0.5 leaves the settings as they are."""
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        shift = float(np.log(threshold / (1.0 - threshold)))
        return replace(
            self,
            start_cost=max(self.start_cost + ONSET_THRESHOLD_SCALE * shift, 0.0),
            switch_cost=max(self.switch_cost + ONSET_THRESHOLD_SCALE * shift, 0.0),
            note_bias=self.note_bias + shift,
            onset_threshold=threshold,
        )


@dataclass(frozen=True)
class TrackedNote:
    """A decoded note: frames ``[start, end)`` and the index of its pitch column."""

    start: int
    end: int
    pitch: int


def note_frames(amplitude: np.ndarray, note, config: SpectralConfig) -> np.ndarray:
    """The frames ``note`` (a NoteEvent, in seconds) spans in ``amplitude``, float64 (at least
    one where the note lies inside them)."""
    fs = config.frame_seconds
    first = max(round(note.onset / fs), 0)
    last = min(max(round(note.offset / fs), first + 1), len(amplitude))
    return np.asarray(amplitude[first:last], dtype=np.float64)


def solo_curves(
    notes: list,
    per_frame: Callable[[Any], np.ndarray],
    config: SpectralConfig,
    *,
    rest: float,
    step: float,
    decimals: int,
) -> dict[int, Curve]:
    """Per part whose notes follow each other (a controller acts on a whole channel, so a
    part with chords or overlaps gets none), a step curve of ``per_frame(note)``'s value in
    each of a note's frames: a point at its onset and wherever the value moves by ``step``
    or more (rounded to ``decimals``), back to ``rest`` at its end. A part whose curve never
    leaves ``rest`` gets none."""
    from midivae.scores import Curve

    curves: dict[int, Curve] = {}
    fs = config.frame_seconds
    for part in sorted({n.part for n in notes}):
        line = sorted((n for n in notes if n.part == part), key=lambda n: n.onset)
        if any(b.onset < a.offset - 1e-6 for a, b in itertools.pairwise(line)):
            continue
        times, values = [0.0], [rest]
        for note in line:
            start = max(round(note.onset / fs), 0)
            for i, value in enumerate(per_frame(note)):
                if i == 0 or abs(value - values[-1]) >= step:
                    times.append(float(note.onset if i == 0 else (start + i) * fs))
                    values.append(float(round(value, decimals)))
            if values[-1] != rest:
                times.append(float(note.offset))
                values.append(rest)
        if any(v != rest for v in values):
            order = np.argsort(times, kind="stable")
            curves[part] = Curve(np.array(times)[order], np.array(values)[order])
    return curves


def partial_bin(pitch: float, harmonic: int, config: SpectralConfig) -> int:
    """The band nearest to the ``harmonic``-th partial of ``pitch``."""
    return round(config.midi_to_bin(pitch) + config.bins_per_octave * np.log2(harmonic))


def partial_amplitude(
    amplitude: np.ndarray, pitch: int, config: SpectralConfig, n_partials: int = 4
) -> np.ndarray:
    """Per-frame amplitude of a pitch's first partials in NSGT frames (each bin's max with its
    neighbours): the envelope used when no audio is at hand (corpus frames)."""
    power = np.zeros(len(amplitude), dtype=np.float64)
    for h in range(1, n_partials + 1):
        index = partial_bin(pitch, h, config)
        if 0 <= index < config.n_bins:
            columns = [(index - 1) % config.n_bins, index, (index + 1) % config.n_bins]
            power += amplitude[:, columns].max(axis=1).astype(np.float64) ** 2
    return np.sqrt(power)


def pitch_envelopes(
    pitches: np.ndarray,
    config: SpectralConfig,
    *,
    audio: np.ndarray | None = None,
    amplitude: np.ndarray | None = None,
    cents: float = 0.0,
) -> np.ndarray:
    """Per-frame partial amplitude of every pitch column, ``(n_frames, n_pitches)``.

    From the audio's short-window harmonic envelopes when ``audio`` is given (sharp in time;
    ``cents`` is the recording's tuning offset), else from NSGT ``amplitude`` frames.
    """
    if audio is not None:
        shifted = np.asarray(pitches, dtype=np.float64) + cents / 100.0
        return harmonic_envelopes(audio, shifted, config)
    if amplitude is None:
        raise ValueError("pitch_envelopes needs audio or amplitude frames")
    return np.stack([partial_amplitude(amplitude, int(p), config) for p in pitches], axis=1)


def rise_start(
    energy: np.ndarray,
    start: int,
    earliest: int,
    settings: TrackingSettings,
    peak_frames: int = 6,
    lookback: int | None = None,
    against: np.ndarray | None = None,
    end: int | None = None,
) -> int:
    """The frame where the rise into a note's attack began, at or before ``start`` (after it
    where the model heard the note while its partials were still more than
    ``onset_floor_db`` under the level they reach before the note's ``end``, or in its first
    ``peak_frames``: the first frame within that, never past ``end``).

    The model reads a pitch only once its attack has grown enough to be recognised, which
    for a slow attack (a breathy flute, a bowed string) is tens of milliseconds after the
    sound began. Take the steepest rise (at least 1 dB per frame) within ``lookback``
    frames (default ``onset_lookback_frames``) before ``start`` (never before ``earliest``),
    then walk back while the frames before it still rise by 1 dB per frame and stay within
    ``onset_floor_db`` of the attack's peak. With ``against`` (the previous note's envelope,
    in a legato change of pitch) a rise counts only as far as it outgrows that envelope: a
    rise both share is the previous note's own attack leaking into a neighbouring pitch.
    """
    if start >= len(energy):
        return start
    scale = 10.0 ** (-settings.onset_floor_db / 20.0)
    heard = np.asarray(energy[start : max(start + peak_frames, end or 0)])
    floor = heard.max() * scale
    if heard[0] <= floor:  # heard before its partials rose: where they have, inside the note
        risen = start + int(np.argmax(heard > floor))
        return risen if end is None else min(risen, max(end - 1, start))
    lookback = settings.onset_lookback_frames if lookback is None else lookback
    lowest = max(earliest, start - lookback, 1)
    if start < lowest:
        return start
    window = np.asarray(energy[lowest - 1 : start + 1], dtype=np.float64)
    if against is not None:
        window = window / np.maximum(np.asarray(against[lowest - 1 : start + 1]), 1e-12)
    rise = window[1:] / np.maximum(window[:-1], 1e-12)  # frame t over frame t - 1
    steepest = int(np.argmax(rise))
    if rise[steepest] * RISE_PER_FRAME <= 1.0:
        return start
    t = lowest + steepest
    floor = energy[t : t + peak_frames].max() * scale
    while (
        t > lowest
        and energy[t - 1] > floor
        and window[t - 2 - (lowest - 1)] < window[t - 1 - (lowest - 1)] * RISE_PER_FRAME
    ):
        t -= 1
    return t


def refine_onsets(
    notes: list[TrackedNote],
    envelopes: np.ndarray,
    settings: TrackingSettings,
    *,
    polyphonic: bool = False,
    pitches: np.ndarray | None = None,
    solo: bool = True,
) -> list[TrackedNote]:
    """Move each note's start back to where its partials began to rise (same order).

    ``envelopes`` are :func:`pitch_envelopes` ``(n_frames, n_pitch_columns)``; ``pitches``
    the MIDI pitch of each column. A note never starts before the previous start of its voice
    (each key is one voice when ``polyphonic``) plus ``min_note_frames``. Under
    ``bass_below`` (C2) the model hears a note 200-300 ms late (its NSGT window spans over a
    second), so those onsets may move back ``bass_lookback_frames`` (the cut at C2 leaves
    the piano's higher notes alone). Other piano keys move back up to ``key_lookback_frames``:
    in a chord change the model hears some of the new keys 130-300 ms late, while the old
    chord still rings (a longer look-back finds little more in chorales and costs phrases).
    A ``solo`` melody's onset after a change of pitch moves back only where it outgrows the
    previous note (``settings.legato_contrast``); in a mixture's slot the other instruments'
    notes overlap too, so the contrast against the slot's own previous note misleads and
    slots of a mixture go without it. All chosen on ``python bench/transcribe_fluidr3.py``
    (measurements: docs/experiments.md, "Note tracking and timing" and "Piano").
    """
    previous: dict[int, int] = {}
    refined = []
    before: TrackedNote | None = None  # the melody's previous note, as tracked
    for note in notes:
        voice = note.pitch if polyphonic else -1
        earliest = previous.get(voice, -(10**9)) + settings.min_note_frames
        bass = pitches is not None and pitches[note.pitch] < settings.bass_below
        if bass:
            lookback = settings.bass_lookback_frames
        elif polyphonic:
            lookback = settings.key_lookback_frames
        else:
            lookback = settings.onset_lookback_frames
        legato = (
            settings.legato_contrast
            and solo
            and not polyphonic
            and before is not None
            and before.pitch != note.pitch
            and before.end >= note.start - lookback
        )
        start = rise_start(
            envelopes[:, note.pitch],
            note.start,
            earliest,
            settings,
            lookback=lookback,
            against=envelopes[:, before.pitch] if legato else None,
            end=note.end,
        )
        previous[voice], before = start, note
        refined.append(TrackedNote(start, note.end, note.pitch))
    return refined


def release_start(
    envelope: np.ndarray, start: int, stop: int, settings: TrackingSettings
) -> int | None:
    """The first frame in ``[start + min_note_frames, stop)`` from which ``envelope`` falls
    faster than ``release_db_per_frame`` for ``release_frames`` frames; None if it never does.
    """
    level = 20.0 * np.log10(np.asarray(envelope[start:stop], dtype=np.float64) + 1e-9)
    k = settings.release_frames
    falling = np.diff(level) < -settings.release_db_per_frame  # frame t -> t + 1
    if len(falling) < k:
        return None
    runs = np.lib.stride_tricks.sliding_window_view(falling, k).all(axis=1)
    candidates = np.flatnonzero(runs[settings.min_note_frames :])
    return start + settings.min_note_frames + int(candidates[0]) if len(candidates) else None


def next_starts(notes: list[TrackedNote], n_frames: int, *, polyphonic: bool = False) -> list[int]:
    """The start of each note's next note in its voice (each key is one voice when
    ``polyphonic``), or ``n_frames`` for a voice's last note; ``notes`` in time order."""
    following: dict[int, int] = {}
    out = [n_frames] * len(notes)
    for index in range(len(notes) - 1, -1, -1):
        voice = notes[index].pitch if polyphonic else -1
        out[index] = following.get(voice, n_frames)
        following[voice] = notes[index].start
    return out


def refine_offsets(
    notes: list[TrackedNote],
    envelopes: np.ndarray,
    settings: TrackingSettings,
    *,
    polyphonic: bool = False,
) -> list[TrackedNote]:
    """End each note where its partials begin to fall (the release), same order.

    ``notes`` carry refined starts and the model's ends. The release is searched up to
    ``release_lookahead_frames`` after the model's end, never past the next start of the
    voice (each key is one voice when ``polyphonic``); without one the model's end stays.
    """
    refined = []
    limits = next_starts(notes, len(envelopes), polyphonic=polyphonic)
    for note, limit in zip(notes, limits, strict=True):
        stop = min(len(envelopes), note.end + settings.release_lookahead_frames, limit)
        end = release_start(envelopes[:, note.pitch], note.start, stop, settings)
        refined.append(
            TrackedNote(note.start, min(note.end, stop) if end is None else end, note.pitch)
        )
    return refined


def split_rearticulations(
    heard: list[TrackedNote],
    timed: list[TrackedNote],
    envelopes: np.ndarray,
    settings: TrackingSettings,
) -> tuple[list[TrackedNote], list[TrackedNote]]:
    """Split a note whose partials were released and then rose again while the model still
    heard its pitch: a soft re-attack of the same pitch after a short gap (a re-bowed violin
    note quieter than the one before), which the model reads as one note held through.

    ``heard`` are the model's notes, ``timed`` the same notes after :func:`refine_onsets`
    and :func:`refine_offsets` (whose release ends a ``timed`` note early). After each such
    release, the lowest frame of the note's own envelope before the model's end opens a new
    note when the envelope rises ``rearticulation_rise_db`` from it within
    ``onset_lookback_frames``; failing that, the lowest frame within as many frames after the
    release does when the envelope then holds a median ``rearticulation_hold_db`` above it
    over four times as many while the model hears the pitch for eight times as many (a soft
    re-attack of a long note after a 20-30 ms gap). The new note runs to its own release or
    the model's end.
    Returns both lists, extended alike (a new note is heard from its rise).
    """
    out_heard: list[TrackedNote] = []
    out_timed: list[TrackedNote] = []
    window = settings.onset_lookback_frames
    starts = next_starts(timed, len(envelopes))
    for h, t, following in zip(heard, timed, starts, strict=True):
        # the new note must be heard a while before the next note's (refined) attack, whose
        # rise would otherwise open it
        limit = min(h.end, following)
        envelope = np.asarray(envelopes[:, t.pitch], dtype=np.float64)
        while True:
            out_heard.append(h)
            out_timed.append(t)
            last = limit - settings.min_repeat_frames
            if t.end >= last:
                break
            trough = t.end + int(np.argmin(envelope[t.end : last]))
            rise = envelope[trough : min(trough + window, limit)]
            steep = 20.0 * np.log10((rise.max() + 1e-12) / (envelope[trough] + 1e-12))
            if steep < settings.rearticulation_rise_db:
                # or the sound came back and stayed while the model went on hearing the
                # pitch long after the release: from the gap right after it, a decaying
                # tail keeps falling, a soft re-attack holds above it (shorter spans are
                # split_dips' repeats)
                if limit - t.end < 8 * window:
                    break
                trough = t.end + int(np.argmin(envelope[t.end : min(t.end + window, last)]))
                after = envelope[trough : min(trough + 4 * window, limit)]
                held = 20.0 * np.log10((np.median(after) + 1e-12) / (envelope[trough] + 1e-12))
                if len(after) < 4 * window or held < settings.rearticulation_hold_db:
                    break
                rise = envelope[trough : min(trough + window, limit)]
            stop = min(len(envelope), h.end + settings.release_lookahead_frames)
            end = release_start(envelope, trough, stop, settings)
            # heard from its peak on: the velocity is read there, not in the rise
            h = TrackedNote(trough + int(np.argmax(rise)), h.end, h.pitch)
            t = TrackedNote(trough, h.end if end is None else end, h.pitch)
    return out_heard, out_timed


def split_dips(
    heard: list[TrackedNote],
    timed: list[TrackedNote],
    envelopes: np.ndarray,
    settings: TrackingSettings,
) -> tuple[list[TrackedNote], list[TrackedNote]]:
    """Split a held note where its own partials dip and rise again: a legato repeat of the
    pitch (a bow change, a tongued repeat with a 10-30 ms gap) that the model heard as one
    note and the onset evidence missed.

    A trough counts once the model hears the note when the envelope was
    ``repeat_split_dip_db`` higher within ``repeat_split_frames`` before it and rises
    ``repeat_split_rise_db`` within as many frames after (the dip, 7 dB, is deeper than the
    ~6 dB the FluidR3 violin's sample swells dip on its top notes, which are not repeats;
    measurements: docs/experiments.md, "Note tracking and timing"). The first part
    ends where the fall began (1 dB under the peak); the new note starts halfway between that
    and the trough, where the note-on of a legato repeat falls (the release of one note and
    the slow attack of the next cross at the trough, ~50 ms after the violin's note-on), and
    is heard from its peak on (its velocity is read there). Off when ``repeat_split_dip_db``
    is 0.
    """
    if settings.repeat_split_dip_db <= 0:
        return heard, timed
    out_heard: list[TrackedNote] = []
    out_timed: list[TrackedNote] = []
    w, gap = settings.repeat_split_frames, settings.min_repeat_frames
    starts = next_starts(timed, len(envelopes))
    for h, t, following in zip(heard, timed, starts, strict=True):
        envelope = np.asarray(envelopes[:, t.pitch], dtype=np.float64)
        level = 20.0 * np.log10(envelope + 1e-9)
        start, end = t.start, t.end
        k = max(start, h.start) + gap  # a dip while the model hears the note ...
        while k < min(h.end, following) - gap:  # ... clear of the next note's attack
            before = level[max(start, k - w) : k]
            after = level[k : min(k + w, len(level))]
            if not (
                level[k] <= level[max(k - 2, 0) : k + 3].min()
                and before.max() - level[k] >= settings.repeat_split_dip_db
                and after.max() - level[k] >= settings.repeat_split_rise_db
            ):
                k += 1
                continue
            peak = max(start, k - w) + int(np.argmax(before))
            fall = peak + int(np.argmax(level[peak:k] < level[peak] - 1.0))
            first_end = max(min(end, fall), start + 1)
            out_heard.append(TrackedNote(h.start, k, h.pitch))
            out_timed.append(TrackedNote(start, first_end, t.pitch))
            start = max((fall + k) // 2, first_end)
            if end <= k:  # the note had been ended at its release: the repeat ends at its own
                stop = min(len(envelope), h.end + settings.release_lookahead_frames)
                released = release_start(envelope, start, stop, settings)
                end = h.end if released is None else released
            h = TrackedNote(min(k + int(np.argmax(after)), h.end - 1), h.end, h.pitch)
            k = h.start + gap
        out_heard.append(TrackedNote(h.start, max(h.end, h.start + 1), h.pitch))
        out_timed.append(TrackedNote(start, max(end, start + 1), t.pitch))
    return out_heard, out_timed


def onset_gain(envelopes: np.ndarray, gain: float = ONSET_GAIN) -> float:
    """The ``gain`` of :func:`onset_strength` for a recording whose envelopes are these.

    ``log1p(gain * envelope)`` compresses levels near the reference and is linear far under
    it, where a note's rise out of a short gap gives little evidence, so a quiet recording
    would lose repeated notes (merged into one). A recording whose loud frames (95th
    percentile of the strongest envelope) sit under ``QUIET_LEVEL`` gets its gain raised by
    as much; recordings near the reference level are untouched (measurements:
    docs/experiments.md, "Note tracking and timing").
    """
    if envelopes.size == 0:
        return gain
    loud = float(np.percentile(np.asarray(envelopes).max(axis=1), 95))
    return gain * max(1.0, QUIET_LEVEL / max(loud, 1e-9))


def onset_strength(envelopes: np.ndarray, *, scale: float = 0.5, gain: float = ONSET_GAIN):
    """Onset evidence per frame and pitch column in [0, 1]: the rise of each envelope.

    ``envelopes`` are :func:`pitch_envelopes`; the rise is the positive increase of
    ``log1p(gain * envelope)`` over two frames, mapped through ``1 - exp(-rise / scale)``.
    """
    level = np.log1p(gain * np.asarray(envelopes, dtype=np.float32))
    rise = np.zeros_like(level)
    rise[2:] = np.maximum(level[2:] - level[:-2], 0.0)
    return (1.0 - np.exp(-rise / scale)).astype(np.float32)
