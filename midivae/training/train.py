"""``train``: corpora (or the user's audio) -> fitted cross-modal VAE + metrics -> preset folder.

Splits are made by item (a rendered note or phrase, or a user's file), so no note is on two
sides; train / validation / test. Single instruments train on their frames; ``a+b`` and
``ensemble`` train on mixtures drawn afresh every epoch (``MixtureSampler``). With ``data``
the user's audio trains the signal VAE, and files with a ``.mid`` beside them also train the
symbol side (semi-supervised, paper §3.1). The tables of ``evaluate`` go into preset.json.
"""

from __future__ import annotations

import hashlib
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from midivae.errors import MidivaeError
from midivae.music import MIXTURES, get_instrument
from midivae.spectral import SpectralConfig
from midivae.symbols import Vocabulary
from midivae.training.corpora import find_corpora, manifest_hash
from midivae.training.corpus import (
    Corpus,
    MixtureSampler,
    load_corpus,
)
from midivae.training.provenance import git_commit

if TYPE_CHECKING:
    from midivae.presets.preset import Preset

TEST_FRACTION, VAL_FRACTION = 0.15, 0.10
MIXTURE_EVAL_FRAMES = 20000
#: A ``--refine-reading`` run (half the model, from trained weights): most epochs, learning
#: rate; it keeps the epoch whose validation frames read best (signal -> symbol likelihood).
REFINE_EPOCHS, REFINE_LR = 20, 3e-4
#: Frames read per training sequence of a context encoder (its maps are computed once per
#: sequence, with the margins its windows reach).
SEQUENCE_FRAMES = 32


def parse_instruments(spec: str) -> tuple[str, ...]:
    """``flute`` / ``alto_sax+violin`` / ``ensemble`` -> instrument names in slot order."""
    names = MIXTURES["ensemble"] if spec == "ensemble" else tuple(spec.split("+"))
    for name in names:
        get_instrument(name)
    if len(set(names)) != len(names):
        raise MidivaeError("an instrument is named twice", spec)
    if len(names) > 1 and any(get_instrument(n).polyphonic for n in names):
        raise MidivaeError("mixtures are of melody instruments only", spec)
    return names


