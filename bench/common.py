"""Helpers shared by the benchmarks: the shipped recording, timing, peak memory."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_RECORDING = ROOT / "examples" / "example_recording.flac"


def example_audio(seconds: float) -> np.ndarray:
    """The shipped flute recording (a FluidR3_GM render), tiled to ``seconds``."""
    from midivae.audio import load_audio

    audio = load_audio(EXAMPLE_RECORDING)
    n = round(seconds * 22050)
    return np.resize(audio, n).astype(np.float64)


def median_seconds(function: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``repeats`` calls, and all the times."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
