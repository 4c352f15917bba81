"""``build_corpus``: content -> fluidsynth batches -> frames + labels -> shards + manifest."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from midivae.errors import MidivaeError
from midivae.music import DYNAMICS_EDGES, DYNAMICS_NAMES, Instrument, get_instrument
from midivae.spectral import SpectralConfig, analyse, compress
from midivae.training.corpus import content, labels, render, store
from midivae.training.corpus.levels import Calibration
from midivae.training.corpus.libraries import Library
from midivae.training.corpus.performance import PlayerSettings, perform
from midivae.training.corpus.rooms import RoomSettings, place

log = logging.getLogger("midivae")

#: Bump when content generation, labelling or layout changes (invalidates caches).
CONTENT_VERSION = 4
#: Bump when the sample player, the synthesiser, the player or the room changes what they
#: render (invalidates caches of corpora built with ``--library``).
LIBRARY_RENDER_VERSION = 1
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
    index: int = 0

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
            batches.append(Batch(index=len(batches)))
        batch = batches[-1]
        batch.entries.append((item_id, item, round(batch.seconds, 6)))
        batch.seconds = round(batch.seconds + item.length, 6)
    return batches


def corpus_items(instrument: Instrument, purpose: str, seed: int, tiny: bool) -> list:
    """Training content; dev-test content (real music) for a dev-test library alone."""
    if purpose == "training":
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
    """Render one batch with a soundfont (fluidsynth, as written, dry) into shard arrays
    (magnitudes + labels). ``programs``: GM programs the batch's items cycle through
    (default: the instrument's)."""
    notes = batch.notes()
    audio = render.render_notes(
        notes,
        program=batch.programs(programs or (instrument.program,)),
        soundfont=soundfont,
        seconds=batch.total_seconds,
        sample_rate=config.sample_rate,
    )
    return shard_arrays(audio, notes, batch, instrument, config)


def shard_arrays(
    audio: np.ndarray,
    notes: list[content.Note],
    batch: Batch,
    instrument: Instrument,
    config: SpectralConfig,
) -> dict[str, np.ndarray]:
    """Compressed frames of ``audio`` and the frame labels of ``notes`` and of the items."""
    magnitudes = compress(analyse(audio, config), config).astype(np.float16)
    n = len(magnitudes)
    arrays = {"magnitudes": magnitudes}
    arrays |= labels.note_labels(notes, n, config, polyphonic=instrument.polyphonic)
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


def _open_build(out_dir: Path, settings: dict[str, Any], say) -> tuple[str, bool | None]:
    """The build's cache key, and whether a partial build with it resumes (None: the folder
    already holds this build, reused as is)."""
    key = store.cache_key(settings)
    if store.is_cached(out_dir, key):
        say(f"corpus: {out_dir} already holds this build, reusing it")
        return key, None
    return key, _prepare_folder(out_dir, key)


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
    out_dir = Path(out_dir)
    key, resume = _open_build(out_dir, settings, say)
    if resume is None:
        return out_dir
    items = corpus_items(inst, font.purpose, seed, tiny)
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
    return _finish(out_dir, manifest, start, say, "")


def build_library_corpus(
    instrument: str,
    out_dir: str | Path,
    *,
    libraries: Sequence[str | Path],
    seed: int = 0,
    players: PlayerSettings | None = None,
    rooms: RoomSettings | None = None,
    config: SpectralConfig | None = None,
    tiny: bool = False,
    progress: Callable[[str], None] | None = None,
    command: str | None = None,
) -> Path:
    """A training corpus played by several libraries, by players, in rooms.

    The training content is shared out item by item: item ``i`` is played by library
    ``i % n`` (the next one that covers all its notes when that one does not). Every library
    is calibrated to FluidR3's level (:mod:`.levels`). ``players`` / ``rooms`` (None: as
    written, dry) are drawn per batch from ``seed``. The manifest names every item's library
    and records each library's calibration and each batch's player and room; shards add a
    per-frame ``library`` label (index into the manifest's ``libraries``, -1 = padding).
    """
    from midivae.training.corpus.levels import calibrate_library, measure_levels
    from midivae.training.corpus.libraries import open_library

    start = time.perf_counter()
    say = progress or (lambda message: None)
    inst = get_instrument(instrument)
    config = config or SpectralConfig()
    opened = [open_library(spec) for spec in libraries]
    if not opened:
        raise MidivaeError("give at least one library", instrument)
    names = [library.name for library in opened]
    if len(set(names)) != len(names):
        raise MidivaeError("a library is named twice", ", ".join(names))
    calibrated = names != ["fluidr3"]
    reference_levels = measure_levels(open_library("fluidr3"), inst) if calibrated else {}
    calibrations, levels = [], []
    for library in opened:
        if library.name == "fluidr3":
            calibrations.append(Calibration())
            levels.append({"calibration": Calibration().to_dict()})
            continue
        say(f"corpus: measuring {library.name}'s level per velocity")
        calibration, record = calibrate_library(library, inst, reference_levels)
        calibrations.append(calibration)
        levels.append(record)
    settings = {
        "format_version": store.FORMAT_VERSION,
        "content_version": CONTENT_VERSION,
        "instrument": inst.to_dict(),
        "libraries": [library.describe() for library in opened],
        "players": None if players is None else players.to_dict(),
        "rooms": None if rooms is None else rooms.to_dict(),
        "seed": seed,
        "tiny": tiny,
        "spectral_config": config.to_dict(),
        "render_gain": render.RENDER_GAIN,
        "fluidsynth": render.fluidsynth_version(),
        "calibrations": [calibration.to_dict() for calibration in calibrations],
        "library_render_version": LIBRARY_RENDER_VERSION,
    }
    out_dir = Path(out_dir)
    key, resume = _open_build(out_dir, settings, say)
    if resume is None:
        return out_dir
    items = content.training_content(inst, seed, tiny=tiny)
    owner = [item_owner(item, index, opened, inst) for index, item in enumerate(items)]
    kept = [(item, lib) for item, lib in zip(items, owner, strict=True) if lib is not None]
    dropped = len(items) - len(kept)
    batches = plan_batches(
        [item for item, _ in kept], max_seconds=TINY_BATCH_SECONDS if tiny else BATCH_SECONDS
    )
    item_library = np.array([lib for _, lib in kept], dtype=np.int8)
    shards = []
    played = (store.read_json(out_dir / store.PROGRESS_FILE) or {}).get("played", {})
    for batch in batches:
        path = out_dir / store.shard_name(batch.index)
        if resume and path.is_file():
            arrays = store.read_shard(path)
            record = played.get(path.name, {})
        else:
            say(f"corpus: {inst.name} ({'+'.join(names)}) shard {batch.index + 1}/{len(batches)}: "
                f"rendering {batch.total_seconds:.0f} s")  # fmt: skip
            arrays, record = _play_libraries(
                batch, inst, opened, calibrations, item_library, players, rooms, config, seed
            )
            store.write_shard(path, arrays)
            played[path.name] = record
            store.write_json(out_dir / store.PROGRESS_FILE, {"key": key, "played": played})
        shards.append(_shard_stats(batch, arrays, path) | {"played": record})
    manifest = _library_manifest(settings, key, shards, command, inst, out_dir, seed, names)
    manifest["libraries"] = [
        library.describe() | {"levels": level, "items": int(np.sum(item_library == k))}
        for k, (library, level) in enumerate(zip(opened, levels, strict=True))
    ]
    manifest["item_library"] = item_library.tolist()
    manifest["dropped_items"] = dropped
    return _finish(out_dir, manifest, start, say, f" from {len(names)} libraries")


def _finish(out_dir: Path, manifest: dict, start: float, say, source: str) -> Path:
    """Write the manifest last (a folder with one is a complete corpus) and say what it holds."""
    manifest["build_seconds"] = round(time.perf_counter() - start, 1)
    store.write_json(out_dir / store.MANIFEST, manifest)
    (out_dir / store.PROGRESS_FILE).unlink(missing_ok=True)
    counts, name = manifest["counts"], manifest["instrument"]["name"]
    minutes, seconds = counts["seconds"] / 60, manifest["build_seconds"]
    say(f"corpus: {name}: {counts['notes']} notes, {counts['n_frames']} frames, "
        f"{minutes:.1f} min of audio{source} in {seconds:.0f} s")  # fmt: skip
    return out_dir


def item_owner(
    item: content.Item, index: int, libraries: list[Library], inst: Instrument
) -> int | None:
    """The library that plays item ``index``: ``index % n``, or the next that covers its notes."""
    pitches = [note.pitch for note in item.notes]
    for step in range(len(libraries)):
        k = (index + step) % len(libraries)
        low, high = libraries[k].key_range(inst)
        if not pitches or (low <= min(pitches) and max(pitches) <= high):
            return k
    return None


def _play_libraries(
    batch: Batch,
    inst: Instrument,
    libraries: list[Library],
    calibrations: list[Calibration],
    item_library: np.ndarray,
    players: PlayerSettings | None,
    rooms: RoomSettings | None,
    config: SpectralConfig,
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """One batch: each library renders its items' notes (calibrated), the renders add up
    (items never overlap), then the player's warp and the room apply to the whole batch."""
    rng = np.random.default_rng([seed, batch.index])
    owners = [int(item_library[item_id]) for item_id, item, _ in batch.entries for _ in item.notes]
    voices = []
    for item_id, item, _ in batch.entries:
        choices = libraries[int(item_library[item_id])].programs(inst)
        voices += [choices[item_id % len(choices)]] * len(item.notes)

    def play(notes: list[content.Note], seconds: float) -> np.ndarray:
        audio = np.zeros(round(seconds * config.sample_rate), np.float32)
        for k, (library, calibration) in enumerate(zip(libraries, calibrations, strict=True)):
            rows = [i for i, owner in enumerate(owners) if owner == k]
            if not rows:
                continue
            played = calibration.play(
                library,
                [notes[i] for i in rows],
                instrument=inst,
                voices=[voices[i] for i in rows],
                seconds=seconds,
                sample_rate=config.sample_rate,
                seed=seed * 1000 + batch.index,
            )
            audio += played[: len(audio)]
        return audio

    notes = batch.notes()
    record: dict[str, Any] = {}
    if players is None:
        audio = play(notes, batch.total_seconds)
    else:
        audio, notes, record["player"] = perform(
            play,
            notes,
            batch.total_seconds,
            rng,
            players,
            monophonic=not inst.polyphonic,
            sample_rate=config.sample_rate,
        )
    if rooms is not None:
        audio, record["room"] = place(audio, rng, rooms, sample_rate=config.sample_rate)
    arrays = shard_arrays(audio, notes, batch, inst, config)
    item = arrays["item"]
    arrays["library"] = np.where(item >= 0, item_library[np.maximum(item, 0)], -1).astype(np.int8)
    return arrays, record


def _library_manifest(settings, key, shards, command, inst, out_dir, seed, names) -> dict:
    default_command = (
        f"midivae corpus build --instrument {inst.name} "
        + " ".join(f"--library {name}" for name in names)
        + f" --seed {seed} -o {out_dir}"
        + (" --tiny" if settings["tiny"] else "")
    )
    return {
        "format": store.FORMAT,
        "format_version": store.FORMAT_VERSION,
        "content_version": CONTENT_VERSION,
        "key": key,
        "instrument": settings["instrument"],
        "soundfont": "+".join(names),
        "purpose": "training",
        "seed": seed,
        "tiny": settings["tiny"],
        "command": command or default_command,
        "render": {
            "gain": render.RENDER_GAIN,
            "sample_rate": settings["spectral_config"]["sample_rate"],
            "fluidsynth": settings["fluidsynth"],
            "players": settings["players"],
            "rooms": settings["rooms"],
            "mono": "mean of the channels",
        },
        **_described(settings),
        "counts": _counts(shards),
        "shards": shards,
    }


def _counts(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """A manifest's ``counts``: totals over its shards."""
    kind_frames = np.sum([s["kind_frames"] for s in shards], axis=0).tolist()
    totals = {
        name: sum(s[name] for s in shards)
        for name in ("n_frames", "sounding_frames", "items", "notes", "bytes")
    }
    return {
        **totals,
        "seconds": round(sum(s["seconds"] for s in shards), 3),
        "shards": len(shards),
        "frames_by_kind": dict(zip(content.KINDS, kind_frames, strict=True)),
    }


def _described(settings: dict[str, Any]) -> dict[str, Any]:
    """What every manifest says about the frames and labels."""
    return {
        "spectral_config": settings["spectral_config"],
        "magnitudes": "float16 spectral.compress(amplitude) = log1p(log_gain * amplitude)",
        "labels": labels.LABEL_DOCS,
        "dynamics": {"names": list(DYNAMICS_NAMES), "edges": list(DYNAMICS_EDGES)},
        "kinds": list(content.KINDS),
    }


def _manifest(settings, key, font, font_path, shards, command, inst, out_dir, seed) -> dict:
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
        **_described(settings),
        "counts": _counts(shards),
        "shards": shards,
    }
