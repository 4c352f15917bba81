"""``build_corpus``: content -> fluidsynth batches -> frames + labels -> shards + manifest."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from midivae.errors import MidivaeError
from midivae.music import DYNAMICS_EDGES, DYNAMICS_NAMES, Instrument, get_instrument
from midivae.spectral import SpectralConfig, analyse, compress
from midivae.training.corpus import content, labels, render, store

log = logging.getLogger("midivae")

#: Bump when content generation, labelling or layout changes (invalidates caches).
CONTENT_VERSION = 3
#: Seconds of music per fluidsynth run and shard (tiny builds use short batches).
BATCH_SECONDS = 120.0
TINY_BATCH_SECONDS = 2.5
#: Silence before the first item and after the last item of a batch (frames labelled padding).
LEAD_SECONDS = 0.25
TAIL_SECONDS = 0.25


@dataclass
class Batch:
    """Items rendered by one fluidsynth run: ``(item_id, item, offset in seconds)``."""

    entries: list[tuple[int, content.Item, float]] = field(default_factory=list)
    seconds: float = LEAD_SECONDS

    def notes(self) -> list[content.Note]:
        return [
            content.Note(n.pitch, n.velocity, offset + n.start, offset + n.end)
            for _, item, offset in self.entries
            for n in item.notes
        ]

    def programs(self, choices: tuple[int, ...]) -> list[int]:
        """The GM program of each of :meth:`notes`: item ``i`` plays ``choices[i % n]``."""
        return [
            choices[item_id % len(choices)] for item_id, item, _ in self.entries for _ in item.notes
        ]

    @property
    def total_seconds(self) -> float:
        return self.seconds + TAIL_SECONDS


def plan_batches(items: list[content.Item], *, max_seconds: float) -> list[Batch]:
    """Lay items end to end in batches of at most ``max_seconds`` (one item may exceed it)."""
    batches = [Batch()]
    for item_id, item in enumerate(items):
        if batches[-1].entries and batches[-1].seconds + item.length > max_seconds:
            batches.append(Batch())
        batch = batches[-1]
        batch.entries.append((item_id, item, round(batch.seconds, 6)))
        batch.seconds = round(batch.seconds + item.length, 6)
    return batches


def corpus_items(instrument: Instrument, soundfont: str, seed: int, tiny: bool) -> list:
    """Training content for FluidR3; dev-test content (real music) for MuseScore_General."""
    if render.get_soundfont(soundfont).purpose == "training":
        return content.training_content(instrument, seed, tiny=tiny)
    from midivae.training.corpus.pieces import devtest_content  # music21 is slow to import

    return devtest_content(instrument, seed, tiny=tiny)


def render_batch(
    batch: Batch,
    instrument: Instrument,
    soundfont: Path,
    config: SpectralConfig,
    programs: tuple[int, ...] | None = None,
) -> dict[str, np.ndarray]:
    """Render one batch into shard arrays (magnitudes + labels).

    ``programs``: GM programs the batch's items cycle through (default: the instrument's).
    """
    audio = render.render_notes(
        batch.notes(),
        program=batch.programs(programs or (instrument.program,)),
        soundfont=soundfont,
        seconds=batch.total_seconds,
        sample_rate=config.sample_rate,
    )
    magnitudes = compress(analyse(audio, config), config).astype(np.float16)
    n = len(magnitudes)
    arrays = {"magnitudes": magnitudes}
    arrays |= labels.note_labels(batch.notes(), n, config, polyphonic=instrument.polyphonic)
    spans = [(i, item.kind, off, off + item.length) for i, item, off in batch.entries]
    arrays |= labels.item_labels(spans, n, config)
    return arrays


def _shard_stats(batch: Batch, arrays: dict[str, np.ndarray], path: Path) -> dict[str, Any]:
    return {
        "file": path.name,
        "bytes": path.stat().st_size,
        "n_frames": len(arrays["magnitudes"]),
        "sounding_frames": int((arrays["pitch"] >= 0).sum()),
        "items": len(batch.entries),
        "notes": sum(len(item.notes) for _, item, _ in batch.entries),
        "seconds": round(batch.total_seconds, 6),
        "kind_frames": np.bincount(arrays["kind"][arrays["kind"] >= 0], minlength=4).tolist(),
    }


def _prepare_folder(out_dir: Path, key: str) -> bool:
    """Make ``out_dir`` ready; True when a partial build with the same key can be resumed."""
    if out_dir.exists() and not out_dir.is_dir():
        raise MidivaeError("exists and is not a folder", out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ours = {store.MANIFEST, store.PROGRESS_FILE}
    foreign = [
        p.name for p in out_dir.iterdir()
        if p.name not in ours and not p.match(store.SHARD_PATTERN) and not p.name.endswith(".tmp")
    ]  # fmt: skip
    if foreign:
        raise MidivaeError(f"not empty and not a corpus folder (holds {foreign[0]})", out_dir)
    progress = store.read_json(out_dir / store.PROGRESS_FILE)
    resume = progress is not None and progress.get("key") == key
    if not resume and any(p.name != store.PROGRESS_FILE for p in out_dir.iterdir()):
        log.info("%s: replacing a corpus built with other settings", out_dir)
    (out_dir / store.MANIFEST).unlink(missing_ok=True)
    for path in out_dir.iterdir():
        if path.name.endswith(".tmp") or (not resume and path.match(store.SHARD_PATTERN)):
            path.unlink()
    store.write_json(out_dir / store.PROGRESS_FILE, {"key": key})
    return resume


def build_corpus(
    instrument: str,
    out_dir: str | Path,
    *,
    soundfont: str = "fluidr3",
    seed: int = 0,
    config: SpectralConfig | None = None,
    tiny: bool = False,
    progress: Callable[[str], None] | None = None,
    command: str | None = None,
) -> Path:
    """Render, analyse and label a note corpus into ``out_dir``; returns ``out_dir``.

    Deterministic from ``seed``. A folder already holding a corpus built with the same
    settings is reused as is; an interrupted build with the same settings resumes.
    """
    start = time.perf_counter()
    say = progress or (lambda message: None)
    inst = get_instrument(instrument)
    font = render.get_soundfont(soundfont)
    font_path = font.path()
    config = config or SpectralConfig()
    settings = {
        "format_version": store.FORMAT_VERSION,
        "content_version": CONTENT_VERSION,
        "instrument": inst.to_dict(),
        "soundfont": font.name,
        "soundfont_bytes": font_path.stat().st_size,
        "seed": seed,
        "tiny": tiny,
        "spectral_config": config.to_dict(),
        "render_gain": render.RENDER_GAIN,
        "fluidsynth": render.fluidsynth_version(),
    }
    key = store.cache_key(settings)
    out_dir = Path(out_dir)
    if store.is_cached(out_dir, key):
        say(f"corpus: {out_dir} already holds this build, reusing it")
        return out_dir
    resume = _prepare_folder(out_dir, key)
    items = corpus_items(inst, font.name, seed, tiny)
    batches = plan_batches(items, max_seconds=TINY_BATCH_SECONDS if tiny else BATCH_SECONDS)
    # Sibling programs give the training library's other timbres of the part; never dev-test.
    programs = inst.training_programs if font.purpose == "training" else (inst.program,)
    shards = []
    for index, batch in enumerate(batches):
        path = out_dir / store.shard_name(index)
        if resume and path.is_file():
            arrays = store.read_shard(path)
        else:
            say(f"corpus: {inst.name} ({font.name}) shard {index + 1}/{len(batches)}: "
                f"rendering {batch.total_seconds:.0f} s")  # fmt: skip
            arrays = render_batch(batch, inst, font_path, config, programs)
            store.write_shard(path, arrays)
        shards.append(_shard_stats(batch, arrays, path))
    manifest = _manifest(settings, key, font, font_path, shards, command, inst, out_dir, seed)
    manifest["build_seconds"] = round(time.perf_counter() - start, 1)
    store.write_json(out_dir / store.MANIFEST, manifest)
    (out_dir / store.PROGRESS_FILE).unlink(missing_ok=True)
    counts = manifest["counts"]
    minutes, seconds = counts["seconds"] / 60, manifest["build_seconds"]
    say(f"corpus: {inst.name}: {counts['notes']} notes, {counts['n_frames']} frames, "
        f"{minutes:.1f} min of audio in {seconds:.0f} s")  # fmt: skip
    return out_dir


def _manifest(settings, key, font, font_path, shards, command, inst, out_dir, seed) -> dict:
    kind_frames = np.sum([s["kind_frames"] for s in shards], axis=0).tolist()
    totals = {
        name: sum(s[name] for s in shards)
        for name in ("n_frames", "sounding_frames", "items", "notes", "bytes")
    }
    default_command = (
        f"midivae corpus build --instrument {inst.name} --soundfont {font.name} "
        f"--seed {seed} -o {out_dir}" + (" --tiny" if settings["tiny"] else "")
    )
    return {
        "format": store.FORMAT,
        "format_version": store.FORMAT_VERSION,
        "content_version": CONTENT_VERSION,
        "key": key,
        "instrument": settings["instrument"],
        "soundfont": font.name,
        "soundfont_file": str(font_path),
        "soundfont_bytes": settings["soundfont_bytes"],
        "purpose": font.purpose,
        "seed": seed,
        "tiny": settings["tiny"],
        "command": command or default_command,
        "render": {
            "program": "fluidsynth",
            "version": settings["fluidsynth"],
            "gain": render.RENDER_GAIN,
            "sample_rate": settings["spectral_config"]["sample_rate"],
            "reverb": False,
            "chorus": False,
            "mono": "mean of fluidsynth's stereo output",
        },
        "spectral_config": settings["spectral_config"],
        "magnitudes": "float16 spectral.compress(amplitude) = log1p(log_gain * amplitude)",
        "labels": labels.LABEL_DOCS,
        "dynamics": {"names": list(DYNAMICS_NAMES), "edges": list(DYNAMICS_EDGES)},
        "kinds": list(content.KINDS),
        "counts": {
            **totals,
            "seconds": round(sum(s["seconds"] for s in shards), 3),
            "shards": len(shards),
            "frames_by_kind": dict(zip(content.KINDS, kind_frames, strict=True)),
        },
        "shards": shards,
    }
