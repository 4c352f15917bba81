"""The polyphonic preset's check of each tracked key note."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from midivae.errors import MidivaeError
from midivae.model.note_verifier import (
    FEATURES,
    THRESHOLDS,
    NoteVerifier,
    fit_verifier,
    note_features,
)
from midivae.presets.preset import META, cached_preset, load_preset, resolve
from midivae.training.corpus.content import Note
from midivae.training.corpus.render import get_soundfont, render_notes
from midivae.training.fit_renders import corpus_players, fit_renders
from midivae.training.verifier_fit import played_flags, tracked_candidates
from midivae.transcription.timing import TrackedNote
from midivae.transcription.transcribe import transcribe


def _items(rng, n_items=6, per_item=40):
    """Renders' worth of tracked notes whose first feature tells played ones apart (noisily)."""
    items = []
    for _ in range(n_items):
        played = (rng.random(per_item) < 0.6).astype(float)
        features = rng.standard_normal((per_item, len(FEATURES)))
        features[:, 0] += 2.0 * played
        items.append((features, played, int(played.sum()) + 3))
    return items


def test_fit_drops_what_was_not_played_and_keeps_what_was(rng):
    items = _items(rng)
    verifier = fit_verifier(items)
    assert verifier is not None and verifier.notes == 240
    assert verifier.threshold in (0.0, *THRESHOLDS)
    assert verifier.weights[0] > 1.0 and max(abs(w) for w in verifier.weights[1:]) < 0.5
    features = np.concatenate([f for f, _, _ in items])
    played = np.concatenate([p for _, p, _ in items]).astype(bool)
    kept = verifier.keep(features)
    assert kept[played].mean() > 0.8 and kept[~played].mean() < 0.5


def test_fit_needs_enough_notes_of_both_kinds(rng):
    assert fit_verifier([]) is None
    assert fit_verifier(_items(rng, n_items=1)) is None  # 40 notes
    features, _, n = _items(rng)[0]
    assert fit_verifier([(features, np.ones(len(features)), n)] * 3) is None


def test_verifier_round_trips_and_bad_ones_are_refused(rng):
    verifier = fit_verifier(_items(rng))
    assert NoteVerifier.from_dict(json.loads(json.dumps(verifier.to_dict()))) == verifier
    good = verifier.to_dict()
    for bad in (
        {k: v for k, v in good.items() if k != "bias"},
        good | {"features": list(reversed(FEATURES))},
        good | {"weights": good["weights"][:-1]},
        good | {"scale": [0.0] * len(FEATURES)},
        good | {"threshold": float("nan")},
        good | {"mean": "zeros"},
    ):
        with pytest.raises(MidivaeError, match="note_verifier"):
            NoteVerifier.from_dict(bad)


def test_features_see_the_lower_note_a_key_could_be_a_partial_of():
    n_frames, n_keys = 30, 40
    probabilities = np.zeros((n_frames, n_keys))
    probabilities[5:20, 10] = 0.9  # a lower note
    probabilities[5:20, 22] = 0.6  # an octave over it
    onsets = np.zeros((n_frames, n_keys))
    onsets[5, [10, 22]] = 0.8
    envelopes = np.full((n_frames, n_keys), 1e-6)
    envelopes[5:20, 10], envelopes[5:20, 22] = 0.1, 0.01
    pitches = 40 + np.arange(n_keys)
    heard = [TrackedNote(5, 20, 10), TrackedNote(6, 18, 22)]
    timed = [TrackedNote(4, 20, 10), TrackedNote(5, 18, 22)]
    rows = note_features(heard, timed, probabilities, onsets, envelopes, pitches)
    assert rows.shape == (2, len(FEATURES)) and np.isfinite(rows).all()
    named = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    assert named[0]["attack_probability"] == pytest.approx(0.9)
    assert named[0]["lower_probability"] == 0.0 and named[0]["octave_above_probability"] > 0.5
    assert named[1]["lower_probability"] == pytest.approx(0.9)
    assert named[1]["level"] == pytest.approx(-1.0)  # 20 dB under the loudest, / 20
    assert named[0]["onset"] == pytest.approx(0.8)
    assert named[1]["pitch"] == pytest.approx((62 - 60) / 24)
    empty = note_features([], [], probabilities, onsets, envelopes, pitches)
    assert empty.shape == (0, len(FEATURES))


