"""What a producer checks in a render, ours beside a sample player's, for the render benches.

- ``band_16k_db``: the share of a render's energy between 11 and 16 kHz (against all below
  11 kHz), ours minus a sample library's on the same notes across each instrument's range at
  44.1 kHz, mean over instruments. References: VSCO 2 (flute, violin, trumpet, piano) and the
  Salamander grand, recorded at 44.1/48 kHz (``bash bench/install_libraries.sh``); the alto
  sax has no full-band library we may use and is left out. Per instrument in a table.
- ``pre_echo_db`` / ``attack_ms``: piano chords in the low register, each after the last
  one's release, under a high note held in the same part (so a render is never gated silent
  before them); below 500 Hz, the loudest 10 ms
  in the 300 ms before each chord relative to the chord's peak, and the time from the onset
  to that peak. Ours and fluidsynth + FluidR3 (``fluid_pre_echo_db``, ``fluid_attack_ms``).
- ``repeat_dip_db``: a legato repeated G4 (violin, no gap between the notes): the 5 ms RMS
  envelope's lowest point within 40 ms of each re-strike against its median over the note
  before, ours and fluidsynth + FluidR3 (``fluid_repeat_dip_db``); 0 means no new attack.
- ``vibrato_lsd_db`` / ``vibrato_isd`` and ``plain_lsd_db`` / ``plain_isd``: held notes across
  each melody instrument's range in ``--mode walk`` with and without its vibrato, against a
  sample library's render of the same notes (VSCO 2 flute, violin, trumpet; weresax alto sax),
  log-mel distance and Itakura-Saito divergence as ``bench/render.py`` measures them (means
  over instruments; per instrument in a table).
- ``lufs``: integrated loudness (BS.1770) of our renders with the default settings.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pretty_midi

from midivae.music import get_instrument
from midivae.rendering.mixdown import loudness_lufs
from midivae.training.corpus.content import Note
from midivae.training.corpus.render import get_soundfont, render_notes

ROOT = Path(__file__).resolve().parents[1]
RATE = 44100
BAND_REFERENCES = {
    "flute": ("vsco2-flute",),
    "violin": ("vsco2-violin",),
    "trumpet": ("vsco2-trumpet",),
    "piano": ("vsco2-piano", "salamander-grand-piano"),
}
CHORDS = ((36, 43, 48, 52), (41, 48, 53, 57), (43, 50, 55, 59), (38, 45, 50, 53))
HELD = 96  # C7, sounding through the chords
LOW_HZ = 500.0


def render_ours(
    notes: list[Note],
    program: int,
    tmp: Path,
    *,
    extra_part=None,
    rate: int = RATE,
    extra: tuple[str, ...] = (),
) -> np.ndarray:
    """``notes`` (and ``extra_part`` ``(program, notes)``) through ``midivae render`` at
    ``rate``, mono, with ``extra`` arguments."""
    midi = pretty_midi.PrettyMIDI()
    for prog, part in [(program, notes), *([extra_part] if extra_part else [])]:
        track = pretty_midi.Instrument(prog)
        track.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in part]
        midi.instruments.append(track)
    midi.write(str(tmp / "score.mid"))
    out = tmp / "score.wav"
    command = [sys.executable, "-m", "midivae.cli", "--quiet", "render", str(tmp / "score.mid")]
    command += ["--mono", "--overwrite", "--sample-rate", str(rate), *extra, "-o", str(out)]
    subprocess.run(command, check=True)
    import soundfile

    audio, _ = soundfile.read(out, dtype="float32")
    return audio


def band_share_db(audio: np.ndarray, rate: int = RATE) -> float:
    """Energy between 11.025 and 16 kHz against all below 11.025 kHz, in dB."""
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    upper = power[(freqs > 11025) & (freqs < 16000)].sum()
    return float(10 * np.log10(max(upper, 1e-30) / power[freqs <= 11025].sum()))


def band_rows() -> dict[str, tuple[float, dict[str, float]]]:
    """Per instrument: our band share and each installed reference library's."""
    from midivae.training.corpus.libraries import open_library

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, libraries in BAND_REFERENCES.items():
            installed = [lib for lib in libraries if (ROOT / "libraries" / lib).is_dir()]
            if not installed:
                continue
            inst = get_instrument(name)
            pitches = np.linspace(inst.low + 2, inst.high - 2, 8).round().astype(int)
            notes = [Note(int(p), 90, 0.6 * k + 0.1, 0.6 * k + 0.6) for k, p in enumerate(pitches)]
            seconds = 0.6 * len(notes) + 1.0
            ours = band_share_db(render_ours(notes, inst.program, Path(tmp)))
            refs = {}
            for lib in installed:
                library = open_library(f"{lib}={ROOT / 'libraries' / lib}")
                voices = [library.programs(inst)[0]] * len(notes)
                audio = library.render(
                    notes, instrument=inst, voices=voices, seconds=seconds, sample_rate=RATE
                )
                refs[lib] = band_share_db(audio)
            rows[name] = (ours, refs)
    return rows


