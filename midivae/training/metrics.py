"""Scores of decoded symbols and spectra, numpy only (used by ``evaluate``).

Success ratios per symbol family on frames where the family's slot sounds, loose ratios for
mixtures, Itakura-Saito divergence of spectra, and the dynamics order of rendered notes.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from midivae.music import dynamics_class
from midivae.symbols import Vocabulary

#: The paper's families, in table order.
PAPER_FAMILIES = ("pitch_class", "octave", "dynamics")


def itakura_saito_divergence(
    original: np.ndarray, estimate: np.ndarray, log_gain: float
) -> np.ndarray:
    """Itakura-Saito divergence per frame (mean over bins) of compressed magnitude frames."""
    floor = 1e-8  # power floor (-80 dB amplitude)
    p = (np.expm1(np.clip(original, 0, None)) / log_gain) ** 2 + floor
    q = (np.expm1(np.clip(estimate, 0, None)) / log_gain) ** 2 + floor
    ratio = p / q
    return np.mean(ratio - np.log(ratio) - 1.0, axis=1)


def _decoded(vocab: Vocabulary, probs: np.ndarray) -> dict[str, np.ndarray]:
    """Decoded label values per family key, plus pitch class / octave derived from ``pitch``."""
    out = vocab.decode(probs)
    for family in vocab.families:
        if family.name == "pitch":
            pitch = out[vocab.key(family)]
            base = vocab.key(family)[: -len("pitch")]
            out[base + "pitch_class~pitch"] = np.where(pitch >= 0, pitch % 12, 12)
            out[base + "octave~pitch"] = np.where(pitch >= 0, pitch // 12 - 1, -1)
        if family.kind == "continuous":
            velocity = out[vocab.key(family)]
            base = vocab.key(family)[: -len(family.name)]
            out[base + "dynamics~velocity"] = dynamics_class(velocity)
    return out


def family_scores(vocab: Vocabulary, probs: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Success ratios per family on frames where the family's slot sounds (and rest accuracy).

    ``truth`` are symbol vectors (``vocab.encode``); continuous families give the mean
    absolute velocity error (MIDI units) as ``velocity_mae``; Bernoulli families a frame F1.
    """
    pred, true = _decoded(vocab, probs), _decoded(vocab, truth)
    scores: dict[str, float] = {}
    for slot, _ in enumerate(vocab.instruments):
        prefix = vocab.slot_prefix(slot)
        sounding = _sounding(vocab, truth, slot)
        for key in pred:
            if not key.startswith(prefix) or (prefix == "" and "." in key):
                continue
            name = key[len(prefix) :]
            p, t = pred[key][sounding], true[key][sounding]
            if not len(p):
                continue
            if name == "velocity":
                scores[key + "_mae"] = float(np.mean(np.abs(p - t)))
            elif p.ndim == 2:
                hits = (p & t).sum()
                scores[key + "_f1"] = float(2 * hits / max(p.sum() + t.sum(), 1))
            else:
                scores[key] = float(np.mean(p == t))
        if prefix + "pitch_class" in pred:
            said = pred[prefix + "pitch_class"] != 12
            scores[prefix + "sounding"] = float(np.mean(said == sounding))
    return scores


def _sounding(vocab: Vocabulary, truth: np.ndarray, slot: int) -> np.ndarray:
    for index, family in enumerate(vocab.families):
        if family.slot != slot:
            continue
        block = truth[:, vocab.span(index)]
        if family.has_rest:
            return block[:, -1] < 0.5
        if family.kind == "bernoulli":
            return block.any(axis=1)
    return np.ones(len(truth), dtype=bool)


def loose_scores(vocab: Vocabulary, probs: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mixtures: a slot's label counts as correct when any sounding slot has that label."""
    pred, true = _decoded(vocab, probs), _decoded(vocab, truth)
    scores = {}
    for name in (*PAPER_FAMILIES, "pitch"):
        keys = [f"{inst}.{name}" for inst in vocab.instruments if f"{inst}.{name}" in pred]
        if len(keys) < 2:
            continue
        sounding = np.stack([_sounding(vocab, truth, s) for s in range(vocab.n_slots)], 1)
        truths = np.stack([np.where(sounding[:, s], true[k], -99) for s, k in enumerate(keys)], 1)
        hits, total = 0, 0
        for slot, key in enumerate(keys):
            rows = sounding[:, slot]
            hits += int(np.sum(np.any(truths[rows] == pred[key][rows, None], axis=1)))
            total += int(rows.sum())
        scores[f"{name}_loose"] = hits / max(total, 1)
    return scores


def dynamics_order(value: np.ndarray, velocity: np.ndarray, group: np.ndarray) -> dict[str, float]:
    """How often an estimate orders the same note's renders as their velocities.

    ``value``, ``velocity`` and ``group`` are per rendered note (e.g. the mean decoded
    velocity over its frames, its MIDI velocity, a key for pitch x duration). Returns the
    pairwise ratio and the ratio of groups whose whole order is right.
    """
    pairs = right = groups = whole = 0
    for key in np.unique(group):
        members = np.flatnonzero(group == key)
        if len(members) < 2:
            continue
        ok = [
            (value[a] - value[b]) * (velocity[a] - velocity[b]) > 0
            for a, b in combinations(members, 2)
            if velocity[a] != velocity[b]
        ]
        pairs, right = pairs + len(ok), right + sum(ok)
        groups, whole = groups + 1, whole + all(ok)
    return {"pairwise": right / max(pairs, 1), "whole": whole / max(groups, 1), "groups": groups}


def note_means(
    values: np.ndarray, item: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` over each item's selected frames: ``(items, means)``."""
    ids, inverse = np.unique(item[rows], return_inverse=True)
    sums = np.zeros((len(ids), *values.shape[1:]))
    np.add.at(sums, inverse, values[rows])
    counts = np.bincount(inverse, minlength=len(ids)).reshape(-1, *([1] * (values.ndim - 1)))
    return ids, sums / counts
