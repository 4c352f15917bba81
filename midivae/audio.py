"""Load, resample and save audio files (soundfile), and write any output atomically."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from midivae.errors import MidivaeError

__all__ = [
    "AUDIO_SUFFIXES",
    "AudioStream",
    "atomic_output",
    "audio_info",
    "load_audio",
    "save_audio",
]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")
"""Suffixes of the audio files that folders are searched for (lower case)."""

_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
_VAGUE = ("LibsndfileError", "System error", "Unspecified internal error")
_TRUNCATED = re.compile(r"^data\s*:.*should be", re.MULTILINE)

logger = logging.getLogger("midivae")


def _reason(exc: BaseException) -> str:
    """One line saying why an OS or libsndfile call failed, without the file name."""
    text = getattr(exc, "strerror", None) or getattr(exc, "error_string", None) or str(exc)
    return " ".join(str(text).split()).rstrip(".") or type(exc).__name__


def _check_file(path: Path) -> None:
    """Raise `MidivaeError` unless `path` is an existing, readable, non-empty regular file
    (a FIFO, device or socket would block or never end; it is refused before it is opened)."""
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise MidivaeError("is a directory, not an audio file", path)
        if not stat.S_ISREG(st.st_mode):
            raise MidivaeError("not a regular file (a FIFO, device or socket)", path)
        path.open("rb").close()
    except (FileNotFoundError, NotADirectoryError):
        raise MidivaeError("no such file", path) from None
    except OSError as exc:
        raise MidivaeError(f"cannot read: {_reason(exc)}", path) from None
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        raise MidivaeError("empty file (0 bytes)", path)


#: What an audio file's header may claim before anything is allocated for it.
RATE_RANGE_HZ = (4000, 384000)
MAX_CHANNELS = 64
MAX_SECONDS = 4 * 3600.0


def _check_header(path: Path, rate: int, channels: int, frames: int) -> None:
    """Refuse headers whose rate, channels or length no recording has (a tiny file that
    claims a 1 Hz rate would make the resampler allocate gigabytes)."""
    low, high = RATE_RANGE_HZ
    if not low <= rate <= high:
        raise MidivaeError(f"sample rate {rate} Hz is outside {low}-{high} Hz", path)
    if not 1 <= channels <= MAX_CHANNELS:
        raise MidivaeError(f"{channels} channels (at most {MAX_CHANNELS})", path)
    if frames / rate > MAX_SECONDS:
        raise MidivaeError(
            f"{frames / rate / 3600:.1f} hours long (at most {MAX_SECONDS / 3600:.0f}); split it",
            path,
        )


@contextlib.contextmanager
def _sf_errors(path: Path) -> Iterator[None]:
    """Turn soundfile / libsndfile failures into a one-line `MidivaeError` naming `path`."""
    try:
        yield
    except (sf.SoundFileError, RuntimeError, ValueError, OSError) as exc:
        reason = _reason(exc) if isinstance(exc, sf.LibsndfileError) else ""
        if reason.lower().startswith("format not recognised"):
            msg = "not an audio file (format not recognised)"
        elif not reason or reason in _VAGUE or "regular file" in reason:
            # the file exists and is readable (checked), so libsndfile means it cannot decode it
            msg = "not a readable audio file (damaged or unsupported)"
        else:
            msg = f"cannot read audio ({reason})"
        raise MidivaeError(msg, path) from None


def audio_info(path: str | Path) -> tuple[int, int, float]:
    """``(sample_rate_hz, channels, seconds)`` of an audio file, without decoding it.

    Raises
    ------
    MidivaeError
        The file is missing, empty, not audio, damaged or holds no samples.
    """
    path = Path(path)
    _check_file(path)
    with _sf_errors(path):
        info = sf.info(os.fsencode(path))  # bytes: any name the file system allows
    if info.frames <= 0 or info.samplerate <= 0:
        raise MidivaeError("no audio samples", path)
    return int(info.samplerate), int(info.channels), info.frames / info.samplerate


def load_audio(path: str | Path, *, sample_rate: int = 22050) -> np.ndarray:
    """Read an audio file as mono float32 at `sample_rate`.

    Channels are averaged and other rates resampled with a polyphase filter
    (`scipy.signal.resample_poly`); both are reported as INFO notices on the
    ``midivae`` logger.

    Parameters
    ----------
    path : str or Path
        WAV, FLAC, OGG, AIFF or MP3 (anything the installed libsndfile reads).
    sample_rate : int
        Output rate in Hz.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32
        Samples on soundfile's [-1, 1] scale (not normalised).

    Raises
    ------
    MidivaeError
        The file is missing, empty, not audio, damaged, holds no samples or
        holds NaN / infinite samples.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    path = Path(path)
    _check_file(path)
    with _sf_errors(path):
        f = sf.SoundFile(os.fsencode(path))
    with f:
        _check_header(path, f.samplerate, f.channels, f.frames)
        return _decode_whole(f, path, sample_rate)


