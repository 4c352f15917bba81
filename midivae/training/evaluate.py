"""The paper's tables 1-2 and the dev-test figures, computed through a ``Preset`` (numpy only).

Table 1: signal log-likelihood (nats per frame, of the model's inputs) and Itakura-Saito
divergence (mean over bins of the linear power spectra) for reconstruction (x -> z -> x) and
symbol -> signal transfer (y -> z -> x), on sounding test frames.
Table 2: per family, the success ratio symbol -> symbol and signal -> symbol (on frames
where the slot sounds), the loose ratio for mixtures (a label counts when any sounding slot
has it), next to the PCA + MLP baseline of the same split. Dev-test: signal -> symbol on
MuseScore_General isolated notes and the dynamics order accuracy (pp < mf < ff, same note).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from midivae.errors import MidivaeError
from midivae.symbols import Vocabulary
from midivae.training.metrics import (
    PAPER_FAMILIES,
    dynamics_order,
    family_scores,
    itakura_saito_divergence,
    loose_scores,
    note_means,
)

if TYPE_CHECKING:
    from midivae.presets.preset import Preset


def signal_table(preset: Preset, magnitudes: np.ndarray, symbols: np.ndarray) -> dict[str, float]:
    """Table 1 row: log-likelihood and ISD for reconstruction and symbol -> signal transfer."""
    z_x = preset.encode_signal(magnitudes)[0]
    z_y = preset.encode_symbols(symbols)[0]
    gain = preset.spectral.log_gain
    return {
        "reconstruction_ll": float(np.mean(preset.log_likelihood(magnitudes, z_x))),
        "reconstruction_isd": float(
            np.mean(itakura_saito_divergence(magnitudes, preset.decode_signal(z_x), gain))
        ),
        "transfer_ll": float(np.mean(preset.log_likelihood(magnitudes, z_y))),
        "transfer_isd": float(
            np.mean(itakura_saito_divergence(magnitudes, preset.decode_signal(z_y), gain))
        ),
    }


def symbol_table(
    preset: Preset,
    magnitudes: np.ndarray,
    symbols: np.ndarray,
    baseline: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Table 2: symbol -> symbol, signal -> symbol (and loose ratios), baseline."""
    vocab = preset.vocabulary
    sym = preset.symbol_vectors(preset.encode_symbols(symbols)[0])
    sig = preset.symbols_from_signal(magnitudes)
    table: dict[str, Any] = {
        "symbol_to_symbol": family_scores(vocab, sym, symbols),
        "signal_to_symbol": family_scores(vocab, sig, symbols),
    }
    if vocab.n_slots > 1:
        table["symbol_to_symbol"] |= loose_scores(vocab, sym, symbols)
        table["signal_to_symbol"] |= loose_scores(vocab, sig, symbols)
    if baseline is not None:
        base = baseline(preset.features_of(magnitudes))
        table["baseline"] = family_scores(vocab, base, symbols)
        if vocab.n_slots > 1:
            table["baseline"] |= loose_scores(vocab, base, symbols)
    return table


