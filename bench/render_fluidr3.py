"""Rendering against FluidR3_GM's own renders: the held-in library, for choosing settings.

Every dev-set melody score (``bench/devset.py``: seven per melody instrument) is rendered by
midivae (one batch call of ``midivae render``) and by fluidsynth with FluidR3_GM, the library
the presets learned from. Ours is compared with FluidR3's render of the same score (log-mel
spectral distance and Itakura-Saito divergence after gain and alignment, as
``bench/render.py`` does), and librosa.pyin's note F1 against the score is taken on both.
Rendering constants are chosen here; ``bench/render.py`` (MuseScore_General) only reports.

Last line: ``lsd_db=<a> isd=<b> pyin_f1=<c> fluid_pyin_f1=<d> lag_ms=<e> abs_lag_ms=<f>``
(means over scores; the lag is of our onsets after FluidR3's, ``bench/render.py``'s
``onset_lag``), then the keys of ``bench/daw_checks.py`` (band above 11 kHz, pre-echo,
attack, loudness of our renders).
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from daw_checks import daw_keys
from devset import ROOT as DEVSET
from devset import build
from render import SR, compare, fluid_render, onset_lag, render_batch, rendered_name
from scoring import midi_notes, pyin_notes, pyin_range, score

from midivae.audio import load_audio


def main() -> None:
    chosen = [e for e in build(DEVSET) if e.kind == "melody"]
    rows = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        out, _ = render_batch(chosen, Path(tmp))
        for entry in chosen:
            ours = load_audio(out / rendered_name(entry))
            seconds = len(load_audio(DEVSET / f"{entry.stem}.flac")) / SR
            fluid = fluid_render(DEVSET / f"{entry.stem}.mid", seconds)
            lsd, isd, _ = compare(fluid, ours)
            fmin, fmax = pyin_range(entry.instruments[0])
            truth = midi_notes(DEVSET / f"{entry.stem}.mid")
            ours_f1 = score(truth, pyin_notes(ours, SR, fmin, fmax)).on_f1
            fluid_f1 = score(truth, pyin_notes(fluid, SR, fmin, fmax)).on_f1
            lag = 1000 * onset_lag(fluid, ours)
            rows[entry.instruments[0]].append((lsd, isd, ours_f1, fluid_f1, lag, abs(lag)))
        daw = daw_keys(out)
    print(
        f"{'instrument':12s}{'LSD dB':>8s}{'ISD':>8s}{'pyin F1':>9s}{'FluidR3':>9s}"
        f"{'lag ms':>8s}{'|lag|':>8s}"
    )
    for name, values in rows.items():
        lsd, isd, f1, fluid_f1, lag, abs_lag = np.mean(values, axis=0)
        print(f"{name:12s}{lsd:8.2f}{isd:8.2f}{f1:9.3f}{fluid_f1:9.3f}{lag:8.1f}{abs_lag:8.1f}")
    lsd, isd, f1, fluid_f1, lag, abs_lag = np.mean(
        [v for values in rows.values() for v in values], axis=0
    )
    print(
        f"lsd_db={lsd:.2f} isd={isd:.2f} pyin_f1={f1:.3f} fluid_pyin_f1={fluid_f1:.3f} "
        f"lag_ms={lag:.1f} abs_lag_ms={abs_lag:.1f} {daw}"
    )


if __name__ == "__main__":
    main()