def _decode_whole(f: sf.SoundFile, path: Path, sample_rate: int) -> np.ndarray:
    """The whole of open file ``f`` (its header checked) as :func:`load_audio` returns it."""
    rate, channels, log = f.samplerate, f.channels, f.extra_info
    with _sf_errors(path):
        data = f.read(dtype="float32", always_2d=True)
    if data.shape[0] == 0 or rate <= 0:
        raise MidivaeError("no audio samples", path)
    if _TRUNCATED.search(log):
        logger.info("%s: the file is shorter than its header says (truncated?)", path)
    if not np.isfinite(data).all():
        raise MidivaeError("audio contains NaN or infinite samples", path)
    if channels > 1:
        logger.info("%s: mixed %d channels to mono", path, channels)
        audio = data.mean(axis=1, dtype=np.float32)
    else:
        audio = data[:, 0]
    if rate != sample_rate:
        logger.info("%s: resampled from %d Hz to %d Hz", path, rate, sample_rate)
        g = math.gcd(rate, sample_rate)
        from scipy.signal import resample_poly  # ~0.6 s to import; only resampling needs it

        audio = resample_poly(audio, sample_rate // g, rate // g)
    return np.ascontiguousarray(audio, dtype=np.float32)


#: Takes up to this long are decoded whole (as :func:`load_audio`) and held; longer files are
#: decoded piece by piece whenever a piece is asked for, so memory does not grow with length.
HOLD_SECONDS = 300.0
#: Samples read at a time by :meth:`AudioStream.pieces`.
PIECE_SECONDS = 30.0


class AudioStream:
    """A recording read piece by piece as mono float32 at ``sample_rate``.

    ``source`` is mono audio at that rate (held as given) or an audio file: one up to
    ``HOLD_SECONDS`` long is decoded whole as :func:`load_audio` decodes it; a longer one is
    decoded where :meth:`read` asks, channels averaged and resampled with the same polyphase
    filter over the piece and enough samples either side that the result is the whole-file
    one. ``offset`` is taken off and ``gain`` applied to every sample read (a DC offset and a
    level correction); outside the take, samples are zero. Use it as a context manager (the
    file is open while it is used).
    """

    def __init__(self, source: str | Path | np.ndarray, *, sample_rate: int = 22050) -> None:
        self.sample_rate, self.offset, self.gain = sample_rate, 0.0, 1.0
        self.path: Path | None = None
        self._held: np.ndarray | None = None
        self._file: sf.SoundFile | None = None
        if isinstance(source, np.ndarray):
            self._held = np.asarray(source, dtype=np.float32)
            self.n_samples = len(self._held)
            return
        self.path = path = Path(source)
        _check_file(path)
        with _sf_errors(path):
            self._file = sf.SoundFile(os.fsencode(path))
        rate, channels, frames = self._file.samplerate, self._file.channels, self._file.frames
        _check_header(path, rate, channels, frames)
        if frames / rate <= HOLD_SECONDS:
            with self._file:
                self._held = _decode_whole(self._file, path, sample_rate)
            self._file = None
            self.n_samples = len(self._held)
            return
        if frames <= 0:
            raise MidivaeError("no audio samples", path)
        self._rate, self._channels = rate, channels
        g = math.gcd(rate, sample_rate)
        self._up, self._down = sample_rate // g, rate // g
        self._set_input_length(int(self._file.frames))
        if _TRUNCATED.search(self._file.extra_info):
            logger.info("%s: the file is shorter than its header says (truncated?)", path)
        if self._channels > 1:
            logger.info("%s: mixed %d channels to mono", path, self._channels)
        if rate != sample_rate:
            logger.info("%s: resampled from %d Hz to %d Hz", path, rate, sample_rate)

    def _set_input_length(self, frames: int) -> None:
        self._input_frames = frames
        self.n_samples = -(-frames * self._up // self._down)  # as resample_poly's output

    def __len__(self) -> int:
        return self.n_samples

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def seconds(self) -> float:
        return self.n_samples / self.sample_rate

    def mean(self) -> float:
        """The mean of the samples as decoded (a DC offset: a step at both ends of the take,
        which the long low windows spread over its first and last seconds)."""
        if self._held is not None:
            return float(np.mean(self._held, dtype=np.float64))
        total = sum(float(np.sum(piece, dtype=np.float64)) for piece in self.pieces(raw=True))
        return total / max(self.n_samples, 1)

    def raw(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start`` to ``stop`` as decoded (no offset or gain), zero outside."""
        out = np.zeros(max(stop - start, 0), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.n_samples)
        if hi > lo:
            out[lo - start : hi - start] = self._decoded(lo, hi)
        return out

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start`` to ``stop`` less ``offset``, times ``gain``; zero outside."""
        out = self.raw(start, stop)
        lo, hi = max(start, 0) - start, min(stop, self.n_samples) - start
        if hi > lo:
            inside = out[lo:hi]
            if self.offset:
                inside -= np.float32(self.offset)
            if self.gain != 1.0:
                inside *= np.float32(self.gain)
        return out

    def pieces(self, *, raw: bool = False) -> Iterator[np.ndarray]:
        """The take in ``PIECE_SECONDS`` pieces, in order (``raw``: as decoded)."""
        step = int(PIECE_SECONDS * self.sample_rate)
        fetch = self.raw if raw else self.read
        for start in range(0, self.n_samples, step):
            yield fetch(start, min(start + step, self.n_samples))

    def _decoded(self, lo: int, hi: int) -> np.ndarray:
        """Output samples ``lo`` to ``hi`` (inside the take), decoded and resampled."""
        if self._held is not None:
            return self._held[lo:hi]
        up, down = self._up, self._down
        if up == down:
            return self._input(lo, hi)
        from scipy.signal import resample_poly

        # the filter reaches 10 * max(up, down) samples of the upsampled signal either side
        margin = 10 * max(up, down) // down + 8
        first = max(lo - margin, 0) // up * up  # an output sample on an input sample
        begin = first * down // up
        end = min(-(-(hi + margin) * down // up) + 1, self._input_frames)
        piece = resample_poly(self._input(begin, end), up, down)
        return np.asarray(piece[lo - first : hi - first], dtype=np.float32)

    def _input(self, begin: int, end: int) -> np.ndarray:
        """Mono input samples ``begin`` to ``end`` of the file (a short read ends the take)."""
        assert self._file is not None and self.path is not None
        with _sf_errors(self.path):
            self._file.seek(begin)
            data = self._file.read(end - begin, dtype="float32", always_2d=True)
        if len(data) < end - begin and begin + len(data) < self._input_frames:
            logger.info("%s: the file is shorter than its header says (truncated?)", self.path)
            self._set_input_length(begin + len(data))
        if not np.isfinite(data).all():
            raise MidivaeError("audio contains NaN or infinite samples", self.path)
        mono = data.mean(axis=1, dtype=np.float32) if self._channels > 1 else data[:, 0]
        out = np.zeros(end - begin, dtype=np.float32)
        out[: len(mono)] = mono
        return out


#: Longest file name (bytes) the usual file systems allow.
NAME_MAX = 255


def _claim_temp(path: Path) -> Path:
    """Create and return an empty hidden temp file beside `path`, with the same suffix."""
    for _ in range(100):
        token = secrets.token_hex(4)
        tmp = path.with_name(f".{path.stem}.{token}.tmp{path.suffix}")
        if len(os.fsencode(tmp.name)) > NAME_MAX:  # a long name has no room for the marks
            tmp = path.with_name(f".{token}.tmp{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")  # pragma: no cover


def check_target(path: Path, *, overwrite: bool = False) -> None:
    """A MidivaeError unless ``path`` may be written: not a folder or special file, and not
    an existing file unless ``overwrite`` (checked before long work, and again on writing)."""
    if path.is_dir():
        raise MidivaeError("is a directory", path)
    if path.exists() and not path.is_file():  # a device or FIFO is never replaced
        raise MidivaeError("exists and is not a regular file; not replacing it", path)
    if path.exists() and not overwrite:
        raise MidivaeError("exists, use --overwrite", path)
    blocker = _file_in_the_way(path.parent)
    if blocker is not None:
        raise MidivaeError(f"cannot write here: {blocker} is a file, not a folder", path)


@contextlib.contextmanager
def atomic_output(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Write `path` all at once: yield a temp path beside it, rename it onto `path` at the end.

    The temp file (``.STEM.<random>.tmp.SUFFIX``, same folder, same suffix so writers that
    pick a format by suffix still work) is removed on any exception, KeyboardInterrupt
    included, and the exception re-raised; `path` is then untouched.

    Parameters
    ----------
    path : str or Path
        The output file; missing parent folders are created.
    overwrite : bool
        Replace `path` if it exists; otherwise that is an error.

    Yields
    ------
    Path
        The (existing, empty) temp file to write to.

    Raises
    ------
    MidivaeError
        `path` exists and `overwrite` is False, is a directory, or cannot be written.
    """
    path = Path(path)
    check_target(path, overwrite=overwrite)
    try:
        blocker = _file_in_the_way(path.parent)
        if blocker is not None:
            raise MidivaeError(f"cannot write here: {blocker} is a file, not a folder", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _claim_temp(path)
    except OSError as exc:
        raise MidivaeError(f"cannot write here: {_reason(exc)}", path) from None
    try:
        yield tmp
        try:
            (os.replace if overwrite else _link_new)(tmp, path)
        except OSError as exc:
            raise MidivaeError(f"cannot write: {_reason(exc)}", path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_outputs(paths: list[Path], *, overwrite: bool = False) -> Iterator[list[Path]]:
    """Several outputs of one job, written together or not at all: a temp path for each
    (write it with ``overwrite=True``), all renamed onto ``paths`` when the block ends; on
    any failure inside it every temp is removed and no output appears. Every path is
    checked (:func:`atomic_output`) before the block runs."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_output(p, overwrite=overwrite)) for p in paths]


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing one of `folder` and its parents, if it is not a directory."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _link_new(tmp: Path, path: Path) -> None:
    """Move `tmp` onto `path` unless `path` appeared meanwhile (atomic where links work)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise MidivaeError("exists, use --overwrite", path) from None
    except OSError:  # file system without hard links: check, then rename
        if path.exists():
            raise MidivaeError("exists, use --overwrite", path) from None
        os.replace(tmp, path)
    else:
        tmp.unlink()


def save_audio(
    path: str | Path, audio: np.ndarray, *, sample_rate: int = 22050, overwrite: bool = False
) -> Path:
    """Write float audio as 24-bit ``.wav`` or ``.flac`` (by suffix), atomically.

    Parameters
    ----------
    path : str or Path
        Output file, ``.wav`` or ``.flac``.
    audio : np.ndarray, shape (n_samples,) or (n_samples, n_channels)
        Float samples on a [-1, 1] scale; values outside are clipped (with a warning on
        the ``midivae`` logger), never normalised.
    sample_rate : int
        Hz.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path
        `path`, as a Path.

    Raises
    ------
    MidivaeError
        Unsupported suffix, existing output without `overwrite`, or the write failed.
    ValueError
        `audio` is not 1-D / 2-D or holds NaN / infinite values.
    """
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MidivaeError(
            f"cannot write {path.suffix or 'no suffix'} audio, use .wav or .flac", path
        )
    data = np.asarray(audio, dtype=np.float32)
    if data.ndim not in (1, 2) or (data.ndim == 2 and not 0 < data.shape[1] <= 64):
        raise ValueError(f"audio must be (n,) or (n, channels), got shape {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError("audio holds NaN or infinite values")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    n_clipped = int(np.count_nonzero(np.abs(data) > 1.0))
    if n_clipped:
        logger.warning("%s: clipped %d samples outside [-1, 1]", path, n_clipped)
        data = np.clip(data, -1.0, 1.0)
    with atomic_output(path, overwrite=overwrite) as tmp:
        try:
            sf.write(os.fsencode(tmp), data, sample_rate, subtype="PCM_24", format=fmt)
        except (sf.SoundFileError, OSError) as exc:
            raise MidivaeError(f"cannot write audio: {_reason(exc)}", path) from None
    return path
