"""Attack/release envelopes measured from a tiny FluidR3 corpus."""

from __future__ import annotations

import numpy as np
import pytest

from midivae.rendering.envelope import Envelope
from midivae.training.corpus.envelopes import measure_envelope


def test_gains_shape_and_round_trip():
    envelope = Envelope((0.2, 0.6, 1.0), (0.5, 0.25), -6.0)
    gains = envelope.gains(10, 0.1)
    assert len(gains) == 12
    np.testing.assert_allclose(gains[:3], [0.2, 0.6, 1.0])
    assert gains[3] < 1.0 and gains[9] < gains[3]  # decays while held
    assert gains[10] == 0.5 * gains[9] and gains[11] == 0.25 * gains[9]
    assert Envelope.from_dict(envelope.to_dict()) == envelope
    assert list(Envelope.flat().gains(3, 0.1)) == [1.0, 1.0, 1.0, 0.0]


@pytest.mark.needs_fluidsynth
def test_measured_on_fluidr3_flute(tmp_path):
    from midivae.training.corpus import build_corpus, load_corpus

    corpus = load_corpus(build_corpus("flute", tmp_path / "flute", tiny=True))
    envelope = measure_envelope(corpus)
    assert envelope.attack[0] < 0.8  # a flute note swells in
    assert max(envelope.attack) <= 4.0
    assert envelope.release[0] > envelope.release[-1] >= 0.0  # and dies away after note-off
    # its highest partials stop within ~0.2 s (tens of dB per 100 ms), faster than the
    # whole-frame release, which the fundamental's long analysis window smears
    assert -1000.0 < envelope.release_db_per_second < -100.0