def _envelope_db(audio: np.ndarray, low_pass: float | None = None) -> np.ndarray:
    """5 ms RMS of ``audio`` (below ``low_pass`` Hz when given), in dB, a value per ms."""
    from scipy.signal import butter, sosfiltfilt

    audio = audio.astype(np.float64)
    if low_pass is not None:
        audio = sosfiltfilt(butter(6, low_pass, fs=RATE, output="sos"), audio)
    window = int(0.005 * RATE)
    power = np.convolve(audio**2, np.ones(window) / window, mode="same")[:: RATE // 1000]
    return 10 * np.log10(power + 1e-20)


def attack_figures(audio: np.ndarray, onsets: list[float]) -> tuple[float, float]:
    """(pre-echo dB, attack ms), means over ``onsets`` (seconds), of ``audio`` at 44.1 kHz:
    below ``LOW_HZ`` the loudest 5 ms of the 300 ms before the onset (to 10 ms before it)
    against the chord's peak there; over the whole band the time from onset to peak."""
    low, full = _envelope_db(audio, LOW_HZ), _envelope_db(audio)
    pre, attack = [], []
    for onset in onsets:
        at = int(onset * 1000)
        low_peak = low[at : at + 300].max()
        pre.append(float(low[at - 300 : at - 10].max() - low_peak))
        attack.append(float(np.argmax(full[at - 10 : at + 300]) - 10))
    return float(np.mean(pre)), float(np.mean(attack))


def piano_attacks() -> tuple[tuple[float, float], tuple[float, float]]:
    """(ours, fluidsynth + FluidR3) (pre-echo dB, attack ms) on low chords, each after the
    last one's release, under a high note held in the same part (the left and right hand of
    one piano track, so the part is never gated silent)."""
    onsets = [1.0 + 2.5 * k for k in range(len(CHORDS))]
    chords = [Note(p, 90, t, t + 0.6) for t, chord in zip(onsets, CHORDS, strict=True)
              for p in chord]  # fmt: skip
    seconds = onsets[-1] + 2.5
    notes = [*chords, Note(HELD, 70, 0.2, seconds - 1.0)]
    with tempfile.TemporaryDirectory() as tmp:
        ours = render_ours(notes, 0, Path(tmp))
    font = get_soundfont("fluidr3").path()
    fluid = render_notes(notes, program=0, soundfont=font, seconds=seconds, sample_rate=RATE)
    return attack_figures(ours, onsets), attack_figures(fluid, onsets)


def repeat_dips() -> tuple[float, float]:
    """(ours, fluidsynth + FluidR3) mean dip (dB) at the re-strikes of a legato violin G4."""
    onsets = [0.5 + 0.4 * k for k in range(5)]
    notes = [Note(67, 90, t, t + 0.4) for t in onsets]
    seconds = onsets[-1] + 1.5
    with tempfile.TemporaryDirectory() as tmp:
        ours = render_ours(notes, 40, Path(tmp))
    font = get_soundfont("fluidr3").path()
    fluid = render_notes(notes, program=40, soundfont=font, seconds=seconds, sample_rate=RATE)

    def dips(audio: np.ndarray) -> float:
        envelope = _envelope_db(audio)
        out = []
        for before, onset in itertools.pairwise(onsets):
            held = np.median(envelope[int(before * 1000) + 100 : int(onset * 1000) - 50])
            at = int(onset * 1000)
            out.append(float(envelope[at - 40 : at + 40].min() - held))
        return float(np.mean(out))

    return dips(ours), dips(fluid)


VIBRATO_REFERENCES = {
    "flute": "vsco2=libraries/vsco2-flute",
    "violin": "vsco2=libraries/vsco2-violin",
    "trumpet": "vsco2=libraries/vsco2-trumpet",
    "alto_sax": "weresax=../shared/libraries/karoryfer-weresax/Programs/Sax.sfz",
}


def vibrato_rows() -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """Per instrument: (LSD dB, ISD) of walk renders with and without vibrato against a
    sample library's render of the same held notes (22050 Hz mono)."""
    from render import compare

    from midivae.training.corpus.libraries import open_library

    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for name, spec in VIBRATO_REFERENCES.items():
            path = spec.split("=", 1)[1]
            if not (ROOT / path).exists():
                continue
            inst = get_instrument(name)
            pitches = np.linspace(inst.low + 3, inst.high - 7, 5).round().astype(int)
            notes = [Note(int(p), 80, 0.3 + 2.0 * k, 1.8 + 2.0 * k) for k, p in enumerate(pitches)]
            seconds = 2.0 * len(notes) + 0.5
            library = open_library(f"{spec.split('=')[0]}={ROOT / path}")
            voices = [library.programs(inst)[0]] * len(notes)
            reference = library.render(notes, instrument=inst, voices=voices, seconds=seconds)
            figures = []
            for extra in ((), ("--no-vibrato",)):
                audio = render_ours(
                    notes, inst.program, tmp, rate=22050, extra=("--mode", "walk", *extra)
                )
                figures.append(compare(reference, audio[: len(reference)])[:2])
            rows[name] = (figures[0], figures[1])
    return rows


def daw_keys(render_folder: Path | None = None) -> str:
    """The DAW checks' part of a bench's last line (tables printed on the way); ``lufs`` of
    the renders in ``render_folder`` (44.1 kHz files) when given."""
    rows = band_rows()
    print(f"{'instrument':12s}{'ours 11-16k dB':>16s}  references")
    gaps = []
    for name, (ours, refs) in rows.items():
        gaps += [ours - ref for ref in refs.values()]
        listed = ", ".join(f"{lib} {value:.1f}" for lib, value in refs.items())
        print(f"{name:12s}{ours:16.1f}  {listed}")
    (pre, attack), (fluid_pre, fluid_attack) = piano_attacks()
    print(f"piano chords: pre-echo {pre:.1f} dB, attack {attack:.0f} ms; "
          f"fluidsynth + FluidR3 {fluid_pre:.1f} dB, {fluid_attack:.0f} ms")  # fmt: skip
    dip, fluid_dip = repeat_dips()
    print(f"legato repeats (violin G4): dip {dip:.1f} dB; fluidsynth + FluidR3 {fluid_dip:.1f} dB")
    vibrato = vibrato_rows()
    print(f"{'walk mode':12s}{'vibrato LSD/ISD':>18s}{'plain LSD/ISD':>16s}")
    for name, ((lsd, isd), (plain_lsd, plain_isd)) in vibrato.items():
        print(f"{name:12s}{lsd:11.2f}/{isd:6.2f}{plain_lsd:9.2f}/{plain_isd:6.2f}")
    means = np.mean([[*a, *b] for a, b in vibrato.values()], axis=0) if vibrato else [np.nan] * 4
    keys = (
        f"band_16k_db={np.mean(gaps) if gaps else float('nan'):.1f} pre_echo_db={pre:.1f} "
        f"attack_ms={attack:.0f} fluid_pre_echo_db={fluid_pre:.1f} "
        f"fluid_attack_ms={fluid_attack:.0f} repeat_dip_db={dip:.1f} "
        f"fluid_repeat_dip_db={fluid_dip:.1f} vibrato_lsd_db={means[0]:.2f} "
        f"vibrato_isd={means[1]:.2f} plain_lsd_db={means[2]:.2f} plain_isd={means[3]:.2f}"
    )
    if render_folder is not None:
        import soundfile

        levels = []
        for path in sorted(Path(render_folder).glob("*.wav")):
            audio, rate = soundfile.read(path, dtype="float32")
            levels.append(loudness_lufs(audio, rate))
        keys += f" lufs={np.mean(levels):.1f}"
    return keys


if __name__ == "__main__":
    print(daw_keys())
