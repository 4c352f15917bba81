"""Peak memory of analysing and resynthesising 10 minutes of audio (block processing).

The shipped recording is tiled to 10 minutes, analysed into magnitude frames and rebuilt
from them with the default phase reconstruction, all in this process. The peak resident set
includes Python, numpy, numba and the audio itself (10 min of float64 = 106 MB), so it is an
upper bound on what the spectral layer adds.

Then the whole transcription of the same recording tiled to 3 and to 30 minutes, each by
``midivae transcribe --instrument flute`` in a process of its own (peak resident set of that
process): what the promise of bounded memory is measured by.

Last line: ``peak_rss_mb=<m>`` (plus the baseline before the work and the wall times)
``peak_mb_3min=<a> peak_mb_30min=<b>``.
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
    spectral = peak_rss_mb()
    peaks = {minutes: transcription_peak_mb(minutes) for minutes in (3, 30)}
    print(
        f"peak_rss_mb={spectral:.0f} baseline_rss_mb={baseline:.0f} "
        f"analyse_s={analysed - start:.1f} reconstruct_s={done - analysed:.1f} "
        f"peak_mb_3min={peaks[3]:.0f} peak_mb_30min={peaks[30]:.0f}"
    )


def transcription_peak_mb(minutes: float) -> float:
    """Peak resident MB of one ``midivae transcribe`` process on ``minutes`` of the tiled
    recording."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import soundfile

    with tempfile.TemporaryDirectory() as folder:
        take = Path(folder) / "take.flac"
        soundfile.write(take, example_audio(minutes * 60).astype("float32"), 22050)
        script = (
            "import sys; from midivae.cli.main import main; sys.argv = ['midivae', "
            f"'--quiet', 'transcribe', {str(take)!r}, '--instrument', 'flute'];\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            # the process's own high-water mark (ru_maxrss would keep the forking parent's,
            # this one's 10 minutes of frames and the 30-minute take it just wrote)
            "print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))"
            ".split()[1]) / 1024.0)"
        )
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        peak = float(done.stdout.strip().splitlines()[-1])
        print(
            f"transcribe {minutes:.0f} min: peak {peak:.0f} MB, {time.perf_counter() - start:.1f} s"
        )
        return peak


if __name__ == "__main__":
    main()
