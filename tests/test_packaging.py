"""The built wheel installs everything under the ``midivae`` import name."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # pip builds a wheel in a subprocess


def test_wheel_holds_cli_and_presets_under_midivae(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("midivae-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "midivae/cli/main.py" in names
    assert "midivae/__main__.py" in names
    # every module of the checkout is in the wheel (a new subpackage cannot be left out)
    for module in (ROOT / "midivae").rglob("*.py"):
        assert module.relative_to(ROOT).as_posix() in names, module
    shipped = [p for p in (ROOT / "midivae" / "presets" / "shipped").iterdir() if p.is_dir()]
    assert len(shipped) >= 7
    for preset in shipped:
        for file in preset.iterdir():
            assert f"midivae/presets/shipped/{preset.name}/{file.name}" in names
    for file in (ROOT / "midivae" / "presets" / "chooser").iterdir():
        assert f"midivae/presets/chooser/{file.name}" in names
    tops = {name.split("/")[0] for name in names}
    assert tops <= {"midivae"} | {t for t in tops if t.endswith(".dist-info")}, tops
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "midivae = midivae.cli.main:main" in text
