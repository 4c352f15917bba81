"""Mixtures made at training time (paper §4.1): sums of random frames of several instruments.

Frames of different solo corpora are combined by power sum of their linear amplitudes
(``sqrt(sum a_k ** 2)``, independent phases); each instrument keeps one label slot, in a
fixed instrument order, and a slot is rest when its instrument is silent (not drawn, or
drawn on a rest frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from midivae.errors import MidivaeError
from midivae.spectral import SpectralConfig, compress
from midivae.training.corpus.labels import REST_CLASS
from midivae.training.corpus.store import Corpus

#: Per-slot labels a mixture carries, with their rest values.
SLOT_LABELS: dict[str, int] = {
    "pitch": -1,
    "velocity": 0,
    "onset": 0,
    "pitch_class": REST_CLASS,
    "octave": -1,
    "dynamics": -1,
}


@dataclass
class MixtureBatch:
    """A batch of mixed frames.

    Attributes
    ----------
    magnitudes : np.ndarray, shape (n, n_bins), float32
        Compressed amplitudes (``spectral.compress``) of the mixtures.
    labels : dict[str, np.ndarray]
        Each ``(n, n_slots)``: ``pitch``, ``velocity``, ``onset``, ``pitch_class``,
        ``octave``, ``dynamics`` per instrument slot (rest values when silent).
    active : np.ndarray, shape (n, n_slots), bool
        Which instruments were drawn into each mixture (even if on a rest frame).
    frames : np.ndarray, shape (n, n_slots), int64
        The frame drawn from each slot's corpus (-1 when not drawn).
    """

    magnitudes: np.ndarray
    labels: dict[str, np.ndarray]
    active: np.ndarray
    frames: np.ndarray


class MixtureSampler:
    """Draw mixtures of frames from solo corpora, one label slot per instrument.

    Parameters
    ----------
    corpora : sequence of Corpus
        One solo corpus per instrument, in slot order (e.g. alto_sax, violin).
    sources : sequence of int, optional
        How many instruments sound in a mixture, drawn uniformly per mixture; the default
        is all of them (the paper's case). ``(1, 2)`` gives solos and duets (ensemble).
    indices : sequence of arrays, optional
        Frame indices each corpus may draw from (e.g. its training split); default all.
    level_db : float
        Each drawn source is scaled by a uniform random gain in ``[-level_db, level_db]``
        (0 keeps every instrument at its calibrated reference level).
    seed : int
        Seed of the sampler's random generator.
    """

    def __init__(
        self,
        corpora: Sequence[Corpus],
        *,
        sources: Sequence[int] | None = None,
        indices: Sequence[np.ndarray] | None = None,
        level_db: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not corpora:
            raise MidivaeError("a mixture needs at least one corpus")
        configs = {c.config for c in corpora}
        if len(configs) != 1:
            raise MidivaeError("mixed corpora were analysed with different spectral configs")
        self.corpora = list(corpora)
        self.config: SpectralConfig = configs.pop()
        self.instruments = tuple(c.instrument for c in corpora)
        self.sources = tuple(sources) if sources is not None else (len(corpora),)
        if not all(1 <= s <= len(corpora) for s in self.sources):
            raise MidivaeError(f"sources must lie in 1..{len(corpora)}, got {self.sources}")
        self.indices = (
            [np.arange(c.n_frames) for c in corpora]
            if indices is None
            else [np.asarray(i, dtype=np.int64) for i in indices]
        )
        self.level_db = level_db
        self.rng = np.random.default_rng(seed)

    def sample(self, n: int) -> MixtureBatch:
        """``n`` mixtures of random frames."""
        n_slots = len(self.corpora)
        active = np.zeros((n, n_slots), dtype=bool)
        counts = self.rng.choice(self.sources, size=n)
        for row, count in enumerate(counts):
            active[row, self.rng.choice(n_slots, size=count, replace=False)] = True
        frames = np.full((n, n_slots), -1, dtype=np.int64)
        power = np.zeros((n, self.config.n_bins), dtype=np.float32)
        labels = {
            name: np.full((n, n_slots), rest, dtype=np.int16 if name != "onset" else bool)
            for name, rest in SLOT_LABELS.items()
        }
        for slot, corpus in enumerate(self.corpora):
            rows = np.flatnonzero(active[:, slot])
            picked = self.rng.choice(self.indices[slot], size=len(rows))
            frames[rows, slot] = picked
            amplitude = corpus.amplitudes(picked)
            if self.level_db:
                db = self.rng.uniform(-self.level_db, self.level_db, size=(len(rows), 1))
                amplitude = amplitude * (10.0 ** (db / 20.0)).astype(np.float32)
            power[rows] += amplitude**2
            for name in SLOT_LABELS:
                labels[name][rows, slot] = corpus.labels[name][picked]
        magnitudes = compress(np.sqrt(power), self.config)
        return MixtureBatch(magnitudes, labels, active, frames)
