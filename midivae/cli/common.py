"""Shared CLI plumbing: global options, progress, one-line errors, batch summaries."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import click

from midivae.errors import MidivaeError


@dataclass
class Options:
    """Global flags of the ``midivae`` group."""

    quiet: bool = False
    debug: bool = False

    @property
    def show_progress(self) -> bool:
        """Progress goes to stderr only when it is a terminal and ``--quiet`` is off."""
        return not self.quiet and sys.stderr.isatty()


class _NoticeHandler(logging.Handler):
    """Library notices (the ``midivae`` logger) as ``notice: ...`` lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning" if record.levelno >= logging.WARNING else "notice"
        click.echo(f"{prefix}: {record.getMessage()}", err=True)


def configure_logging(quiet: bool) -> None:
    """Show the library's notices on stderr (warnings only under ``--quiet``)."""
    logger = logging.getLogger("midivae")
    for handler in list(logger.handlers):
        if isinstance(handler, _NoticeHandler):
            logger.removeHandler(handler)
    logger.addHandler(_NoticeHandler())
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def options() -> Options:
    ctx = click.get_current_context()
    obj = ctx.find_object(Options)
    return obj if obj is not None else Options()


def progress(message: str) -> None:
    """A progress line on stderr, only on a terminal and without --quiet."""
    if options().show_progress:
        click.echo(message, err=True)


def log_line(message: str) -> None:
    """A line on stderr worth keeping in a log too (an epoch's losses), unless --quiet."""
    if not options().quiet:
        click.echo(message, err=True)


def shown(text: object) -> str:
    """``text`` (a path, say) printable on one line of any terminal: newlines escaped, and
    bytes of a name that is not UTF-8 (surrogates) as ``\\udcXX``, as stderr shows them."""
    line = str(text).replace("\n", "\\n").replace("\r", "\\r")
    return line.encode("utf-8", "backslashreplace").decode("utf-8")


def report_error(error: BaseException, source: object = None) -> None:
    """Print ``error: FILE: problem`` on one line (a traceback too under --debug); an error
    that is not a MidivaeError is named by its type, after ``source`` when given."""
    if options().debug:
        import traceback

        traceback.print_exception(error)
    if isinstance(error, MidivaeError):
        line = str(error)
    else:
        problem = f"{type(error).__name__}: {error}".rstrip(": ")
        line = problem if source is None else f"{source}: {problem}"
    click.echo("error: " + shown(line), err=True)