def devtest_table(
    preset: Preset,
    magnitudes: np.ndarray,
    labels: dict[str, np.ndarray],
    baseline: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Signal -> symbol on isolated dev-test notes, and the dynamics order accuracy.

    ``labels`` are the dev-test corpus's frame labels restricted to isolated-note frames.
    """
    vocab = preset.vocabulary
    symbols = vocab.encode(labels)
    sounding = labels["pitch"] >= 0
    probs = {"model": preset.symbols_from_signal(magnitudes)}
    if baseline is not None:
        probs["baseline"] = baseline(preset.features_of(magnitudes))
    out: dict[str, Any] = {"frames": int(sounding.sum())}
    for who, p in probs.items():
        out[who] = family_scores(vocab, p, symbols)
        out[who] |= _order_scores(vocab, p, labels, sounding)
    return out


def _order_scores(
    vocab: Vocabulary, probs: np.ndarray, labels: dict[str, np.ndarray], sounding: np.ndarray
) -> dict[str, float]:
    """Dynamics order of the continuous velocity and of the expected dynamics class."""
    item = labels["item"]
    _, velocity = note_means(labels["velocity"].astype(float), item, sounding)
    _, pitch = note_means(labels["pitch"].astype(float), item, sounding)
    length = np.bincount(np.unique(item[sounding], return_inverse=True)[1])
    group = pitch * 1000 + np.round(length / 4)  # same pitch, same held duration
    out = {}
    for index, family in enumerate(vocab.families):
        if family.slot:
            continue
        block = probs[:, vocab.span(index)]
        if family.kind == "continuous":
            _, value = note_means(block[:, 0], item, sounding)
            out["order_velocity"] = dynamics_order(value, velocity, group)["pairwise"]
        elif family.name == "dynamics":
            expected = block[:, :3] @ np.arange(3.0) / np.clip(block[:, :3].sum(1), 1e-9, None)
            _, value = note_means(expected, item, sounding)
            out["order_dynamics"] = dynamics_order(value, velocity, group)["pairwise"]
    return out


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def format_tables(metrics: dict[str, Any], vocab: Vocabulary) -> str:
    """Tables 1-2 (and the dev-test figures) as text, laid out like the paper's."""
    t1 = metrics["table1"]
    lines = [
        "Table 1  signal: log-likelihood (nats/frame) and Itakura-Saito divergence",
        f"  reconstruction  LL {t1['reconstruction_ll']:9.1f}  ISD {t1['reconstruction_isd']:.3f}",
        f"  transfer y->x   LL {t1['transfer_ll']:9.1f}  ISD {t1['transfer_isd']:.3f}",
        "Table 2  symbols: success ratio symbol->symbol (signal->symbol)"
        + ("  loose" if vocab.n_slots > 1 else "")
        + "  baseline",
    ]
    for title, key in (
        ("all sounding test frames", "table2"),
        ("isolated-note test frames", "table2_isolated"),
    ):
        if key in metrics:
            lines.append(f" {title}:")
            lines += _table2_rows(metrics[key], vocab)
    if "devtest" in metrics:
        dev = metrics["devtest"]
        lines.append(
            f"Dev-test (MuseScore_General isolated notes, {dev['frames']} frames): model / baseline"
        )
        for key in (
            *PAPER_FAMILIES,
            "pitch_class~pitch",
            "octave~pitch",
            "order_velocity",
            "order_dynamics",
        ):
            if key in dev["model"]:
                lines.append(
                    f"  {key:<28} {_pct(dev['model'][key])} / "
                    f"{_pct(dev.get('baseline', {}).get(key))}"
                )
    return "\n".join(lines)


def isolated_frames(corpus) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Magnitudes and labels of a dev-test corpus's isolated-note frames."""
    from midivae.training.corpus.content import ISOLATED

    rows = np.flatnonzero(corpus.labels["kind"] == ISOLATED)
    return corpus.magnitudes[rows].astype(np.float32), {
        k: v[rows] for k, v in corpus.labels.items()
    }


def evaluate_run(
    preset: Preset,
    train_s,
    val_s,
    test_s,
    *,
    devtest: Sequence[str | Path] | None = None,
    baseline: bool = True,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every figure of a training run: tables 1-2 on the test split (with the baseline
    trained on the same split) and, for a single instrument, the dev-test figures.

    ``*_s`` are ``train.Split`` objects; ``devtest`` MuseScore_General corpus folders
    (default: the cache's when the soundfont is installed; ``()`` skips them).
    """
    from midivae.model.baseline import Baseline
    from midivae.training.corpora import find_corpora, manifest_hash
    from midivae.training.corpus import load_corpus

    say = progress or (lambda message: None)
    names = preset.instruments
    tic = time.perf_counter()
    base_fn = None
    if baseline:
        rows = np.random.default_rng(seed).permutation(np.flatnonzero(train_s.labelled))[:60000]
        base = Baseline(
            preset.vocabulary.layout(), preset.config.symbol_hidden, preset.config.latent
        )
        base.fit(
            preset.features_of(train_s.magnitudes[rows].astype(np.float32)),
            train_s.symbols[rows],
            preset.features_of(val_s.magnitudes.astype(np.float32)),
            val_s.symbols,
            seed=seed,
        )
        base_fn = base.predict
    sounding = _any_sounding(test_s.labels)
    mags = test_s.magnitudes.astype(np.float32)
    if not sounding.any():
        raise MidivaeError("no labelled notes left to test on (add .mid files beside more audio)")
    metrics: dict[str, Any] = {
        "split": {"test_frames": len(mags), "sounding_frames": int(sounding.sum())},
        "table1": signal_table(preset, mags[sounding], test_s.symbols[sounding]),
        "table2": symbol_table(preset, mags, test_s.symbols, base_fn),
    }
    if "kind" in test_s.labels and test_s.labels["kind"].ndim == 1:  # the paper's protocol
        rows = test_s.labels["kind"] == 0
        if rows.any():
            metrics["table2_isolated"] = symbol_table(
                preset, mags[rows], test_s.symbols[rows], base_fn
            )
    if devtest is None:
        devtest = _default_devtest(names, say, find_corpora)
    if len(names) == 1 and devtest:
        dev = load_corpus(devtest[0])
        dmags, dlabels = isolated_frames(dev)
        metrics["devtest"] = devtest_table(preset, dmags, dlabels, base_fn)
        metrics["devtest"]["corpus"] = {
            "path": str(devtest[0]),
            "manifest_sha256": manifest_hash(Path(devtest[0])),
        }
    metrics["headline"] = headline(metrics, names)
    metrics["seconds"] = round(time.perf_counter() - tic, 1)
    return metrics


def _any_sounding(labels: dict[str, np.ndarray]) -> np.ndarray:
    pitch = labels["pitch"]
    return (pitch >= 0).any(axis=1) if pitch.ndim == 2 else pitch >= 0


def _default_devtest(names: Sequence[str], say, find_corpora) -> list[Path]:
    from midivae.training.corpus.render import SOUNDFONTS

    if len(names) != 1:
        return []
    try:
        SOUNDFONTS["musescore"].path()
    except MidivaeError:
        say("train: MuseScore_General is not installed, no dev-test figures")
        return []
    return find_corpora(names, [], soundfont="musescore", progress=say)


def headline(metrics: dict[str, Any], names: Sequence[str]) -> dict[str, float]:
    """The few figures ``midivae presets`` lists."""
    sig = metrics["table2"]["signal_to_symbol"]
    iso = metrics.get("table2_isolated", {}).get("signal_to_symbol", {})
    out: dict[str, float] = {}
    if len(names) == 1:
        for key in ("pitch_class", "octave", "dynamics~velocity", "keys_f1"):
            if key in sig:
                out[key] = sig[key]
            if key in iso:
                out[f"isolated_{key}"] = iso[key]
    else:
        for key in ("pitch_class_loose", "octave_loose", "dynamics_loose"):
            if key in sig:
                out[key] = sig[key]
    dev = metrics.get("devtest", {}).get("model", {})
    for key in ("pitch_class", "octave", "dynamics~velocity", "order_velocity"):
        if key in dev:
            out[f"devtest_{key}"] = dev[key]
    return out


def _table2_rows(t2: dict[str, Any], vocab: Vocabulary) -> list[str]:
    lines = []
    names = [
        *PAPER_FAMILIES,
        "pitch",
        "pitch_class~pitch",
        "octave~pitch",
        "dynamics~velocity",
        "keys_f1",
        "sounding",
    ]
    prefixes = [""] if vocab.n_slots == 1 else [f"{i}." for i in vocab.instruments]
    for prefix in prefixes:
        for name in names:
            key = prefix + name
            if key not in t2["signal_to_symbol"]:
                continue
            row = f"  {key:<28} {_pct(t2['symbol_to_symbol'].get(key))} "
            row += f"({_pct(t2['signal_to_symbol'].get(key))})"
            if vocab.n_slots > 1:
                loose = f"{name}_loose"
                row += f"  {_pct(t2['symbol_to_symbol'].get(loose))} "
                row += f"({_pct(t2['signal_to_symbol'].get(loose))})"
            row += f"  {_pct(t2.get('baseline', {}).get(key))}"
            lines.append(row)
    return lines