def split_items(item: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame indices (train, validation, test), by item; padding frames (item -1) train."""
    ids = np.unique(item[item >= 0])
    order = np.random.default_rng(seed).permutation(ids)
    n_test, n_val = round(TEST_FRACTION * len(ids)), round(VAL_FRACTION * len(ids))
    if len(ids) >= 3:  # tiny corpora still get one item on each side
        n_test, n_val = max(n_test, 1), max(n_val, 1)
    test, val = order[:n_test], order[n_test : n_test + n_val]
    is_test, is_val = np.isin(item, test), np.isin(item, val)
    return np.flatnonzero(~is_test & ~is_val), np.flatnonzero(is_val), np.flatnonzero(is_test)


@dataclass
class Split:
    """Frames of one side of the split: compressed magnitudes, labels, symbol vectors."""

    magnitudes: np.ndarray
    labels: dict[str, np.ndarray]
    symbols: np.ndarray
    labelled: np.ndarray
    segments: np.ndarray | None = None  # runs of frames consecutive in time (None: all)

    def source(self, context: tuple[int, ...] = ()):
        """Training frames; with ``context`` offsets, as sequences of consecutive frames
        (each with the margins its windows reach)."""
        from midivae.model.context import margin_of, sequence_rows, sequence_starts
        from midivae.model.fit import ArraySource

        if not context:
            return ArraySource(self.magnitudes, self.symbols, self.labelled)
        segments = self.segments
        if segments is None:
            segments = np.zeros(len(self.magnitudes), np.int64)
        margin = margin_of(context)
        starts = sequence_starts(segments, SEQUENCE_FRAMES)
        rows = sequence_rows(starts, SEQUENCE_FRAMES, margin, segments)
        return ArraySource(self.magnitudes, self.symbols, self.labelled, rows, margin)


def segments_of(rows: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
    """Segment ids of selected frame ``rows``: a new segment wherever the rows stop being
    consecutive (or the ``items`` change)."""
    breaks = np.diff(rows) != 1
    if items is not None:
        breaks |= np.diff(items) != 0
    return np.concatenate([[0], np.cumsum(breaks)]).astype(np.int64)


def corpus_split(corpus: Corpus, rows: np.ndarray, vocab: Vocabulary) -> Split:
    labels = {k: v[rows] for k, v in corpus.labels.items()}
    return Split(
        corpus.magnitudes[rows],
        labels,
        vocab.encode(labels),
        np.ones(len(rows), bool),
        segments_of(rows),
    )


def mixture_split(sampler: MixtureSampler, n: int, vocab: Vocabulary) -> Split:
    batch = sampler.sample(n)
    return Split(
        batch.magnitudes.astype(np.float32),
        batch.labels,
        vocab.encode(batch.labels),
        np.ones(n, bool),
    )


class MixtureSource:
    """Fresh mixtures every epoch, ``n`` frames per epoch."""

    def __init__(self, sampler: MixtureSampler, n: int, vocab: Vocabulary) -> None:
        self.sampler, self.n, self.vocab = sampler, n, vocab

    def batches(self, batch_size: int, rng: np.random.Generator) -> Iterator:
        chunk = 16384
        for start in range(0, self.n, chunk):
            yield from (
                mixture_split(self.sampler, min(chunk, self.n - start), self.vocab)
                .source()
                .batches(batch_size, rng)
            )


def load_user_data(
    folder: Path, vocab: Vocabulary, spectral: SpectralConfig, seed: int, say: Callable
) -> tuple[Split, Split, Split]:
    """The user's audio files as (train, validation, test), split by file.

    A file with ``stem.mid`` beside it is labelled from the MIDI notes; others only train the
    signal VAE. Validation and test keep labelled files only.
    """
    import pretty_midi

    from midivae.audio import AUDIO_SUFFIXES, load_audio
    from midivae.spectral import analyse, compress
    from midivae.training.corpus.content import Note
    from midivae.training.corpus.labels import note_labels

    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise MidivaeError("no audio files found", folder)
    polyphonic = any(f.name == "keys" for f in vocab.families)
    parts: list[tuple[np.ndarray, dict[str, np.ndarray], bool]] = []
    for index, path in enumerate(files):
        say(f"data: [{index + 1}/{len(files)}] {path}")
        mags = compress(analyse(load_audio(path), spectral), spectral).astype(np.float16)
        midi = next(
            (m for m in (path.with_suffix(".mid"), path.with_suffix(".midi")) if m.is_file()), None
        )
        notes = []
        if midi is not None:
            try:
                score = pretty_midi.PrettyMIDI(str(midi))
            except Exception as exc:  # pretty_midi raises many types on bad files
                raise MidivaeError(f"unreadable MIDI file ({type(exc).__name__})", midi) from None
            notes = [
                Note(n.pitch, n.velocity, n.start, n.end)
                for inst in score.instruments
                if not inst.is_drum
                for n in inst.notes
            ]
        labels = note_labels(notes, len(mags), spectral, polyphonic=polyphonic)
        labels["item"] = np.full(len(mags), index, np.int32)
        parts.append((mags, labels, midi is not None))
    mags = np.concatenate([p[0] for p in parts])
    labels = {k: np.concatenate([p[1][k] for p in parts]) for k in parts[0][1]}
    labelled = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    say(f"data: {len(files)} files, {int(sum(p[2] for p in parts))} with MIDI labels")
    splits = []
    for side, rows in enumerate(split_items(labels["item"], seed)):
        rows = rows if side == 0 else rows[labelled[rows]]
        sub = {k: v[rows] for k, v in labels.items()}
        segments = segments_of(rows, sub["item"])
        splits.append(Split(mags[rows], sub, vocab.encode(sub), labelled[rows], segments))
    if not len(splits[1].magnitudes):
        splits[1] = splits[0]  # too few labelled files to hold one out: validate on train
    return splits[0], splits[1], splits[2]


def vocabulary_for(names: Sequence[str], *, onsets: bool = False) -> Vocabulary:
    slots = [
        (n, get_instrument(n).low, get_instrument(n).high, get_instrument(n).polyphonic)
        for n in names
    ]
    return Vocabulary.standard(slots, onsets=onsets)


def train(
    instrument: str,
    out_dir: str | Path,
    *,
    corpus: Sequence[str | Path] = (),
    data: str | Path | None = None,
    devtest: Sequence[str | Path] | None = None,
    config: str | None = None,
    epochs: int | None = None,
    device: str = "auto",
    seed: int = 0,
    features: Any = None,
    fit_settings: Any = None,
    model_overrides: dict[str, Any] | None = None,
    baseline: bool = True,
    refine_reading: str | Path | None = None,
    keep_writing: str | Path | None = None,
    exclude_libraries: Sequence[str] = (),
    onset_symbols: bool = False,
    command: str | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
):
    """Train a preset into ``out_dir`` (written atomically) and return the loaded ``Preset``.

    Parameters
    ----------
    instrument : str
        ``NAME``, ``NAME+NAME...`` (a mixture, one slot each) or ``ensemble``.
    corpus : sequence of path
        FluidR3 corpus folders (or folders holding them); default: built in the cache.
    data : path, optional
        The user's audio folder instead (``.mid`` beside a file labels it).
    devtest : sequence of path, optional
        MuseScore_General corpora for the dev-test figures; default: the cache's, built when
        the soundfont is installed; ``()`` skips them.
    config : str
        A named model config (default ``compact`` / ``compact-mixture``).
    epochs : int, optional
        Most epochs (early stopping usually ends sooner).
    device : ``auto`` | ``cpu`` | ``cuda``
    seed : int
        Seeds the split, the initialisation, the batches and the mixtures.
    refine_reading : preset name or folder, optional
        Start from this preset and train only its reading half (signal encoder, symbol
        decoder); its renders stay bit for bit. Its vocabulary, configs, split seed and (unless
        ``fit_settings`` is given) augmentations are kept, with ``model_overrides`` on top
        (e.g. ``cross_weight``) and no KL warm-up; ``epochs`` defaults to 20.
    keep_writing : preset name or folder, optional
        Train a whole new pair as usual, but write a preset that keeps this preset's pair
        (renders, morphs, the ``auto`` fit: bit for bit) and transcribes with the new pair's
        reading half (signal encoder, symbol decoder), stored beside it. The preset's
        vocabulary, features and split seed are kept; the metrics are the two halves'.
    exclude_libraries : sequence of str
        Leave these libraries' frames out of a corpus of several libraries (every split):
        how the leave-one-library-out bench trains without the library it reads.
    onset_symbols : bool, optional
        Melody slots read the ``onset`` bit too (the frame nearest a note-on), which the note
        decoder then takes for its onset evidence; never beside a kept or refined pair
        (their vocabulary). Off by default: read by a context encoder on a library it never
        heard, it timed notes worse than the rise of the partials (docs/experiments.md,
        "Context encoder").
    """
    from midivae.model import FeatureConfig, get_config
    from midivae.model.fit import FitSettings, fit, pick_device, seed_everything
    from midivae.presets.preset import Preset, build_model, round_weights, save_preset
    from midivae.training import evaluate

    start = time.perf_counter()
    say = progress or (lambda message: None)
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise MidivaeError("exists, use --overwrite", out_dir)
    names = parse_instruments(instrument)
    mixture = len(names) > 1
    dev = pick_device(device)
    base = None
    if refine_reading is not None and keep_writing is not None:
        raise MidivaeError("give --refine-reading or --keep-writing, not both", keep_writing)
    if keep_writing is not None:
        base = _base_preset(keep_writing, names, seed, "--keep-writing")
        if features is not None:
            raise MidivaeError("--keep-writing keeps the preset's features", keep_writing)
        features = base.features
    if refine_reading is not None:
        base = _base_preset(refine_reading, names, seed, "--refine-reading")
        if config is not None or features is not None:
            raise MidivaeError(
                "--refine-reading keeps the preset's model: no --config", refine_reading
            )
        recorded = base.meta.get("provenance", {})
        # the pair that transcribes (a two-pair preset's second pair)
        model_config = replace(base.reader.config, warmup_epochs=0, **(model_overrides or {}))
        features = base.features
        settings = fit_settings or FitSettings.from_dict(recorded.get("fit", {}))
        settings.max_epochs = epochs or REFINE_EPOCHS
        settings.lr, settings.patience, settings.select_on = REFINE_LR, settings.max_epochs, "cross"
    else:
        model_config = get_config(
            config or ("compact-mixture" if mixture else "compact"), **(model_overrides or {})
        )
        features = features or FeatureConfig()  # a kept pair's, with --keep-writing
        settings = fit_settings or FitSettings(seed=seed)
    if mixture and model_config.context:
        raise MidivaeError("mixtures train frame encoders only, for now", model_config.name)
    settings.seed = seed
    if epochs is not None:
        settings.max_epochs = epochs
    if base is not None and onset_symbols:
        raise MidivaeError("onset symbols need a new vocabulary: not with a kept pair", base.path)
    vocab = vocabulary_for(names, onsets=onset_symbols) if base is None else base.vocabulary
    provenance: dict[str, Any] = {
        "command": command,
        "seed": seed,
        "device": str(dev),
        "git_commit": git_commit(),
        "fit": settings.to_dict(),
    }
    if data is not None:
        if mixture:
            raise MidivaeError("--data trains a single instrument", data)
        spectral = SpectralConfig()
        train_s, val_s, test_s = load_user_data(Path(data), vocab, spectral, seed, say)
        provenance["data"] = str(data)
    else:
        folders = find_corpora(names, [Path(c) for c in corpus], progress=say)
        corpora = [load_corpus(f) for f in folders]
        spectral = corpora[0].config
        provenance["corpora"] = [
            {
                "path": str(f),
                "manifest_sha256": manifest_hash(f),
                "command": c.manifest.get("command"),
            }
            for f, c in zip(folders, corpora, strict=True)
        ]
        splits = [split_items(c.labels["item"], seed) for c in corpora]
        if exclude_libraries:
            splits = [
                tuple(rows[kept[rows]] for rows in split)
                for split, kept in zip(splits, _without(corpora, exclude_libraries), strict=True)
            ]
            provenance["excluded_libraries"] = list(exclude_libraries)
        if not mixture:
            train_s, val_s, test_s = (corpus_split(corpora[0], rows, vocab) for rows in splits[0])
        else:
            sources = (1, 2) if instrument == "ensemble" else None
            samplers = [
                MixtureSampler(
                    corpora,
                    sources=sources,
                    indices=[s[k] for s in splits],
                    seed=seed + 101 * (k + 1),
                )
                for k in range(3)
            ]
            n_train = sum(len(s[0]) for s in splits)
            train_source = MixtureSource(samplers[0], n_train, vocab)
            val_s = mixture_split(samplers[1], MIXTURE_EVAL_FRAMES // 2, vocab)
            test_s = mixture_split(samplers[2], MIXTURE_EVAL_FRAMES, vocab)
            train_s = mixture_split(samplers[0], MIXTURE_EVAL_FRAMES, vocab)  # for the baseline
    say(
        f"train: {'+'.join(names)}, config {model_config.name}, {len(train_s.magnitudes)} "
        f"train / {len(val_s.magnitudes)} validation / {len(test_s.magnitudes)} test frames"
    )
    seed_everything(seed)
    model = build_model(vocab, spectral, features, model_config)
    if base is not None and base.spectral != spectral:
        raise MidivaeError("spectral settings differ from the corpora's", base.path)
    if keep_writing is not None:
        provenance["writing_from"] = {
            **_base_record(keep_writing, base),
            "model_config": base.config.to_dict(),
            "trained": _writing_provenance(base),
        }
        say(f"train: a new reading pair beside the writing pair of {base.path}")
    elif base is not None:
        model.load_state_dict(base.reader.state_dict())
        model.freeze_writing_half()
        provenance["refined_from"] = {
            **_base_record(refine_reading, base),
            "trained": {k: v for k, v in base.meta.get("provenance", {}).items() if k != "fit"},
            "frozen": ["symbol.encoder", "signal.decoder", "signal.logvar"],
        }
        say(f"train: refining the reading half of {base.path} (renders stay as they are)")
    context = model_config.context
    train_source = train_source if mixture and data is None else train_s.source(context)
    result = fit(
        model,
        train_source,
        val_s.source(context),
        features,
        spectral.frequencies,
        settings,
        device=dev,
        progress=say,
    )
    model.to("cpu")
    round_weights(model)
    if keep_writing is not None or (base is not None and base.two_pairs):
        # a new or refined reading pair beside the kept pair that renders
        preset = Preset(base.model, vocab, spectral, features, {"name": out_dir.name}, reader=model)
    else:
        preset = Preset(model, vocab, spectral, features, {"name": out_dir.name})
    preset.meta["velocity_calibration"] = _decoded_velocity_line(preset, val_s)
    if base is not None:  # what the renders and (until re-measured) the note timing use
        preset.meta |= {k: base.meta[k] for k in ("envelope", "timing") if k in base.meta}
    if data is None and not mixture:
        from midivae.training.corpus.envelopes import measure_envelope
        from midivae.training.timing_fit import measure_timing

        if base is None:
            preset.meta["envelope"] = measure_envelope(corpora[0]).to_dict()
        if not get_instrument(names[0]).polyphonic:
            preset.meta["timing"] = measure_timing(preset, val_s.magnitudes, val_s.labels)
        if get_instrument(names[0]).polyphonic:
            verifier = _measured(
                "note verifier",
                preset,
                names[0],
                corpora[0].manifest,
                exclude_libraries,
                seed,
                command,
                say,
            )
            if verifier is not None:
                preset.meta["note_verifier"] = verifier
        regression = _measured(
            "velocity regression", preset, names[0], corpora[0].manifest, (), seed, command, say
        )
        if regression is not None:
            preset.meta["velocity_regression"] = regression
    metrics = evaluate.evaluate_run(
        preset, train_s, val_s, test_s, devtest=devtest, baseline=baseline, seed=seed, progress=say
    )
    provenance |= {
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "train_seconds": round(result.seconds, 1),
        "seconds_per_epoch": round(result.seconds / max(result.epochs_run, 1), 2),
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    preset.meta |= {"provenance": provenance, "metrics": metrics, "history": result.history}
    save_preset(preset, out_dir, overwrite=overwrite)
    say(f"train: wrote {out_dir} in {provenance['wall_seconds']:.0f} s")
    return preset


def _without(corpora: list[Corpus], excluded: Sequence[str]) -> list[np.ndarray]:
    """Per corpus, which frames no ``excluded`` library played (a mixture's corpora may each
    hold some of them). A MidivaeError when a corpus names no libraries or a name is in no
    corpus: leaving out what is not there is a mistake."""
    out, found = [], set()
    for corpus in corpora:
        names = [library["name"] for library in corpus.manifest.get("libraries", [])]
        if "library" not in corpus.labels:
            raise MidivaeError(
                f"no library {', '.join(excluded)} in this corpus (it has: one soundfont)",
                corpus.manifest.get("command"),
            )
        codes = [names.index(name) for name in excluded if name in names]
        found.update(name for name in excluded if name in names)
        out.append(~np.isin(corpus.labels["library"], codes))
    missing = [name for name in excluded if name not in found]
    if missing:
        held = sorted({lib["name"] for c in corpora for lib in c.manifest.get("libraries", [])})
        raise MidivaeError(
            f"no library {', '.join(missing)} in these corpora (they have: {', '.join(held)})",
            corpora[0].manifest.get("command"),
        )
    return out


def _measured(
    what: str,
    preset: Preset,
    instrument: str,
    manifest: dict,
    excluded: Sequence[str],
    seed: int,
    command,
    say,
):
    """The preset's ``what`` ("velocity regression" or "note verifier") measured on fresh
    renders (the velocity regression: of its corpus's reference soundfont; the note verifier:
    of its corpus's libraries less ``excluded``), with the command and commit that measured
    it; None when it cannot be measured here."""
    from midivae.training.fit_renders import corpus_players, corpus_soundfont
    from midivae.training.velocity_fit import measure_velocity_regression
    from midivae.training.verifier_fit import measure_note_verifier

    try:
        if what == "velocity regression":
            reference = corpus_soundfont(manifest.get("command"))
            measure, heard_by = measure_velocity_regression, reference
        else:
            measure, heard_by = measure_note_verifier, corpus_players(manifest, excluded)
        measured = measure(
            preset,
            instrument,
            heard_by,
            seed,
            tiny=bool(manifest.get("tiny")),
            progress=say,
        )
    except MidivaeError as exc:  # e.g. the soundfont is not installed here
        say(f"{what}: not measured ({exc})")
        return None
    if measured is None:
        return None
    return measured | {"fit": measured["fit"] | {"command": command, "git_commit": git_commit()}}


def _base_record(source: str | Path, base) -> dict[str, str]:
    """Which preset a run started from, as given, and the hash of its weights file."""
    from midivae.presets.preset import WEIGHTS

    digest = hashlib.sha256((base.path / WEIGHTS).read_bytes()).hexdigest()
    return {"preset": str(source), "weights_sha256": digest}


def _writing_provenance(base) -> dict[str, Any]:
    """How ``base``'s writing pair was trained: its own run, or the run it was kept from."""
    recorded = base.meta.get("provenance", {})
    if base.two_pairs and "writing_from" in recorded:
        return recorded["writing_from"]["trained"]
    return dict(recorded)  # its fit settings too: the kept pair's augmentations


def _base_preset(source: str | Path, names: tuple[str, ...], seed: int, flag: str):
    """The preset a ``flag`` run starts from: same instruments, trained with the same seed
    (so the same held-in split)."""
    from midivae.presets.preset import load_preset

    base = load_preset(source)
    if base.instruments != names:
        raise MidivaeError(
            f"{flag} keeps the preset's model of {'+'.join(base.instruments)}; "
            "give the same --instrument",
            source,
        )
    recorded = base.meta.get("provenance", {}).get("seed", seed)
    if recorded != seed:
        raise MidivaeError(f"the preset was trained with --seed {recorded} (its split)", source)
    return base


def _decoded_velocity_line(preset: Preset, val: Split) -> dict[str, float]:
    """Least-squares line from decoded velocity values to true ones on validation notes."""
    vocab = preset.vocabulary
    probs = preset.symbols_from_signal(val.magnitudes)
    xs, ys = [], []
    for index, family in enumerate(vocab.families):
        if family.kind == "continuous":
            true = val.symbols[:, vocab.span(index)][:, 0]
            rows = true > 0
            xs.append(probs[rows, vocab.span(index)][:, 0])
            ys.append(true[rows])
    if not xs or sum(len(x) for x in xs) < 10:
        return {"scale": 1.0, "offset": 0.0}
    x, y = np.concatenate(xs), np.concatenate(ys)
    scale, offset = np.polyfit(x, y, 1)
    return {"scale": float(scale), "offset": float(offset)}


class _CallableModule(types.ModuleType):
    """``midivae.training.train`` is both this module and the public function: calling it trains."""

    def __call__(self, *args: Any, **kwargs: Any):
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
