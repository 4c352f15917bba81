"""``--instrument auto``: which shipped preset a recording needs.

The shipped chooser (:mod:`midivae.presets.chooser`, a classifier trained on many libraries'
frames and on mixed pairs of them) hears the first seconds of sound; the preset whose class
it gives the most probability over those frames is chosen. Where no chooser knows every
candidate (presets of the user's own), every candidate scores the frames by its signal
decoder's log-likelihood per bin and the best fit is chosen. The chosen preset's
log-likelihood says whether it fits at all (``POOR_FIT``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from midivae.presets.chooser import shipped_chooser
from midivae.presets.preset import cached_preset
from midivae.spectral import SpectralConfig

if TYPE_CHECKING:
    from midivae.presets.chooser import Chooser
    from midivae.presets.preset import Preset

AUTO_SECONDS = 10.0
#: Likelihoods are scored on every tenth sounding frame (116 ms apart, ~86 frames in 10 s):
#: enough for a stable fit at a fraction of the cost of every frame (measurements:
#: docs/experiments.md, "Auto choice"); the chooser hears every sounding frame.
AUTO_STRIDE = 10
#: Per-bin log-likelihood under which no preset is taken to fit: set between what a
#: recording's own preset scores and what another instrument's preset or noise scores
#: (measurements: docs/experiments.md, "Auto choice").
POOR_FIT = -1.5
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


def choose_preset(
    compressed: np.ndarray,
    amplitude: np.ndarray,
    names: list[str],
    chooser: Chooser | None = None,
) -> Choice:
    """The preset that the first ``AUTO_SECONDS`` of sound need (module docstring), asking
    ``chooser`` (default: the shipped one)."""
    frame_seconds = SpectralConfig().frame_seconds
    sounding = np.flatnonzero(amplitude.max(axis=1) > SILENCE)[: int(AUTO_SECONDS / frame_seconds)]
    if len(sounding) == 0:
        sounding = np.arange(min(len(compressed), int(AUTO_SECONDS / frame_seconds)))
    scored = compressed[sounding[::AUTO_STRIDE]]  # the frames the likelihoods score
    chooser = chooser or shipped_chooser()
    if chooser is not None and set(names) <= set(chooser.classes):
        columns = [chooser.classes.index(name) for name in names]
        shares = chooser.probabilities(compressed[sounding])[:, columns].mean(axis=0)
        best = names[int(np.argmax(shares))]
        fit = fit_score(cached_preset(best), scored)
        return Choice(best, fit, {n: float(s) for n, s in zip(names, shares, strict=True)})
    fits = {name: fit_score(cached_preset(name), scored) for name in names}
    best = max(fits, key=fits.get)
    return Choice(best, fits[best])
