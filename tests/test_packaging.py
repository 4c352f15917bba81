"""The built wheel installs everything under the ``midivae`` import name."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
    assert "midivae/presets/__init__.py" in names
    assert "midivae/spectral/transform.py" in names
    for preset in (ROOT / "presets").iterdir():
        if preset.is_dir():
            assert f"midivae/presets/{preset.name}/model.safetensors" in names
            assert f"midivae/presets/{preset.name}/preset.json" in names
    tops = {name.split("/")[0] for name in names}
    assert tops <= {"midivae"} | {t for t in tops if t.endswith(".dist-info")}, tops
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "midivae = midivae.cli.main:main" in text
