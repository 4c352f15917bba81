"""Short audio examples of ``midivae render --mode`` and ``--walk-scale`` (run from the repo root).

``python examples/make_walk_examples.py`` renders the first bars of ``example_score.mid`` with
the flute preset into ``examples/walk/``:

- ``mean.flac``: every note at its posterior mean (the same sound each time a note recurs);
- ``sample.flac``: one seeded draw from each note's posterior (held for the note);
- ``walk-0.5.flac`` / ``walk-1.5.flac``: a smooth seeded random walk inside each note's
  posterior, straying 0.5 or 1.5 posterior standard deviations (small: a living tone near the
  mean; large: timbre, and at times pitch and dynamics, wander).

FLAC, 22050 Hz mono, 6 s each, under 1 MB together.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from midivae.audio import save_audio
from midivae.rendering.render import RenderSettings, render_score
from midivae.rendering.trajectories import TrajectorySettings
from midivae.scores import read_score

HERE = Path(__file__).resolve().parent
N_NOTES = 8  # the first two bars
VARIANTS = {
    "mean": TrajectorySettings(mode="mean"),
    "sample": TrajectorySettings(mode="sample"),
    "walk-0.5": TrajectorySettings(mode="walk", walk_scale=0.5),
    "walk-1.5": TrajectorySettings(mode="walk", walk_scale=1.5),
}


def main() -> None:
    torch.set_num_threads(1)
    score = read_score(HERE / "example_score.mid")
    notes = score.notes[:N_NOTES]
    score = replace(score, notes=notes, duration=max(n.offset for n in notes))
    folder = HERE / "walk"
    folder.mkdir(exist_ok=True)
    for name, trajectory in VARIANTS.items():
        mix, _ = render_score(
            score, preset="flute", settings=RenderSettings(trajectory=trajectory), seed=1
        )
        path = save_audio(folder / f"{name}.flac", mix, overwrite=True)
        print(f"{path}  {len(mix) / 22050:.1f} s, {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
