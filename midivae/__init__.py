"""midivae: audio <-> MIDI through cross-modal variational auto-encoders.

The public API::

    import midivae

    result = midivae.transcribe("take1.wav")          # -> Transcription (notes, parts)
    result.save("take1.mid")                          # or .musicxml
    midivae.render("score.mid").save("score.wav")     # -> Rendering (audio, rate, stems)
    preset = midivae.load_preset("flute")             # a shipped name or a preset folder
    midivae.train("flute", "my_flute", epochs=5)      # -> a new preset folder

Heavy modules (torch, numba kernels) are imported on first use, never at import time.
"""

from __future__ import annotations

from midivae.errors import MidivaeError

__version__ = "0.1.0"

__all__ = [
    "MidivaeError",
    "Rendering",
    "Transcription",
    "__version__",
    "load_preset",
    "render",
    "train",
    "transcribe",
]

#: Public names imported on first use (torch loads only then): name -> module.
_LAZY = {
    "transcribe": "midivae.transcription.transcribe",
    "Transcription": "midivae.transcription.transcribe",
    "render": "midivae.rendering.render",
    "Rendering": "midivae.rendering.render",
    "load_preset": "midivae.presets.preset",
    "train": "midivae.training.train",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'midivae' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
