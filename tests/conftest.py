"""Shared fixtures: a seeded rng, synthesized test signals, the nsgt reference on sys.path,
a CLI run interrupted with Ctrl-C, and the skip of ``needs_fluidsynth`` tests.

Markers (registered in pyproject.toml):

- ``slow``: subprocesses, parallel-equals-serial checks, trainings, long renders. The subset
  to run while working is ``pytest -m "not slow"``.
- ``needs_fluidsynth``: renders with fluidsynth and FluidR3_GM. Such a test is skipped (not
  failed, and its fixtures are not set up) when the ``fluidsynth`` program is not on PATH or
  ``/usr/share/sounds/sf2/FluidR3_GM.sf2`` is missing. Setting ``MIDIVAE_NO_FLUIDSYNTH=1``
  treats them as missing (to check that skip, or to leave the renders out).
- ``presets``: golden checks against the shipped presets' weights (``pytest -m presets``
  after retraining them).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))  # bench/nsgt_reference.py: the reference transform

SR = 22050
FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # render.SOUNDFONTS["fluidr3"]


def fluidsynth_missing() -> str | None:
    """Why fluidsynth renders cannot run here, or None when they can."""
    if os.environ.get("MIDIVAE_NO_FLUIDSYNTH", "") not in ("", "0"):
        return "MIDIVAE_NO_FLUIDSYNTH is set"
    if shutil.which("fluidsynth") is None:
        return "fluidsynth is not on PATH (sudo apt-get install fluidsynth)"
    if not FLUIDR3.is_file():
        return f"{FLUIDR3} is missing (sudo apt-get install fluid-soundfont-gm)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every ``needs_fluidsynth`` test, before its fixtures run, without fluidsynth."""
    reason = fluidsynth_missing()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"needs fluidsynth and FluidR3_GM: {reason}")
    for item in items:
        if item.get_closest_marker("needs_fluidsynth") is not None:
            item.add_marker(skip)


@pytest.fixture
def one_torch_thread():
    """Tiny models run fastest on one thread (and do not fight other jobs for cores)."""
    from midivae.cli.threads import one_torch_thread

    with one_torch_thread():
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def harmonic_tone(seconds: float, midi: float = 60.0, *, n_harmonics: int = 8) -> np.ndarray:
    """Notes of a decaying harmonic tone that change pitch every half second."""
    t = np.arange(int(SR * seconds)) / SR
    out = np.zeros_like(t)
    pattern = [0, 4, 7, 12, 11, 7, 4, 0]
    for i in range(int(np.ceil(seconds / 0.5))):
        start, stop = int(i * 0.5 * SR), min(int((i + 1) * 0.5 * SR), len(t))
        f0 = 440.0 * 2 ** ((midi + pattern[i % len(pattern)] - 69) / 12)
        tt = t[start:stop] - t[start]
        envelope = np.minimum(1.0, tt / 0.02) * np.exp(-2.0 * tt)
        for h in range(1, n_harmonics + 1):
            if f0 * h < SR / 2:
                out[start:stop] += envelope * (0.3 / h) * np.sin(2 * np.pi * f0 * h * tt)
    return out


def chirp(seconds: float, f_start: float = 100.0, f_stop: float = 2000.0) -> np.ndarray:
    """A linear chirp at amplitude 0.3."""
    t = np.arange(int(SR * seconds)) / SR
    rate = (f_stop - f_start) / seconds
    return 0.3 * np.sin(2 * np.pi * (f_start * t + 0.5 * rate * t**2))


def run_cli(*args: str | Path):
    """Run ``midivae ARGS`` in-process through click's CliRunner (stderr apart from stdout; no
    terminal) and return its Result; an exception never escapes the command's own handling."""
    from click.testing import CliRunner

    from midivae.cli.main import cli

    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def interrupt_cli(args: list[str], first_output: Path, *, wait_s: float, settle_s: float = 0.0):
    """Run ``midivae ARGS`` in a child process, send it SIGINT (Ctrl-C) once ``first_output``
    exists (or after ``wait_s``), and return ``(returncode, stdout, stderr)``."""
    import signal
    import subprocess
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "midivae.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a suite started in the background (``cmd &`` in a script)
        # ignores SIGINT, and an ignored signal is inherited
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and not first_output.exists():
        time.sleep(0.02)
    time.sleep(settle_s)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=wait_s)
    return process.returncode, stdout, stderr
