"""``--instrument auto``: which shipped preset a recording needs.

The shipped chooser (:mod:`midivae.presets.chooser`, a classifier trained on many libraries'
frames and on mixed pairs of them) hears the first seconds of sound; the preset whose class
it gives the most probability over those frames is chosen. Where no chooser knows every
candidate (presets of the user's own), every candidate scores the frames by its signal
decoder's log-likelihood per bin; a mixture preset must then lead the solo presets clearly,
or lead while the widest mixture preset hears two voices that are not one instrument's
partials. The chosen preset's log-likelihood says whether it fits at all (``POOR_FIT``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from midivae.music import PARTIALS_UP_TO_8
from midivae.presets.chooser import shipped_chooser
from midivae.spectral import SpectralConfig

if TYPE_CHECKING:
    from midivae.presets.preset import Preset

AUTO_SECONDS = 10.0
#: ``auto`` scores every tenth sounding frame (116 ms apart, ~86 frames in 10 s): enough
#: frames for a stable choice at a fraction of the cost of scoring every frame with every
#: shipped preset (measurements: docs/experiments.md, "Auto choice").
AUTO_STRIDE = 10
#: Per-bin log-likelihood under which no preset is taken to fit: set between what a
#: recording's own preset scores and what another instrument's preset or noise scores
#: (measurements: docs/experiments.md, "Auto choice").
POOR_FIT = -1.5
#: A mixture preset is chosen when it fits this much better (per bin) than the best solo
#: preset, a margin over how far mixture presets come to the right solo preset on solos
#: (``python bench/transcribe_fluidr3.py auto`` prints these leads; measurements:
#: docs/experiments.md, "Auto choice") ...
MIXTURE_MARGIN = 0.3
#: ... or when it fits better at all and the widest mixture preset hears two or more voices
#: in this share of the frames: duets whose fit leads by less than the margin are still
#: sent to a mixture preset when two voices are heard in enough frames, which solos rarely
#: reach (same bench; measurements: docs/experiments.md, "Auto choice").
TWO_VOICES_SHARE = 0.1
SILENCE = 1e-4  # amplitude below which a frame is silent (-80 dBFS)


def fit_score(preset: Preset, compressed: np.ndarray) -> float:
    """Mean log-likelihood per bin of sounding frames under the preset (higher fits better)."""
    mu, _ = preset.encode_signal(compressed)
    return float(np.mean(preset.log_likelihood(compressed, mu)) / compressed.shape[1])


@dataclass
class Choice:
    """What ``auto`` chose: the preset, its fit (mean log-likelihood per bin of the frames
    heard) and each candidate's share of the chooser's probability (empty where the
    likelihoods chose)."""

    name: str
    fit: float
    shares: dict[str, float] = field(default_factory=dict)


def choose_preset(compressed: np.ndarray, amplitude: np.ndarray, names: list[str]) -> Choice:
    """The preset that the first ``AUTO_SECONDS`` of sound need (module docstring)."""
    from midivae.presets.preset import cached_preset

    frame_seconds = SpectralConfig().frame_seconds
    sounding = np.flatnonzero(amplitude.max(axis=1) > SILENCE)[: int(AUTO_SECONDS / frame_seconds)]
    if len(sounding) == 0:
        sounding = np.arange(min(len(compressed), int(AUTO_SECONDS / frame_seconds)))
    chooser = shipped_chooser()
    if chooser is not None and set(names) <= set(chooser.classes):
        columns = [chooser.classes.index(name) for name in names]
        shares = chooser.probabilities(compressed[sounding])[:, columns].mean(axis=0)
        best = names[int(np.argmax(shares))]
        fit = fit_score(cached_preset(best), compressed[sounding[::AUTO_STRIDE]])
        return Choice(best, fit, {n: float(s) for n, s in zip(names, shares, strict=True)})
    name, scores = _likeliest(compressed[sounding[::AUTO_STRIDE]], names)
    return Choice(name, scores[name])


def _likeliest(frames: np.ndarray, names: list[str]) -> tuple[str, dict[str, float]]:
    """The preset whose signal decoder fits ``frames`` best, and every preset's fit.

    A mixture preset must lead the best solo preset by ``MIXTURE_MARGIN``, or lead at all
    while the widest mixture preset hears two voices in ``TWO_VOICES_SHARE`` of the frames.
    """
    from midivae.presets.preset import cached_preset

    presets = {name: cached_preset(name) for name in names}
    scores = {name: fit_score(preset, frames) for name, preset in presets.items()}
    mixtures = [n for n in names if len(presets[n].instruments) > 1]
    solos = [n for n in names if n not in mixtures]
    if not mixtures or not solos:
        return max(scores, key=scores.get), scores
    solo = max(solos, key=scores.get)
    mixture = max(mixtures, key=scores.get)
    lead = scores[mixture] - scores[solo]
    if lead > MIXTURE_MARGIN:
        return mixture, scores
    widest = max(mixtures, key=lambda n: len(presets[n].instruments))
    if lead > 0 and voice_share(presets[widest], frames) >= TWO_VOICES_SHARE:
        return mixture, scores
    return solo, scores


def voice_share(preset: Preset, compressed: np.ndarray) -> float:
    """Share of frames in which a mixture preset hears two voices (slots with p > 0.5) whose
    most likely pitches are not a partial of one another (a unison, an octave, a twelfth...:
    one instrument's partials read as a second voice)."""
    from midivae.transcription.notes import slot_posteriors

    symbols = preset.read_signal(compressed)
    slots = [slot_posteriors(symbols, preset, s) for s in range(len(preset.instruments))]
    melodic = [(pitches, rest, p) for pitches, rest, p in slots if rest is not None]
    if len(melodic) < 2:
        return 0.0
    on = np.stack([rest < 0.5 for _, rest, _ in melodic], axis=1)
    pitch = np.stack([pitches[np.argmax(p, axis=1)] for pitches, _, p in melodic], axis=1)
    two = np.zeros(len(on), bool)
    for a in range(on.shape[1]):
        for b in range(a + 1, on.shape[1]):
            interval = np.abs(pitch[:, a] - pitch[:, b])
            two |= on[:, a] & on[:, b] & ~np.isin(interval, PARTIALS_UP_TO_8)
    return float(np.mean(two))
