"""Attack and release envelopes of an instrument, measured on its isolated corpus notes.

For every isolated note long enough to reach a steady level, the frame level (sum of band
amplitudes) is taken relative to the note's median sustained level, aligned on the note-on
frame (attack) and on the note-off frame (release: the tail that the labels call rest). The
median over notes gives two gain curves, stored in every preset and applied by rendering.

Those curves follow the whole frame's level, which the strongest, lowest partials carry, and
a band's frames are its analysis window (~150 ms at A4) convolved with the sound: they fall as
slowly as the fundamental's window does. How fast the instrument itself stops sounding is read
where the windows are short: the release slope of each note's highest octave of bands that
holds at least 1 % of its level (``release_db_per_second``); rendering imposes it on the audio
after phase reconstruction, which cannot recreate a short gap from smeared magnitudes.
"""

from __future__ import annotations

import warnings

import numpy as np

from midivae.rendering.envelope import Envelope
from midivae.training.corpus.store import Corpus

ATTACK_FRAMES = 24  # ~0.28 s
RELEASE_FRAMES = 64  # ~0.74 s
FLOOR = 1e-3  # gains below -60 dB are silence
OCTAVE_BINS = 48  # bands per octave, for the release slope
SLOPE_FRAMES = 6  # frames after note-off over which the release slope is fitted (~70 ms)


def measure_envelope(corpus: Corpus) -> Envelope:
    """The median attack and release gain curves of ``corpus``'s isolated notes."""
    labels = corpus.labels
    sounding = labels["pitch"] >= 0
    isolated = labels["kind"] == 0
    amplitudes = corpus.amplitudes()
    level = amplitudes.sum(axis=1)
    octaves = np.add.reduceat(amplitudes, np.arange(0, amplitudes.shape[1], OCTAVE_BINS), axis=1)
    del amplitudes
    attacks, releases, slopes, stops = [], [], [], []
    for start in np.flatnonzero(labels["onset"] & isolated):
        end = start
        while (
            end < len(sounding) and sounding[end] and labels["item"][end] == labels["item"][start]
        ):
            end += 1
        if end - start < ATTACK_FRAMES + 8 or end + RELEASE_FRAMES > len(level):
            continue
        steady = float(np.median(level[start + ATTACK_FRAMES : end]))
        if steady <= 0:
            continue
        attacks.append(level[start : start + ATTACK_FRAMES] / steady)
        held = 20.0 * np.log10(np.maximum(level[start + ATTACK_FRAMES : end], 1e-9))
        slopes.append(np.polyfit(np.arange(len(held)), held, 1)[0])
        tail = level[end : end + RELEASE_FRAMES] / level[max(end - 4, start) : end].mean()
        following = np.flatnonzero(sounding[end : end + RELEASE_FRAMES])
        if len(following):  # the next note starts: the tail is only known up to there
            tail[max(following[0] - 4, 1) :] = np.nan  # and its analysis windows reach back
        releases.append(tail)
        steady_octaves = np.median(octaves[start + ATTACK_FRAMES : end], axis=0)
        top = np.flatnonzero(steady_octaves >= 0.01 * steady_octaves.max())[-1]
        known = SLOPE_FRAMES if not len(following) else min(SLOPE_FRAMES, following[0] - 4)
        if known >= 3:
            fall = octaves[end - 1 : end + known, top] / max(steady_octaves[top], 1e-12)
            fall_db = 20.0 * np.log10(np.maximum(fall, 1e-9))
            stops.append(np.polyfit(np.arange(len(fall_db)), fall_db, 1)[0])
    if not attacks:
        return Envelope.flat()
    attack = np.clip(np.median(attacks, axis=0), 0.0, 4.0)
    with warnings.catch_warnings():  # frames no tail reaches are all NaN: no release there
        warnings.simplefilter("ignore", RuntimeWarning)
        release = np.clip(np.nan_to_num(np.nanmedian(np.array(releases), axis=0)), 0.0, 1.0)
    release = np.minimum.accumulate(release)  # a release only decays
    release[release < FLOOR] = 0.0
    last = np.flatnonzero(release > 0)
    release = release[: last[-1] + 1] if len(last) else release[:1] * 0.0
    frame_seconds = corpus.config.frame_seconds
    decay = min(float(np.median(slopes)) / frame_seconds, 0.0)
    stop = min(float(np.median(stops)) / frame_seconds, 0.0) if stops else 0.0
    return Envelope(
        tuple(round(float(v), 4) for v in attack),
        tuple(round(float(v), 4) for v in release),
        round(decay, 2),
        round(stop, 1),
    )
