"""Measuring a preset's velocity regression (:mod:`midivae.model.velocity_regression`) on fresh
renders.

The training library plays content that no corpus, bench or dev file uses (seeded apart from the
corpora): melodic phrases with their crescendos, swells and accents, and chorale lines with the slow
dynamics of real pieces. Each is transcribed with the preset as
:func:`midivae.transcription.transcribe.transcribe` does with audio; every note found (same pitch,
onset within 50 ms) gives its attack velocity, peak level and pitch against the velocity it was
played with, and :func:`midivae.model.velocity_regression.fit_velocity_regression` draws the line.
Solo presets trained on a soundfont corpus only (the piano plays its own phrases and four-voice
chorales): a mixture's instruments would need their own levels apart, and the user's own audio has
no library to render.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def note_readings(preset: Preset, audio: np.ndarray) -> list[tuple[float, float, float, int]]:
    """``(onset_s, attack_velocity, level, pitch)`` of each note ``preset`` hears in
    in-tune ``audio`` (its velocity regression left out)."""
    from midivae.model.velocity_regression import note_level
    from midivae.presets.preset import Preset
    from midivae.spectral import analyse, compress
    from midivae.transcription.notes import decode_notes
    from midivae.transcription.timing import pitch_envelopes

    config = preset.spectral
    meta = {k: v for k, v in preset.meta.items() if k != "velocity_regression"}
    plain = Preset(
        preset.model, preset.vocabulary, config, preset.features, meta, reader=preset.reader
    )
    compressed = compress(analyse(np.asarray(audio, dtype=np.float64), config), config)
    notes, _ = decode_notes(plain, compressed, audio=audio)
    if not notes:
        return []
    pitches = np.unique([n.pitch for n in notes])
    envelopes = pitch_envelopes(pitches, config, audio=audio)
    step = config.frame_seconds
    return [
        (
            n.onset,
            float(n.velocity),
            note_level(
                envelopes[:, np.searchsorted(pitches, n.pitch)],
                round(n.onset / step),
                round(n.offset / step),
            ),
            n.pitch,
        )
        for n in notes
    ]


def _matched(heard, played) -> list[tuple[tuple, int]]:
    """Each heard note with the velocity of the played note of its pitch nearest in onset."""
    out = []
    for reading in heard:
        onset, pitch = reading[0], reading[3]
        near = [
            (abs(n.start - onset), n.velocity)
            for n in played
            if n.pitch == pitch and abs(n.start - onset) <= ONSET_TOLERANCE_S
        ]
        if near:
            out.append((reading, min(near)[1]))
    return out


def measure_velocity_regression(
    preset: Preset,
    instrument: str,
    soundfont: str,
    seed: int,
    *,
    tiny: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """``preset``'s velocity regression measured on fresh renders by ``soundfont`` (a corpus
    soundfont name), with a record of the fit; None when too few notes were found."""
    from midivae.model.velocity_regression import fit_velocity_regression

    rows, items, played = [], 0, 0
    for notes, audio in fit_renders(instrument, soundfont, seed, tiny=tiny):
        rows += _matched(note_readings(preset, audio), notes)
        items, played = items + 1, played + len(notes)
    if not rows:
        return None
    attack, level, pitch = (np.array([r[0][k] for r in rows]) for k in (1, 2, 3))
    truth = np.array([r[1] for r in rows], dtype=np.float64)
    reading = fit_velocity_regression(attack, level, pitch, truth)
    if reading is None:
        return None
    read = np.array([reading.read(a, b, p) for a, b, p in zip(attack, level, pitch, strict=True)])
    line = np.polyval(np.polyfit(attack, truth, 1), attack)  # the attack velocity alone
    record = {
        "soundfont": soundfont,
        "seed": SEED_OFFSET + seed,
        "items": items,
        "notes_played": played,
        "mean_abs_error": round(float(np.mean(np.abs(read - truth))), 2),
        "attack_only_mean_abs_error": round(float(np.mean(np.abs(line - truth))), 2),
    }
    if progress:
        progress(
            f"velocity regression: {len(rows)} of {played} notes, mean error "
            f"{record['attack_only_mean_abs_error']:.1f} -> {record['mean_abs_error']:.1f}"
        )
    return reading.to_dict() | {"fit": record}


def training_soundfont(preset: Preset) -> str:
    """The soundfont of the corpus ``preset`` was trained on (from its provenance)."""
    corpora = preset.meta.get("provenance", {}).get("corpora")
    if not corpora:
        raise MidivaeError("trained on your audio: no library to measure a velocity regression on")
    words = shlex.split(corpora[0].get("command") or "")
    return words[words.index("--soundfont") + 1] if "--soundfont" in words else "fluidr3"


def refit_velocity(
    source: str | Path,
    out_dir: str | Path,
    *,
    instruments: tuple[str, ...] | None = None,
    command: str | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
):
    """Write ``source`` (a preset name or folder) to ``out_dir`` with a velocity regression
    measured at this version (a polyphonic preset's note verifier first,
    :mod:`midivae.training.verifier_fit`: it decides which notes the reading is fitted on); its
    model, renders and other metadata stay as they are. ``instruments``, when given, must
    be the preset's."""
    from midivae.music import get_instrument
    from midivae.presets.preset import load_preset, save_preset
    from midivae.training.provenance import git_commit
    from midivae.training.verifier_fit import measure_note_verifier

    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise MidivaeError("exists, use --overwrite", out_dir)
    preset = load_preset(source)
    if instruments is not None and tuple(instruments) != preset.instruments:
        raise MidivaeError(
            f"the preset plays {'+'.join(preset.instruments)}; give the same --instrument", source
        )
    if len(preset.instruments) != 1:
        raise MidivaeError(
            "a velocity regression is measured for solo presets, not mixtures", source
        )
    seed = int(preset.meta.get("provenance", {}).get("seed", 0))
    soundfont = training_soundfont(preset)
    measures = [
        ("velocity_regression", measure_velocity_regression, "found", "a velocity regression")
    ]
    if get_instrument(preset.instruments[0]).polyphonic:  # first: it decides the notes
        measures.insert(0, ("note_verifier", measure_note_verifier, "tracked", "a note verifier"))
    for key, measure, notes, what in measures:
        measured = measure(preset, preset.instruments[0], soundfont, seed, progress=progress)
        if measured is None:
            raise MidivaeError(f"too few notes {notes} to measure {what}", source)
        measured["fit"] |= {"command": command, "git_commit": git_commit()}
        preset.meta[key] = measured
    save_preset(preset, out_dir, overwrite=overwrite)
    return preset
