"""Peak memory of analysing and resynthesising 10 minutes of audio (block processing).

The shipped recording is tiled to 10 minutes, analysed into magnitude frames and rebuilt
from them with the default phase reconstruction, all in this process. The peak resident set
includes Python, numpy, numba and the audio itself (10 min of float64 = 106 MB), so it is an
upper bound on what the spectral layer adds.

Last line: ``peak_rss_mb=<m>`` (plus the baseline before the work and the wall times).
"""

from __future__ import annotations

import time

from common import example_audio, peak_rss_mb

from midivae.spectral import SpectralConfig, analyse
from midivae.spectral.phase import analyse_error_db, reconstruct

MINUTES = 10.0


def main() -> None:
    config = SpectralConfig()
    # warm up kernels on a short signal so the baseline includes numba's own memory
    reconstruct(analyse(example_audio(2.0), config), config)
    audio = example_audio(MINUTES * 60)
    baseline = peak_rss_mb()
    start = time.perf_counter()
    frames = analyse(audio, config)
    analysed = time.perf_counter()
    rebuilt = reconstruct(frames, config, n_samples=len(audio))
    done = time.perf_counter()
    error = analyse_error_db(rebuilt[: 22050 * 30], frames[: frames.shape[0] // 20], config)
    print(f"audio: {MINUTES:.0f} min, frames {frames.shape}, {frames.nbytes / 1e6:.0f} MB")
    print(f"analyse {analysed - start:.1f} s, reconstruct {done - analysed:.1f} s")
    print(f"spectral convergence of the first 30 s: {error:.1f} dB")
    print(
        f"peak_rss_mb={peak_rss_mb():.0f} baseline_rss_mb={baseline:.0f} "
        f"analyse_s={analysed - start:.1f} reconstruct_s={done - analysed:.1f}"
    )


if __name__ == "__main__":
    main()
