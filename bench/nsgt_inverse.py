"""Numba inverse NSGT against the ``nsgt`` package's backward transform on the same audio.

The same 30 s of audio (the shipped recording, tiled) is analysed and synthesised by both:
- ``nsgt`` 0.19 (48 bins/octave, 27.5 Hz - 11 kHz, real, non-sliced) with its own frame;
- midivae's runtime frame: the same windows and positions, coefficient counts rounded up to
  FFT-friendly sizes so bands are transformed in batches (what rendering uses);
- midivae's inverse on exactly ``nsgt``'s frame and coefficients (the equality check).
Times are medians of 7 runs; our first call (numba JIT or cache load) is reported apart.

Last line: ``speedup_vs_nsgt=<runtime frame vs nsgt> max_abs_err=<max |ours - nsgt| of the
two syntheses of the same audio> same_frame_speedup=<x> same_frame_max_abs_err=<e>``.
"""

from __future__ import annotations

import time

import numpy as np
from common import example_audio, median_seconds
from nsgt_reference import reference_nsgt

from midivae.spectral import SpectralConfig
from midivae.spectral.analysis import transform_for
from midivae.spectral.frame import build_frame
from midivae.spectral.transform import NSGT

REPEATS = 7


def main() -> None:
    config = SpectralConfig()
    sr = config.sample_rate
    block_frames = 2560  # ~30 s, an FFT-friendly length for our runtime frame
    length = block_frames * config.hop_length
    audio = example_audio(length / sr)

    start = time.perf_counter()
    reference = reference_nsgt(config.frequencies, sr, length)
    reference_setup = time.perf_counter() - start
    start = time.perf_counter()
    ours = NSGT(build_frame(config.frequencies, sr, length))
    our_setup = time.perf_counter() - start

    coefficients = reference.forward(audio)
    flat = ours.from_bands(coefficients)
    start = time.perf_counter()
    ours.backward(flat)
    first_call = time.perf_counter() - start

    theirs_s, _ = median_seconds(lambda: reference.backward(coefficients), REPEATS)
    ours_s, _ = median_seconds(lambda: ours.backward(flat), REPEATS)
    signal_theirs = reference.backward(coefficients)
    signal_ours = ours.backward(flat)
    max_abs_err = float(np.max(np.abs(signal_ours - signal_theirs)))
    reconstruction_err = float(np.max(np.abs(signal_ours - audio)))

    runtime = transform_for(config, block_frames, on_grid=False)
    runtime_coefs = runtime.forward(audio)
    runtime_s, _ = median_seconds(lambda: runtime.backward(runtime_coefs), REPEATS)
    runtime_err = float(np.max(np.abs(runtime.backward(runtime_coefs) - signal_theirs)))
    runtime32 = transform_for(config, block_frames, dtype="float32", on_grid=False)
    runtime32_coefs = runtime32.forward(audio)
    runtime32_s, _ = median_seconds(lambda: runtime32.backward(runtime32_coefs), REPEATS)
    runtime_fwd_s, _ = median_seconds(lambda: runtime.forward(audio), REPEATS)
    theirs_fwd_s, _ = median_seconds(lambda: reference.forward(audio), 3)

    seconds = length / sr
    print(f"audio: {seconds:.1f} s, {len(coefficients)} bands, nsgt frame (same coefficients)")
    print(f"{'':34s}{'seconds':>10s}{'x real time':>13s}")
    rows = [
        ("nsgt 0.19 backward", theirs_s),
        ("midivae numba backward", ours_s),
        ("midivae backward, runtime frame", runtime_s),
        ("  same, float32", runtime32_s),
        ("nsgt 0.19 forward", theirs_fwd_s),
        ("midivae forward, runtime frame", runtime_fwd_s),
    ]
    for name, value in rows:
        print(f"{name:34s}{value:10.4f}{seconds / value:13.0f}")
    print(f"frame set-up: nsgt {reference_setup:.3f} s, midivae {our_setup:.3f} s")
    print(f"first numba call (JIT compile or cache load): {first_call:.3f} s")
    print(
        f"same frame: max |midivae - nsgt| = {max_abs_err:.2e}, |midivae - input| <= "
        f"{reconstruction_err:.2e}; runtime frame: max |midivae - nsgt| = {runtime_err:.2e}"
    )
    print(
        f"speedup_vs_nsgt={theirs_s / runtime_s:.1f} max_abs_err={runtime_err:.1e} "
        f"same_frame_speedup={theirs_s / ours_s:.1f} same_frame_max_abs_err={max_abs_err:.1e}"
    )


if __name__ == "__main__":
    main()