def test_played_flags_match_each_played_note_once():
    class Heard:
        def __init__(self, pitch, onset):
            self.pitch, self.onset = pitch, onset

    played = [Note(60, 80, 1.0, 2.0), Note(64, 80, 1.0, 2.0)]
    heard = [Heard(60, 1.03), Heard(60, 1.04), Heard(64, 1.2), Heard(67, 1.0)]
    np.testing.assert_array_equal(played_flags(heard, played), [1, 0, 0, 0])


@pytest.mark.presets
@pytest.mark.needs_fluidsynth
def test_shipped_piano_keeps_what_its_note_verifier_passes():
    font = get_soundfont("fluidr3").path()
    chords = [Note(p, 80, 0.2 + 1.5 * k, 1.2 + 1.5 * k) for k, c in enumerate(
        ((45, 57, 64, 72), (48, 55, 64, 67), (41, 53, 60, 69))) for p in c]  # fmt: skip
    audio = render_notes(chords, program=0, soundfont=font, seconds=5.5)
    piano = cached_preset("piano")
    assert piano.note_verifier is not None
    fit = piano.meta["note_verifier"]["fit"]
    assert fit["kept_f1"] >= fit["tracked_f1"]  # on its own renders it earns its place
    # transcription tracks at the threshold the verifier was fitted at, then verifies
    tracked, features = tracked_candidates(piano, audio, piano.note_verifier.tracking_threshold)
    assert features.shape == (len(tracked), len(FEATURES))
    kept = transcribe(audio, preset="piano").notes
    assert {(n.pitch, n.onset) for n in kept} <= {(n.pitch, n.onset) for n in tracked}
    assert {45, 48, 55, 57} <= {n.pitch for n in kept}


@pytest.mark.parametrize("field, value", [("weights", [1.0]), ("tracking_threshold", 1.5)])
def test_a_bad_note_verifier_names_the_preset_file(tmp_path, field, value):
    folder = tmp_path / "piano"
    shutil.copytree(resolve("piano"), folder)
    meta = json.loads((folder / META).read_text())
    meta["note_verifier"][field] = value
    (folder / META).write_text(json.dumps(meta))
    with pytest.raises(MidivaeError) as error:
        load_preset(folder)
    assert error.value.path == folder / META and "note_verifier" in error.value.message


@pytest.mark.needs_fluidsynth
def test_the_piano_tracks_at_its_verifiers_threshold_unless_told_one(tmp_path):
    """The verifier's ``tracking_threshold`` is the default; a threshold given wins."""
    from midivae.transcription.timing import TrackingSettings

    font = get_soundfont("fluidr3").path()
    chords = [Note(p, 70, 0.2 + k, 0.9 + k) for k, c in enumerate(((48, 64), (53, 69))) for p in c]
    audio = render_notes(chords, program=0, soundfont=font, seconds=2.5)
    threshold = cached_preset("piano").note_verifier.tracking_threshold
    assert threshold < 0.5  # the shipped piano's fit: more keys than at even odds
    as_fitted = TrackingSettings().with_onset_threshold(threshold)
    default = transcribe(audio, preset="piano", tempo=False).notes
    assert default == transcribe(audio, preset="piano", settings=as_fitted, tempo=False).notes
    strict = TrackingSettings().with_onset_threshold(0.95)
    assert len(transcribe(audio, preset="piano", settings=strict, tempo=False).notes) <= len(
        default
    )


class _Played:
    """A calibration that says which library played each item (the library's index)."""

    def play(self, library, notes, *, instrument, voices, seconds):
        return np.full(3, library.index, np.float32)


class _Library:
    def __init__(self, index: int, low: int, high: int) -> None:
        self.index, self.range = index, (low, high)

    def key_range(self, instrument):
        return self.range

    def programs(self, instrument):
        return (0,)


def test_fit_content_is_played_by_each_training_library_in_turn():
    # the second library lacks the flute's lowest keys: items that need them go to the next
    players = [(_Library(0, 0, 127), _Played()), (_Library(1, 64, 127), _Played())]
    renders = list(fit_renders("flute", players, 0))
    lowest = [min(n.pitch for n in notes) for notes, _ in renders]
    assert len(renders) > 4 and min(lowest) < 64 <= max(lowest)
    heard = [int(audio[0]) for _, audio in renders]
    assert heard == [k % 2 if low >= 64 else 0 for k, low in enumerate(lowest)]
    assert 1 in heard


def test_a_corpus_of_one_soundfont_is_heard_as_it_is():
    single = corpus_players({"command": "midivae corpus build --soundfont fluidr3 -o x"})
    assert [(lib.name, cal.identity) for lib, cal in single] == [("fluidr3", True)]
