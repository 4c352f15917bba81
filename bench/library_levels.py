"""Each library's level per dynamic, before and after its calibration to FluidR3's level.

For every instrument and every library that has it (``bench/libraries.py``), isolated notes
at pp / mf / ff velocities (33 / 80 / 112) over the range are rendered and each note's level
is the peak of its 50 ms RMS (``midivae.training.corpus.levels``); the median over pitches is
printed before and after the calibration, beside FluidR3's (the reference). A calibrated
library's mf level should sit on the reference's, and its pp and ff as close as its own
velocity range allows.

Usage: ``python bench/library_levels.py [INSTRUMENT ...]``. Last line:
``mf_error_db_max=<a> pp_error_db_mean=<b> ff_error_db_mean=<c>`` (calibrated libraries,
absolute dB from the reference).
"""

from __future__ import annotations

import sys

import numpy as np

from libraries import available
from midivae.music import get_instrument
from midivae.training.corpus.levels import calibrate_library, measure_levels, reported_levels
from midivae.training.corpus.libraries import open_library

INSTRUMENTS = ("flute", "violin", "alto_sax", "trumpet", "piano")


def main() -> None:
    names = sys.argv[1:] or INSTRUMENTS
    errors: dict[str, list[float]] = {"pp": [], "mf": [], "ff": []}
    for name in names:
        instrument = get_instrument(name)
        reference = measure_levels(open_library("fluidr3"), instrument)
        ref = reported_levels(reference)
        print(
            f"{name:9s} fluidr3 (reference) pp/mf/ff "
            f"{ref['pp']:7.2f} {ref['mf']:7.2f} {ref['ff']:7.2f} dBFS"
        )
        for library_name, spec in available(name).items():
            if library_name == "fluidr3":
                continue
            calibration, record = calibrate_library(open_library(spec), instrument, reference)
            first, after = record["before"], record["after"]
            for dynamic in errors:
                errors[dynamic].append(abs(after[dynamic] - ref[dynamic]))
            print(
                f"{name:9s} {library_name:10s} before {first['pp']:7.2f} {first['mf']:7.2f} "
                f"{first['ff']:7.2f}  after {after['pp']:7.2f} {after['mf']:7.2f} "
                f"{after['ff']:7.2f}  gain {calibration.gain_db:+6.1f} dB"
            )
    print(
        f"mf_error_db_max={max(errors['mf']):.2f} pp_error_db_mean={np.mean(errors['pp']):.2f} "
        f"ff_error_db_mean={np.mean(errors['ff']):.2f}"
    )


if __name__ == "__main__":
    main()
