"""Training the instrument chooser (:mod:`midivae.presets.chooser`) on library corpora.

Each class is a shipped preset. A solo preset's frames are its instrument's sounding frames
from a corpus that many libraries played (``corpora/<instrument>-all``); a mixture preset's
are two instruments' frames summed at a random balance (±10 dB), the pair sent to the
narrowest mixture preset with a slot for each (the alto sax with the violin to
``alto_sax-violin``, a flute with a trumpet to ``ensemble``). Every frame gets a random level
(−24..+12 dB) and a random tilt (±3 dB per octave, a microphone's or a room's colour), and
half of the frames a room's tail (the power of the item's earlier frames, decaying over an
RT60 of 0.2-2.5 s), so the chooser knows instruments rather than one library's level or
colour, and does not take a note ringing on under the next for a second voice. Every epoch
draws fresh frames and pairs; whole items are held out for the validation accuracy it
reports.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from midivae.errors import MidivaeError
from midivae.model.instrument_classifier import InstrumentClassifier
from midivae.presets.chooser import Chooser
from midivae.spectral import compress
from midivae.training.corpus.store import Corpus, load_corpus

#: Balance of a mixture's two voices (dB), level of every frame (dB), tilt (dB per octave).
BALANCE_DB, LEVEL_DB, TILT_DB = 10.0, (-24.0, 12.0), 3.0
#: Share of frames heard in a room, its RT60 (s) and its tail's level (dB against a steady
#: note's), and the frames back whose power the tail sums (geometric, up to ~1.5 s).
ROOM_SHARE, RT60_S, WET_DB = 0.5, (0.2, 2.5), (-12.0, 0.0)
ROOM_TAPS = tuple(int(t) for t in np.unique(np.round(np.geomspace(1, 128, 16))))


def sounding_frames(corpus: Corpus, excluded: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the corpus's sounding frames that no ``excluded`` library played, split by
    item into ``(train, validation)`` (validation from the training items where no item is
    left for it)."""
    names = [lib["name"] for lib in corpus.manifest.get("libraries", [])]
    keep = corpus.labels["pitch"] >= 0
    if "library" in corpus.labels:
        for name in excluded:
            if name in names:
                keep &= corpus.labels["library"] != names.index(name)
    train, validation = corpus.split(test_fraction=0.1, seed=0)
    train, validation = train[keep[train]], validation[keep[validation]]
    return train, validation if len(validation) else train  # a tiny corpus: too few items


def mixture_classes(presets: Mapping[str, Sequence[str]]) -> dict[tuple[str, str], str]:
    """Each pair of instruments -> the narrowest mixture preset that has a slot for both."""
    pairs = {}
    mixtures = sorted(
        (p for p, inst in presets.items() if len(inst) > 1), key=lambda p: len(presets[p])
    )
    for name in mixtures:
        for pair in itertools.combinations(sorted(presets[name]), 2):
            pairs.setdefault(pair, name)
    return pairs


def augmentation() -> dict[str, Any]:
    """The augmentation settings, as a chooser's provenance records them."""
    return {
        "balance_db": BALANCE_DB,
        "level_db": list(LEVEL_DB),
        "tilt_db": TILT_DB,
        "room_share": ROOM_SHARE,
        "rt60_s": list(RT60_S),
        "wet_db": list(WET_DB),
    }


