"""midivae: audio <-> MIDI through cross-modal variational auto-encoders.

Heavy modules (torch, numba kernels) are imported on first use, never at import time.
"""

from __future__ import annotations

from midivae.errors import MidivaeError

__version__ = "0.1.0"

__all__ = ["MidivaeError", "__version__"]
