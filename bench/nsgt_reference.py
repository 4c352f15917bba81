"""The ``nsgt`` package (0.19) as a reference, for tests and benchmarks only.

Its transform constructors crash on NumPy >= 2: ``nsgfwin_sl.nsgfwin`` calls
``np.clip(M, min_win, np.inf, out=M)`` on an integer array (upstream PR #38, unmerged). The
workaround lives here, in one place, and only patches the name ``np`` inside that one
``nsgt`` module with a proxy whose ``clip`` keeps integer output in range. The runtime path
(``midivae.spectral``) never imports ``nsgt``.
"""

from __future__ import annotations

import warnings

import numpy as np


class _NumpyWithIntegerClip:
    """``numpy`` with a ``clip`` that accepts ``np.inf`` as the bound of an integer ``out``."""

    def __getattr__(self, name: str):
        return getattr(np, name)

    @staticmethod
    def clip(a, a_min, a_max, out=None):
        if out is not None and out.dtype.kind in "iu":
            a_max = min(a_max, np.iinfo(out.dtype).max)
        return np.clip(a, a_min, a_max, out=out)


class _FixedScale:
    """An ``nsgt`` scale that returns exactly the given centre frequencies."""

    def __init__(self, freqs: np.ndarray) -> None:
        self.freqs = np.asarray(freqs, dtype=float)

    def __len__(self) -> int:
        return len(self.freqs)

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        # q only feeds nsgt's "Q-factor too high" warning in the non-sliced frame.
        return self.freqs, np.full(len(self.freqs), 1.0)


def reference_nsgt(freqs: np.ndarray, sample_rate: int, length: int):
    """``nsgt.NSGT`` (real, non-sliced) over exactly ``freqs`` for signals of ``length``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nsgt warns at import about optional back ends
        import nsgt
        import nsgt.nsgfwin_sl

    nsgt.nsgfwin_sl.np = _NumpyWithIntegerClip()
    return nsgt.NSGT(_FixedScale(freqs), sample_rate, length, real=True)
