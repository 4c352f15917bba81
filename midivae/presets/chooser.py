"""The instrument chooser's files: ``chooser.safetensors`` + ``chooser.json``.

``--instrument auto`` asks the chooser (:class:`midivae.model.instrument_classifier.
InstrumentClassifier`) which shipped preset a recording needs. It ships beside the presets
(``midivae/presets/chooser/``); ``chooser.json`` names its classes (preset names), the
spectral settings of its frames, its provenance and measured accuracy. Read as the presets
are: safetensors only, every field checked, one-line errors naming the file.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from midivae.errors import MidivaeError
from midivae.model.instrument_classifier import InstrumentClassifier
from midivae.presets.preset import (
    checked_weights,
    half_weights,
    read_format_json,
    staging_folder,
)
from midivae.spectral import SpectralConfig

FORMAT = "midivae-chooser"
FORMAT_VERSION = 1
WEIGHTS, META = "chooser.safetensors", "chooser.json"
SHIPPED = Path(__file__).parent / "chooser"
CHUNK = 4096  # frames per forward pass


class Chooser:
    """A loaded chooser: the classes' probabilities for compressed frames."""

    def __init__(self, model: InstrumentClassifier, meta: dict[str, Any], path: Path | None):
        self.model = model.eval()
        self.meta = meta
        self.path = path

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.meta["classes"])

    @property
    def spectral(self) -> SpectralConfig:
        return SpectralConfig.from_dict(self.meta["spectral_config"])

    def probabilities(self, compressed: np.ndarray) -> np.ndarray:
        """``(n, n_classes)`` class probabilities of each compressed frame."""
        out = []
        with torch.inference_mode():
            for start in range(0, len(compressed), CHUNK):
                frames = torch.as_tensor(np.asarray(compressed[start : start + CHUNK], np.float32))
                out.append(torch.softmax(self.model(frames), dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), np.float32)


def build_classifier(meta: dict[str, Any]) -> InstrumentClassifier:
    """The classifier ``meta`` describes (untrained)."""
    spectral = SpectralConfig.from_dict(meta["spectral_config"])
    return InstrumentClassifier(
        spectral.n_bins, len(meta["classes"]), spectral.bins_per_octave, **meta["model_config"]
    )


def save_chooser(chooser: Chooser, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``chooser.safetensors`` (float16) and ``chooser.json`` into ``folder``
    atomically."""
    from safetensors.torch import save_file

    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **chooser.meta}
    with staging_folder(Path(folder), overwrite) as tmp:
        save_file(half_weights(chooser.model.state_dict()), str(tmp / WEIGHTS))
        os.chmod(tmp / WEIGHTS, 0o644)
        (tmp / META).write_text(json.dumps(meta, indent=2) + "\n")
        os.chmod(tmp / META, 0o644)
    chooser.path = Path(folder)
    return Path(folder)


def load_chooser(folder: str | Path = SHIPPED) -> Chooser:
    """Load a chooser folder (default: the shipped one)."""
    folder = Path(folder)
    path = folder / META
    meta = read_format_json(path, "chooser", FORMAT, FORMAT_VERSION)
    classes, config = meta.get("classes"), meta.get("model_config")
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        raise MidivaeError("malformed 'classes'", path)
    if not (isinstance(config, dict) and set(config) <= {"channels", "hidden"}):
        raise MidivaeError("malformed 'model_config'", path)
    if not all(isinstance(v, int) and 1 <= v <= 256 for v in config.values()):
        raise MidivaeError("'model_config' sizes must be integers in 1..256", path)
    try:
        model = build_classifier(meta)
    except (MidivaeError, KeyError, TypeError, ValueError) as exc:
        raise MidivaeError(f"malformed chooser.json ({exc})", path) from None
    model.load_state_dict(checked_weights(folder / WEIGHTS, model.state_dict()))
    return Chooser(model, meta, folder)


_SHIPPED: list[Chooser | None] = []
_LOADING = threading.Lock()


def shipped_chooser() -> Chooser | None:
    """The shipped chooser, loaded once; None where none ships."""
    with _LOADING:
        if not _SHIPPED:
            _SHIPPED.append(load_chooser() if (SHIPPED / META).is_file() else None)
        return _SHIPPED[0]
