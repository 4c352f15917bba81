"""What the calibration fits hear: fresh renders of a preset's training library.

The velocity regression (:mod:`midivae.training.velocity_fit`) and the note verifier
(:mod:`midivae.training.verifier_fit`) are fitted on content that no corpus, bench or dev file
uses (seeded apart from the corpora): melodic phrases with their crescendos, swells and accents,
and chorale lines with the slow dynamics of real pieces, rendered by the library the preset was
trained on.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from midivae.errors import MidivaeError

if TYPE_CHECKING:
    from midivae.presets.preset import Preset

#: Seeds of the fit's content: apart from the corpora's (0 ...) and the benches' (5, 99).
SEED_OFFSET = 7000
PHRASE_SECONDS = 90.0
#: Chorale lines (work, voice) that no corpus, bench or dev-set file plays.
LINES: tuple[tuple[str, str], ...] = (
    ("bach/bwv117.4", "Soprano"),
    ("bach/bwv119.9", "Alto"),
    ("bach/bwv12.7", "Soprano"),
    ("bach/bwv120.6", "Tenor"),
    ("bach/bwv121.6", "Soprano"),
    ("bach/bwv122.6", "Alto"),
)
LINE_SECONDS = 20.0
#: A found note's onset is within this of the played one (mir_eval's onset tolerance).
ONSET_TOLERANCE_S = 0.05


def fit_content(instrument: str, seed: int, *, tiny: bool = False) -> list:
    """The items the fit renders: phrases, then chorale lines (``tiny``: 10 s of phrases).
    A polyphonic instrument plays its own phrases (a melody over an accompaniment) and the
    lines' chorales in four voices."""
    from midivae.music import get_instrument
    from midivae.training.corpus.content import phrases, piano_phrases
    from midivae.training.corpus.pieces import piece_item, score_notes

    inst = get_instrument(instrument)
    rng = np.random.default_rng(SEED_OFFSET + seed)
    make = piano_phrases if inst.polyphonic else phrases
    items = make(inst, rng, seconds=10.0 if tiny else PHRASE_SECONDS)
    for work, voice in () if tiny else LINES:
        voices = None if inst.polyphonic else (voice,)
        raw = score_notes(work, None, voices, bpm=float(rng.uniform(70, 120)))
        items.append(
            piece_item(raw, inst, rng, monophonic=not inst.polyphonic, seconds=LINE_SECONDS)
        )
    return items


def fit_renders(
    instrument: str, soundfont: str, seed: int, *, tiny: bool = False
) -> Iterator[tuple[list, np.ndarray]]:
    """Each :func:`fit_content` item's played notes and its render by ``soundfont`` (a
    corpus soundfont name), one at a time."""
    from midivae.music import get_instrument
    from midivae.training.corpus.render import get_soundfont, render_notes

    program = get_instrument(instrument).program
    font = get_soundfont(soundfont).path()
    for item in fit_content(instrument, seed, tiny=tiny):
        notes = list(item.notes)
        yield notes, render_notes(notes, program=program, soundfont=font, seconds=item.length)


def training_soundfont(preset: Preset) -> str:
    """The soundfont of the corpus ``preset`` was trained on (from its provenance)."""
    corpora = preset.meta.get("provenance", {}).get("corpora")
    if not corpora:
        raise MidivaeError("trained on your audio: no library to measure a velocity regression on")
    return corpus_soundfont(corpora[0].get("command"))


def corpus_soundfont(command: str | None) -> str:
    """The soundfont a corpus built by ``command`` was rendered with; FluidR3 (the reference
    level every library is calibrated to) for a corpus of several libraries."""
    words = shlex.split(command or "")
    return words[words.index("--soundfont") + 1] if "--soundfont" in words else "fluidr3"
