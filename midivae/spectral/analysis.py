"""Audio -> magnitude frames on the uniform grid, in blocks of bounded memory.

A signal is treated as zero outside its ends. It is cut into blocks of ``block_frames`` frames
(an FFT-friendly length), each with ``pad_frames`` of real context (or zeros) on both sides so
that the longest windows (~2.5 s at 27.5 Hz) see what a whole-file transform would; only the
central frames of each block are kept. Memory is bounded by one block, whatever the length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

import numpy as np

from midivae.spectral.config import SpectralConfig
from midivae.spectral.frame import cached_frame, friendly_length
from midivae.spectral.grid import band_to_grid, grid_to_band
from midivae.spectral.transform import NSGT


@lru_cache(maxsize=8)
def transform_for(
    config: SpectralConfig, n_frames: int, *, dtype: str = "float64", on_grid: bool = True
) -> NSGT:
    """The cached NSGT pair for a block of ``n_frames`` frames (see ``cached_frame``)."""
    frame = cached_frame(
        config.fmin,
        config.bins_per_octave,
        config.n_bins,
        config.sample_rate,
        config.hop_length,
        n_frames,
        on_grid,
    )
    return NSGT(frame, dtype=np.dtype(dtype))


def n_frames_for(n_samples: int, config: SpectralConfig) -> int:
    """Frames covering ``n_samples`` samples: frame ``i`` is centred on sample ``i * hop``."""
    return n_samples // config.hop_length + 1


def block_plan(n_frames: int, config: SpectralConfig) -> tuple[int, list[int]]:
    """Block length (frames) and the first kept frame of each block for ``n_frames`` frames.

    The frames are shared out evenly and the blocks shrink to fit (never past
    ``config.block_frames``, always an FFT-friendly length): 21 s of frames take two ~20 s
    blocks instead of two full 30 s ones whose second would be mostly padding.
    """
    pad = config.pad_frames
    count = max(-(-n_frames // (config.block_frames - 2 * pad)), 1)
    core = max(-(-n_frames // count), 1)
    block = min(friendly_length(core + 2 * pad), config.block_frames)
    return block, list(range(0, max(n_frames, 1), core))


#: Samples ``start`` to ``stop`` of a signal, zero outside it (``AudioStream.read``, or
#: :func:`array_reader` of an array).
Reader = Callable[[int, int], np.ndarray]


def array_reader(audio: np.ndarray) -> Reader:
    """A :data:`Reader` of ``audio`` (its own dtype)."""

    def read(start: int, stop: int) -> np.ndarray:
        out = np.zeros(max(stop - start, 0), dtype=audio.dtype)
        lo, hi = max(start, 0), min(stop, len(audio))
        if hi > lo:
            out[lo - start : hi - start] = audio[lo:hi]
        return out

    return read


def band_scale(nsgt: NSGT) -> np.ndarray:
    """Per-band factor turning |coefficient| into sinusoid amplitude (``2 M_k / L``)."""
    return 2.0 * nsgt.band_counts / nsgt.frame.length


def coefs_to_grid(nsgt: NSGT, coefs: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Amplitudes of the model bands ``(n_frames, n_bins)`` from a flat coefficient buffer."""
    n_frames = nsgt.frame.length // config.hop_length
    out = np.empty((n_frames, config.n_bins), dtype=np.float32)
    scale = band_scale(nsgt)
    for group, view in zip(nsgt.groups, nsgt.group_views(coefs), strict=True):
        model = (group.bands >= 1) & (group.bands <= config.n_bins)
        if not model.any():
            continue
        bands = group.bands[model]
        amplitude = np.abs(view[model]) * scale[bands, None]
        out[:, bands - 1] = band_to_grid(amplitude, n_frames).T
    return out


def grid_to_band_amplitudes(nsgt: NSGT, frames: np.ndarray) -> np.ndarray:
    """Target |coefficients| (flat buffer layout, real) from amplitude frames of one block.

    DC and Nyquist bands, which the model does not see, get zero.
    """
    n_bins = frames.shape[1]
    target = np.zeros(nsgt.size, dtype=nsgt.real_dtype)
    scale = band_scale(nsgt)
    for group, rows in zip(nsgt.groups, nsgt.group_views(target), strict=True):
        model = (group.bands >= 1) & (group.bands <= n_bins)
        if model.any():
            bands = group.bands[model]
            amplitude = grid_to_band(np.ascontiguousarray(frames[:, bands - 1].T), group.count)
            rows[model] = np.maximum(amplitude, 0.0) / scale[bands, None]
    return target


def iter_blocks(n_frames: int, config: SpectralConfig) -> Iterator[tuple[int, int, int]]:
    """``(block_frames, first_frame, n_kept)`` for each block covering ``n_frames`` frames."""
    block_frames, firsts = block_plan(n_frames, config)
    core = block_frames - 2 * config.pad_frames
    for first in firsts:
        yield block_frames, first, min(core, n_frames - first)


