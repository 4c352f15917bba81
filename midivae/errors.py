"""The one exception type that the library raises for bad input."""

from __future__ import annotations

from pathlib import Path


class MidivaeError(Exception):
    """A problem with the user's input, reported as one line ``FILE: what is wrong``."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.message = message
        super().__init__(f"{path}: {message}" if path is not None else message)
