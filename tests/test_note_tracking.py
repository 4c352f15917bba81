"""Posteriors -> notes: the HMM splits repeated notes, ignores blips, keeps timing."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from midivae.spectral import SpectralConfig, analyse
from midivae.transcription.hmm import (
    drop_misread_transients,
    merge_undipped_repeats,
    track_monophonic,
    track_polyphonic,
)
from midivae.transcription.timing import (
    TrackedNote,
    TrackingSettings,
    onset_strength,
    pitch_envelopes,
    refine_offsets,
    refine_onsets,
    release_start,
    rise_start,
    split_dips,
    split_rearticulations,
)


def posteriors(sequence: list[tuple[int, int]], n_pitches: int = 5, noise: float = 0.0, rng=None):
    """(pitch or -1, n_frames) runs -> rest and pitch probabilities."""
    rows = []
    for pitch, frames in sequence:
        row = np.full(n_pitches + 1, 0.02)
        row[0 if pitch < 0 else pitch + 1] = 0.9
        rows.extend([row] * frames)
    probs = np.array(rows)
    if noise:
        probs = probs + noise * rng.uniform(size=probs.shape)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs[:, 0], probs[:, 1:]


def test_clean_sequence():
    rest, pitch = posteriors([(-1, 10), (2, 30), (4, 20), (-1, 15), (1, 25), (-1, 5)])
    notes = track_monophonic(rest, pitch, np.zeros_like(pitch))
    assert [(n.start, n.end, n.pitch) for n in notes] == [(10, 40, 2), (40, 60, 4), (75, 100, 1)]


def test_short_blips_are_not_notes(rng):
    rest, pitch = posteriors([(-1, 10), (2, 40), (3, 1), (2, 40), (-1, 10)], noise=0.3, rng=rng)
    notes = track_monophonic(rest, pitch, np.zeros_like(pitch))
    assert [(n.pitch) for n in notes] == [2]


def test_repeated_note_splits_on_onset_evidence():
    rest, pitch = posteriors([(-1, 5), (3, 60), (-1, 5)])
    onsets = np.zeros_like(pitch)
    onsets[5, 3] = 1.0
    onsets[35, 3] = 1.0
    notes = track_monophonic(rest, pitch, onsets)
    assert [(n.start, n.end, n.pitch) for n in notes] == [(5, 35, 3), (35, 65, 3)]
    assert len(track_monophonic(rest, pitch, np.zeros_like(pitch))) == 1


def test_minimum_length():
    rest, pitch = posteriors([(-1, 10), (1, 3), (-1, 10)])
    strict = track_monophonic(
        rest, pitch, np.zeros_like(pitch), TrackingSettings(min_note_frames=4)
    )
    loose = track_monophonic(rest, pitch, np.zeros_like(pitch), TrackingSettings(min_note_frames=2))
    assert strict == [] and len(loose) == 1


def test_a_misread_between_two_notes_is_dropped_unless_it_rose():
    notes = [TrackedNote(10, 40, 2), TrackedNote(40, 45, 0), TrackedNote(45, 80, 4)]
    onsets = np.zeros((90, 5))
    onsets[10, 2] = onsets[39, 4] = 0.9  # the real notes rise; pitch 0 at frame 40 does not
    settings = TrackingSettings()
    kept = drop_misread_transients(notes, onsets, settings)
    assert kept == [notes[0], notes[2]]  # the next note keeps its start (refined later)
    onsets[41, 0] = 0.8  # a real grace note rises in its own partials
    assert drop_misread_transients(notes, onsets, settings) == notes
    onsets[41, 0] = 0.0
    long_note = [notes[0], TrackedNote(40, 40 + settings.transient_frames, 0), notes[2]]
    assert drop_misread_transients(long_note, onsets, settings) == long_note
    octave = [TrackedNote(10, 40, 2), TrackedNote(40, 45, 16), TrackedNote(45, 80, 4)]
    onsets = np.zeros((90, 20))
    onsets[40, 16] = 0.9  # the next note's 2nd partial rises with it
    assert drop_misread_transients(octave, onsets, settings) == [octave[0], octave[2]]


def test_repeats_split_on_a_dip_in_their_own_level():
    notes = [TrackedNote(10, 40, 1), TrackedNote(42, 80, 1)]
    settings = TrackingSettings()
    smooth = np.full(90, -30.0)  # a frame level whose long windows hide the articulation
    assert merge_undipped_repeats(notes, smooth, settings) == [TrackedNote(10, 80, 1)]
    own = np.full((90, 3), -30.0)
    own[38:43, 1] = -36.0  # the note's own partials dip 6 dB between the two attacks
    assert merge_undipped_repeats(notes, own, settings) == notes
    own[38:43, 1] = -31.0  # a 1 dB wobble is a swell, not a re-attack
    assert merge_undipped_repeats(notes, own, settings) == [TrackedNote(10, 80, 1)]


def test_bass_onsets_may_move_further_back():
    energy = np.full((120, 2), 1e-4)
    energy[40:, :] = 1e-2  # both keys sound from frame 40; the model heard them at 62
    notes = [TrackedNote(62, 100, 0), TrackedNote(62, 100, 1)]
    pitches = np.array([28, 60])  # E1 (41 Hz) and C4
    refined = refine_onsets(notes, energy, TrackingSettings(), polyphonic=True, pitches=pitches)
    assert [n.start for n in refined] == [40, 62]  # only the bass reaches back 22 frames


def test_piano_keys_heard_late_move_back_further_than_melody_notes():
    energy = np.full((120, 1), 1e-4)
    energy[40:, 0] = 1e-2  # the key sounds from frame 40; the model heard it at 52
    note = [TrackedNote(52, 100, 0)]
    pitches = np.array([60])
    key = refine_onsets(note, energy, TrackingSettings(), polyphonic=True, pitches=pitches)
    melody = refine_onsets(note, energy, TrackingSettings(), polyphonic=False, pitches=pitches)
    assert key[0].start == 40  # within key_lookback_frames (16)
    assert melody[0].start == 52  # onset_lookback_frames (8) does not reach it
    energy[40:, 0], energy[30:, 0] = 1e-4, 1e-2  # 22 frames early: out of reach of a key too
    far = refine_onsets(note, energy, TrackingSettings(), polyphonic=True, pitches=pitches)
    assert far[0].start == 52


def test_polyphonic_keys():
    keys = np.zeros((50, 4))
    keys[5:30, 0] = 0.9
    keys[10:40, 2] = 0.8
    notes = track_polyphonic(keys, np.zeros_like(keys))
    assert [(n.start, n.end, n.pitch) for n in notes] == [(5, 30, 0), (10, 40, 2)]


def test_onset_strength_peaks_at_a_new_note():
    config = SpectralConfig()
    sr = config.sample_rate
    t = np.arange(sr * 2) / sr
    f0 = 440.0
    tone = sum(0.2 / h * np.sin(2 * np.pi * f0 * h * t) for h in range(1, 5))
    tone[: sr // 2] = 0.0  # the note starts at 0.5 s
    pitches = np.array([69, 72])
    onset_frame = round(0.5 / config.frame_seconds)
    # From the audio the evidence peaks at the onset; NSGT frames smear it ~100 ms earlier.
    for envelopes, tolerance in (
        (pitch_envelopes(pitches, config, audio=tone), 2),
        (pitch_envelopes(pitches, config, amplitude=analyse(tone)), 10),
    ):
        strength = onset_strength(envelopes)
        assert abs(int(strength[:, 0].argmax()) - onset_frame) <= tolerance
        assert strength[:, 0].max() > 0.7
        assert strength[onset_frame + 20 :, 0].max() < 0.2
        assert strength[:, 1].max() < strength[:, 0].max()


def _db(values) -> np.ndarray:
    return 10.0 ** (np.asarray(values, dtype=np.float64) / 20.0)


def test_rise_start_walks_back_a_slow_attack():
    """The model hears a slow attack late; the onset moves back to where the rise began."""
    energy = _db([-80, -80, -80, -70, -58, -52, -44, -40, -37, -34, -32, -31, -30.5, -30.5])
    settings = TrackingSettings()
    # recognised at frame 8, 7 dB under the peak; the steepest rise is at frame 4, and the
    # rise into it began there (frame 3 is more than 30 dB under the peak)
    assert rise_start(energy, 8, -100, settings) == 4
    assert rise_start(energy, 8, -100, TrackingSettings(onset_floor_db=45.0)) == 3
    # never before the previous note's start + min_note_frames
    assert rise_start(energy, 8, 6, settings) == 6
    # heard in the silence before (30 dB or more under its attack): where it rose out of it
    assert rise_start(energy, 3, -100, settings) == 4


def test_rise_start_of_a_note_heard_in_the_silence_before_it():
    """The model may hear a note early, in the silence before it (the constant-Q window
    reaches ahead): the note starts where its partials come within 30 dB of their attack,
    not at a 2 dB flicker of the silence."""
    energy = _db([-110, -110, -108, -110, -109, -105, -76, -60, -49, -41, -35, -31])
    assert rise_start(energy, 4, -100, TrackingSettings()) == 7
    assert rise_start(energy, 7, -100, TrackingSettings()) == 6  # heard late: back to the rise
    # heard long before, in digital silence: where the note's partials come within 30 dB of
    # the level they reach before its end
    silent = np.r_[np.zeros(30), energy[6:]]
    assert rise_start(silent, 3, -100, TrackingSettings(), end=len(silent)) == 31


def test_rise_start_finds_an_attack_that_a_swell_follows():
    """A bowed note: a quick attack out of the previous note's level, then a slow crescendo;
    the model recognises it only in the crescendo, and the onset is the attack."""
    energy = _db([-54, -52, -50, -49, -50, -50, -46, -40, -36, -34, -33, -32, -33, -32, -31, -30])
    assert rise_start(energy, 12, -100, TrackingSettings()) == 6


def test_rise_start_keeps_a_sharp_attack_and_stops_at_a_dip():
    settings = TrackingSettings()
    sharp = _db([-80, -80, -80, -30, -30, -30, -31, -31])
    assert rise_start(sharp, 3, -100, settings) == 3
    flat = _db([-35, -35, -35, -35, -35, -30, -30, -30])
    assert rise_start(flat, 5, -100, settings) == 5  # no walking through a held level
    repeat = _db([-30, -31, -36, -34, -32, -30, -30])  # same pitch re-attacked out of a dip
    assert rise_start(repeat, 4, -100, settings) == 3  # the first frame out of the dip


def test_release_start_finds_where_a_held_note_begins_to_fall():
    settings = TrackingSettings()
    held = [-30.0] * 20 + [-31.0, -33.0, -36.0, -40.0, -45.0, -50.0, -55.0]
    assert release_start(_db(held), 0, len(held), settings) == 19
    vibrato = [-30.0, -31.5, -33.0, -31.5] * 6  # dips of 3 dB that recover: no release
    assert release_start(_db(vibrato), 0, len(vibrato), settings) is None


def test_refine_offsets_stops_at_the_next_note_of_the_voice():
    settings = TrackingSettings()
    envelope = _db([-80.0] * 2 + [-30.0] * 30 + [-31.0, -33.0, -36.0, -40.0, -45.0, -50.0] * 1)
    envelopes = np.stack([envelope, envelope], axis=1)
    model_ends = [TrackedNote(2, 36, 0)]
    assert refine_offsets(model_ends, envelopes, settings)[0].end == 31  # the fall, not 36
    # a following note of the same voice caps the search; no fall before it: ends there
    notes = [TrackedNote(2, 20, 0), TrackedNote(25, 36, 1)]
    assert [n.end for n in refine_offsets(notes, envelopes, settings)] == [20, 31]
    # polyphonic: another key does not cap the search
    keys = [TrackedNote(2, 26, 0), TrackedNote(10, 36, 1)]
    ends = refine_offsets(keys, envelopes, settings, polyphonic=True)
    assert [n.end for n in ends] == [31, 31]
    assert [n.end for n in refine_offsets(keys, envelopes, settings)] == [10, 31]


def test_a_soft_reattack_after_a_release_becomes_a_second_note():
    settings = TrackingSettings()
    frames = np.arange(80)
    # one pitch: a note, a release to -12 dB at frame 30, a softer re-attack (-4 dB) held on
    level_db = np.where(frames < 26, 0.0, np.where(frames < 31, -3.0 * (frames - 25), -4.0))
    level_db[31:35] = np.linspace(-15.0, -4.0, 4)
    envelope = 10.0 ** (level_db / 20.0)[:, None]
    heard = [TrackedNote(2, 70, 0)]  # the model heard one note throughout
    timed = [TrackedNote(2, 26, 0)]  # refine_offsets ended it at the release
    new_heard, new_timed = split_rearticulations(heard, timed, envelope, settings)
    assert (new_timed[0].start, new_timed[0].end) == (2, 26)
    assert len(new_timed) == 2 and 28 <= new_timed[1].start <= 31
    assert new_heard[1].start >= new_timed[1].start and new_heard[1].end == 70
    # a dip without a steep rise after it (a fade, or vibrato) stays one note
    shallow = np.where(frames < 26, 0.0, -4.0 - 0.1 * (frames - 26))[:, None]
    kept, _ = split_rearticulations(heard, timed, 10.0 ** (shallow / 20.0), settings)
    assert len(kept) == 1
    # a rise right before the next note's own attack belongs to that note
    following = [*timed, TrackedNote(36, 70, 0)]
    _, near = split_rearticulations(
        [*heard[:1], TrackedNote(36, 70, 0)], following, envelope, settings
    )
    assert len(near) == 2


def test_a_legato_repeat_the_model_held_through_splits_at_its_dip():
    settings = TrackingSettings()
    frames = np.arange(90)
    # one held pitch: a fall from frame 36 to a trough 8 dB down at 42, a slow rise after
    level_db = np.zeros(90)
    level_db[36:43] = np.linspace(0.0, -8.0, 7)
    level_db[43:55] = np.linspace(-7.5, -1.0, 12)
    level_db[55:] = -1.0
    envelope = 10.0 ** (level_db / 20.0)[:, None]
    heard, timed = [TrackedNote(5, 85, 0)], [TrackedNote(2, 85, 0)]
    new_heard, new_timed = split_dips(heard, timed, envelope, settings)
    assert [(n.start, n.end) for n in new_timed] == [(2, 37), (39, 85)]  # halfway: 37 .. 42
    assert new_heard[1].start > 42 and new_heard[1].end == 85  # heard from its peak on
    assert new_heard[0].end <= new_heard[1].start
    # a swell (4 dB down and back) is not a repeat, nor is a dip the model no longer hears
    swell = np.where((frames > 35) & (frames < 50), -4.0 * np.sin(np.pi * (frames - 35) / 14), 0.0)
    kept, _ = split_dips(heard, timed, 10.0 ** (swell / 20.0)[:, None], settings)
    assert len(kept) == 1
    kept, _ = split_dips([TrackedNote(5, 45, 0)], [TrackedNote(2, 85, 0)], envelope, settings)
    assert len(kept) == 1
    off = TrackingSettings(repeat_split_dip_db=0.0)
    assert split_dips(heard, timed, envelope, off) == (heard, timed)
    # refine_offsets had ended the note at the fall: the repeat is opened after it, to its
    # own release (or the model's end) ...
    _, reopened = split_dips(heard, [TrackedNote(2, 37, 0)], envelope, settings)
    assert [(n.start, n.end) for n in reopened] == [(2, 37), (39, 85)]
    # ... but not on the next note's attack
    _, capped = split_dips(
        [TrackedNote(5, 85, 0), TrackedNote(50, 85, 1)],
        [TrackedNote(2, 37, 0), TrackedNote(47, 85, 1)],
        np.hstack([envelope, envelope]),
        settings,
    )
    assert len(capped) == 2


def test_a_legato_onset_does_not_move_back_into_the_previous_notes_leaking_attack():
    # the previous note's attack (frames 2-6) leaks into the next pitch 20 dB down; that
    # pitch's own rise starts at frame 8 while the previous note releases
    before = np.array([1e-3, 1e-3, 4e-3, 0.016, 0.064, 0.256, 1, 1, 1, 0.5, 0.25, 0.12, 0.06])
    after = 0.1 * before
    after[8:] = [0.2, 0.4, 0.8, 1.0, 1.0]
    envelopes = np.stack([before, after], axis=1)
    notes = [TrackedNote(4, 9, 0), TrackedNote(11, 13, 1)]  # both heard a little late
    settings = TrackingSettings(min_note_frames=2)
    heard = refine_onsets(notes, envelopes, settings)
    assert heard[1].start == 8
    blind = refine_onsets(notes, envelopes, replace(settings, legato_contrast=False))
    assert blind[1].start < 8  # without the contrast the leaked attack drew it back
