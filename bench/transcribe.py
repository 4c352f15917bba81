"""Transcription on the MuseScore_General dev set, next to librosa.pyin in the same run.

Builds (or reuses) ``bench/data/devset`` (see ``bench/devset.py``), transcribes every file with
``--instrument auto``, times one ``midivae transcribe`` batch call on the whole folder (a new
process, torch import and model loading included: the RTF is audio seconds over the call's
wall seconds), scores notes with mir_eval (onset within 50 ms; onset + offset;
onset + offset + velocity), runs pYIN on the monophonic files, and prints tables per kind and
per instrument, the auto-choice confusion matrix, the dynamics order (pp < mf < ff for the
same pitch), the median onset error, the cold start of one short file, and the peak memory of
one 10-minute file (both as separate processes).

Last line: ``rtf=<x> cold_s=<c> on_f1=<a> onoff_f1=<b> vel_f1=<c> pyin_on_f1=<d>
pyin_onoff_f1=<e> pyin_vel_f1=<f> dyn_order=<g> piano_on_f1=<h> duet_on_f1=<i> auto_acc=<j>
peak_rss_mb=<m>`` (melody figures unless named otherwise).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from devset import ROOT as DEVSET
from devset import build
from scoring import midi_notes, ordered, pyin_notes, pyin_range, score, velocity_triples

from midivae.audio import load_audio, save_audio


def right_choices(instruments: tuple[str, ...]) -> set[str]:
    """The presets an auto choice may pick for a recording of ``instruments``.

    A solo needs its own preset. A duet needs a mixture preset that has a slot for each of
    its instruments; where none has (trumpet duets), any mixture preset is the best on offer.
    """
    from midivae.presets.preset import cached_preset, shipped_presets

    if len(instruments) == 1:
        return {instruments[0]}
    mixtures = {n: set(cached_preset(n).instruments) for n in shipped_presets()}
    mixtures = {n: slots for n, slots in mixtures.items() if len(slots) > 1}
    covering = {n for n, slots in mixtures.items() if set(instruments) <= slots}
    return covering or set(mixtures)


def mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else float("nan")


def dynamics_order(results: dict[str, list]) -> float:
    """Share of (instrument, pitch) triples whose velocities come out pp < mf < ff
    (:func:`scoring.velocity_triples`): the note counted is the one of the same pitch
    nearest the reference onset (measurements: docs/experiments.md, "Transcription speed
    and benches").
    """
    triples = []
    instruments = {stem.split("/")[1].rsplit("-", 1)[0] for stem in results if "notes/" in stem}
    for name in instruments:
        levels = [results.get(f"notes/{name}-{level}", []) for level in ("pp", "mf", "ff")]
        reference = midi_notes(DEVSET / f"notes/{name}-mf.mid")
        triples += velocity_triples(levels, reference)
    return sum(ordered(v) for _, v in triples) / len(triples) if triples else float("nan")


def run_cli(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "midivae.cli", *args], capture_output=True, text=True, check=False
    )
    return time.perf_counter() - start, done


def child_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-pyin", action="store_true", help="leave out the pYIN baseline")
    args = parser.parse_args()
    entries = build(DEVSET)
    from midivae.transcription.transcribe import transcribe

    # The notes, from the library in this process (the same code the CLI runs per file).
    results: dict[str, list] = {}
    chosen: dict[str, str] = {}
    audio_seconds = 0.0
    for entry in entries:
        result = transcribe(DEVSET / f"{entry.stem}.flac", preset="auto", calibrated=True)
        audio_seconds += result.seconds
        results[entry.stem] = [(n.onset, n.offset, n.pitch, n.velocity) for n in result.notes]
        chosen[entry.stem] = result.preset
    # The speed: one batch call of the CLI on the whole dev folder, as a user runs it (a new
    # process: importing torch, loading every preset, files two at a time on 2 cores).
    with tempfile.TemporaryDirectory() as tmp:
        batch_s, done = run_cli("--quiet", "transcribe", str(DEVSET), "-o", tmp)
        if done.returncode:
            print(done.stderr)
    rtf = audio_seconds / batch_s

    rows = defaultdict(list)
    for entry in entries:
        reference = midi_notes(DEVSET / f"{entry.stem}.mid")
        rows[entry.kind].append((entry, score(reference, results[entry.stem])))
    pyin = defaultdict(list)
    if not args.skip_pyin:
        for entry, _ in rows["melody"]:
            fmin, fmax = pyin_range(entry.instruments[0])
            audio = load_audio(DEVSET / f"{entry.stem}.flac")
            estimate = pyin_notes(audio, 22050, fmin, fmax)
            pyin[entry.instruments[0]].append(
                score(midi_notes(DEVSET / f"{entry.stem}.mid"), estimate)
            )

    print(
        f"{'kind':8s}{'instrument':18s}{'files':>6s}{'on F1':>8s}{'on+off':>8s}{'+vel':>8s}"
        f"{'pyin on':>9s}{'pyin +off':>10s}{'pyin +vel':>10s}"
    )
    for kind, scored in rows.items():
        by_instrument = defaultdict(list)
        for entry, s in scored:
            by_instrument["+".join(entry.instruments)].append(s)
        for name, scores in sorted(by_instrument.items()):
            p = pyin.get(name, []) if kind == "melody" else []
            print(
                f"{kind:8s}{name:18s}{len(scores):6d}{mean(s.on_f1 for s in scores):8.3f}"
                f"{mean(s.onoff_f1 for s in scores):8.3f}{mean(s.vel_f1 for s in scores):8.3f}"
                + (
                    f"{mean(s.on_f1 for s in p):9.3f}{mean(s.onoff_f1 for s in p):10.3f}"
                    f"{mean(s.vel_f1 for s in p):10.3f}"
                    if p
                    else ""
                )
            )
    onset_errors = [e for _, s in rows["melody"] for e in s.onset_errors]
    print(f"median onset error (melodies): {1000 * np.median(onset_errors):+.1f} ms")

    print("auto choice (rows: true instrument, columns: chosen preset)")
    confusion = defaultdict(lambda: defaultdict(int))
    correct = total = 0
    for entry in entries:
        truth = "+".join(entry.instruments)
        confusion[truth][chosen[entry.stem]] += 1
        correct += chosen[entry.stem] in right_choices(tuple(entry.instruments))
        total += 1
    columns = sorted({c for row in confusion.values() for c in row})
    print(f"{'':22s}" + "".join(f"{c[:12]:>13s}" for c in columns))
    for truth in sorted(confusion):
        print(f"{truth:22s}" + "".join(f"{confusion[truth].get(c, 0):13d}" for c in columns))

    melody = [s for _, s in rows["melody"]]
    all_pyin = [s for scores in pyin.values() for s in scores]

    # Cold start: one short file end to end in a new process.
    with tempfile.TemporaryDirectory() as tmp:
        example = Path(__file__).resolve().parents[1] / "examples" / "example_recording.flac"
        cold_s, done = run_cli(
            "--quiet", "transcribe", str(example), "-o", f"{tmp}/x.mid", "--instrument", "flute"
        )
        if done.returncode:
            print(done.stderr)
        long_file = Path(tmp) / "ten_minutes.flac"
        melody_audio = load_audio(DEVSET / f"{entries[0].stem}.flac")
        save_audio(long_file, np.resize(melody_audio, 22050 * 600))
        _, done = run_cli(
            "--quiet",
            "transcribe",
            str(long_file),
            "-o",
            f"{tmp}/long.mid",
            "--instrument",
            entries[0].instruments[0],
        )
        if done.returncode:
            print(done.stderr)
    peak = child_peak_rss_mb()

    print(
        f"rtf={rtf:.0f} cold_s={cold_s:.2f} on_f1={mean(s.on_f1 for s in melody):.3f} "
        f"onoff_f1={mean(s.onoff_f1 for s in melody):.3f} "
        f"vel_f1={mean(s.vel_f1 for s in melody):.3f} "
        f"pyin_on_f1={mean(s.on_f1 for s in all_pyin):.3f} "
        f"pyin_onoff_f1={mean(s.onoff_f1 for s in all_pyin):.3f} "
        f"pyin_vel_f1={mean(s.vel_f1 for s in all_pyin):.3f} "
        f"dyn_order={dynamics_order(results):.3f} "
        f"piano_on_f1={mean(s.on_f1 for _, s in rows['piano']):.3f} "
        f"duet_on_f1={mean(s.on_f1 for _, s in rows['duet']):.3f} "
        f"auto_acc={correct / total:.3f} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
