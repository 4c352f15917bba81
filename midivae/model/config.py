"""Model and feature configs: frozen dataclasses stored in every preset, and the named configs.

``paper`` reproduces the paper's sizes (latent 32, signal 2 x 2000, symbol 2 x 800;
``paper-mixture`` 5000 / 800, ``paper-mixture3`` 5000 / 1500); ``compact``, ``compact-wide`` and
``compact-mixture`` are the shipped sizes, chosen by measurement (see docs/experiments.md); they add
the cross term (symbols decoded from ``q(z|x)``), which measured better dynamics and note / rest
decisions on the held-in split. ``compact-mixture-fixed`` (with ``fixed_match_target``) is the
ensemble's; ``compact-fixed`` is measured, not shipped. No torch here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from midivae.errors import MidivaeError


@dataclass(frozen=True)
class FeatureConfig:
    """How compressed magnitude frames become model inputs (same function in training and use).

    ``mode="compressed"``: the corpus's ``log1p(log_gain * a)`` frames as they are (the paper).
    ``mode="normalised"``: ``log1p(norm_gain * a / rms(a))`` plus one calibrated level input
    ``(20 log10 rms(a) - level_ref_db) / level_scale_db`` (absolute level at the corpus's
    render gain), so level and timbre are separate inputs.
    """

    mode: str = "normalised"
    log_gain: float = 1000.0
    norm_gain: float = 100.0
    level_ref_db: float = -70.0
    level_scale_db: float = 20.0
    floor_db: float = -100.0

    def __post_init__(self) -> None:
        if self.mode not in ("compressed", "normalised"):
            raise MidivaeError(f"feature config: unknown mode {self.mode!r}")

    def n_features(self, n_bins: int) -> int:
        return n_bins + (self.mode == "normalised")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return _from_dict(cls, data, "feature config")


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and loss weights of a cross-modal VAE.

    Attributes
    ----------
    latent : int
        Latent dimensions shared by both VAEs.
    signal_hidden, symbol_hidden : tuple of int
        Hidden layer widths of the signal / symbol encoders (decoders mirror them).
    match_weight : float
        Weight of ``KL(q(z|x) || q(z|y))`` (10 in the paper).
    cross_weight : float
        Weight of an extra symbol likelihood decoded from ``z ~ q(z|x)`` (0 = the paper).
    warmup_epochs : int
        Epochs over which the prior KL weight rises from 0 to 1.
    velocity_sigma : float
        Standard deviation of the Gaussian likelihood of the continuous velocity (in [0, 1]).
    fixed_match_target : bool
        The matching term moves only the signal encoder: ``q(z|y)`` is its fixed target
        (gradient stopped). With both moved (the paper), the term (x10) keeps ``q(z|y)`` as
        vague as ``q(z|x)``, and the symbol VAE loses what it should encode (measurements:
        docs/experiments.md, "How much the symbol side may know").
    context : tuple of int
        Frame offsets the signal encoder hears around the frame it reads
        (:class:`midivae.model.context.ContextEncoder`); empty: one frame through an MLP (the
        paper). The signal decoder always gives the frame read.
    harmonics : tuple of float
        Partials the context encoder stacks (ratios to the fundamental).
    conv_channels : int
        Channels of the context encoder's convolutions.
    key_latent : int
        Latent dimensions of each key of a key family (:mod:`midivae.model.keyed`), beside
        the ``latent`` of the whole frame; 0: one latent for everything.
    """

    name: str = "compact"
    latent: int = 32
    signal_hidden: tuple[int, ...] = (1024, 512)
    symbol_hidden: tuple[int, ...] = (256, 256)
    match_weight: float = 10.0
    cross_weight: float = 0.0
    warmup_epochs: int = 10
    velocity_sigma: float = 0.05
    fixed_match_target: bool = False
    context: tuple[int, ...] = ()
    harmonics: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
    conv_channels: int = 16
    key_latent: int = 0

    def __post_init__(self) -> None:
        """Every field of the right type and within what a preset can hold (a preset.json
        claiming 10^9 hidden units must fail here, not in torch's allocator)."""
        _bounded(self, "latent", self.latent, 1, 4096)
        for name in ("signal_hidden", "symbol_hidden"):
            widths = getattr(self, name)
            if not isinstance(widths, tuple) or not 1 <= len(widths) <= 8:
                raise MidivaeError(f"model config: {name} must be 1 to 8 widths")
            for width in widths:
                _bounded(self, name, width, 1, 16384)
        for name in ("match_weight", "cross_weight", "velocity_sigma"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MidivaeError(f"model config: {name} must be a number, not {value!r}")
            if not math.isfinite(value) or value < 0:
                raise MidivaeError(f"model config: {name} must be finite and >= 0")
        _bounded(self, "warmup_epochs", self.warmup_epochs, 0, 10000)
        if not isinstance(self.fixed_match_target, bool):
            raise MidivaeError("model config: fixed_match_target must be true or false")
        if len(self.context) > 64 or any(not -64 <= o <= 64 for o in self.context):
            raise MidivaeError("model config: context must be at most 64 offsets within ±64")
        if self.context and 0 not in self.context:
            raise MidivaeError("model config: context must hold the frame read (offset 0)")
        if not 1 <= len(self.harmonics) <= 32 or any(
            not (isinstance(h, float) and math.isfinite(h) and 0 < h <= 64) for h in self.harmonics
        ):
            raise MidivaeError("model config: harmonics must be 1 to 32 ratios in (0, 64]")
        _bounded(self, "conv_channels", self.conv_channels, 1, 256)
        _bounded(self, "key_latent", self.key_latent, 0, 64)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        data = dict(data)
        for key in ("signal_hidden", "symbol_hidden", "context", "harmonics"):
            if key in data:
                if not isinstance(data[key], list | tuple):
                    raise MidivaeError(f"model config: {key} must be a list")
                data[key] = tuple(data[key])
        if "harmonics" in data and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in data["harmonics"]
        ):
            data["harmonics"] = tuple(float(v) for v in data["harmonics"])
        return _from_dict(cls, data, "model config")


