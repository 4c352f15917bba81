"""Analysis onto the uniform frame grid, its calibration, timing and block processing."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SR, chirp, harmonic_tone

from midivae.errors import MidivaeError
from midivae.spectral import SpectralConfig, analyse, compress, decompress, n_frames_for
from midivae.spectral.analysis import StreamedFrames, analysis_blocks, array_reader, block_plan

CONFIG = SpectralConfig()


def test_config_round_trips_through_json():
    config = SpectralConfig(hop_length=200, n_bins=400)
    assert SpectralConfig.from_json(config.to_json()) == config
    assert SpectralConfig.from_dict(config.to_dict()) == config
    with pytest.raises(MidivaeError, match="unknown keys"):
        SpectralConfig.from_dict({**config.to_dict(), "bogus": 1})
    with pytest.raises(MidivaeError, match="Nyquist"):
        SpectralConfig(n_bins=420)


def test_defaults_follow_the_design():
    assert CONFIG.bins_per_octave == 48 and CONFIG.sample_rate == 22050
    assert CONFIG.frequencies[0] == pytest.approx(27.5)
    assert 10_500 < CONFIG.fmax < SR / 2
    assert 0.010 <= CONFIG.frame_seconds <= 0.012
    assert CONFIG.midi_to_bin(21) == pytest.approx(0.0)
    assert CONFIG.midi_to_bin(69) == pytest.approx(192.0)


def test_sine_amplitude_and_bin():
    t = np.arange(SR * 4) / SR
    frames = analyse(0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * 110 * t))
    assert frames.shape == (n_frames_for(len(t), CONFIG), CONFIG.n_bins)
    assert frames.dtype == np.float32
    middle = frames[len(frames) // 2]
    assert middle[192] == pytest.approx(0.5, rel=0.01)
    assert middle[96] == pytest.approx(0.1, rel=0.01)
    assert set(np.argsort(middle)[-2:]) == {96, 192}


def test_onset_lands_on_its_frame():
    onset = 1.0
    t = np.arange(SR * 2) / SR
    tone = np.where(t >= onset, 0.5 * np.sin(2 * np.pi * 1760.0 * t), 0.0)
    level = analyse(tone)[:, round(CONFIG.midi_to_bin(93))]
    onset_frame = onset / CONFIG.frame_seconds
    half = np.flatnonzero(level >= 0.25)[0]  # the frame where the level crosses -6 dB
    assert abs(half - onset_frame) <= 2


def test_silence_and_short_input():
    assert np.all(analyse(np.zeros(100)) == 0.0)
    assert analyse(np.zeros(1)).shape == (1, CONFIG.n_bins)


def test_compression_is_invertible():
    amplitude = np.array([0.0, 1e-5, 1e-3, 0.1, 1.0])
    np.testing.assert_allclose(decompress(compress(amplitude)), amplitude, rtol=1e-5, atol=1e-9)


def test_blocks_match_whole_file_on_30_seconds(rng):
    """Blocks of ~12 s (2.5 s context each side) against one transform over the whole file.

    The two differ only because the NSGT's windows are quantised to the frequency resolution
    of the transform length (``sample_rate / length``): a band's Hann window is a whole
    number of frequency samples, so a ~12 s block and a ~48 s whole-file transform round
    each bandwidth differently, by up to ~1 %. That gives ~1 % of full scale, spread over the
    whole file; the seams must be no worse than anywhere else.
    """
    x = harmonic_tone(30.0, 40) + chirp(30.0, 30.0, 3000.0) + 0.01 * rng.standard_normal(SR * 30)
    whole_config = SpectralConfig(block_frames=4096, pad_frames=432)
    block_config = SpectralConfig(block_frames=1024, pad_frames=216)
    whole = analyse(x, whole_config)
    blocks = analyse(x, block_config)
    _, firsts = block_plan(len(whole), block_config)
    assert len(firsts) >= 4  # really in blocks
    error = np.abs(blocks - whole).max(axis=1) / whole.max()
    assert error.max() <= 0.02
    near_seam = np.zeros(len(error), dtype=bool)
    for seam in firsts[1:]:
        near_seam[seam - 8 : seam + 8] = True
    assert error[near_seam].max() <= 1.2 * error[~near_seam].max()


def test_streamed_frames_are_the_whole_analysis_sliced(rng):
    config = SpectralConfig()
    audio = (0.1 * rng.standard_normal(int(70 * SR))).astype(np.float32)
    whole = analyse(audio, config)
    frames = StreamedFrames(array_reader(audio), len(audio), config, keep=2)
    assert len(frames) == len(whole)
    # forwards, backwards, across blocks, past the end: each slice as the whole has it
    for start, stop in [(4000, 6000), (0, 3000), (1500, 1650), (100, 6000), (6020, 7000)]:
        np.testing.assert_array_equal(frames[start:stop], whole[start:stop])
    assert len(frames._blocks) <= 2
    louder = StreamedFrames(array_reader(audio), len(audio), config, transform=lambda a: 2 * a)
    np.testing.assert_array_equal(louder[10:20], 2 * whole[10:20])


def test_primed_frames_are_not_analysed_again(rng):
    config = SpectralConfig()
    audio = (0.1 * rng.standard_normal(int(40 * SR))).astype(np.float32)
    calls = []

    def read(start, stop):
        calls.append(start)
        return array_reader(audio)(start, stop)

    blocks = list(analysis_blocks(read, len(audio), config))
    frames = StreamedFrames(read, len(audio), config, transform=lambda a: 2 * a)
    frames.prime(blocks)
    before = len(calls)
    np.testing.assert_array_equal(frames[0 : len(frames)], 2 * analyse(audio, config))
    assert len(calls) == before  # every block came from the first pass
