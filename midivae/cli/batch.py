"""Files and folders in, one output per input: naming, errors, progress and the summary.

The contract (docs/design.md, command line): one input file -> ``-o`` is the output file (default:
beside the input); several inputs or a folder -> ``-o`` is a folder whose outputs keep the input
stems and mirror the subfolders they were found in; two inputs never write one output (refused
before anything runs), and inputs whose outputs exist are skipped unless ``--overwrite``. A bad
input is one line ``error: FILE: problem`` and the batch goes on; the run ends with ``N ok, M
failed`` (not after a single file) and exit 1 when anything failed, 130 on Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from midivae.cli.common import options, progress, report_error, shown
from midivae.errors import MidivaeError

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def jobs_option(what: str) -> Callable:
    """The ``--jobs`` option: how many inputs are worked on at once (default: 2 on a machine
    with two cores or more, else 1)."""
    import os

    return click.option(
        "--jobs",
        type=click.IntRange(1, 64),
        default=lambda: min(2, os.cpu_count() or 1),
        help=f"{what} worked on at once, in threads "
        "[default: 2 where the machine has 2 cores or more, else 1].",
    )


def collect_inputs(paths: Sequence[Path], suffixes: Sequence[str]) -> list[tuple[Path, Path]]:
    """Input files with the path their output mirrors: files as given (their name), folders
    walked (sorted) for ``suffixes`` (the path inside the folder; with several inputs, the
    folder's own name first, so that two folders' takes stay apart)."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            top = Path(path.resolve().name) if len(paths) > 1 else Path()
            found.extend(
                (p, top / p.relative_to(path))
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in suffixes
            )
        else:
            found.append((path, Path(path.name)))  # a missing file is reported by the job
    return found


def plan_outputs(
    paths: Sequence[Path], inputs: Sequence[tuple[Path, Path]], output: Path | None, suffix: str
) -> list[Path]:
    """Where each input's result goes: the one file ``-o`` names; else in the ``-o`` folder
    at the path the input mirrors, or beside the input; the stem kept, ``suffix`` added.
    Two inputs that would write one output are refused before anything runs."""
    single = len(paths) == 1 and not paths[0].is_dir()
    if single and output is not None:
        return [output]
    if output is not None and output.exists() and not output.is_dir():
        raise click.UsageError(f"{output}: several inputs need -o to be a folder")
    targets = []
    for path, mirrored in inputs:
        folder = output / mirrored.parent if output is not None else path.parent
        targets.append(folder / (path.stem + suffix))
    seen: dict[Path, Path] = {}
    for (path, _), target in zip(inputs, targets, strict=True):
        key = target.resolve()
        if key in seen:
            raise click.UsageError(f"{seen[key]} and {path} would both write {target}")
        seen[key] = path
    return targets


