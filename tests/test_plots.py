"""Pictures are real PNGs, written atomically, never over a file without overwrite."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli

from midivae import plots
from midivae.errors import MidivaeError

PNG = b"\x89PNG\r\n\x1a\n"


def test_piano_roll_and_spectrogram(tmp_path, rng):
    notes = [(0.0, 0.5, 60, 100, 0), (0.5, 1.2, 64, 40, 1)]
    roll = plots.piano_roll(notes, tmp_path / "roll.png", part_names=["a", "b"])
    assert roll.read_bytes()[:8] == PNG
    frames = rng.uniform(0, 3, size=(200, 416)).astype(np.float32)
    spec = plots.spectrogram(frames, tmp_path / "spec.png", notes=notes)
    assert spec.read_bytes()[:8] == PNG and spec.stat().st_size > 10_000
    latent = plots.latent_map(
        rng.standard_normal((300, 2)),
        {"pitch class": rng.integers(0, 12, 300)},
        tmp_path / "latent.png",
    )
    assert latent.read_bytes()[:8] == PNG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latent.png", "roll.png", "spec.png"]


def test_no_overwrite_without_permission(tmp_path):
    target = tmp_path / "roll.png"
    target.write_bytes(b"mine")
    with pytest.raises(MidivaeError, match="exists"):
        plots.piano_roll([], target)
    assert target.read_bytes() == b"mine"
    plots.piano_roll([], target, overwrite=True)
    assert target.read_bytes()[:8] == PNG


def test_note_names():
    assert (
        plots.note_name(60) == "C4" and plots.note_name(69) == "A4" and plots.note_name(21) == "A0"
    )


def test_plot_command_draws_each_kind(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    cases = [
        (root / "examples" / "example_score.mid", "piano roll"),
        (root / "examples" / "example_recording.flac", "spectrogram"),
        (root / "midivae" / "presets" / "shipped" / "flute", "latent map"),
    ]
    for number, (source, what) in enumerate(cases):
        target = tmp_path / f"{number}.png"
        done = run_cli("plot", str(source), "-o", str(target))
        assert done.exit_code == 0, done.stderr
        assert what in done.stdout
        assert target.read_bytes()[:8] == PNG
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    done = run_cli("plot", str(bad), "-o", str(tmp_path / "x.png"))
    assert done.exit_code == 1 and done.stderr.startswith(f"error: {bad}: ")