def _bounded(config: Any, name: str, value: Any, low: int, high: int) -> None:
    """A MidivaeError unless ``value`` is an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MidivaeError(f"model config: {name} must be a whole number in {low}..{high}")


def _from_dict(cls, data: dict[str, Any], what: str):
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise MidivaeError(f"{what}: unknown keys {sorted(unknown)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise MidivaeError(f"{what}: {exc}") from None


#: The context configs' frame offsets.
TEMPORAL = (-8, -6, -4, -2, -1, 0, 1, 2, 4, 6, 8)

#: Named configs: the paper's sizes (reproducible) and the shipped compact ones.
CONFIGS: dict[str, ModelConfig] = {
    c.name: c
    for c in (
        ModelConfig("paper", 32, (2000, 2000), (800, 800), warmup_epochs=100),
        ModelConfig("paper-mixture", 32, (5000, 5000), (800, 800), warmup_epochs=100),
        ModelConfig("paper-mixture3", 32, (5000, 5000), (1500, 1500), warmup_epochs=100),
        ModelConfig("compact", cross_weight=1.0),
        # compact with the matching term as a fixed target: a sharper symbol side and better
        # frame figures on the violin, fewer right notes in its phrases (measurements:
        # docs/experiments.md, "How much the symbol side may know")
        ModelConfig("compact-fixed", cross_weight=1.0, fixed_match_target=True),
        # a wider latent and symbol side, the signal -> symbol path weighted up: the piano's
        # 88 independent keys; its KL warm-up runs 25 epochs, so that the best validation
        # epoch is not the first at full weight (measurements: docs/experiments.md, "Piano")
        ModelConfig(
            "compact-wide", 64, (1024, 512), (512, 512), cross_weight=5.0, warmup_epochs=25
        ),
        ModelConfig("compact-mixture", 48, (1536, 768), (512, 512), cross_weight=1.0),
        # the shipped ensemble: the matching term moving its four slots' symbol VAE cost
        # most of what that VAE encodes (measurements: docs/experiments.md, "How much the
        # symbol side may know")
        ModelConfig(
            "compact-mixture-fixed",
            48,
            (1536, 768),
            (512, 512),
            cross_weight=1.0,
            fixed_match_target=True,
        ),
        # the frame read and 10 around it, 93 ms either side, denser near the centre
        ModelConfig(
            "temporal", cross_weight=1.0, signal_hidden=(512,), context=TEMPORAL, conv_channels=8
        ),
        ModelConfig(
            "temporal-wide",
            64,
            (512,),
            (512, 512),
            cross_weight=5.0,
            warmup_epochs=25,
            context=TEMPORAL,
            conv_channels=8,
        ),
        # the piano with a latent per key (2 dimensions each) beside 16 for the frame; the
        # matching term a fixed target: moving both sides, it made the symbol side give up
        # its keys (symbol KL 16 -> 0.9 nats, symbol loss 10 against compact-wide's 4.7 by
        # epoch 11)
        ModelConfig(
            "temporal-keys",
            16,
            (512,),
            (64,),
            cross_weight=5.0,
            warmup_epochs=10,
            fixed_match_target=True,
            context=TEMPORAL,
            conv_channels=8,
            key_latent=2,
        ),
        ModelConfig("tiny", 8, (32,), (16,), warmup_epochs=1),
        ModelConfig(
            "tiny-temporal",
            8,
            (32,),
            (16,),
            warmup_epochs=1,
            context=(-2, -1, 0, 1, 2),
            conv_channels=4,
        ),
    )
}


def get_config(name: str, **overrides: Any) -> ModelConfig:
    """The named config, with fields replaced by ``overrides``."""
    if name not in CONFIGS:
        raise MidivaeError(f"unknown model config (known: {', '.join(CONFIGS)})", name)
    return replace(CONFIGS[name], **overrides)
