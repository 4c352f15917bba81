"""Mapping between each band's own time grid and the model's uniform frame grid.

Band ``k`` of a frame of length ``L`` has ``M_k`` coefficients at samples ``j * L / M_k``; the
model's grid has ``L / hop`` frames at samples ``i * hop``. Both are uniform grids over the same
period, so one periodic resampler serves both directions: a triangular kernel whose half-width
is the coarser of the two spacings. Upsampling (coarse band -> fine grid) is then exactly linear
interpolation; downsampling averages every source sample within one output spacing, weighted by
distance, so no detail is aliased and a constant stays constant.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _resample_rows(values, n_out, average, out):
    n_rows, n_in = values.shape
    half_width = max(1.0 / n_in, 1.0 / n_out) if average else 1.0 / n_in
    for i in range(n_out):
        t = i / n_out
        j_first = math.ceil((t - half_width) * n_in)
        j_last = math.floor((t + half_width) * n_in)
        for r in range(n_rows):
            out[r, i] = 0.0
        total = 0.0
        for j in range(j_first, j_last + 1):
            weight = 1.0 - abs(t - j / n_in) / half_width
            if weight <= 0.0:
                continue
            total += weight
            jj = j % n_in
            for r in range(n_rows):
                out[r, i] += weight * values[r, jj]
        for r in range(n_rows):
            out[r, i] /= total


def resample_periodic(values: np.ndarray, n_out: int, *, average: bool = True) -> np.ndarray:
    """Resample rows of ``values`` ``(n_rows, n_in)`` on a periodic grid to ``n_out`` points.

    Sample ``j`` of the input and sample ``i`` of the output sit at ``j / n_in`` and
    ``i / n_out`` of one period. ``average=False`` always interpolates linearly (point
    sampling when ``n_out < n_in``), for values that are already smooth on the input grid.
    """
    values = np.ascontiguousarray(values)
    squeeze = values.ndim == 1
    if squeeze:
        values = values[None, :]
    if values.shape[1] == n_out:
        out = values.copy()
    else:
        out = np.empty((values.shape[0], n_out), dtype=values.dtype)
        _resample_rows(values, n_out, average, out)
    return out[0] if squeeze else out


def band_to_grid(values: np.ndarray, n_frames: int) -> np.ndarray:
    """One band's (or a block of same-count bands') values onto ``n_frames`` uniform frames.

    A band coarser than the grid is interpolated linearly; a finer one is averaged over one
    frame spacing on each side (triangular weights), so fast detail is not aliased.
    """
    return resample_periodic(values, n_frames)


def grid_to_band(values: np.ndarray, n_coefs: int) -> np.ndarray:
    """Uniform-grid values (last axis = frames) onto a band's ``n_coefs`` time samples.

    Linear interpolation both when the band is finer and when it is coarser than the grid:
    grid values come from :func:`band_to_grid`, which already interpolates a coarse band
    linearly, so sampling them back at the band's times recovers its values.
    """
    return resample_periodic(values, n_coefs, average=False)
