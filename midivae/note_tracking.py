"""Frame-wise pitch posteriors -> notes, with a hidden Markov model of note time.

Monophonic: states ``rest``, and for every pitch an ``attack`` (one frame) and a ``sustain``
state. A note starts with its attack, holds in sustain, and ends in rest or in the attack of
the next note (the same pitch again when there is onset evidence: repeated notes split).
Emissions are the model's frame posteriors; onset evidence (the rise of the pitch's
partials in short-window envelopes, :mod:`midivae.spectral.short_time`) favours attacks and
disfavours sustaining through a new onset. Viterbi decoding, then notes shorter than
``min_note_frames`` are dropped; the notes are then timed from their own partials
(:mod:`midivae.note_timing`: onsets moved back to where the partials began to rise, ends
at their release, legato repeats split). Polyphonic (piano): the same three-state chain per
key, on Bernoulli key probabilities.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from midivae.note_timing import (
    TrackedNote,
    TrackingSettings,
    onset_gain,
    onset_strength,
    pitch_envelopes,
    refine_offsets,
    refine_onsets,
    split_dips,
    split_rearticulations,
)
from midivae.note_velocity import note_level
from midivae.note_verifier import note_features
from midivae.residual_reading import reread_residual
from midivae.scores import NoteEvent, Part
from midivae.spectral import decompress

EPS = 1e-6
VELOCITY_FRAMES = 6  # the attack: frames over which a note's velocity is read (~70 ms)
#: Semitones from a pitch up to its 2nd, 3rd and 4th partial.
HARMONIC_STEPS = (12, 19, 24)


@njit(cache=True, nogil=True)
def _viterbi(log_rest, log_note, log_onset, log_no_onset, start_cost, end_cost, switch_cost):
    """Best state path; returns the per-frame state (0 rest, 1 + 2p attack, 2 + 2p sustain)."""
    n_frames, n_pitches = log_note.shape
    n_states = 1 + 2 * n_pitches
    back = np.zeros((n_frames, n_states), dtype=np.int32)
    score = np.full(n_states, -np.inf)
    score[0] = log_rest[0]
    for p in range(n_pitches):
        score[1 + 2 * p] = log_note[0, p] + log_onset[0, p] - start_cost
    new = np.empty(n_states)
    for t in range(1, n_frames):
        best_sustain = -np.inf
        best_sustain_state = 0
        for p in range(n_pitches):
            if score[2 + 2 * p] > best_sustain:
                best_sustain = score[2 + 2 * p]
                best_sustain_state = 2 + 2 * p
        # rest: stay, or end the sounding note
        if score[0] >= best_sustain - end_cost:
            new[0] = score[0]
            back[t, 0] = 0
        else:
            new[0] = best_sustain - end_cost
            back[t, 0] = best_sustain_state
        new[0] += log_rest[t]
        # attacks: from rest or from any sustain
        from_rest = score[0] - start_cost
        from_note = best_sustain - switch_cost
        if from_rest >= from_note:
            enter, enter_state = from_rest, 0
        else:
            enter, enter_state = from_note, best_sustain_state
        for p in range(n_pitches):
            attack = 1 + 2 * p
            sustain = 2 + 2 * p
            new[attack] = enter + log_note[t, p] + log_onset[t, p]
            back[t, attack] = enter_state
            if score[attack] >= score[sustain]:
                new[sustain] = score[attack]
                back[t, sustain] = attack
            else:
                new[sustain] = score[sustain]
                back[t, sustain] = sustain
            new[sustain] += log_note[t, p] + log_no_onset[t, p]
        score[:] = new
    path = np.empty(n_frames, dtype=np.int32)
    state = int(np.argmax(score))
    for t in range(n_frames - 1, -1, -1):
        path[t] = state
        state = back[t, state]
    return path


def _notes_from_path(path: np.ndarray, settings: TrackingSettings) -> list[TrackedNote]:
    notes: list[TrackedNote] = []
    start = pitch = -1
    for t, state in enumerate([*list(path), 0]):
        is_attack = state % 2 == 1
        if pitch >= 0 and (state == 0 or is_attack):
            notes.append(TrackedNote(start, t, pitch))
            pitch = -1
        if is_attack:
            start, pitch = t, (state - 1) // 2
    merged: list[TrackedNote] = []
    for note in notes:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.pitch == note.pitch
            and last.end == note.start
            and last.end - last.start < settings.min_repeat_frames
        ):
            merged[-1] = TrackedNote(last.start, note.end, note.pitch)
        else:
            merged.append(note)
    return [n for n in merged if n.end - n.start >= settings.min_note_frames]


def track_monophonic(
    rest_probability: np.ndarray,
    pitch_probability: np.ndarray,
    onset_strength: np.ndarray,
    settings: TrackingSettings | None = None,
    level_db: np.ndarray | None = None,
) -> list[TrackedNote]:
    """Notes from per-frame posteriors of one monophonic voice.

    Parameters
    ----------
    rest_probability : (n_frames,) probability that nothing sounds.
    pitch_probability : (n_frames, n_pitches) probability of each pitch column.
    onset_strength : (n_frames, n_pitches) onset evidence in [0, 1] per pitch column.
    level_db : (n_frames,) or (n_frames, n_pitches), optional
        Frame level (or each pitch column's own level); when given, two notes of one pitch
        with a short gap and no dip in level between them (a slow attack the model heard
        twice) become one.
    """
    settings = settings or TrackingSettings()
    w = settings.onset_weight
    onset = onset_peaks(np.clip(onset_strength, 0.0, 1.0))
    path = _viterbi(
        np.log(np.asarray(rest_probability, dtype=np.float64) + EPS),
        np.log(np.asarray(pitch_probability, dtype=np.float64) + EPS),
        w * np.log(onset + settings.attack_floor),
        w * np.log(1.0 - onset + 0.05),
        settings.start_cost,
        settings.end_cost,
        settings.switch_cost,
    )
    notes = drop_misread_transients(_notes_from_path(path, settings), onset_strength, settings)
    return notes if level_db is None else merge_undipped_repeats(notes, level_db, settings)


def drop_misread_transients(
    notes: list[TrackedNote], onset_strength: np.ndarray, settings: TrackingSettings
) -> list[TrackedNote]:
    """Drop a short note that leads straight into another pitch when it is a misread of the
    change: its own partials never rose, or it sits on a partial of the next note.

    While one note fades into the next, a frame holds both partial sets and the model may
    read a third pitch for a few frames (a bowed C5 -> D5 heard as G4), or hear the new
    note's 2nd, 3rd or 4th partial before its fundamental has grown (A5 -> B5 heard as B6
    first). A real note, however short, rises in its own envelope, and a ~100 ms pickup
    exactly on the next note's 2nd-4th partial is rare; a misread is dropped: the next note
    keeps its start, which :func:`refine_onsets` then moves back to its own rise (its
    look-back spans the misread's frames).
    """
    strength = np.asarray(onset_strength)
    kept: list[TrackedNote] = []
    for note, following in zip(notes, [*notes[1:], None], strict=False):
        misread = (
            following is not None
            and note.end - note.start < settings.transient_frames
            and following.pitch != note.pitch
            and following.start - note.end <= 1
            and (
                note.pitch - following.pitch in HARMONIC_STEPS
                or strength[max(note.start - 2, 0) : note.start + 3, note.pitch].max()
                < settings.transient_onset
            )
        )
        if not misread:
            kept.append(note)
    return kept


def merge_undipped_repeats(
    notes: list[TrackedNote], level_db: np.ndarray, settings: TrackingSettings
) -> list[TrackedNote]:
    """Join same-pitch neighbours whose gap is short and whose level never dips in between.

    A real repeated note is articulated: its level falls (tonguing, a bow change, a
    release) before the next attack. A note the model splits while it swells does not.
    ``level_db`` is the frame level ``(n_frames,)`` or each pitch column's ``(n_frames,
    n_pitches)``: the short-window envelope of the note's own partials sees a 50 ms dip that
    the NSGT's frame level (windows of ~200 ms at A4) smooths away.
    """
    merged: list[TrackedNote] = []
    for note in notes:
        last = merged[-1] if merged else None
        if last is not None and last.pitch == note.pitch:
            gap = note.start - last.end
            if 0 <= gap <= settings.min_repeat_frames:
                level = level_db if level_db.ndim == 1 else level_db[:, note.pitch]
                before = float(np.median(level[last.start : last.end]))
                between = level[max(last.end - 2, last.start) : note.start + 1].min()
                if between > before - settings.repeat_dip_db:
                    merged[-1] = TrackedNote(last.start, note.end, note.pitch)
                    continue
        merged.append(note)
    return merged


def onset_peaks(strength: np.ndarray, radius: int = 2) -> np.ndarray:
    """Keep each pitch's onset evidence only where it peaks (within +-``radius`` frames).

    An onset is an instant: the attack state should sit on its peak, and a held note should
    pay for ignoring it once, not on every frame of the rise.
    """
    padded = np.pad(strength, ((radius, radius), (0, 0)), constant_values=-1.0)
    windows = np.stack([padded[k : k + len(strength)] for k in range(2 * radius + 1)])
    return np.where(strength >= windows.max(axis=0), strength, 0.0)


def track_polyphonic(
    key_probability: np.ndarray,
    onset_strength: np.ndarray,
    settings: TrackingSettings | None = None,
) -> list[TrackedNote]:
    """Notes from independent per-key probabilities ``(n_frames, n_keys)`` (piano)."""
    settings = settings or TrackingSettings()
    key_probability = np.asarray(key_probability, dtype=np.float64)
    notes: list[TrackedNote] = []
    for key in range(key_probability.shape[1]):
        on = key_probability[:, key : key + 1]
        if on.max() < 0.2:
            continue
        for note in track_monophonic(
            1.0 - on[:, 0], on, onset_strength[:, key : key + 1], settings
        ):
            notes.append(TrackedNote(note.start, note.end, key))
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def slot_posteriors(symbols: dict[str, np.ndarray], preset, slot: int):
    """``(MIDI pitch of each column, rest probability, column probabilities)`` of a slot;
    the rest is None for a polyphonic slot, whose columns are independent keys."""
    prefix = preset.vocabulary.slot_prefix(slot)
    if prefix + "keys" in symbols:
        keys = symbols[prefix + "keys"]
        first = preset.vocabulary.family(prefix + "keys").offset
        return first + np.arange(keys.shape[1]), None, keys
    family = preset.vocabulary.family(prefix + "pitch")
    probabilities = symbols[prefix + "pitch"]
    pitches = family.offset + np.arange(probabilities.shape[1] - 1)
    return pitches, probabilities[:, -1], probabilities[:, :-1]


def attack_velocity(velocity: np.ndarray, note: TrackedNote) -> float:
    """The model's velocity over a note's attack: the median of its first frames."""
    return float(np.median(velocity[note.start : min(note.end, note.start + VELOCITY_FRAMES)]))


def _note_velocity(
    velocity: np.ndarray, heard: TrackedNote, timed: TrackedNote, envelope, pitch, reading
) -> int:
    """A note's MIDI velocity: the attack velocity of the note as heard, read with the
    preset's velocity reading (and the timed note's peak level) when it has one."""
    attack = attack_velocity(velocity, heard)
    if reading is None:
        return int(np.clip(round(attack), 1, 127))
    return reading.read(attack, note_level(envelope, timed.start, timed.end), pitch)


def program_of(instrument: str) -> int:
    """The GM program of a corpus instrument."""
    from midivae.corpus.instruments import get_instrument

    return get_instrument(instrument).program


def decode_notes(
    preset,
    compressed: np.ndarray,
    *,
    audio: np.ndarray | None = None,
    cents: float = 0.0,
    settings: TrackingSettings | None = None,
    calibrated: bool = True,
    candidates: list[np.ndarray] | None = None,
) -> tuple[list[NoteEvent], list[Part]]:
    """Notes of every instrument slot from compressed frames ``(n_frames, n_bins)``.

    ``audio`` (the samples the frames came from; ``cents`` their tuning offset) gives
    sharper note timing than the frames alone (see :func:`pitch_envelopes`): notes then
    end where their partials begin to fall (:func:`refine_offsets`). Without audio and with
    ``calibrated``, note ends move by the preset's measured ``timing.offset_shift_s`` (the
    release that the model still hears as the note; see :func:`measure_timing`). A
    polyphonic preset's keys are read twice (:mod:`midivae.residual_reading`), and its
    notes pass its note verifier (:mod:`midivae.note_verifier`) unless ``candidates`` is a
    list: every tracked note is then kept and its feature row appended to it, in the order
    of the returned notes (what the verifier is fitted on).
    """
    vectors = preset.symbols_from_signal(compressed)
    symbols = reread_residual(preset, compressed, preset.families_of(vectors), vectors)
    return notes_from_symbols(
        preset,
        symbols,
        compressed,
        audio=audio,
        cents=cents,
        settings=settings,
        calibrated=calibrated,
        candidates=candidates,
    )


def notes_from_symbols(
    preset,
    symbols: dict[str, np.ndarray],
    compressed: np.ndarray,
    *,
    audio: np.ndarray | None = None,
    cents: float = 0.0,
    settings: TrackingSettings | None = None,
    calibrated: bool = True,
    candidates: list[np.ndarray] | None = None,
) -> tuple[list[NoteEvent], list[Part]]:
    """Notes of every slot from decoded ``symbols`` and the magnitudes heard with them
    (``candidates``: as :func:`decode_notes`)."""
    settings = settings or TrackingSettings()
    verifier = preset.note_verifier if candidates is None else None
    amplitude = decompress(compressed, preset.spectral)
    if audio is not None or not calibrated:
        release = 0.0  # with audio, ends come from refine_offsets
    else:
        release = (preset.meta.get("timing") or {}).get("offset_shift_s", 0.0)
    frame_seconds = preset.spectral.frame_seconds
    frame_level = 20.0 * np.log10(amplitude.sum(axis=1) + 1e-9) if audio is None else None
    slots = [slot_posteriors(symbols, preset, slot) for slot in range(len(preset.instruments))]
    every_pitch = np.unique(np.concatenate([s[0] for s in slots]))  # one envelope per pitch
    table = pitch_envelopes(
        every_pitch, preset.spectral, audio=audio, amplitude=amplitude, cents=cents
    )
    onset_compression = onset_gain(table)  # one recording level for every slot
    reading = preset.velocity_reading
    notes: list[NoteEvent] = []
    rows: dict[int, np.ndarray] = {}  # feature rows of polyphonic notes, by index in notes
    parts: list[Part] = []
    for slot, instrument in enumerate(preset.instruments):
        pitches, rest, probabilities = slots[slot]
        velocity = symbols.get(preset.vocabulary.slot_prefix(slot) + "velocity")
        polyphonic = rest is None
        envelopes = table[:, np.searchsorted(every_pitch, pitches)]
        onsets = onset_strength(envelopes, gain=onset_compression)
        if polyphonic:
            tracked = track_polyphonic(probabilities, onsets, settings)
        else:
            # repeats must dip: in each pitch's own envelope, or (frames only) the frame level
            level = frame_level if audio is None else 20.0 * np.log10(envelopes + 1e-9)
            tracked = track_monophonic(rest, probabilities, onsets, settings, level)
        if velocity is None:
            velocity = np.full(len(compressed), 80.0)
        timed = refine_onsets(
            tracked,
            envelopes,
            settings,
            polyphonic=polyphonic,
            pitches=pitches,
            solo=len(preset.instruments) == 1,
        )
        if polyphonic and (verifier is not None or candidates is not None):
            features = note_features(tracked, timed, probabilities, onsets, envelopes, pitches)
            if verifier is not None:
                kept = verifier.keep(features)
                tracked = [n for n, k in zip(tracked, kept, strict=True) if k]
                timed = [n for n, k in zip(timed, kept, strict=True) if k]
                features = features[kept]
            rows |= {len(notes) + i: row for i, row in enumerate(features)}
        if audio is not None:
            timed = refine_offsets(timed, envelopes, settings, polyphonic=polyphonic)
            if not polyphonic:
                tracked, timed = split_rearticulations(tracked, timed, envelopes, settings)
                tracked, timed = split_dips(tracked, timed, envelopes, settings)
        slot_notes = [
            NoteEvent(
                onset=note.start * frame_seconds,
                offset=max(note.end * frame_seconds - release, (note.start + 1) * frame_seconds),
                pitch=int(pitches[note.pitch]),
                velocity=_note_velocity(
                    velocity, heard, note, envelopes[:, note.pitch], pitches[note.pitch], reading
                ),
                part=len(parts),
            )
            for heard, note in zip(tracked, timed, strict=True)
        ]
        if slot_notes or len(preset.instruments) == 1:
            parts.append(Part(len(parts), instrument, program_of(instrument), False))
            notes.extend(slot_notes)
    order = sorted(range(len(notes)), key=notes.__getitem__)
    if candidates is not None:
        candidates.extend(rows[i] for i in order if i in rows)
    return [notes[i] for i in order], parts


def reference_notes(pitch: np.ndarray, onset: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, end, pitch)`` frame runs of per-frame labels (a new note at each onset flag)."""
    notes, start = [], None
    for t in range(len(pitch) + 1):
        current = pitch[t] if t < len(pitch) else -1
        boundary = t == len(pitch) or current < 0 or onset[t] or (t > 0 and current != pitch[t - 1])
        if start is not None and boundary:
            notes.append((start, t, int(pitch[start])))
            start = None
        if t < len(pitch) and current >= 0 and start is None:
            start = t
    return notes


def measure_timing(preset, compressed: np.ndarray, labels: dict[str, np.ndarray]) -> dict:
    """Median offset error of decoded notes against the labels, per contiguous item.

    Run on held-out phrase frames of the training library at training time; the result is
    stored in the preset as ``timing`` and subtracted from note ends by :func:`decode_notes`.
    """
    frame_seconds = preset.spectral.frame_seconds
    item, kind = labels["item"], labels["kind"]
    errors = []
    for value in np.unique(item[(item >= 0) & (kind == 1)]):
        rows = np.flatnonzero(item == value)
        if len(rows) < 20 or np.any(np.diff(rows) != 1):
            continue
        notes, _ = decode_notes(preset, compressed[rows], calibrated=False)
        for start, end, pitch in reference_notes(labels["pitch"][rows], labels["onset"][rows]):
            for note in notes:
                if note.pitch == pitch and abs(note.onset / frame_seconds - start) <= 8:
                    errors.append(note.offset - end * frame_seconds)
                    break
    shift = float(np.median(errors)) if errors else 0.0
    return {"offset_shift_s": round(max(shift, 0.0), 4), "matched_notes": len(errors)}
