"""A hidden Markov model of note time: frame-wise pitch posteriors -> note frame spans.

Monophonic: states ``rest``, and for every pitch an ``attack`` (one frame) and a ``sustain``
state. A note starts with its attack, holds in sustain, and ends in rest or in the attack of
the next note (the same pitch again when there is onset evidence: repeated notes split).
Emissions are the model's frame posteriors; onset evidence (the rise of the pitch's
partials in short-window envelopes, :mod:`midivae.spectral.short_time`) favours attacks and
disfavours sustaining through a new onset. Viterbi decoding, then notes shorter than
``min_note_frames`` are dropped. Polyphonic (piano): the same three-state chain per key, on
Bernoulli key probabilities.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from midivae.music import PARTIAL_INTERVALS
from midivae.transcription.timing import TrackedNote, TrackingSettings

EPS = 1e-6


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
        np.log(np.asarray(pitch_probability, dtype=np.float64) + EPS) - settings.note_bias,
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
                note.pitch - following.pitch in PARTIAL_INTERVALS
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
