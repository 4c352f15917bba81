"""midivae: audio <-> MIDI through cross-modal variational auto-encoders.

Heavy modules (torch, numba kernels) are imported on first use, never at import time.
"""

from __future__ import annotations

from midivae.errors import MidivaeError

__version__ = "0.1.0"

__all__ = ["MidivaeError", "__version__", "load_preset", "train"]

#: Public names imported on first use (torch loads only then): name -> module.
_LAZY = {"load_preset": "midivae.preset", "train": "midivae.train"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'midivae' has no attribute {name!r}")
