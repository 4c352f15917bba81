"""Checks shared by the score readers: the file is there, readable and not empty."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

from midivae.errors import MidivaeError

logger = logging.getLogger("midivae")


def check_file(path: Path) -> bytes:
    """The first bytes of `path`; `MidivaeError` unless it is an existing, non-empty file."""
    try:
        if path.is_dir():
            raise MidivaeError("is a directory, not a score", path)
        with path.open("rb") as f:
            head = f.read(64)
    except (FileNotFoundError, NotADirectoryError):
        raise MidivaeError("no such file", path) from None
    except OSError as exc:
        reason = " ".join(str(exc.strerror or exc).split())
        raise MidivaeError(f"cannot read: {reason}", path) from None
    if not head:
        raise MidivaeError("empty file (0 bytes)", path)
    return head


@contextlib.contextmanager
def warnings_as_notices(path: Path, *, drop: tuple[str, ...] = ()) -> Iterator[None]:
    """Catch the warnings a third-party reader emits and log each distinct one as a notice.

    Messages containing any string in `drop` are discarded (known noise on valid input).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text in seen or any(d in text for d in drop):
            continue
        seen.add(text)
        logger.info("%s: %s", path, text)


def require_notes(notes: list, n_drums: int, path: Path) -> None:
    """Raise the one-line error for a score with nothing to render (only drums, or empty)."""
    if not notes:
        if n_drums:
            raise MidivaeError("only drum tracks; nothing to render", path)
        raise MidivaeError("no notes to render", path)
