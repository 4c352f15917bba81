"""Rendering note lists to audio with the ``fluidsynth`` program at one reference gain."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

from midivae.errors import MidivaeError
from midivae.training.corpus.content import Note

#: fluidsynth's master gain (-g) for every corpus render, recorded in each manifest; absolute
#: level is a calibrated cue. At 0.5 a FluidR3 ff note peaks near 0.2 and a 5-note ff piano
#: chord near 0.6 (mono mix of fluidsynth's stereo output).
RENDER_GAIN = 0.5
SAMPLE_RATE = 22050


@dataclass(frozen=True)
class Soundfont:
    """A soundfont the corpus may use: where Debian puts it and what it is for."""

    name: str
    files: tuple[str, ...]
    package: str
    purpose: str

    def path(self) -> Path:
        """The installed file, or a MidivaeError with the install command."""
        for candidate in self.files:
            if Path(candidate).is_file():
                return Path(candidate)
        raise MidivaeError(
            f"soundfont not found; install it with: sudo apt-get install {self.package}",
            self.files[0],
        )


SOUNDFONTS: dict[str, Soundfont] = {
    "fluidr3": Soundfont(
        "fluidr3",
        ("/usr/share/sounds/sf2/FluidR3_GM.sf2",),
        "fluid-soundfont-gm",
        "training",
    ),
    "musescore": Soundfont(
        "musescore",
        (
            "/usr/share/sounds/sf2/MuseScore_General_Full.sf2",
            "/usr/share/sounds/sf2/MuseScore_General.sf2",
        ),
        "musescore-general-soundfont-lossless",
        "dev-test",
    ),
}


def get_soundfont(name: str) -> Soundfont:
    try:
        return SOUNDFONTS[name]
    except KeyError:
        raise MidivaeError(f"unknown soundfont (known: {', '.join(SOUNDFONTS)})", name) from None


def fluidsynth_program() -> str:
    """Path of the ``fluidsynth`` program, or a MidivaeError with the install command."""
    found = shutil.which("fluidsynth")
    if found is None:
        raise MidivaeError(
            "program not found; install it with: sudo apt-get install fluidsynth", "fluidsynth"
        )
    return found


def fluidsynth_version() -> str:
    """The runtime version fluidsynth reports (recorded in manifests and the cache key)."""
    out = subprocess.run(
        [fluidsynth_program(), "--version"], capture_output=True, text=True, check=False
    ).stdout
    for word in out.split():
        if word[:1].isdigit() and "." in word:
            return word
    return "unknown"


def write_midi(notes: list[Note], path: Path, *, program: int | Sequence[int]) -> None:
    """Write ``notes`` as a MIDI file: one track with GM ``program``, or with one program per
    note (a sequence), one track per program."""
    single = np.ndim(program) == 0
    programs = [int(program)] * len(notes) if single else [int(p) for p in program]
    if len(programs) != len(notes):
        raise ValueError("write_midi needs one program per note")
    midi = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=120.0)
    for value in sorted(set(programs)) or [int(program) if single else 0]:
        track = pretty_midi.Instrument(program=int(value))
        track.notes = [
            pretty_midi.Note(n.velocity, n.pitch, n.start, n.end)
            for n, p in zip(notes, programs, strict=True)
            if p == value
        ]
        midi.instruments.append(track)
    midi.write(str(path))


def render_notes(
    notes: list[Note],
    *,
    program: int | Sequence[int],
    soundfont: Path,
    seconds: float,
    gain: float = RENDER_GAIN,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Render ``notes`` in one fluidsynth run; mono float32 of exactly ``seconds`` long.

    ``program`` is one GM program, or one per note.

    Reverb and chorus are off; stereo output is averaged to mono; the result is cut or
    zero-padded to ``round(seconds * sample_rate)`` samples.
    """
    program_path = fluidsynth_program()
    n_samples = round(seconds * sample_rate)
    with tempfile.TemporaryDirectory(prefix="midivae-render-") as tmp:
        mid, wav = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        write_midi(notes, mid, program=program)
        command = [
            program_path, "-ni", "-q", "-R", "0", "-C", "0", "-g", str(gain),
            "-r", str(sample_rate), "-T", "wav", "-O", "float", "-F", str(wav),
            str(soundfont), str(mid),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wav.is_file():
            message = (result.stderr or result.stdout).strip().splitlines()
            detail = message[-1] if message else f"exit status {result.returncode}"
            raise MidivaeError(f"fluidsynth failed: {detail}", soundfont)
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise MidivaeError(f"fluidsynth wrote {rate} Hz instead of {sample_rate} Hz", soundfont)
    mono = audio.mean(axis=1)
    out = np.zeros(n_samples, dtype=np.float32)
    out[: min(n_samples, len(mono))] = mono[:n_samples]
    return out