def run_batch(
    paths: Sequence[Path],
    output: Path | None,
    *,
    suffixes: Sequence[str],
    default_suffix: str,
    job: Callable[[Path, Path], str | None],
    jobs: int = 1,
    overwrite: bool = False,
) -> None:
    """Run ``job(input, output)`` over every input; exit with the batch's status.

    ``job`` returns an optional short result to print after the file name. In a batch
    (several inputs or a folder), an input whose output exists is skipped before any work
    unless ``overwrite``: a re-run finishes what an interrupted one left. With ``jobs`` > 1,
    that many inputs are worked on at once in threads (``job`` must be thread-safe); results
    are still reported in input order, and on Ctrl-C the files under way are finished (their
    outputs written whole, no temp file left) before the run stops.
    """
    found = collect_inputs(paths, suffixes)
    if not found:
        raise click.UsageError("no input files found")
    targets = plan_outputs(paths, found, output, default_suffix)
    batch = len(found) > 1 or any(path.is_dir() for path in paths)
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    pairs = [(source, target) for (source, _), target in zip(found, targets, strict=True)]
    sources = {target: source for source, target in pairs}

    def report(target: Path, outcome: Callable[[], str | None]) -> None:
        try:
            result = outcome()
        except MidivaeError as error:
            report_error(error)
            counts["failed"] += 1
            return
        except Exception as error:  # one input's failure, whatever it is, ends only that input
            report_error(error, sources[target])
            counts["failed"] += 1
            return
        counts["ok"] += 1
        if not options().quiet:
            click.echo(shown(target) + (f"  ({result})" if result else ""))

    if batch and not overwrite:
        todo = [(source, target) for source, target in pairs if not target.exists()]
        counts["skipped"] = len(pairs) - len(todo)
        pairs = todo
    clock = BatchClock(pairs)
    try:
        if jobs > 1 and len(pairs) > 1:
            _run_parallel(pairs, job, jobs, report, clock)
        else:
            for number, (source, target) in enumerate(pairs, start=1):
                progress(clock.line(number, source, number - 1))
                report(target, lambda s=source, t=target: job(s, t))
    except KeyboardInterrupt:
        click.echo(f"interrupted: {summary(counts)}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if batch:
        click.echo(summary(counts), err=True)
    if counts["failed"]:
        sys.exit(EXIT_FAILED)


class BatchClock:
    """Progress lines with an estimate of the time left: the inputs' sizes stand for their
    work (audio of one format: its length), and the seconds spent so far on the bytes done
    predict the rest."""

    def __init__(self, pairs: list[tuple[Path, Path]]) -> None:
        import time

        self._now = time.monotonic
        self._start = self._now()
        self._sizes = [_size(source) for source, _ in pairs]
        self._total = len(pairs)

    def line(self, number: int, source: Path, finished: int) -> str:
        """``[number/total] source`` and, once ``finished`` inputs are done, ``~Ns left``."""
        done = sum(self._sizes[:finished])
        left = sum(self._sizes[finished:])
        text = f"[{number}/{self._total}] {shown(source)}"
        if finished and done > 0:
            seconds = (self._now() - self._start) * left / done
            text += f"  (~{_duration(seconds)} left)"
        return text


def _size(path: Path) -> int:
    try:
        return max(path.stat().st_size, 1)
    except OSError:
        return 1


def _duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``1h02m``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def summary(counts: dict[str, int]) -> str:
    """``N ok, M failed``, with the inputs skipped because their outputs exist."""
    skipped = counts["skipped"]
    kept = f", {skipped} skipped (outputs exist; --overwrite replaces them)" if skipped else ""
    return f"{counts['ok']} ok{kept}, {counts['failed']} failed"


def _run_parallel(
    pairs: list[tuple[Path, Path]],
    job: Callable[[Path, Path], str | None],
    jobs: int,
    report: Callable[[Path, Callable[[], str | None]], None],
    clock: BatchClock,
) -> None:
    """``jobs`` inputs at a time (at most that many started ahead: memory stays bounded);
    progress and results are printed from this thread, in input order.

    A first Ctrl-C only marks the run as interrupted (a second one interrupts at once): no
    input is started after it, the ones under way finish whole and are reported, then
    KeyboardInterrupt is raised. So every output left behind is reported exactly once, and
    never counted while its line is being printed.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    interrupted = threading.Event()
    restore = _defer_interrupts(interrupted)
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="midivae-job")
    pending: deque[tuple[Path, Future]] = deque()
    try:
        for number, (source, target) in enumerate(pairs, start=1):
            if interrupted.is_set():
                break
            progress(clock.line(number, source, max(0, number - 1 - len(pending))))
            pending.append((target, executor.submit(job, source, target)))
            if len(pending) >= jobs:
                report(*_first_done(pending))
        executor.shutdown(wait=True, cancel_futures=interrupted.is_set())
        while pending:
            if pending[0][1].cancelled():
                pending.popleft()
                continue
            report(*_first_done(pending))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        restore()
    if interrupted.is_set():
        raise KeyboardInterrupt


def _first_done(pending: deque) -> tuple[Path, Callable[[], str | None]]:
    """The first pending input's target and result, once its job is done."""
    from concurrent.futures import wait

    target, future = pending.popleft()
    wait([future])
    return target, future.result


def _defer_interrupts(interrupted: threading.Event) -> Callable[[], None]:
    """Make the first SIGINT set ``interrupted`` instead of raising; returns the undo.
    Outside the main thread (where signal handlers cannot be set) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: object) -> None:
        interrupted.set()
        signal.signal(signal.SIGINT, previous)  # a second Ctrl-C interrupts at once

    signal.signal(signal.SIGINT, on_interrupt)
    return lambda: signal.signal(signal.SIGINT, previous)
