"""Spectral front end: constant-Q NSGT analysis, numba synthesis, phase reconstruction.

No torch here. ``analyse`` turns audio into amplitude frames on the model's uniform grid,
``compress``/``decompress`` map amplitudes to the model's log scale and back.
"""

from midivae.spectral.analysis import analyse, compress, decompress, n_frames_for
from midivae.spectral.config import SpectralConfig

__all__ = ["SpectralConfig", "analyse", "compress", "decompress", "n_frames_for"]
