"""Rendering quality and speed against a sine baseline and fluidsynth + FluidR3_GM.

Scores: from the dev set (``bench/devset.py``), the first melody of each melody instrument,
the first duet and the first piano chorale. Each is rendered by midivae (one batch call of
``midivae render``, timed: RTF = audio seconds / wall seconds), by a sine baseline
(``pretty_midi`` ``synthesize``) and by fluidsynth with FluidR3_GM (the sample player a user
would otherwise pick, and our training library). All are compared with the dev set's
fluidsynth + MuseScore_General render of the same score (a library never trained on; report
only): log-mel spectral distance (dB) and Itakura-Saito divergence after matching overall
gain and the best alignment within +-250 ms, the onset lag (cross-correlation of spectral-flux
onset strengths, 2.9 ms steps; the spectral alignment is printed too, in 11.6 ms steps), and
for monophonic renders the note F1 of librosa.pyin against the score (the render must carry
the score; pYIN on the MuseScore_General audio itself is printed as its ceiling).

Speed: ``rtf`` over all scores, ``rtf_melody`` (melodies and the duet) and ``rtf_piano`` (the
chorale) from their own batch calls (model loading included), ``fluid_rtf`` of fluidsynth +
FluidR3 on the same scores in this process. Then the checks of ``bench/daw_checks.py``: the
band above 11 kHz against sample libraries, pre-echo and attack on piano chords, and the
loudness of our renders (defaults: 44.1 kHz stereo at the calibrated levels).

Last line: ``rtf=<x> lsd_db=<a> isd=<b> sine_lsd_db=<c> sine_isd=<d> fluid_lsd_db=<e>
fluid_isd=<f> lag_ms=<g> pyin_f1=<h> rtf_melody=<i> rtf_piano=<j> fluid_rtf=<k>
band_16k_db=<l> pre_echo_db=<m> attack_ms=<n> fluid_pre_echo_db=<o> fluid_attack_ms=<p>
lufs=<q>``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pretty_midi
from daw_checks import daw_keys
from devset import ROOT as DEVSET
from devset import build
from scoring import midi_notes, pyin_notes, pyin_range, score

from midivae.audio import load_audio
from midivae.training.corpus.render import get_soundfont, render_notes

SR = 22050
HOP = 256
MAX_LAG = 0.25
FLOOR_DB = -80.0


def mel_power(audio: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.feature.melspectrogram(
        y=audio.astype(np.float32), sr=SR, n_fft=2048, hop_length=HOP, n_mels=64, power=2.0
    )


def onset_lag(reference: np.ndarray, estimate: np.ndarray, hop: int = 64) -> float:
    """Seconds by which ``estimate``'s onsets come after ``reference``'s (negative: early):
    the peak of the cross-correlation of their spectral-flux onset strengths (2.9 ms steps,
    within +-250 ms)."""
    import librosa

    a = librosa.onset.onset_strength(y=reference.astype(np.float32), sr=SR, hop_length=hop)
    b = librosa.onset.onset_strength(y=estimate.astype(np.float32), sr=SR, hop_length=hop)
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    max_shift = int(MAX_LAG * SR / hop)

    def match(shift: int) -> float:  # estimate frame k against reference frame k + shift
        return float(
            np.dot(a[max(shift, 0) : n + min(shift, 0)], b[max(-shift, 0) : n - max(shift, 0)])
        )

    return -max(range(-max_shift, max_shift + 1), key=match) * hop / SR


def compare(reference: np.ndarray, estimate: np.ndarray) -> tuple[float, float, float]:
    """(log-spectral distance dB, Itakura-Saito divergence, lag s) after gain and alignment."""
    ref = mel_power(reference)
    est_full = mel_power(estimate)
    floor = ref.max() * 10 ** (FLOOR_DB / 10)
    best = None
    max_shift = int(MAX_LAG * SR / HOP)
    n = min(ref.shape[1], est_full.shape[1])
    for shift in range(-max_shift, max_shift + 1):
        # estimate frame j against reference frame j + shift, over the frames both have
        # (a wrap-around would pair a file's first onset with the other's silent end)
        r = ref[:, max(shift, 0) : n + min(shift, 0)]
        e = est_full[:, max(-shift, 0) : n - max(shift, 0)]
        gain = r.sum() / max(e.sum(), 1e-20)
        e = e * gain
        r_db = 10 * np.log10(np.maximum(r, floor))
        e_db = 10 * np.log10(np.maximum(e, floor))
        lsd = float(np.sqrt(np.mean((r_db - e_db) ** 2)))
        if best is None or lsd < best[0]:
            ratio = np.maximum(r, floor) / np.maximum(e, floor)
            isd = float(np.mean(ratio - np.log(ratio) - 1))
            best = (lsd, isd, shift * HOP / SR)
    return best


def sine_render(midi_path: Path, seconds: float) -> np.ndarray:
    audio = pretty_midi.PrettyMIDI(str(midi_path)).synthesize(fs=SR)
    return np.resize(audio, round(seconds * SR)) * 0.2


def fluid_render(midi_path: Path, seconds: float) -> np.ndarray:
    from midivae.training.corpus.content import Note

    midi = pretty_midi.PrettyMIDI(str(midi_path))
    font = get_soundfont("fluidr3").path()
    mix = np.zeros(round(seconds * SR))
    for track in midi.instruments:
        notes = [Note(n.pitch, n.velocity, n.start, n.end) for n in track.notes]
        mix += render_notes(notes, program=track.program, soundfont=font, seconds=seconds)
    return mix


def rendered_name(entry) -> str:
    """The file name ``midivae render`` gives a dev-set entry's score in :func:`render_batch`."""
    return f"{_flat_stem(entry)}.wav"