def analysis_blocks(
    read: Reader, n_samples: int, config: SpectralConfig, *, frames: range | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """``(first frame, amplitude frames)`` of each block of a signal of ``n_samples`` that
    ``read`` gives (zero outside), in order; ``frames``: only the blocks that hold those.
    Each block's frames are the ones :func:`analyse` gives for the whole signal."""
    pad, hop = config.pad_frames, config.hop_length
    blocks = list(iter_blocks(n_frames_for(n_samples, config), config))
    for index, (block_frames, first, kept) in enumerate(blocks):
        if index + 1 < len(blocks):  # blocks may overlap: the next one's frames are kept
            kept = min(kept, blocks[index + 1][1] - first)
        if frames is not None and (first + kept <= frames.start or first >= frames.stop):
            continue
        nsgt = transform_for(config, block_frames)
        start = (first - pad) * hop
        signal = np.asarray(read(start, start + block_frames * hop), dtype=np.float64)
        yield first, coefs_to_grid(nsgt, nsgt.forward(signal), config)[pad : pad + kept]


class StreamedFrames:
    """Amplitude frames of a long signal, analysed block by block when sliced (the last
    blocks kept), each through ``transform`` (e.g. a retuning) when given: ``frames[a:b]``
    is ``analyse(signal)[a:b]`` without ever holding the whole."""

    def __init__(
        self,
        read: Reader,
        n_samples: int,
        config: SpectralConfig,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        keep: int = 3,
    ) -> None:
        self.read, self.n_samples, self.config = read, n_samples, config
        self.transform, self.keep = transform, keep
        self.n_frames = n_frames_for(n_samples, config)
        self._blocks: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.n_frames

    def prime(self, blocks: list[tuple[int, np.ndarray]]) -> None:
        """Keep these :func:`analysis_blocks` of the signal (analysed already), through
        ``transform``: a short signal is then never analysed twice."""
        self.keep = max(self.keep, len(blocks))
        for first, frames in blocks:
            self._hold(first, frames)

    def _hold(self, first: int, frames: np.ndarray) -> None:
        """Keep a block's frames (from frame ``first``) through ``transform``."""
        self._blocks[first] = frames if self.transform is None else self.transform(frames)

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("StreamedFrames take a slice of frames")
        start, stop, _ = index.indices(self.n_frames)
        out = np.zeros((max(stop - start, 0), self.config.n_bins), dtype=np.float32)
        if stop <= start:
            return out
        covered = start  # the first frame no kept block holds
        for first in sorted(self._blocks):
            if first <= covered < first + len(self._blocks[first]):
                covered = first + len(self._blocks[first])
        if covered < stop:
            wanted = range(covered, stop)
            for first, frames in analysis_blocks(
                self.read, self.n_samples, self.config, frames=wanted
            ):
                self._hold(first, frames)
        for first, frames in self._blocks.items():
            lo, hi = max(first, start), min(first + len(frames), stop)
            if hi > lo:
                out[lo - start : hi - start] = frames[lo - first : hi - first]
        for first in sorted(self._blocks)[: -self.keep]:  # the latest blocks stay
            del self._blocks[first]
        return out


def analyse(audio: np.ndarray, config: SpectralConfig | None = None) -> np.ndarray:
    """Constant-Q NSGT amplitudes of mono audio on the uniform frame grid.

    Parameters
    ----------
    audio : np.ndarray, shape (n_samples,)
        Mono audio at ``config.sample_rate``.
    config : SpectralConfig, optional
        Analysis settings (defaults to ``SpectralConfig()``).

    Returns
    -------
    np.ndarray, shape (n_frames, n_bins), float32
        Amplitude per band and frame (a full-scale sine at a band centre reads 1.0); frame
        ``i`` is centred on sample ``i * hop_length`` and ``n_frames = n_samples // hop + 1``.
    """
    config = config or SpectralConfig()
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError("analyse expects mono audio, shape (n_samples,)")
    out = np.empty((n_frames_for(len(audio), config), config.n_bins), dtype=np.float32)
    for first, frames in analysis_blocks(array_reader(audio), len(audio), config):
        out[first : first + len(frames)] = frames
    return out


def compress(amplitude: np.ndarray, config: SpectralConfig | None = None) -> np.ndarray:
    """The model's compressed magnitudes ``log1p(log_gain * amplitude)``."""
    config = config or SpectralConfig()
    return np.log1p(config.log_gain * np.maximum(amplitude, 0.0)).astype(np.float32)


def decompress(values: np.ndarray, config: SpectralConfig | None = None) -> np.ndarray:
    """Amplitudes from compressed magnitudes (inverse of :func:`compress`)."""
    config = config or SpectralConfig()
    return (np.expm1(np.maximum(values, 0.0)) / config.log_gain).astype(np.float32)
