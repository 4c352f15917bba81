"""Frame-wise pitch posteriors -> notes, with a hidden Markov model of note time.

Monophonic: states ``rest``, and for every pitch an ``attack`` (one frame) and a ``sustain``
state. A note starts with its attack, holds in sustain, and ends in rest or in the attack of
the next note (the same pitch again when there is onset evidence: repeated notes split).
Emissions are the model's frame posteriors; onset evidence (spectral flux at the pitch's
partials) favours attacks and disfavours sustaining through a new onset. Viterbi decoding,
then notes shorter than ``min_note_frames`` are dropped. Polyphonic (piano): the same
three-state chain per key, on Bernoulli key probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from midivae.spectral import SpectralConfig

EPS = 1e-6


@dataclass(frozen=True)
class TrackingSettings:
    """Costs of the note model (natural-log units) and the shortest note kept."""

    start_cost: float = 3.0  # rest -> a note
    end_cost: float = 3.0  # a note -> rest
    switch_cost: float = 2.0  # a note -> another (or the same) note's attack
    onset_weight: float = 4.0  # how much onset evidence (its local peaks) counts
    attack_floor: float = 0.3  # an attack without onset evidence costs onset_weight*log(1/0.3)
    min_note_frames: int = 4  # ~46 ms at 11.6 ms frames
    min_repeat_frames: int = 8  # a re-attack of the same pitch sooner than this (~93 ms) merges


@dataclass(frozen=True)
class TrackedNote:
    """A decoded note: frames ``[start, end)`` and the index of its pitch column."""

    start: int
    end: int
    pitch: int


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
) -> list[TrackedNote]:
    """Notes from per-frame posteriors of one monophonic voice.

    Parameters
    ----------
    rest_probability : (n_frames,) probability that nothing sounds.
    pitch_probability : (n_frames, n_pitches) probability of each pitch column.
    onset_strength : (n_frames, n_pitches) onset evidence in [0, 1] per pitch column.
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
    return _notes_from_path(path, settings)


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


def onset_strength(
    compressed: np.ndarray,
    pitches: np.ndarray,
    config: SpectralConfig | None = None,
    *,
    n_partials: int = 6,
    scale: float = 0.5,
) -> np.ndarray:
    """Onset evidence per frame and pitch: rise of the pitch's partials, mapped to [0, 1].

    ``compressed`` are the model's ``log1p`` magnitudes ``(n_frames, n_bins)``; the rise is
    the positive frame-to-frame increase over two frames, summed over the first partials'
    bins (each the max of the bin and its neighbours), weighted 1/h.
    """
    config = config or SpectralConfig()
    frames = np.asarray(compressed, dtype=np.float32)
    padded = np.maximum(frames, np.maximum(np.roll(frames, 1, axis=1), np.roll(frames, -1, axis=1)))
    rise = np.zeros_like(padded)
    rise[2:] = np.maximum(padded[2:] - padded[:-2], 0.0)
    out = np.zeros((frames.shape[0], len(pitches)), dtype=np.float32)
    for column, pitch in enumerate(pitches):
        total = 0.0
        for h in range(1, n_partials + 1):
            position = config.midi_to_bin(pitch) + config.bins_per_octave * np.log2(h)
            index = round(position)
            if 0 <= index < config.n_bins:
                out[:, column] += rise[:, index] / h
                total += 1.0 / h
        if total:
            out[:, column] /= total
    return (1.0 - np.exp(-out / scale)).astype(np.float32)