def _flat_stem(entry) -> str:
    return entry.stem.replace("/", "_")


def render_batch(entries, tmp: Path) -> tuple[Path, float]:
    """Render the entries' scores with one batch call of ``midivae render`` under ``tmp``:
    the output folder and the call's wall seconds (exits on failure)."""
    scores = tmp / "scores"
    scores.mkdir(parents=True)
    for entry in entries:
        (scores / f"{_flat_stem(entry)}.mid").write_bytes(
            (DEVSET / f"{entry.stem}.mid").read_bytes()
        )
    out = tmp / "out"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "midivae.cli", "--quiet", "render", str(scores), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode:
        print(done.stderr)
        raise SystemExit(1)
    return out, wall


def main() -> None:
    entries = build(DEVSET)
    chosen = [e for e in entries if e.kind == "melody" and e.stem.endswith("-0")]
    chosen += [next(e for e in entries if e.kind == "duet")]
    chosen += [next(e for e in entries if e.kind == "piano")]
    with tempfile.TemporaryDirectory() as tmp:
        pianos = [e for e in chosen if e.kind == "piano"]
        melody_out, melody_wall = render_batch([e for e in chosen if e not in pianos],
                                               Path(tmp) / "melody")  # fmt: skip
        piano_out, piano_wall = render_batch(pianos, Path(tmp) / "piano")
        wall = melody_wall + piano_wall
        kind_seconds = {"melody": 0.0, "piano": 0.0}
        fluid_wall = 0.0
        rows, audio_seconds, pyin_f1, fluid_pyin_f1, reference_pyin_f1 = [], 0.0, [], [], []
        lags, fluid_lags = [], []
        print(
            f"{'score':28s}{'midivae LSD/ISD':>18s}{'sine':>16s}{'FluidR3':>16s}"
            f"{'align ms':>10s}{'onset ms':>10s}{'FluidR3':>9s}"
        )
        for entry in chosen:
            reference = load_audio(DEVSET / f"{entry.stem}.flac")
            seconds = len(reference) / SR
            out = piano_out if entry in pianos else melody_out
            ours = load_audio(out / rendered_name(entry))
            audio_seconds += len(ours) / SR
            kind_seconds["piano" if entry in pianos else "melody"] += len(ours) / SR
            ours_s = compare(reference, ours)
            sine_s = compare(reference, sine_render(DEVSET / f"{entry.stem}.mid", seconds))
            start = time.perf_counter()
            fluid = fluid_render(DEVSET / f"{entry.stem}.mid", seconds)
            fluid_wall += time.perf_counter() - start
            fluid_s = compare(reference, fluid)
            rows.append((ours_s, sine_s, fluid_s))
            lags.append(onset_lag(reference, ours))
            fluid_lags.append(onset_lag(reference, fluid))
            print(
                f"{entry.stem:28s}{ours_s[0]:9.1f}/{ours_s[1]:7.2f}{sine_s[0]:8.1f}/"
                f"{sine_s[1]:7.2f}{fluid_s[0]:8.1f}/{fluid_s[1]:7.2f}{1000 * ours_s[2]:10.0f}"
                f"{1000 * lags[-1]:10.1f}{1000 * fluid_lags[-1]:9.1f}"
            )
            if entry.kind == "melody":
                fmin, fmax = pyin_range(entry.instruments[0])
                truth = midi_notes(DEVSET / f"{entry.stem}.mid")
                pyin_f1.append(score(truth, pyin_notes(ours, SR, fmin, fmax)).on_f1)
                fluid_pyin_f1.append(score(truth, pyin_notes(fluid, SR, fmin, fmax)).on_f1)
                reference_pyin_f1.append(score(truth, pyin_notes(reference, SR, fmin, fmax)).on_f1)
        daw = daw_keys(melody_out)
    mean = lambda i, j: float(np.mean([r[i][j] for r in rows]))  # noqa: E731
    print(
        f"pYIN note F1 on the monophonic renders: midivae {np.mean(pyin_f1):.3f}, "
        f"fluidsynth + FluidR3 {np.mean(fluid_pyin_f1):.3f}, "
        f"MuseScore_General itself {np.mean(reference_pyin_f1):.3f}"
    )
    print(
        f"rtf={audio_seconds / wall:.1f} lsd_db={mean(0, 0):.1f} isd={mean(0, 1):.2f} "
        f"sine_lsd_db={mean(1, 0):.1f} sine_isd={mean(1, 1):.2f} "
        f"fluid_lsd_db={mean(2, 0):.1f} fluid_isd={mean(2, 1):.2f} "
        f"lag_ms={1000 * np.mean(lags):.0f} pyin_f1={np.mean(pyin_f1):.3f} "
        f"rtf_melody={kind_seconds['melody'] / melody_wall:.1f} "
        f"rtf_piano={kind_seconds['piano'] / piano_wall:.1f} "
        f"fluid_rtf={audio_seconds / fluid_wall:.1f} {daw}"
    )


if __name__ == "__main__":
    main()
