"""The libraries each instrument can be played by, for the leave-one-library-out benches.

``fluidr3`` and ``musescore`` are the Debian soundfonts; ``synth`` is the project's own
synthesiser; the sample libraries live in ``../shared/libraries/`` (SFZ) and ``libraries/``
(npm packages that ``bash bench/install_libraries.sh`` installs). Libraries not installed
here are left out (``available`` says which).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "libraries"
NPM = ROOT / "libraries"

#: instrument -> {library name: what ``--library`` takes (without the ``NAME=`` prefix)}.
CATALOG: dict[str, dict[str, str]] = {
    "flute": {"vsco2": str(NPM / "vsco2-flute")},
    "violin": {"vsco2": str(NPM / "vsco2-violin")},
    "trumpet": {"vsco2": str(NPM / "vsco2-trumpet")},
    "alto_sax": {
        "weresax": str(SHARED / "karoryfer-weresax" / "Programs" / "Sax.sfz"),
        "mtg": str(SHARED / "mtg-solo-sax" / "MTG Solo Saxophones" / "MTG Alto Sax.sfz"),
    },
    "piano": {
        "splendid": str(SHARED / "splendid-grand-piano" / "Splendid Grand Piano.sfz"),
        "headroom": str(SHARED / "headroom-piano" / "Headroom Piano (NoFX).sfz"),
        "salamander": str(NPM / "salamander-grand-piano"),
        "vsco2": str(NPM / "vsco2-piano"),
    },
}
SOUNDFONTS = ("fluidr3", "musescore")
SYNTH = "synth"


def available(instrument: str, *, synth: bool = True) -> dict[str, str]:
    """Library name -> ``--library`` spec for ``instrument``, installed ones only."""
    out = {name: name for name in SOUNDFONTS}
    out |= {
        name: f"{name}={path}" for name, path in CATALOG[instrument].items() if Path(path).exists()
    }
    if synth:
        out[SYNTH] = SYNTH
    return out
