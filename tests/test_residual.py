"""The piano's second reading of what the keys it found leave unexplained."""

from __future__ import annotations

import numpy as np
import pytest

from midivae.presets.preset import cached_preset
from midivae.spectral import SpectralConfig, analyse, compress
from midivae.training.corpus.content import Note
from midivae.training.corpus.render import get_soundfont, render_notes
from midivae.transcription.residual import second_pass
from midivae.transcription.transcribe import transcribe

pytestmark = pytest.mark.presets  # the shipped piano (and flute) presets


def _piano(notes: list[Note], seconds: float) -> np.ndarray:
    font = get_soundfont("fluidr3").path()
    return render_notes(notes, program=0, soundfont=font, seconds=seconds)


@pytest.mark.needs_fluidsynth
def test_a_twelfth_over_a_bass_note_is_heard_as_a_note():
    # the frame model alone reads C3 + G4 as C3 (G4 is its third partial)
    audio = _piano([Note(48, 80, 0.2, 1.2), Note(67, 80, 0.2, 1.2)], 1.8)
    assert sorted({n.pitch for n in transcribe(audio, preset="piano").notes}) == [48, 67]


def test_melody_presets_and_frames_without_keys_keep_their_first_reading(rng):
    flute = cached_preset("flute")
    frames = compress(analyse(0.01 * rng.standard_normal(22050), SpectralConfig()))
    symbols = flute.read_signal(frames)
    assert second_pass(flute, frames, symbols) is symbols
    piano = cached_preset("piano")
    symbols = piano.read_signal(frames)
    assert symbols["keys"].max() < 0.5  # noise: no key found in any frame
    np.testing.assert_array_equal(second_pass(piano, frames, symbols)["keys"], symbols["keys"])


@pytest.mark.needs_fluidsynth
def test_second_reading_only_raises_key_probabilities():
    audio = _piano([Note(45, 90, 0.1, 1.0), Note(69, 70, 0.1, 1.0), Note(64, 60, 0.5, 1.0)], 1.4)
    piano = cached_preset("piano")
    frames = compress(analyse(audio.astype(np.float64), SpectralConfig()))
    first = piano.read_signal(frames)
    second = second_pass(piano, frames, first)
    assert np.all(second["keys"] >= first["keys"])
    assert np.any(second["keys"] > first["keys"])
    np.testing.assert_array_equal(second["velocity"], first["velocity"])
