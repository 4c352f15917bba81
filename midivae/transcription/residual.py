"""A second pass over a polyphonic preset's frames: what the keys it found do not explain.

The piano's frame model hears a note an octave or a twelfth above another as that note's
partials (an upper voice over its bass is the note found least in chorales). Both halves of
the model take part in a second look, analysis by synthesis: the read symbols made definite
(``Vocabulary.decode`` then ``encode``: keys with ``p > 0.5``, one dynamics class) go through
the symbol encoder and the signal decoder (the preset's own spectrum of that chord),
``RESIDUAL_WEIGHT`` times that spectrum is taken off the observed amplitudes, and the rest is
read again. A key the second pass hears gets ``RESIDUAL_TRUST`` times its second
probability, when that is more than its first, in frames where the first pass found a key
and where the key's fundamental keeps ``PEAK_SHARE`` of the frame's peak amplitude in the
residual. The three constants are chosen on ``python bench/transcribe_fluidr3.py piano``
(chorales, phrases and isolated notes; measurements: docs/experiments.md, "Piano").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from midivae.spectral import compress, decompress

if TYPE_CHECKING:
    from midivae.presets.preset import Preset

#: How much of the decoded chord spectrum is taken off (above 1: the decoder's partials are
#: a blurred average, and what it under-predicts would read as extra keys).
RESIDUAL_WEIGHT = 1.5
#: Weight of the second pass's key probabilities (below 1: only keys it hears clearly).
RESIDUAL_TRUST = 0.7
#: A second key's fundamental must keep this share of the frame's peak amplitude in the
#: residual: the encoder reads level-normalised spectra, so a faint remainder (a high
#: partial the decoder under-predicts) would otherwise read as a key.
PEAK_SHARE = 0.1


def key_family_index(preset: Preset) -> int | None:
    """Index of the key (Bernoulli) family of a single-slot polyphonic preset, else None."""
    if len(preset.instruments) != 1:
        return None
    names = [f.name for f in preset.vocabulary.families]
    return names.index("keys") if "keys" in names else None


def second_pass(
    preset: Preset,
    compressed: np.ndarray,
    symbols: dict[str, np.ndarray],
    vectors: np.ndarray | None = None,
):
    """``symbols`` (as :meth:`Preset.read_signal` gives them for ``compressed`` frames) with
    each key's probability raised to what the second pass over the residual gives it (module
    docstring); unchanged for presets without keys and for empty input. ``vectors``: the decoded
    vectors they came from (:meth:`Preset.symbols_from_signal`), read again when not given.
    """
    keys = key_family_index(preset)
    if keys is None or len(compressed) == 0:
        return symbols
    vocabulary = preset.vocabulary
    family = vocabulary.families[keys]
    name = vocabulary.key(family)
    if vectors is None:
        vectors = preset.symbols_from_signal(compressed)
    chord_symbols = vocabulary.encode(vocabulary.decode(vectors))
    found = chord_symbols[:, vocabulary.span(keys)].any(axis=1)
    mu, _ = preset.encode_symbols(chord_symbols)
    chord = decompress(preset.decode_signal(mu), preset.spectral)
    observed = decompress(compressed, preset.spectral)
    residual = np.maximum(observed - RESIDUAL_WEIGHT * chord, 0.0)
    second = preset.read_signal(compress(residual, preset.spectral))[name]
    pitches = family.offset + np.arange(second.shape[1])
    bands = np.round(preset.spectral.midi_to_bin(pitches)).astype(int)
    peak = residual[:, bands] / np.maximum(observed.max(axis=1, keepdims=True), 1e-12)
    heard = found[:, None] & (peak >= PEAK_SHARE)
    out = dict(symbols)
    out[name] = np.maximum(symbols[name], np.where(heard, RESIDUAL_TRUST * second, 0.0))
    return out
