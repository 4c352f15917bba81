#!/usr/bin/env bash
# Set-up for the benchmarks (run from the repo root, as root or with sudo): the test set-up plus
# MuseScore_General (the ~330 MB dev-test soundfont, never used for training or tests).
set -euo pipefail
apt-get update -q
apt-get install -y -q fluidsynth fluid-soundfont-gm musescore-general-soundfont-lossless
python3 -m venv .venv
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[dev]'
.venv/bin/pip install -q --no-build-isolation nsgt==0.19
