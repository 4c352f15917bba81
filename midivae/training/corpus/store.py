"""Corpus storage: ``.npz`` shards (frame-major), ``manifest.json``, the cache check, loading.

A corpus folder holds ``shard-0000.npz ...`` and ``manifest.json``. Each shard has
``magnitudes`` ``(n_frames, n_bins)`` float16 compressed amplitudes (``spectral.compress``)
and per-frame labels ``(n_frames, ...)`` (see ``labels.LABEL_DOCS``). The manifest is
written last, so a folder with a manifest is a complete corpus.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from midivae.audio import atomic_output
from midivae.errors import MidivaeError
from midivae.spectral import SpectralConfig, decompress

MANIFEST = "manifest.json"
PROGRESS_FILE = ".building.json"
FORMAT = "midivae-corpus"
FORMAT_VERSION = 1
SHARD_PATTERN = "shard-*.npz"


def shard_name(index: int) -> str:
    return f"shard-{index:04d}.npz"


def cache_key(settings: dict[str, Any]) -> str:
    """A digest of everything that determines a corpus's contents."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _atomic_write(path: Path, write) -> None:
    """Write through a temp file in the same folder, renamed into place on success."""
    with atomic_output(path, overwrite=True) as tmp, tmp.open("wb") as handle:
        write(handle)


def write_shard(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write one shard atomically (zip-deflated ``.npz``)."""
    _atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def read_shard(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise MidivaeError(f"unreadable corpus shard ({exc})", path) from None


def write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    _atomic_write(path, lambda handle: handle.write(text.encode()))


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a complete corpus folder, or a MidivaeError."""
    path = Path(folder) / MANIFEST
    data = read_json(path)
    if data is None:
        raise MidivaeError("not a corpus (missing or unreadable manifest.json)", folder)
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise MidivaeError(f"not a {FORMAT} version {FORMAT_VERSION} manifest", path)
    return data


def is_cached(folder: Path, key: str) -> bool:
    """True when ``folder`` holds a complete corpus built with ``key``, every shard in place."""
    data = read_json(folder / MANIFEST)
    if data is None or data.get("key") != key:
        return False
    for shard in data.get("shards", []):
        path = folder / shard["file"]
        if not path.is_file() or path.stat().st_size != shard["bytes"]:
            return False
    return True


@dataclass
class Corpus:
    """A loaded corpus: every shard concatenated along frames.

    Attributes
    ----------
    magnitudes : np.ndarray, shape (n_frames, n_bins), float16
        Compressed amplitudes; ``amplitudes()`` gives linear float32.
    labels : dict[str, np.ndarray]
        Per-frame labels, each ``(n_frames, ...)`` (see ``labels.LABEL_DOCS``).
    manifest : dict
        The corpus's ``manifest.json``.
    """

    magnitudes: np.ndarray
    labels: dict[str, np.ndarray]
    manifest: dict[str, Any]

    @property
    def config(self) -> SpectralConfig:
        return SpectralConfig.from_dict(self.manifest["spectral_config"])

    @property
    def instrument(self) -> str:
        return self.manifest["instrument"]["name"]

    @property
    def n_frames(self) -> int:
        return len(self.magnitudes)

    def amplitudes(self, index: Any = slice(None)) -> np.ndarray:
        """Linear amplitudes (float32) of the frames selected by ``index``."""
        return decompress(self.magnitudes[index].astype(np.float32), self.config)

    def split(self, *, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Frame indices ``(train, test)`` split by item (never one note on both sides).

        Padding frames (item -1) go to train.
        """
        items = self.labels["item"]
        ids = np.unique(items[items >= 0])
        rng = np.random.default_rng(seed)
        test_ids = rng.choice(ids, size=round(test_fraction * len(ids)), replace=False)
        is_test = np.isin(items, test_ids)
        return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def load_corpus(folder: str | Path) -> Corpus:
    """Load a corpus folder made by ``build_corpus``; checks counts against the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    shards = [read_shard(folder / s["file"]) for s in manifest["shards"]]
    if not shards:
        raise MidivaeError("corpus has no shards", folder)
    names = sorted(shards[0])
    arrays = {name: np.concatenate([s[name] for s in shards]) for name in names}
    magnitudes = arrays.pop("magnitudes")
    if len(magnitudes) != manifest["counts"]["n_frames"]:
        raise MidivaeError(
            f"shards hold {len(magnitudes)} frames, manifest says {manifest['counts']['n_frames']}",
            folder / MANIFEST,
        )
    return Corpus(magnitudes, arrays, manifest)
