"""Where training finds its note corpora: folders given, or built once under the cache.

Also how a corpus is named in provenance: the hash of its manifest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from midivae.errors import MidivaeError
from midivae.training.corpus import SOUNDFONTS, build_corpus, read_manifest


def cache_root() -> Path:
    return Path(os.environ.get("MIDIVAE_CACHE", Path.home() / ".cache" / "midivae"))


def find_corpora(
    names: Sequence[str],
    dirs: Sequence[Path],
    *,
    soundfont: str = "fluidr3",
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """One corpus folder per instrument: from ``dirs`` (corpus folders or their parent), else
    built (or reused) under the cache folder with seed 0. A folder's corpora are those of
    ``soundfont``; a corpus folder given itself may also be a training corpus of several
    libraries (``midivae corpus build --library ...``) when ``soundfont`` is a training one."""
    found: dict[str, Path] = {}
    for folder in map(Path, dirs):
        if not folder.is_dir():
            raise MidivaeError("no such corpus folder", folder)
        given = (folder / "manifest.json").is_file()
        for path in [folder] if given else sorted(folder.iterdir()):
            if (path / "manifest.json").is_file():
                manifest = read_manifest(path)
                of_libraries = given and "libraries" in manifest
                if manifest.get("soundfont") == soundfont or (
                    of_libraries and SOUNDFONTS[soundfont].purpose == "training"
                ):
                    found.setdefault(manifest["instrument"]["name"], path)
    out = []
    for name in names:
        if name not in found:
            if dirs and soundfont == "fluidr3":
                raise MidivaeError(f"no FluidR3 corpus of {name} here", dirs[0])
            target = cache_root() / "corpora" / f"{name}-{soundfont}-seed0"
            found[name] = build_corpus(name, target, soundfont=soundfont, progress=progress)
        out.append(found[name])
    return out


def manifest_hash(folder: Path) -> str:
    return hashlib.sha256((Path(folder) / "manifest.json").read_bytes()).hexdigest()[:16]
