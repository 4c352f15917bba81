"""The training loop over in-memory frames: Adam, KL warm-up, plateau LR, early stopping.

Frames come from a ``FrameSource`` (compressed magnitudes, symbol vectors, a labelled mask);
features are computed per batch by ``model.features`` with optional training-time
augmentation of the spectrum (a detune, EQ tilt, a random smooth timbre curve, a random
low-pass damping of the upper partials, a noise floor) and,
separately, of the level input (gain jitter).
Deterministic from the seed on CPU.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from typing import Protocol

import numpy as np
import torch

from midivae.model.config import FeatureConfig
from midivae.model.cross import TERMS, CrossModalVAE
from midivae.model.features import amplitude_features, to_features

#: A batch: compressed magnitudes (n, n_bins) float32 (or sequences of them, (b, span, n_bins),
#: whose inner frames are read), symbols (n, width) float32, labelled (n,).
Batch = tuple[np.ndarray, np.ndarray, np.ndarray]


class FrameSource(Protocol):
    """Training frames: one pass of shuffled numpy batches per epoch."""

    def batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[Batch]: ...


@dataclass
class ArraySource:
    """Fixed frames in memory (one instrument's split, or a fixed mixture sample)."""

    magnitudes: np.ndarray  # (n, n_bins) compressed (float16 or float32)
    symbols: np.ndarray  # (n, width) float32
    labelled: np.ndarray  # (n,) bool
    #: With a context encoder: ``(sequences, margin + length + margin)`` rows of sequences
    #: whose inner ``length`` frames are read (:func:`midivae.model.context.sequence_rows`).
    sequences: np.ndarray | None = None
    margin: int = 0

    def __len__(self) -> int:
        return len(self.magnitudes)

    def batches(self, batch_size: int, rng: np.random.Generator | None) -> Iterator[Batch]:
        if self.sequences is not None:
            yield from self._sequence_batches(batch_size, rng)
            return
        n = len(self)
        order = rng.permutation(n) if rng is not None else np.arange(n)
        for start in range(0, n, batch_size):
            idx = (
                np.sort(order[start : start + batch_size])
                if rng is None
                else order[start : start + batch_size]
            )
            yield (self.magnitudes[idx].astype(np.float32), self.symbols[idx], self.labelled[idx])

    def _sequence_batches(self, batch_size: int, rng: np.random.Generator | None):
        """Batches of whole sequences, about ``batch_size`` frames read each; a frame that
        two sequences hold (a short last one repeats its segment's last row) counts twice."""
        span = self.sequences.shape[1]
        length = span - 2 * self.margin
        per_batch = max(1, batch_size // length)
        n = len(self.sequences)
        order = rng.permutation(n) if rng is not None else np.arange(n)
        for start in range(0, n, per_batch):
            rows = self.sequences[order[start : start + per_batch]]
            inner = rows[:, self.margin : span - self.margin].reshape(-1)
            mags = self.magnitudes[rows].astype(np.float32)
            yield (mags, self.symbols[inner], self.labelled[inner])


def _tensors(batch: Batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    mags, y, lab = batch
    return (
        torch.from_numpy(np.ascontiguousarray(mags, np.float32)),
        torch.from_numpy(np.ascontiguousarray(y, np.float32)).to(device),
        torch.from_numpy(np.ascontiguousarray(lab, bool)).to(device),
    )


@dataclass
class FitSettings:
    """Optimisation and augmentation settings (stored in the preset's provenance)."""

    max_epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    lr_patience: int = 2
    lr_factor: float = 0.5
    patience: int = 5
    min_epochs: int = 0
    detune_cents: float = 0.0
    tilt_db_per_octave: float = 1.5
    timbre_db: float = 6.0
    damping_db_per_octave: float = 24.0
    damping_probability: float = 0.5
    noise_floor_db: tuple[float, float] | None = (-110.0, -75.0)
    noise_probability: float = 0.5
    level_jitter_db: float = 0.0
    select_on: str = "total"
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FitSettings:
        """Settings recorded in a preset; an augmentation it does not name did not exist yet."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("noise_floor_db") is not None:
            values["noise_floor_db"] = tuple(values["noise_floor_db"])
        values.setdefault("damping_db_per_octave", 0.0)
        return cls(**values)


@dataclass
class FitResult:
    """What training did: per-epoch history, the best epoch, timings."""

    history: list[dict[str, float]]
    best_epoch: int
    epochs_run: int
    seconds: float
    stopped_early: bool


def pick_device(name: str) -> torch.device:
    """``auto`` = CUDA when present, else CPU."""
    from midivae.errors import MidivaeError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise MidivaeError("CUDA is not available on this machine", "--device")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed torch (model initialisation); batches and mixtures take numpy seeds."""
    torch.manual_seed(seed)


def batch_features(
    magnitudes: torch.Tensor,
    features: FeatureConfig,
    frequencies: torch.Tensor,
    settings: FitSettings,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Features of a batch, augmented when ``generator`` is given (training); a window's
    frames share their draws (one instrument, room and microphone per window)."""
    augmented = (
        settings.detune_cents
        or settings.tilt_db_per_octave
        or settings.timbre_db
        or settings.damping_db_per_octave
        or settings.level_jitter_db
        or settings.noise_floor_db
    )
    if generator is None or not augmented:
        return to_features(magnitudes, features)
    n = len(magnitudes)
    amplitude = torch.expm1(magnitudes.clamp_min(0.0)) / features.log_gain

    def each(values: torch.Tensor) -> torch.Tensor:
        """Per-sample draws ``(n, ...)`` broadcast over a window's frames."""
        return values[:, None] if amplitude.dim() == 3 else values

    if settings.detune_cents:
        amplitude = detuned(amplitude, settings.detune_cents, frequencies, generator)
    if settings.noise_floor_db:
        amplitude = add_noise_floor(amplitude, frequencies, settings, generator)
    level = None
    if features.mode == "normalised":
        rms = amplitude.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-12)
        level = 20.0 * torch.log10(rms).clamp_min(features.floor_db)
        if settings.level_jitter_db:
            jitter = torch.rand(n, 1, generator=generator) * 2.0 - 1.0
            level = level + settings.level_jitter_db * each(jitter)
    if settings.tilt_db_per_octave:
        tilt = (torch.rand(n, 1, generator=generator) * 2.0 - 1.0) * settings.tilt_db_per_octave
        octaves = torch.log2(frequencies / 1000.0)[None, :]
        amplitude = amplitude * each(torch.pow(10.0, tilt * octaves / 20.0))
    if settings.timbre_db:
        curves = timbre_curves(n, frequencies, settings.timbre_db, generator)
        amplitude = amplitude * each(torch.pow(10.0, curves / 20.0))
    if settings.damping_db_per_octave:
        curves = damping_curves(n, frequencies, settings, generator)
        amplitude = amplitude * each(torch.pow(10.0, curves / 20.0))
    return amplitude_features(amplitude, features, level_db=level)


def detuned(
    amplitude: torch.Tensor, cents: float, frequencies: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Frames ``(n, n_bins)`` or windows ``(n, span, n_bins)`` shifted along the constant-Q
    axis by a random offset in ``[-cents, cents]`` each (linear interpolation between bins,
    silence past the edges).

    No player is exactly in tune: a whole take may sit off A4 = 440 Hz, and every note of a
    violin or a sax is placed by ear a few cents off its neighbours. Sample libraries are
    tuned to the cent, so without this the reading model learns each pitch at one exact bin
    and reads a note 10 cents off with far less confidence.
    """
    n, n_bins = len(amplitude), amplitude.shape[-1]
    bins_per_octave = (n_bins - 1) / math.log2(float(frequencies[-1] / frequencies[0]))
    shift = (torch.rand(n, 1, generator=generator) * 2.0 - 1.0) * cents * bins_per_octave / 1200
    source = torch.arange(n_bins, dtype=amplitude.dtype)[None, :] - shift
    low = source.floor()
    frac = (source - low).view(n, *(1,) * (amplitude.dim() - 2), n_bins)
    inside = ((source >= 0) & (source <= n_bins - 1)).view_as(frac)
    low = low.long().clamp(0, n_bins - 1)
    high = (low + 1).clamp_max(n_bins - 1)

    def at(index: torch.Tensor) -> torch.Tensor:
        return amplitude.gather(-1, index.view_as(frac).expand_as(amplitude))

    return torch.where(inside, at(low) * (1.0 - frac) + at(high) * frac, 0.0)


def damping_curves(
    n: int, frequencies: torch.Tensor, settings: FitSettings, generator: torch.Generator
) -> torch.Tensor:
    """Random low-pass gain curves in dB over the bins, for a share of ``n`` frames.

    A soft hammer or bow, a mute, a darker microphone or room: the upper partials fall
    off above a corner (log-uniform 80 Hz-5 kHz) by up to
    ``settings.damping_db_per_octave`` per octave (uniform). Sample libraries often keep one
    timbre at every dynamic level (FluidR3's grand piano does), where real soft notes are
    duller; the frame level stays the undamped one, so dynamics are still read from it.
    """
    corner = 80.0 * (5000.0 / 80.0) ** torch.rand(n, 1, generator=generator)
    slope = settings.damping_db_per_octave * torch.rand(n, 1, generator=generator)
    above = torch.log2(frequencies[None, :] / corner).clamp_min(0.0)
    chosen = torch.rand(n, 1, generator=generator) < settings.damping_probability
    return torch.where(chosen, -slope * above, torch.zeros_like(above))


def add_noise_floor(
    amplitude: torch.Tensor,
    frequencies: torch.Tensor,
    settings: FitSettings,
    generator: torch.Generator,
) -> torch.Tensor:
    """Add a random steady noise floor to a share of the frames (power sum).

    Real recordings hiss and hum where the sample libraries are silent. The floor's frame
    level is drawn in ``settings.noise_floor_db`` (dB of frame RMS, in the units where a
    sounding FluidR3 frame is around -60 dB: 15-50 dB under the notes), its colour between
    pink (flat over constant-Q bins) and white (rising 3 dB per octave), with Rayleigh
    fluctuations per bin. Rests with noise stay rests: the model learns that a floor is not
    a note.
    """
    n = len(amplitude)
    window = (1,) * (amplitude.dim() - 2)  # a window's frames share the floor's level, colour
    low, high = settings.noise_floor_db
    level = low + (high - low) * torch.rand(n, 1, generator=generator).view(n, *window, 1)
    colour = 0.5 * torch.rand(n, 1, generator=generator).view(n, *window, 1)
    shape = torch.pow(frequencies / 1000.0, colour)
    shape = shape / shape.pow(2).mean(-1, keepdim=True).sqrt()
    uniform = torch.rand(amplitude.shape, generator=generator).clamp_min(1e-12)
    rayleigh = torch.sqrt(-torch.log(uniform))  # E[r^2] = 1
    noise = torch.pow(10.0, level / 20.0) * shape * rayleigh
    chosen = torch.rand(n, 1, generator=generator).view(n, *window, 1) < settings.noise_probability
    return torch.where(chosen, torch.sqrt(amplitude.pow(2) + noise.pow(2)), amplitude)


def timbre_curves(
    n: int, frequencies: torch.Tensor, db: float, generator: torch.Generator, waves: int = 3
) -> torch.Tensor:
    """``n`` random smooth gain curves in dB over the bins, RMS uniform in ``[0, db]``.

    Each curve is a sum of ``waves`` cosines over log-frequency with periods of 1 to 6
    octaves and random phases: a different instrument body / microphone / sample set, so the
    model has to read pitch from where the partials are rather than from one timbre.
    """
    octaves = torch.log2(frequencies / 1000.0)[None, None, :]
    periods = 1.0 + 5.0 * torch.rand(n, waves, 1, generator=generator)
    phases = 2.0 * math.pi * torch.rand(n, waves, 1, generator=generator)
    weights = torch.randn(n, waves, 1, generator=generator)
    curves = (weights * torch.cos(2.0 * math.pi * octaves / periods + phases)).sum(1)
    rms = curves.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-6)
    return curves / rms * (db * torch.rand(n, 1, generator=generator))


def evaluate_loss(
    model: CrossModalVAE,
    source: ArraySource,
    features: FeatureConfig,
    frequencies: torch.Tensor,
    settings: FitSettings,
    device: torch.device,
) -> dict[str, float]:
    """Mean loss terms at full KL weight, posterior means (deterministic)."""
    model.eval()
    sums, count = dict.fromkeys(TERMS, 0.0), 0
    with torch.no_grad():
        for batch in source.batches(4096, None):
            mags, y, lab = _tensors(batch, device)
            x = batch_features(mags, features, frequencies, settings, None)
            terms = model.loss(x.to(device), y, beta=1.0, labelled=lab)
            for name, value in terms.as_dict().items():
                sums[name] += value * len(y)
            count += len(y)
    return {name: value / max(count, 1) for name, value in sums.items()}


def fit(
    model: CrossModalVAE,
    train: FrameSource,
    validation: ArraySource,
    features: FeatureConfig,
    frequencies: np.ndarray,
    settings: FitSettings,
    *,
    device: torch.device | str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> FitResult:
    """Train ``model`` in place; restores the weights of the best validation epoch.

    Only parameters that require gradients move (``CrossModalVAE.freeze_writing_half``).
    """
    say = progress or (lambda message: None)
    device = torch.device(device)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed + 1)
    freqs = torch.as_tensor(frequencies, dtype=torch.float32)
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=settings.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=settings.lr_factor, patience=settings.lr_patience
    )
    warmup = max(model.config.warmup_epochs, 0)
    history: list[dict[str, float]] = []
    best, best_epoch, best_state, waited = math.inf, 0, None, 0
    start = time.perf_counter()
    stopped_early = False
    for epoch in range(1, settings.max_epochs + 1):
        tic = time.perf_counter()
        beta = min(1.0, epoch / warmup) if warmup else 1.0
        model.train()
        sums, count = dict.fromkeys(TERMS, 0.0), 0
        for batch in train.batches(settings.batch_size, rng):
            mags, y, lab = _tensors(batch, device)
            x = batch_features(mags, features, freqs, settings, generator)
            terms = model.loss(x.to(device), y, beta=beta, labelled=lab)
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            optimizer.step()
            for name, value in terms.as_dict().items():
                sums[name] += value * len(y)
            count += len(y)
        val = evaluate_loss(model, validation, features, freqs, settings, device)
        row = {
            "epoch": epoch,
            "beta": beta,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - tic,
        }
        row |= {f"train_{k}": v / max(count, 1) for k, v in sums.items()}
        row |= {f"val_{k}": v for k, v in val.items()}
        history.append(row)
        say(_epoch_line(row, settings.max_epochs))
        if epoch >= warmup:  # the objective is fixed from here on
            scheduler.step(val[settings.select_on])
            if val[settings.select_on] < best:
                best, best_epoch, waited = val[settings.select_on], epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
                if waited >= settings.patience and epoch >= settings.min_epochs:
                    stopped_early = True
                    say(f"early stop: no better validation loss for {waited} epochs")
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
    return FitResult(history, best_epoch, len(history), time.perf_counter() - start, stopped_early)


def _epoch_line(row: dict[str, float], max_epochs: int) -> str:
    short = {
        "signal_rec": "sig",
        "signal_kl": "sigKL",
        "symbol_rec": "sym",
        "symbol_kl": "symKL",
        "match": "match",
        "cross": "cross",
    }
    train = " ".join(f"{s} {row['train_' + k]:.2f}" for k, s in short.items())
    return (
        f"epoch {int(row['epoch'])}/{max_epochs} {row['seconds']:.1f}s beta {row['beta']:.2f} "
        f"lr {row['lr']:.1e} | train {row['train_total']:.2f} ({train}) | "
        f"val {row['val_total']:.2f} (sig {row['val_signal_rec']:.2f} "
        f"sym {row['val_symbol_rec']:.3f} match {row['val_match']:.2f})"
    )
