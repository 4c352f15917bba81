"""Level calibration per library: a velocity means the same loudness whichever library plays it.

Libraries differ in gain and in how loudness follows velocity. The reference is FluidR3_GM
through fluidsynth at the corpus gain (the level every shipped preset reads velocities from).
For a library and an instrument, isolated notes across the range are rendered at
``VELOCITIES`` and each note's level is the peak of its 50 ms RMS in dBFS; the median over
pitches gives the library's level curve. The calibration is a gain that puts the library's mf
level on the reference's, a velocity map that moves each velocity to the one whose level
(after the gain) is the reference's at that velocity, and, where the library's own range does
not reach (a library whose level hardly follows velocity), a gain per note for the rest:
libraries that render notes independently (sample sets, the synthesiser) apply it, a
soundfont cannot. Labels keep the velocity the content asked for; the library plays the
mapped one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from midivae.music import Instrument
from midivae.training.corpus.content import Note

if TYPE_CHECKING:
    from midivae.training.corpus.libraries import Library

#: Velocities the level curve is measured at (pp, mf and ff centres among them).
VELOCITIES: tuple[int, ...] = (16, 33, 48, 64, 80, 96, 112, 127)
#: The velocity whose level the gain matches, and the pp / mf / ff velocities benches report.
MF = 80
REPORTED = {"pp": 33, "mf": 80, "ff": 112}
NOTE_SECONDS, SPACING_SECONDS = 0.8, 2.0
RMS_SECONDS = 0.05
#: Pitches measured per curve (spread over the playable range).
N_PITCHES = 7


@dataclass(frozen=True)
class Calibration:
    """``gain_db`` on the library's audio, and velocity ``velocity_in[k]`` played as
    ``velocity_out[k]`` (linear between)."""

    gain_db: float = 0.0
    velocity_in: tuple[int, ...] = (1, 127)
    velocity_out: tuple[float, ...] = (1.0, 127.0)
    residual_db: tuple[float, ...] = (0.0, 0.0)

    @property
    def identity(self) -> bool:
        return self.gain_db == 0.0 and self.velocity_in == (1, 127) and not any(self.residual_db)

    def velocity(self, velocity: int) -> int:
        """The velocity the library plays for ``velocity``."""
        mapped = np.interp(velocity, self.velocity_in, self.velocity_out)
        return int(np.clip(round(float(mapped)), 1, 127))

    def notes(self, notes: list[Note]) -> list[Note]:
        return [Note(n.pitch, self.velocity(n.velocity), n.start, n.end) for n in notes]

    def note_gains_db(self, notes: list[Note]) -> list[float]:
        """The gain per note (by its content velocity) that the velocity map leaves over."""
        return [float(np.interp(n.velocity, self.velocity_in, self.residual_db)) for n in notes]

    def play(self, library: Library, notes: list[Note], **render_args: Any) -> np.ndarray:
        """``notes`` as ``library`` plays them through this calibration: velocities mapped,
        the per-note gains, the gain (labels keep ``notes``' own velocities).
        ``render_args`` go to :meth:`Library.render`."""
        played = library.render(
            self.notes(notes), gains_db=self.note_gains_db(notes), **render_args
        )
        return self.apply(played)

    def apply(self, audio: np.ndarray) -> np.ndarray:
        if self.gain_db == 0.0:
            return audio
        return (audio * np.float32(10.0 ** (self.gain_db / 20.0))).astype(np.float32)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Calibration:
        """The calibration a manifest recorded (:meth:`to_dict`)."""
        return cls(
            float(record["gain_db"]),
            tuple(int(v) for v in record["velocity_in"]),
            tuple(float(v) for v in record["velocity_out"]),
            tuple(float(v) for v in record["residual_db"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "gain_db": round(self.gain_db, 3),
            "velocity_in": list(self.velocity_in),
            "velocity_out": [round(v, 2) for v in self.velocity_out],
            "residual_db": [round(v, 2) for v in self.residual_db],
        }


def measured_pitches(low: int, high: int) -> list[int]:
    """``N_PITCHES`` pitches spread over ``[low, high]``."""
    return sorted({int(p) for p in np.rint(np.linspace(low + 2, high - 2, N_PITCHES))})


def note_level_db(audio: np.ndarray, sample_rate: int) -> float:
    """Peak of the 50 ms RMS of ``audio``, in dBFS."""
    width = max(1, int(RMS_SECONDS * sample_rate))
    power = np.convolve(np.asarray(audio, np.float64) ** 2, np.ones(width) / width, "valid")
    return float(10.0 * np.log10(max(power.max(initial=0.0), 1e-12)))


def measure_levels(
    library: Library,
    instrument: Instrument,
    *,
    calibration: Calibration | None = None,
    velocities: tuple[int, ...] = VELOCITIES,
    sample_rate: int = 22050,
) -> dict[int, float]:
    """Median note level (dBFS) per velocity of ``library`` playing ``instrument`` (through
    ``calibration`` when given), from one render of isolated notes."""
    calibration = calibration or Calibration()
    low, high = library.key_range(instrument)
    pitches = measured_pitches(low, high)
    notes = []
    for k, (velocity, pitch) in enumerate((v, p) for v in velocities for p in pitches):
        start = 0.2 + k * SPACING_SECONDS
        notes.append(Note(pitch, velocity, start, start + NOTE_SECONDS))
    seconds = 0.2 + len(notes) * SPACING_SECONDS
    voices = [library.programs(instrument)[0]] * len(notes)
    audio = calibration.play(
        library,
        notes,
        instrument=instrument,
        voices=voices,
        seconds=seconds,
        sample_rate=sample_rate,
    )
    levels: dict[int, list[float]] = {v: [] for v in velocities}
    for note in notes:
        first = int(note.start * sample_rate)
        window = audio[first : first + int(SPACING_SECONDS * sample_rate)]
        levels[note.velocity].append(note_level_db(window, sample_rate))
    return {v: float(np.median(values)) for v, values in levels.items()}


def calibrate(reference: dict[int, float], measured: dict[int, float]) -> Calibration:
    """The calibration that brings ``measured`` levels onto ``reference`` (same velocities)."""
    velocities = sorted(reference)
    gain = reference[MF] - measured[MF]
    # the library's level (after the gain) per velocity, made non-decreasing to invert it
    library = np.maximum.accumulate(np.array([measured[v] + gain for v in velocities]))
    wanted = np.array([reference[v] for v in velocities])
    mapped = np.interp(wanted, library + 1e-6 * np.arange(len(library)), velocities)
    reached = np.interp(mapped, velocities, [measured[v] + gain for v in velocities])
    residual = (wanted - reached).tolist()
    ins = (1, *velocities, 127) if velocities[-1] < 127 else (1, *velocities)
    outs = (1.0, *mapped.tolist(), 127.0) if velocities[-1] < 127 else (1.0, *mapped.tolist())
    rest = (
        (residual[0], *residual, residual[-1]) if velocities[-1] < 127 else (residual[0], *residual)
    )
    return Calibration(
        float(gain),
        tuple(int(v) for v in ins),
        tuple(float(v) for v in outs),
        tuple(float(v) for v in rest),
    )


def calibrate_library(
    library: Library, instrument: Instrument, reference: dict[int, float]
) -> tuple[Calibration, dict[str, Any]]:
    """``library``'s calibration onto ``reference`` levels, and the record of it: the
    calibration and the pp / mf / ff levels before, after and of the reference."""
    before = measure_levels(library, instrument)
    calibration = calibrate(reference, before)
    after = measure_levels(library, instrument, calibration=calibration)
    return calibration, {
        "calibration": calibration.to_dict(),
        "before": reported_levels(before),
        "after": reported_levels(after),
        "reference": reported_levels(reference),
    }


def reported_levels(levels: dict[int, float]) -> dict[str, float]:
    """The pp / mf / ff entries of a level curve measured at ``VELOCITIES``."""
    return {name: round(levels[v], 2) for name, v in REPORTED.items()}
