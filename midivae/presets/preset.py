"""Preset files: a fitted cross-modal VAE as ``model.safetensors`` + ``preset.json``; the registry.

A preset may also hold a second trained pair's reading half (``reading.safetensors``): its
signal encoder and symbol decoder then transcribe, while the first pair renders.

``preset.json`` holds the format version, instruments, vocabulary, spectral / feature /
model configs, velocity calibration, provenance (command, corpus manifest hashes, seed,
epochs, git commit, wall time) and measured metrics. Loading never unpickles: weights are
read with safetensors and checked against the config; every failure is a one-line
``MidivaeError`` naming the file. Shipped presets are package data, one folder per preset
under ``midivae/presets/shipped`` (found with ``importlib.resources``).
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from midivae.errors import MidivaeError
from midivae.model import CrossModalVAE, FeatureConfig, ModelConfig, to_features, to_magnitudes
from midivae.model.context import margin_of
from midivae.spectral import SpectralConfig
from midivae.symbols import VELOCITY_SCALE, Vocabulary

FORMAT = "midivae-preset"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
#: A second pair's reading half (signal encoder, symbol decoder), in a preset that holds one.
READING_WEIGHTS = "reading.safetensors"
READING_PARTS = ("signal.encoder.", "symbol.decoder.")
META = "preset.json"
#: Largest preset files read (a shipped preset's are under 1 MB and 16 MB).
MAX_META_BYTES, MAX_WEIGHTS_BYTES = 8 * 2**20, 256 * 2**20
CHUNK = 8192  # frames per forward pass
CONTEXT_CHUNK = 1024  # frames per forward pass of a context encoder (each holds a window)


class Preset:
    """A loaded model with a numpy API: frames <-> latents <-> symbols.

    Parameters
    ----------
    model : CrossModalVAE
        The torch model (kept in eval mode, float32).
    vocabulary : Vocabulary
    spectral : SpectralConfig
        How audio was analysed into the frames the model saw.
    features : FeatureConfig
        How frames become model inputs.
    meta : dict
        Everything else ``preset.json`` holds (provenance, metrics, calibration).
    reader : CrossModalVAE, optional
        A second trained pair whose reading half (signal encoder, symbol decoder) transcribes
        (:meth:`read_signal`), while ``model`` keeps the latent space that renders, morphs and
        fits; default: ``model`` reads too.
    """

    def __init__(
        self,
        model: CrossModalVAE,
        vocabulary: Vocabulary,
        spectral: SpectralConfig,
        features: FeatureConfig,
        meta: dict[str, Any] | None = None,
        path: Path | None = None,
        reader: CrossModalVAE | None = None,
    ) -> None:
        self.model = model.eval().float()
        self.reader = self.model if reader is None else reader.eval().float()
        self.vocabulary = vocabulary
        self.spectral = spectral
        self.features = features
        self.meta = dict(meta or {})
        self.path = path

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or (self.path.name if self.path else "unsaved"))

    @property
    def instruments(self) -> tuple[str, ...]:
        return self.vocabulary.instruments

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    def _chunks(
        self, array: np.ndarray, fn, margin: int = 0
    ) -> np.ndarray | tuple[np.ndarray, ...]:
        """``fn`` over row chunks of ``array``; with a ``margin``, each chunk runs with that
        many rows either side of it (a context encoder's window) and keeps its own rows."""
        outs = []
        size = CONTEXT_CHUNK if margin else CHUNK
        with torch.inference_mode():
            for start in range(0, max(len(array), 1), size):
                low = max(start - margin, 0)
                rows = np.asarray(array[low : start + size + margin], np.float32)
                out = fn(torch.as_tensor(rows))
                keep = slice(start - low, start - low + min(size, len(array) - start))
                if margin:
                    out = tuple(o[keep] for o in out) if isinstance(out, tuple) else out[keep]
                outs.append(
                    tuple(o.numpy() for o in out) if isinstance(out, tuple) else out.numpy()
                )
        if isinstance(outs[0], tuple):
            return tuple(np.concatenate(parts) for parts in zip(*outs, strict=True))
        return np.concatenate(outs)

    @property
    def velocity_regression(self):
        """The note-velocity regression measured for this preset
        (:mod:`midivae.model.velocity_regression`), or None: notes keep the model's attack
        velocity."""
        from midivae.model.velocity_regression import VelocityRegression

        data = self.meta.get("velocity_regression", self.meta.get("velocity_reading"))
        return None if data is None else VelocityRegression.from_dict(data)

    @property
    def note_verifier(self):
        """The check of tracked key notes measured for this (polyphonic) preset
        (:mod:`midivae.model.note_verifier`), or None: every tracked note is kept."""
        from midivae.model.note_verifier import NoteVerifier

        data = self.meta.get("note_verifier")
        return None if data is None else NoteVerifier.from_dict(data)

    @property
    def two_pairs(self) -> bool:
        """Whether a second pair's reading half transcribes (see ``reader``)."""
        return self.reader is not self.model

    def encode_signal(self, magnitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior ``(mu, logvar)``, each ``(n, latent)``, of compressed ``(n, n_bins)``
        in the latent space the symbols share (renders, morphs, fits; not transcription:
        :meth:`read_signal`)."""
        return self._chunks(
            magnitudes,
            lambda m: self.model.signal.encoder(to_features(m, self.features)),
            margin_of(self.model.config.context),
        )

    def decode_signal(self, z: np.ndarray) -> np.ndarray:
        """Compressed magnitudes ``(n, n_bins)`` decoded from latents ``(n, latent)``."""
        return self._chunks(z, lambda t: to_magnitudes(self.model.signal.decode(t), self.features))

    def encode_symbols(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior ``(mu, logvar)`` of symbol vectors ``(n, width)`` (``vocabulary.encode``)."""
        return self._chunks(vectors, self.model.symbol.encoder)

    def symbol_vectors(self, z: np.ndarray) -> np.ndarray:
        """Decoded per-family probabilities as one array ``(n, width)`` (continuous in [0, 1])."""
        return self._chunks(
            z, lambda t: self.model.symbol.probabilities(self.model.symbol.decode(t))
        )

    def decode_symbols(self, z: np.ndarray) -> dict[str, np.ndarray]:
        """Per family key: class probabilities ``(n, classes)``, or calibrated MIDI velocity
        ``(n,)`` for a continuous family."""
        return self.families_of(self.symbol_vectors(z))

    def read_signal(self, magnitudes: np.ndarray) -> dict[str, np.ndarray]:
        """Transcription's frame posteriors (as :meth:`decode_symbols`) of compressed frames
        ``(n, n_bins)``: the reading half's symbols at its posterior mean."""
        return self.families_of(self.symbols_from_signal(magnitudes))

    def families_of(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Per-family arrays (as :meth:`decode_symbols`) of decoded symbol vectors."""
        out = {}
        for index, family in enumerate(self.vocabulary.families):
            block = vectors[:, self.vocabulary.span(index)]
            key = self.vocabulary.key(family)
            out[key] = self.velocity(block[:, 0]) if family.kind == "continuous" else block
        return out

    def velocity(self, value: np.ndarray) -> np.ndarray:
        """Calibrated MIDI velocity (1-127, float) from the decoded value in [0, 1]."""
        cal = self.meta.get("velocity_calibration") or {"scale": 1.0, "offset": 0.0}
        midi = (cal["scale"] * np.asarray(value) + cal["offset"]) * VELOCITY_SCALE
        return np.clip(midi, 1.0, 127.0)

    def features_of(self, magnitudes: np.ndarray) -> np.ndarray:
        """Model inputs ``(n, n_features)`` of compressed frames (``FeatureConfig``)."""
        return self._chunks(magnitudes, lambda m: to_features(m, self.features))

    def log_likelihood(self, magnitudes: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``log p(x | z)`` of frames' model inputs under the signal decoder, ``(n,)`` nats."""
        x = self.features_of(magnitudes)
        signal = self.model.signal
        joined = np.concatenate([x, np.asarray(z, np.float32)], axis=1)
        n = x.shape[1]
        return self._chunks(
            joined, lambda t: signal.log_likelihood(t[:, :n], signal.decode(t[:, n:]))
        )

    def symbols_from_signal(self, magnitudes: np.ndarray) -> np.ndarray:
        """Signal -> symbol transfer at the posterior mean through the reading half:
        ``(n, width)`` probabilities."""
        reader = self.reader

        def read(m: torch.Tensor) -> torch.Tensor:
            mu = reader.signal.encoder(to_features(m, self.features))[0]
            return reader.symbol.probabilities(reader.symbol.decode(mu))

        return self._chunks(magnitudes, read, margin_of(reader.config.context))

    def config_dict(self) -> dict[str, Any]:
        """The configs that rebuild the model from files alone."""
        return {
            "vocabulary": self.vocabulary.to_dict(),
            "spectral_config": self.spectral.to_dict(),
            "feature_config": self.features.to_dict(),
            "model_config": self.config.to_dict(),
        }


def build_model(
    vocabulary: Vocabulary, spectral: SpectralConfig, features: FeatureConfig, config: ModelConfig
) -> CrossModalVAE:
    """A fresh model for a vocabulary and configs."""
    if config.context and features.mode != "normalised":
        raise MidivaeError("a context encoder reads normalised features (with their levels)")
    key_bins: list[int] = []
    if config.key_latent:  # each key's fundamental in the context encoder's maps (bin pairs)
        keys = next((f for f in vocabulary.families if f.name == "keys"), None)
        pitches = [] if keys is None else keys.offset + np.arange(keys.width)
        key_bins = [int(np.rint(spectral.midi_to_bin(p))) // 2 for p in pitches]
    return CrossModalVAE(
        features.n_features(spectral.n_bins),
        vocabulary.layout(),
        config,
        bins_per_octave=spectral.bins_per_octave,
        key_bins=key_bins,
    )


def round_weights(model: CrossModalVAE) -> None:
    """Round parameters to float16 precision in place (what ``save_preset`` stores)."""
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.copy_(tensor.half().float())


@contextmanager
def staging_folder(folder: Path, overwrite: bool) -> Iterator[Path]:
    """A temp folder beside ``folder``, moved into place when the block succeeds."""
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise MidivaeError("exists, use --overwrite", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if folder.exists():
            old = tmp.with_suffix(".old")
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old)
        else:
            tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def save_preset(preset: Preset, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model.safetensors`` (float16; with a second pair's reading half also
    ``reading.safetensors``) and ``preset.json`` into ``folder`` atomically."""
    from safetensors.torch import save_file

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": preset.name,
        "instruments": list(preset.instruments),
        **preset.config_dict(),
    }
    meta |= {k: v for k, v in preset.meta.items() if k not in meta and k != "reading_model_config"}
    files = {WEIGHTS: half_weights(preset.model.state_dict())}
    if preset.two_pairs:
        meta["reading_model_config"] = preset.reader.config.to_dict()
        files[READING_WEIGHTS] = half_weights(
            {k: v for k, v in preset.reader.state_dict().items() if k.startswith(READING_PARTS)}
        )
    with staging_folder(Path(folder), overwrite) as tmp:
        for name, weights in files.items():
            save_file(weights, str(tmp / name), metadata={"format": FORMAT})
            os.chmod(tmp / name, 0o644)
        meta["size_bytes"] = sum((tmp / name).stat().st_size for name in files)
        (tmp / META).write_text(json.dumps(_jsonable(meta), indent=2) + "\n")
    preset.path = Path(folder)
    preset.meta["size_bytes"] = meta["size_bytes"]
    return Path(folder)


def half_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().half().contiguous() for k, v in state.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def read_format_json(path: Path, what: str, fmt: str, version: int) -> dict[str, Any]:
    """The JSON object of ``path`` (a ``what``'s file of format ``fmt``): its size, syntax,
    format and version checked, every failure a one-line ``MidivaeError`` naming it."""
    if not path.is_file():
        raise MidivaeError(f"not a {what} (no {path.name})", path.parent)
    if path.stat().st_size > MAX_META_BYTES:
        raise MidivaeError(f"{path.name} over {MAX_META_BYTES // 2**20} MB", path)
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MidivaeError(f"unreadable {path.name} ({type(exc).__name__})", path) from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise MidivaeError(f"not a {fmt} file", path)
    if meta.get("format_version") != version:
        raise MidivaeError(
            f"{what} format version {meta.get('format_version')!r}, this midivae reads {version}",
            path,
        )
    return meta


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The validated ``preset.json`` of a preset folder."""
    path = Path(folder) / META
    meta = read_format_json(path, "preset", FORMAT, FORMAT_VERSION)
    for key in ("vocabulary", "spectral_config", "feature_config", "model_config"):
        if not isinstance(meta.get(key), dict):
            raise MidivaeError(f"missing or malformed {key!r}", path)
    return meta


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file, never unpickling; one-line errors naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise MidivaeError("missing weights file", path)
    size = path.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise MidivaeError(f"weights over {MAX_WEIGHTS_BYTES // 2**20} MB", path)
    with open(path, "rb") as handle:
        head = handle.read(8)
        header_len = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 2 <= header_len <= size - 8:
            raise MidivaeError("not a safetensors file (bad header; pickled or truncated?)", path)
        try:
            json.loads(handle.read(header_len))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise MidivaeError("not a safetensors file (unreadable header)", path) from None
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MidivaeError(f"corrupt safetensors file ({reason})", path) from None


def load_preset(name_or_dir: str | Path) -> Preset:
    """Load a shipped preset by name, or any preset folder."""
    folder = resolve(name_or_dir)
    meta = read_meta(folder)
    path = folder / META
    try:
        vocabulary = Vocabulary.from_dict(meta["vocabulary"])
        spectral = SpectralConfig.from_dict(meta["spectral_config"])
        features = FeatureConfig.from_dict(meta["feature_config"])
        config = ModelConfig.from_dict(meta["model_config"])
    except MidivaeError as exc:
        raise MidivaeError(exc.message, path) from None
    model = build_model(vocabulary, spectral, features, config)
    model.load_state_dict(checked_weights(folder / WEIGHTS, model.state_dict()))
    reader = None
    if "reading_model_config" in meta:
        if not isinstance(meta["reading_model_config"], dict):
            raise MidivaeError("malformed 'reading_model_config'", path)
        try:
            reading_config = ModelConfig.from_dict(meta["reading_model_config"])
        except MidivaeError as exc:
            raise MidivaeError(exc.message, path) from None
        reader = build_model(vocabulary, spectral, features, reading_config)
        expected = {k: v for k, v in reader.state_dict().items() if k.startswith(READING_PARTS)}
        reader.load_state_dict(checked_weights(folder / READING_WEIGHTS, expected), strict=False)
    preset = Preset(model, vocabulary, spectral, features, meta, folder, reader=reader)
    try:
        preset.velocity_regression  # noqa: B018 (validated here, once: a bad one names the file)
        preset.note_verifier  # noqa: B018
    except MidivaeError as exc:
        raise MidivaeError(exc.message, path) from None
    return preset


def checked_weights(path: Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float32 tensors of ``path``, exactly the names and shapes of ``expected``, finite."""
    weights = _read_weights(path)
    if set(weights) != set(expected):
        missing = sorted(set(expected) - set(weights)) or sorted(set(weights) - set(expected))
        raise MidivaeError(f"weights do not match preset.json (e.g. {missing[0]})", path)
    for key, tensor in weights.items():
        if tensor.shape != expected[key].shape or not tensor.is_floating_point():
            raise MidivaeError(
                f"tensor {key} has shape {tuple(tensor.shape)}, "
                f"expected {tuple(expected[key].shape)}",
                path,
            )
        if not torch.isfinite(tensor).all():
            raise MidivaeError(f"tensor {key} holds non-finite values", path)
    return {k: v.float() for k, v in weights.items()}


_LOADED: dict[tuple, Preset] = {}
_LOADING = threading.Lock()


def cached_preset(name_or_dir: str | Path) -> Preset:
    """A loaded preset, kept for the rest of the process (a batch loads each preset once).

    Keyed by folder and the files' modification times, so a preset rewritten in place (e.g.
    trained again into the same folder) is loaded afresh.
    """
    folder = resolve(name_or_dir)
    stamps = tuple(
        (folder / f).stat().st_mtime_ns if (folder / f).exists() else None
        for f in (META, WEIGHTS, READING_WEIGHTS)
    )
    key = (str(folder.resolve()), stamps)
    with _LOADING:  # batch jobs in threads share the cache; each preset is loaded once
        if key not in _LOADED:
            if len(_LOADED) >= 16:
                _LOADED.clear()
            _LOADED[key] = load_preset(name_or_dir)
        return _LOADED[key]


def shipped_root() -> Path:
    """The folder of the shipped presets (package data ``midivae/presets/shipped``)."""
    return Path(str(importlib.resources.files("midivae.presets"))) / "shipped"


def shipped_presets() -> list[str]:
    """Names of the presets shipped with midivae (package data folders with a preset.json)."""
    root = shipped_root()
    return sorted(p.name for p in root.iterdir() if (p / META).is_file())


def resolve(name_or_dir: str | Path) -> Path:
    """A preset folder from a shipped name or a path."""
    candidate = Path(name_or_dir)
    if (candidate / META).is_file():
        return candidate
    shipped = shipped_root() / str(name_or_dir)
    if (shipped / META).is_file():
        return shipped
    if candidate.is_dir():
        return candidate  # read_meta says what is missing
    known = ", ".join(shipped_presets()) or "none shipped yet"
    raise MidivaeError(f"no such preset (shipped: {known})", name_or_dir)


def describe(folder: str | Path) -> dict[str, Any]:
    """Name, instruments, size, whether it holds two pairs, and headline metrics of a preset
    folder (for listings)."""
    folder = Path(folder)
    meta = read_meta(folder)
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return {
        "name": meta.get("name", folder.name),
        "instruments": meta.get("instruments", []),
        "bytes": size,
        "two_pairs": "reading_model_config" in meta,
        "headline": (meta.get("metrics") or {}).get("headline", {}),
    }
