"""What the calibration fits hear: fresh renders of a preset's training libraries.

The velocity regression (:mod:`midivae.training.velocity_fit`) and the note verifier
(:mod:`midivae.training.verifier_fit`) are fitted on content that no corpus, bench or dev file
uses (seeded apart from the corpora): melodic phrases with their crescendos, swells and accents,
and chorale lines with the slow dynamics of real pieces. The velocity regression hears them
played by the reference soundfont (velocities are levels at FluidR3's gain); the note verifier
by every library the preset's corpus had and training kept, item by item in turn, each through
the corpus's level calibration: which notes to keep is a question for all of them.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from midivae.errors import MidivaeError

if TYPE_CHECKING:
    from midivae.presets.preset import Preset
    from midivae.training.corpus.levels import Calibration
    from midivae.training.corpus.libraries import Library

#: A library that plays fit content, with the calibration that brings it to the reference level.
Player = tuple["Library", "Calibration"]

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
    A polyphonic instrument plays its own phrases (a melody over an accompaniment, and as
    long again of pedalled two-handed pieces) and the lines' chorales in four voices."""
    from midivae.music import get_instrument
    from midivae.training.corpus.content import pedalled_pieces, phrases, piano_phrases
    from midivae.training.corpus.pieces import piece_item, score_notes

    inst = get_instrument(instrument)
    rng = np.random.default_rng(SEED_OFFSET + seed)
    make = piano_phrases if inst.polyphonic else phrases
    items = make(inst, rng, seconds=10.0 if tiny else PHRASE_SECONDS)
    if inst.polyphonic and not tiny:
        items += pedalled_pieces(inst, rng, seconds=PHRASE_SECONDS)
    for work, voice in () if tiny else LINES:
        voices = None if inst.polyphonic else (voice,)
        raw = score_notes(work, None, voices, bpm=float(rng.uniform(70, 120)))
        items.append(
            piece_item(raw, inst, rng, monophonic=not inst.polyphonic, seconds=LINE_SECONDS)
        )
    return items


def fit_renders(
    instrument: str, players: list[Player], seed: int, *, tiny: bool = False
) -> Iterator[tuple[list, np.ndarray]]:
    """Each :func:`fit_content` item's played notes and its render, one at a time: item ``i``
    played by ``players[i % n]`` (the next one whose keys cover the item when that one's do
    not; an item no player covers is left out), through its calibration."""
    from midivae.music import get_instrument
    from midivae.training.corpus.build import item_owner

    inst = get_instrument(instrument)
    libraries = [library for library, _ in players]
    for index, item in enumerate(fit_content(instrument, seed, tiny=tiny)):
        owner = item_owner(item, index, libraries, inst)  # as a library corpus shares items
        if owner is None:
            continue
        library, calibration = players[owner]
        notes = list(item.notes)
        voices = [library.programs(inst)[0]] * len(notes)
        yield (
            notes,
            calibration.play(library, notes, instrument=inst, voices=voices, seconds=item.length),
        )


def soundfont_players(soundfont: str) -> list[Player]:
    """The corpus soundfont ``soundfont`` (a name) as the one player, uncalibrated."""
    from midivae.training.corpus.levels import Calibration
    from midivae.training.corpus.libraries import open_library

    return [(open_library(soundfont), Calibration())]


def corpus_players(manifest: dict, excluded: list[str] | tuple[str, ...] = ()) -> list[Player]:
    """The libraries a corpus (its ``manifest``) was played by, less ``excluded``, each with
    the level calibration the manifest records for it; a corpus of one soundfont: that
    soundfont."""
    from midivae.training.corpus.levels import Calibration
    from midivae.training.corpus.libraries import reopen_library

    libraries = manifest.get("libraries")
    if not libraries:
        return soundfont_players(corpus_soundfont(manifest.get("command")))
    players = [
        (reopen_library(described), Calibration.from_dict(described["levels"]["calibration"]))
        for described in libraries
        if described["name"] not in excluded
    ]
    if not players:
        raise MidivaeError("every library of the corpus was left out", manifest.get("command"))
    return players


def preset_players(preset: Preset) -> list[Player]:
    """The libraries ``preset``'s first corpus was played by (less the ones its training
    left out), read from that corpus's manifest when the corpus is here; else the soundfont
    its recorded command names (FluidR3 for a corpus of several libraries)."""
    from midivae.training.corpus.store import MANIFEST, read_json

    reference = training_soundfont(preset)  # a MidivaeError for a preset of the user's audio
    provenance = preset.meta["provenance"]
    folder = provenance["corpora"][0].get("path")
    manifest = read_json(Path(folder) / MANIFEST) if folder else None
    if manifest is None:
        return soundfont_players(reference)
    return corpus_players(manifest, provenance.get("excluded_libraries", ()))


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