class FrameDraws:
    """Random training frames for each class, drawn from the corpora's frames."""

    def __init__(
        self,
        corpora: Mapping[str, Corpus],
        presets: Mapping[str, Sequence[str]],
        excluded: Sequence[str],
    ) -> None:
        self.corpora = corpora
        self.classes = list(presets)
        self.rows = {inst: sounding_frames(c, excluded) for inst, c in corpora.items()}
        self.pairs = mixture_classes(presets)
        self.config = next(iter(corpora.values())).config
        octaves = (np.arange(self.config.n_bins) - self.config.n_bins / 2) / (
            self.config.bins_per_octave
        )
        self.octaves = octaves.astype(np.float32)
        for inst, (train, _) in self.rows.items():
            if not len(train):
                raise MidivaeError("no sounding frames left after the libraries left out", inst)

    def _amplitudes(self, inst: str, n: int, rng, part: int) -> np.ndarray:
        """``n`` random sounding frames of ``inst``, ``ROOM_SHARE`` of them in a room."""
        corpus = self.corpora[inst]
        rows = np.sort(rng.choice(self.rows[inst][part], n))
        amplitude = corpus.amplitudes(rows)
        roomy = rng.random(n) < ROOM_SHARE
        if roomy.any():
            amplitude[roomy] = self._in_room(corpus, rows[roomy], amplitude[roomy], rng)
        return amplitude[rng.permutation(n)]

    def _in_room(self, corpus: Corpus, rows: np.ndarray, amplitude: np.ndarray, rng) -> np.ndarray:
        """The frames as a room would let them be heard: each frame's power plus the tail of
        its item's earlier frames (power falling 60 dB over a random RT60; ``ROOM_TAPS``
        frames back, each standing for the frames up to the next), the tail at a random
        level against a steady note's."""
        frame_s = self.config.frame_seconds
        rt60 = rng.uniform(*RT60_S, (len(rows), 1))
        wet = 10 ** (rng.uniform(*WET_DB, (len(rows), 1)) / 10)
        items = corpus.labels["item"]
        tail = np.zeros_like(amplitude)
        total = np.zeros((len(rows), 1))
        for tap, following in zip(ROOM_TAPS, [*ROOM_TAPS[1:], 2 * ROOM_TAPS[-1]], strict=True):
            weight = 10 ** (-6.0 * tap * frame_s / rt60) * (following - tap)
            back = rows - tap
            same = (back >= 0) & (items[np.maximum(back, 0)] == items[rows])
            if same.any():
                tail[same] += weight[same] * corpus.amplitudes(back[same]) ** 2
            total += weight
        return np.sqrt(amplitude**2 + wet * tail / total).astype(np.float32)

    def draw(self, name: str, n: int, rng, part: int = 0) -> np.ndarray:
        """``n`` compressed frames of class ``name`` (``part`` 0: training items, 1:
        validation items), each at a random level and tilt."""
        pairs = [pair for pair, preset in self.pairs.items() if preset == name]
        if pairs:
            which = rng.integers(len(pairs), size=n)
            amplitude = np.empty((n, self.config.n_bins), np.float32)
            for k, (a, b) in enumerate(pairs):
                rows = np.flatnonzero(which == k)
                balance = 10 ** (rng.uniform(-BALANCE_DB, BALANCE_DB, (len(rows), 1)) / 20)
                amplitude[rows] = self._amplitudes(a, len(rows), rng, part) * balance
                amplitude[rows] += self._amplitudes(b, len(rows), rng, part) / balance
        else:
            amplitude = self._amplitudes(name, n, rng, part)
        level = (
            rng.uniform(*LEVEL_DB, (n, 1)) + rng.uniform(-TILT_DB, TILT_DB, (n, 1)) * self.octaves
        )
        return compress(amplitude * (10 ** (level / 20)).astype(np.float32), self.config)

    def batch(self, n_per_class: int, rng, part: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Frames of every class, ``n_per_class`` each, and their class indices."""
        frames = [self.draw(name, n_per_class, rng, part) for name in self.classes]
        labels = np.repeat(np.arange(len(self.classes)), n_per_class)
        return np.concatenate(frames), labels


def fit_chooser(
    corpora: Mapping[str, str | Path],
    presets: Mapping[str, Sequence[str]],
    *,
    excluded: Sequence[str] = (),
    epochs: int = 10,
    frames_per_class: int = 12000,
    seed: int = 0,
    command: str = "",
    log: Callable[[str], None] = print,
) -> Chooser:
    """Train a chooser that tells ``presets`` (name -> instruments) apart, on ``corpora``
    (instrument -> corpus folder) without the ``excluded`` libraries."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    loaded = {inst: load_corpus(folder) for inst, folder in corpora.items()}
    draws = FrameDraws(loaded, presets, excluded)
    config = {"channels": 16, "hidden": 64}
    spectral = draws.config
    model = InstrumentClassifier(spectral.n_bins, len(presets), spectral.bins_per_octave, **config)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs)
    val_frames, val_labels = draws.batch(1000, np.random.default_rng(seed + 1), part=1)
    accuracy = 0.0
    for epoch in range(epochs):
        frames, labels = draws.batch(frames_per_class, rng)
        order = rng.permutation(len(labels))
        model.train()
        total = 0.0
        for begin in range(0, len(order), 512):
            rows = order[begin : begin + 512]
            loss = F.cross_entropy(
                model(torch.as_tensor(frames[rows])), torch.as_tensor(labels[rows])
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(rows)
        schedule.step()
        model.eval()
        with torch.inference_mode():
            guesses = model(torch.as_tensor(val_frames)).argmax(dim=1).numpy()
        accuracy = float(np.mean(guesses == val_labels))
        log(f"epoch {epoch + 1}/{epochs} loss {total / len(order):.3f} validation {accuracy:.3f}")
    per_class = {
        name: float(np.mean(guesses[val_labels == k] == k)) for k, name in enumerate(presets)
    }
    meta: dict[str, Any] = {
        "classes": list(presets),
        "instruments": {name: list(inst) for name, inst in presets.items()},
        "spectral_config": spectral.to_dict(),
        "model_config": config,
        "provenance": {
            "command": command,
            "corpora": {inst: str(folder) for inst, folder in corpora.items()},
            "excluded_libraries": list(excluded),
            "epochs": epochs,
            "frames_per_class": frames_per_class,
            "augmentation": augmentation(),
            "seed": seed,
            "wall_seconds": round(time.perf_counter() - start, 1),
        },
        "metrics": {"validation_frame_accuracy": accuracy, "per_class": per_class},
    }
    return Chooser(model.eval(), meta, None)
