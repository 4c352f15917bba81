"""The vocabulary: encoding and decoding frame labels, mixtures, piano keys, serialisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from midivae.errors import MidivaeError
from midivae.symbols import Vocabulary

FLUTE = ("flute", 60, 96, False)
VIOLIN = ("violin", 55, 96, False)
PIANO = ("piano", 21, 108, True)


def melody_labels(pitch: np.ndarray, velocity: np.ndarray) -> dict[str, np.ndarray]:
    sounding = pitch >= 0
    return {
        "pitch": pitch,
        "velocity": np.where(sounding, velocity, 0),
        "pitch_class": np.where(sounding, pitch % 12, 12),
        "octave": np.where(sounding, pitch // 12 - 1, -1),
        "dynamics": np.where(sounding, np.searchsorted([56, 96], velocity, "right"), -1),
    }


def test_melody_round_trip_with_rests():
    vocab = Vocabulary.standard([FLUTE])
    pitch = np.array([60, 61, -1, 96, 72])
    labels = melody_labels(pitch, np.array([20, 80, 0, 127, 100]))
    vectors = vocab.encode(labels)
    assert vectors.shape == (5, vocab.width)
    assert vocab.width == 13 + 5 + 4 + 38 + 1  # octaves 4..7 + rest, pitches 60..96 + rest
    decoded = vocab.decode(vectors)
    for name in ("pitch_class", "octave", "dynamics", "pitch"):
        np.testing.assert_array_equal(decoded[name], labels[name])
    np.testing.assert_allclose(decoded["velocity"], labels["velocity"], atol=1e-4)
    # every categorical family is one-hot
    for index, family in enumerate(vocab.families):
        if family.kind == "categorical":
            np.testing.assert_array_equal(vectors[:, vocab.span(index)].sum(1), 1.0)


def test_mixture_has_one_slot_per_instrument():
    vocab = Vocabulary.standard([FLUTE, VIOLIN])
    a = melody_labels(np.array([60, -1, 70]), np.array([30, 0, 110]))
    b = melody_labels(np.array([55, 57, -1]), np.array([90, 60, 0]))
    labels = {k: np.stack([a[k], b[k]], axis=1) for k in a}
    decoded = vocab.decode(vocab.encode(labels))
    np.testing.assert_array_equal(decoded["flute.pitch"], a["pitch"])
    np.testing.assert_array_equal(decoded["violin.octave"], b["octave"])
    assert vocab.key(vocab.families[-1]) == "violin.velocity"


def test_onset_bits_for_melody_slots_one_per_slot_in_a_mixture():
    vocab = Vocabulary.standard([FLUTE, VIOLIN, PIANO], onsets=True)
    assert [vocab.key(f) for f in vocab.families if f.name == "onset"] == [
        "flute.onset",
        "violin.onset",
    ]  # the piano reads keys, not one onset bit
    solo = Vocabulary.standard([FLUTE], onsets=True)
    labels = melody_labels(np.array([60, 60, -1]), np.array([80, 80, 0]))
    labels["onset"] = np.array([True, False, False])
    np.testing.assert_array_equal(solo.decode(solo.encode(labels))["onset"][:, 0], labels["onset"])
    duo = Vocabulary.standard([FLUTE, VIOLIN], onsets=True)
    both = {k: np.stack([labels[k], labels[k][::-1]], axis=1) for k in labels}
    decoded = duo.decode(duo.encode(both))
    np.testing.assert_array_equal(decoded["violin.onset"][:, 0], labels["onset"][::-1])


def test_piano_keys_are_bernoulli():
    vocab = Vocabulary.standard([PIANO])
    keys = np.zeros((2, 88), bool)
    keys[0, [39, 43, 46]] = True
    labels = {"keys": keys, "velocity": np.array([90, 0]), "dynamics": np.array([1, -1])}
    decoded = vocab.decode(vocab.encode(labels))
    np.testing.assert_array_equal(decoded["keys"], keys)
    np.testing.assert_array_equal(decoded["dynamics"], [1, -1])


def test_serialisation_round_trip_and_errors():
    vocab = Vocabulary.standard([FLUTE, VIOLIN])
    again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab and again.layout() == vocab.layout()
    with pytest.raises(MidivaeError, match="malformed"):
        Vocabulary.from_dict({"instruments": ["flute"]})
    with pytest.raises(MidivaeError, match="outside"):
        Vocabulary.standard([FLUTE]).encode(melody_labels(np.array([40]), np.array([64])))


def test_user_defined_vocabulary_is_a_config_change():
    vocab = Vocabulary.standard([FLUTE], families=("pitch", "velocity"))
    assert [f.name for f in vocab.families] == ["pitch", "velocity"]
    labels = melody_labels(np.array([64]), np.array([64]))
    assert vocab.decode(vocab.encode(labels))["pitch"][0] == 64
