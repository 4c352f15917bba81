"""Imports only point down: a module of ``midivae`` imports its own layer or lower ones."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "midivae"

#: Lowest first. A name is a top-level module or subpackage of ``midivae``.
LAYERS = (
    {"errors"},
    {"music"},
    {"audio", "spectral", "symbols"},
    {"scores", "model"},
    {"presets"},
    {"transcription"},
    {"rendering"},
    {"training"},
    {"plots"},
    {"cli", "__init__", "__main__"},
)
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def unit(module: str) -> str:
    """``midivae.transcription.hmm`` -> ``transcription``; ``midivae`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported(tree: ast.AST) -> list[str]:
    """Every ``midivae...`` module an import statement names, at any depth."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in names if name == "midivae" or name.startswith("midivae.")]


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = unit("midivae." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for name in imported(ast.parse(path.read_text(), str(path))):
            # ``from midivae import plots`` names a unit; ``from midivae import X`` the public API
            target = unit(name) if unit(name) in RANK else "__init__"
            if RANK[target] > RANK[own]:
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_every_module_sits_in_a_layer():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    units = {u for u in units if not u.startswith(("_", ".")) or u in ("__init__", "__main__")}
    assert units - {"py"} <= set(RANK) | {"py"}, sorted(units - set(RANK))


def test_imports_point_down():
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    low = tmp_path / "midivae" / "spectral"
    low.mkdir(parents=True)
    (low / "bad.py").write_text("from midivae.training.train import train\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "midivae")
    assert violations() == ["midivae/spectral/bad.py imports midivae.training.train.train"]
