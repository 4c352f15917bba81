"""Where training sound comes from: a library renders note lists to audio.

Three kinds, chosen by what ``--library`` names:

- ``soundfont``: an SF2/SF3 file played by fluidsynth (``fluidr3`` and ``musescore`` name the
  Debian soundfonts; any ``.sf2`` / ``.sf3`` path plays its GM programs);
- ``samples``: an SFZ instrument, or a folder of samples named by their notes (``C4.wav``,
  ``A0v8.ogg``), played by the corpus's own sample player (:mod:`.sampler`);
- ``synth``: the project's own synthesiser (:mod:`.synthesis`), sound from no library.

Every library renders at the reference level after its calibration (:mod:`.levels`), so a
velocity means the same loudness whichever library played it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from midivae.errors import MidivaeError
from midivae.music import Instrument
from midivae.training.corpus import render
from midivae.training.corpus.content import Note

SOUNDFONT_SUFFIXES = (".sf2", ".sf3")
SYNTH = "synth"


@dataclass(frozen=True)
class Library:
    """One source of training sound.

    Attributes
    ----------
    name : str
        How manifests and benches name it (``fluidr3``, a folder's name, ``synth``).
    kind : str
        ``soundfont``, ``samples`` or ``synth``.
    path : Path or None
        The soundfont file, the ``.sfz`` file or the sample folder.
    purpose : str
        ``training``, or ``dev-test`` for MuseScore_General (its corpora hold real pieces).
    """

    name: str
    kind: str
    path: Path | None = None
    purpose: str = "training"
    _player: Any = field(default=None, compare=False, repr=False)

    def describe(self) -> dict[str, Any]:
        """What a manifest records of this library (and what its cache key depends on)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "purpose": self.purpose}
        if self.path is not None:
            out["path"] = str(self.path)
            out["bytes"] = _size(self.path)
        return out

    def programs(self, instrument: Instrument) -> tuple[int, ...]:
        """The voices items cycle through: GM programs for a soundfont (FluidR3's sibling
        programs too), timbre seeds for the synthesiser, one voice for a sample set."""
        if self.kind == "soundfont":
            return instrument.training_programs if self.name == "fluidr3" else (instrument.program,)
        if self.kind == SYNTH:
            return tuple(range(8))
        return (0,)

    def key_range(self, instrument: Instrument) -> tuple[int, int]:
        """The keys this library can play for ``instrument`` (a sample set covers its regions)."""
        if self.kind == "samples":
            low, high = self.player().key_range
            return max(low, instrument.low), min(high, instrument.high)
        return instrument.low, instrument.high

    def player(self):
        """The sample set (``samples`` only), loaded once."""
        if self._player is None:
            from midivae.training.corpus.sampler import SampleSet

            object.__setattr__(self, "_player", SampleSet.open(self.path))
        return self._player

    def render(
        self,
        notes: Sequence[Note],
        *,
        instrument: Instrument,
        voices: Sequence[int],
        seconds: float,
        sample_rate: int = render.SAMPLE_RATE,
        seed: int = 0,
        gains_db: Sequence[float] | None = None,
    ) -> np.ndarray:
        """``notes`` as this library plays them, mono float32 of ``round(seconds * rate)``
        samples; ``voices`` has one entry of :meth:`programs` per note. ``gains_db``: a gain
        per note, applied by libraries that render notes apart (sample sets, the
        synthesiser; a soundfont plays them as they are)."""
        if gains_db is not None and self.kind != "soundfont" and any(gains_db):
            return self._render_with_gains(
                notes, voices, gains_db, instrument, seconds, sample_rate, seed
            )
        if self.kind == "soundfont":
            return render.render_notes(
                list(notes),
                program=list(voices),
                soundfont=self.path,
                seconds=seconds,
                sample_rate=sample_rate,
            )
        if self.kind == "samples":
            return self.player().render(notes, seconds=seconds, sample_rate=sample_rate, seed=seed)
        from midivae.training.corpus.synthesis import synthesize_notes

        return synthesize_notes(
            notes,
            instrument=instrument,
            voices=voices,
            seconds=seconds,
            sample_rate=sample_rate,
            seed=seed,
        )

    def _render_with_gains(self, notes, voices, gains_db, instrument, seconds, sample_rate, seed):
        """Notes grouped by their gain (0.25 dB steps), each group rendered and scaled; the
        sum is the same as one render where notes do not interact (sample sets, synth)."""
        steps = np.round(np.asarray(gains_db, dtype=np.float64) * 4.0) / 4.0
        out = np.zeros(round(seconds * sample_rate), np.float32)
        for step in np.unique(steps):
            rows = np.flatnonzero(steps == step)
            audio = self.render(
                [notes[i] for i in rows],
                instrument=instrument,
                voices=[voices[i] for i in rows],
                seconds=seconds,
                sample_rate=sample_rate,
                seed=seed,
            )
            out += audio[: len(out)] * np.float32(10.0 ** (step / 20.0))
        return out


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def reopen_library(described: dict[str, Any]) -> Library:
    """The library a manifest describes (:meth:`Library.describe`'s record)."""
    name, kind = described["name"], described.get("kind")
    if kind == SYNTH or (kind == "soundfont" and name in render.SOUNDFONTS):
        return open_library(name)
    return open_library(f"{name}={described['path']}")


def open_library(spec: str | Path) -> Library:
    """The library ``spec`` names: ``fluidr3``, ``musescore``, ``synth``, or a path to an
    ``.sf2`` / ``.sf3`` / ``.sfz`` file or a folder of samples, optionally named as
    ``NAME=PATH`` (default name: the file's stem or the folder's name)."""
    text = str(spec)
    name = None
    if "=" in text and not Path(text).exists():
        name, text = text.split("=", 1)
    if text in render.SOUNDFONTS:
        font = render.SOUNDFONTS[text]
        return Library(font.name, "soundfont", font.path(), font.purpose)
    if text == SYNTH:
        return Library(SYNTH, SYNTH)
    path = Path(text)
    if not path.exists():
        known = ", ".join([*render.SOUNDFONTS, SYNTH])
        raise MidivaeError(f"no such library (a path, or one of {known})", path)
    if path.is_file() and path.suffix.lower() in SOUNDFONT_SUFFIXES:
        render.fluidsynth_program()
        return Library(name or path.stem, "soundfont", path.resolve())
    if (path.is_file() and path.suffix.lower() == ".sfz") or path.is_dir():
        return Library(
            name or (path.name if path.is_dir() else path.stem), "samples", path.resolve()
        )
    raise MidivaeError("not a soundfont (.sf2, .sf3), an .sfz or a folder of samples", path)
