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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from midivae.training.fit_renders import (
    ONSET_TOLERANCE_S,
    SEED_OFFSET,
    fit_renders,
    soundfont_players,
)

if TYPE_CHECKING:
    from midivae.presets.preset import Preset


def note_measurements(preset: Preset, audio: np.ndarray) -> list[tuple[float, float, float, int]]:
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
    for measured in heard:
        onset, pitch = measured[0], measured[3]
        near = [
            (abs(n.start - onset), n.velocity)
            for n in played
            if n.pitch == pitch and abs(n.start - onset) <= ONSET_TOLERANCE_S
        ]
        if near:
            out.append((measured, min(near)[1]))
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
    for notes, audio in fit_renders(instrument, soundfont_players(soundfont), seed, tiny=tiny):
        rows += _matched(note_measurements(preset, audio), notes)
        items, played = items + 1, played + len(notes)
    if not rows:
        return None
    attack, level, pitch = (np.array([r[0][k] for r in rows]) for k in (1, 2, 3))
    truth = np.array([r[1] for r in rows], dtype=np.float64)
    regression = fit_velocity_regression(attack, level, pitch, truth)
    if regression is None:
        return None
    read = np.array(
        [regression.predict(a, b, p) for a, b, p in zip(attack, level, pitch, strict=True)]
    )
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
    return regression.to_dict() | {"fit": record}
