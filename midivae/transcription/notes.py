"""Symbol posteriors -> notes with velocities: the transcription's note decoding.

Every instrument slot's posteriors go through the note HMM (:mod:`midivae.transcription.hmm`); the
notes are then timed from their own partials (:mod:`midivae.transcription.timing`: onsets moved back
to where the partials began to rise, ends at their release, legato repeats split), a polyphonic
preset's notes pass its note verifier, and each note's velocity is read from its attack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from midivae.model.note_verifier import note_features
from midivae.model.velocity_regression import note_level
from midivae.scores import NoteEvent, Part
from midivae.spectral import decompress
from midivae.transcription.hmm import track_monophonic, track_polyphonic
from midivae.transcription.residual import second_pass
from midivae.transcription.timing import (
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

if TYPE_CHECKING:
    from midivae.presets.preset import Preset

VELOCITY_FRAMES = 6  # the attack: frames over which a note's velocity is read (~70 ms)


def slot_posteriors(symbols: dict[str, np.ndarray], preset: Preset, slot: int):
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
    velocity: np.ndarray, heard: TrackedNote, timed: TrackedNote, envelope, pitch, regression
) -> int:
    """A note's MIDI velocity: the attack velocity of the note as heard, read with the
    preset's velocity regression (and the timed note's peak level) when it has one."""
    attack = attack_velocity(velocity, heard)
    if regression is None:
        return int(np.clip(round(attack), 1, 127))
    return regression.predict(attack, note_level(envelope, timed.start, timed.end), pitch)


def program_of(instrument: str) -> int:
    """The GM program of a corpus instrument."""
    from midivae.music import get_instrument

    return get_instrument(instrument).program


def decode_notes(
    preset: Preset,
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
    polyphonic preset's keys are read twice (:mod:`midivae.transcription.residual`), and its
    notes pass its note verifier (:mod:`midivae.model.note_verifier`) unless ``candidates`` is a
    list: every tracked note is then kept and its feature row appended to it, in the order
    of the returned notes (what the verifier is fitted on).
    """
    return notes_from_symbols(
        preset,
        read_symbols(preset, compressed),
        compressed,
        audio=audio,
        cents=cents,
        settings=settings,
        calibrated=calibrated,
        candidates=candidates,
    )


def read_symbols(preset: Preset, compressed: np.ndarray) -> dict[str, np.ndarray]:
    """What ``preset`` reads in compressed frames: its symbol families, a polyphonic preset's
    keys read twice (:func:`~midivae.transcription.residual.second_pass`)."""
    vectors = preset.symbols_from_signal(compressed)
    return second_pass(preset, compressed, preset.families_of(vectors), vectors)


def every_pitch(preset: Preset) -> np.ndarray:
    """The pitches of all the preset's slots, once each: the columns of the envelope table
    that :func:`notes_from_symbols` times notes by."""
    vocabulary = preset.vocabulary
    pitches = []
    for slot in range(len(preset.instruments)):
        prefix = vocabulary.slot_prefix(slot)
        names = [f.name for f in vocabulary.families]
        family = vocabulary.family(prefix + ("keys" if prefix + "keys" in names else "pitch"))
        columns = len(family.classes) - (family.kind != "bernoulli")  # the pitch family: a rest
        pitches.append(family.offset + np.arange(columns))
    return np.unique(np.concatenate(pitches))


def notes_from_symbols(
    preset: Preset,
    symbols: dict[str, np.ndarray],
    compressed: np.ndarray | None,
    *,
    audio: np.ndarray | None = None,
    cents: float = 0.0,
    settings: TrackingSettings | None = None,
    calibrated: bool = True,
    candidates: list[np.ndarray] | None = None,
    envelope_table: np.ndarray | None = None,
    onset_compression: float | None = None,
) -> tuple[list[NoteEvent], list[Part]]:
    """Notes of every slot from decoded ``symbols`` and the magnitudes heard with them
    (``candidates``: as :func:`decode_notes`). ``envelope_table``: the audio's envelope table
    (:func:`pitch_envelopes` of :func:`every_pitch`) when the caller has it, in place of
    ``audio`` and ``compressed`` (notes are then timed as with audio);
    ``onset_compression``: the recording's :func:`onset_gain` (default: from the table)."""
    settings = settings or TrackingSettings()
    verifier = preset.note_verifier if candidates is None else None
    if verifier is not None and settings.onset_threshold is None:
        settings = settings.with_onset_threshold(verifier.tracking_threshold)
    timed_by_audio = audio is not None or envelope_table is not None
    if timed_by_audio or not calibrated:
        release = 0.0  # with audio, ends come from refine_offsets
    else:
        release = (preset.meta.get("timing") or {}).get("offset_shift_s", 0.0)
    frame_seconds = preset.spectral.frame_seconds
    slots = [slot_posteriors(symbols, preset, slot) for slot in range(len(preset.instruments))]
    pitches_heard = every_pitch(preset)  # one envelope per pitch
    frame_level = None
    if envelope_table is not None:
        table = envelope_table
    elif audio is not None:
        table = pitch_envelopes(pitches_heard, preset.spectral, audio=audio, cents=cents)
    else:
        amplitude = decompress(compressed, preset.spectral)
        frame_level = 20.0 * np.log10(amplitude.sum(axis=1) + 1e-9)
        table = pitch_envelopes(pitches_heard, preset.spectral, amplitude=amplitude)
    if onset_compression is None:
        onset_compression = onset_gain(table)  # one recording level for every slot
    n_frames = len(table)
    regression = preset.velocity_regression
    notes: list[NoteEvent] = []
    rows: dict[int, np.ndarray] = {}  # feature rows of polyphonic notes, by index in notes
    parts: list[Part] = []
    for slot, instrument in enumerate(preset.instruments):
        pitches, rest, probabilities = slots[slot]
        outside = (pitches < settings.lowest_pitch) | (pitches > settings.highest_pitch)
        if outside.any():  # the range asked for: no note outside it, its frames read as rest
            probabilities = np.where(outside[None, :], 0.0, probabilities)
            if rest is not None:
                rest = rest + (probabilities.sum(axis=1) == 0) * (1.0 - rest)
        velocity = symbols.get(preset.vocabulary.slot_prefix(slot) + "velocity")
        polyphonic = rest is None
        envelopes = table[:, np.searchsorted(pitches_heard, pitches)]
        read_onsets = symbols.get(preset.vocabulary.slot_prefix(slot) + "onset")
        if read_onsets is not None and settings.read_onsets and not polyphonic:
            # the model's onset bit, for every pitch
            onsets = np.repeat(read_onsets[:, :1], len(pitches), axis=1)
        else:  # the rise of each pitch's partials
            onsets = onset_strength(envelopes, gain=onset_compression)
        if polyphonic:
            tracked = track_polyphonic(probabilities, onsets, settings)
        else:
            # repeats must dip: in each pitch's own envelope, or (frames only) the frame level
            level = frame_level if frame_level is not None else 20.0 * np.log10(envelopes + 1e-9)
            tracked = track_monophonic(rest, probabilities, onsets, settings, level)
        if velocity is None:
            velocity = np.full(n_frames, 80.0)
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
        if timed_by_audio:
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
                    velocity, heard, note, envelopes[:, note.pitch], pitches[note.pitch], regression
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
