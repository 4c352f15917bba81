"""Measuring a polyphonic preset's note verifier (:mod:`midivae.model.note_verifier`) on fresh
renders.

The training libraries play the velocity fit's content in turn
(:func:`midivae.training.fit_renders.fit_renders`: the instrument's own phrases and four-voice
chorales that no corpus, bench or dev file uses); each render is transcribed as
:func:`midivae.transcription.transcribe.transcribe` does with audio, keeping every tracked note, and
a note counts as played when a played note of its pitch starts within 50 ms of it (each played note
once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from midivae.training.fit_renders import ONSET_TOLERANCE_S, SEED_OFFSET, Player, fit_renders

if TYPE_CHECKING:
    from midivae.presets.preset import Preset


#: Onset thresholds the candidates are tracked at; the one whose verified notes score best is
#: kept (the first of equals: the surest notes).
TRACKING_THRESHOLDS = (0.5, 0.35, 0.2, 0.1)


def heard_by(preset: Preset, audio: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The compressed frames of in-tune ``audio`` and what ``preset`` reads in them (what
    tracking at any threshold starts from)."""
    from midivae.spectral import analyse, compress
    from midivae.transcription.notes import read_symbols

    config = preset.spectral
    compressed = compress(analyse(np.asarray(audio, dtype=np.float64), config), config)
    return compressed, read_symbols(preset, compressed)


def tracked_candidates(
    preset: Preset,
    audio: np.ndarray,
    threshold: float = 0.5,
    heard: tuple[np.ndarray, dict[str, np.ndarray]] | None = None,
) -> tuple[list, np.ndarray]:
    """Every note ``preset`` tracks in in-tune ``audio`` at onset ``threshold`` (no
    verifier) and their features; ``heard``: :func:`heard_by`'s answer when the caller has
    it already."""
    from midivae.model.note_verifier import FEATURES
    from midivae.transcription.notes import notes_from_symbols
    from midivae.transcription.timing import TrackingSettings

    compressed, symbols = heard if heard is not None else heard_by(preset, audio)
    rows: list[np.ndarray] = []
    settings = TrackingSettings().with_onset_threshold(threshold)
    notes, _ = notes_from_symbols(
        preset, symbols, compressed, audio=audio, settings=settings, candidates=rows
    )
    return notes, np.array(rows, dtype=np.float64).reshape(len(notes), len(FEATURES))


def played_flags(heard, played) -> np.ndarray:
    """Whether each heard note matches a played one (same pitch, onset within 50 ms; each
    played note matched once, in the heard notes' order)."""
    used: set[int] = set()
    flags = np.zeros(len(heard))
    for i, note in enumerate(heard):
        for k, truth in enumerate(played):
            if (
                k not in used
                and truth.pitch == note.pitch
                and abs(truth.start - note.onset) <= ONSET_TOLERANCE_S
            ):
                used.add(k)
                flags[i] = 1.0
                break
    return flags


def measure_note_verifier(
    preset: Preset,
    instrument: str,
    players: list[Player],
    seed: int,
    *,
    tiny: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """``preset``'s note verifier measured on fresh renders by ``players`` (its training
    libraries, :func:`~midivae.training.fit_renders.fit_renders`), with a record of the fit;
    None when it cannot be fitted. Candidates are
    tracked at each of ``TRACKING_THRESHOLDS`` and a verifier fitted to each; the one whose
    kept notes score the best mean onset F1 is kept, with its tracking threshold."""
    from dataclasses import replace

    from midivae.model.note_verifier import fit_verifier, item_f1

    # each render analysed and read once: only the tracking depends on the threshold
    renders = [
        (played, audio, heard_by(preset, audio))
        for played, audio in fit_renders(instrument, players, seed, tiny=tiny)
    ]
    verifier, items, best = None, [], -1.0
    for threshold in TRACKING_THRESHOLDS:
        tracked = []
        for played, audio, frames in renders:
            heard, features = tracked_candidates(preset, audio, threshold, frames)
            tracked.append((features, played_flags(heard, played), len(played)))
        fitted = fit_verifier(tracked)
        if fitted is None:
            continue
        score = float(np.mean([item_f1(p, n, fitted.keep(f)) for f, p, n in tracked]))
        if progress:
            progress(f"note verifier: tracked at {threshold}, onset F1 {score:.3f}")
        if score > best + 1e-9:
            verifier, items, best = replace(fitted, tracking_threshold=threshold), tracked, score
    if verifier is None:
        return None
    record = {
        "libraries": [library.name for library, _ in players],
        "seed": SEED_OFFSET + seed,
        "items": len(items),
        "notes_played": sum(n for _, _, n in items),
        "notes_tracked": verifier.notes,
        "tracked_f1": round(float(np.mean([item_f1(p, n, p >= 0) for _, p, n in items])), 4),
        "kept_f1": round(float(np.mean([item_f1(p, n, verifier.keep(f)) for f, p, n in items])), 4),
    }
    if progress:
        progress(
            f"note verifier: {verifier.notes} notes tracked at {verifier.tracking_threshold}, "
            f"threshold {verifier.threshold}, "
            f"onset F1 on its renders {record['tracked_f1']:.3f} -> {record['kept_f1']:.3f}"
        )
    return verifier.to_dict() | {"fit": record}
