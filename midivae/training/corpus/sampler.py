"""A small sample player: render notes with SFZ instruments or folders of note-named files.

Supports the SFZ subset real libraries use for plain notes: the header hierarchy, ``#define``,
``#include``, key/velocity mapping, tuning, gain, velocity tracking, offsets, loops, the AHDSR
amplitude envelope, round robins and the default values of MIDI CCs (``set_cc``/``set_hdcc``,
``locc``/``hicc``, ``*_onccN`` for gain and envelope, ``xfin``/``xfout`` CC crossfades).
Filters, LFOs, effects, pan, curves and release triggers are ignored.
"""

from __future__ import annotations

import math
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from midivae.errors import MidivaeError
from midivae.training.corpus.content import Note

__all__ = ["Region", "SampleSet", "note_number"]

#: Shortest release (seconds) applied at note-off, so that notes never click off.
MIN_RELEASE = 0.05
#: Largest denominator of the rational resampling factor (pitch error below 0.1 cent).
MAX_DENOMINATOR = 256
#: Bytes of pitch-shifted samples kept per SampleSet.
CACHE_BYTES = 512 * 1024 * 1024

_PITCH_CLASSES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTALS = {"": 0, "#": 1, "s": 1, "b": -1}
_NOTE_NAME = re.compile(r"^([a-g])(#|b)?(-?\d+)$", re.IGNORECASE)
_FILE_NOTE = re.compile(r"^([A-Ga-g])(#|s|b)?(-?\d+)(?:v(\d+))?$")
_AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_DIRECTIVE = re.compile(r'#define\s+(\$\w+)\s+(\S+)|#include\s+"([^"]*)"')
_VARIABLE = re.compile(r"\$\w+")
_TOKEN = re.compile(r"<(\w+)>|([\w$]+)=")
_LEVELS = {"control": 0, "global": 1, "master": 2, "group": 3}
_MODULATED = (
    "amp_veltrack",
    "ampeg_attack",
    "ampeg_decay",
    "ampeg_hold",
    "ampeg_release",
    "ampeg_sustain",
    "amplitude",
    "offset",
    "volume",
    "tune",
)
_MODULATION = re.compile(rf"^({'|'.join(_MODULATED)})(?:_oncc|_cc|cc)(\d+)$")
_CONDITION = re.compile(r"^(lo|hi)cc(\d+)$")
_CROSSFADE = re.compile(r"^xf(in|out)_(lo|hi)cc(\d+)$")
_VELOCITY_CC, _KEY_CC = 131, 133


def note_number(value: str) -> int:
    """A MIDI key from an SFZ value: a number or a note name (``c4`` = 60, ``c#4``, ``db4``)."""
    text = value.strip()
    match = _NOTE_NAME.match(text)
    if match:
        letter, accidental, octave = match.groups()
        accidental = (accidental or "").lower()
        return 12 * (int(octave) + 1) + _PITCH_CLASSES[letter.lower()] + _ACCIDENTALS[accidental]
    return int(float(text))


@dataclass(frozen=True)
class Region:
    """One SFZ region with its inherited opcodes resolved (frames at the file's rate)."""

    sample: Path
    lokey: int = 0
    hikey: int = 127
    lovel: int = 1
    hivel: int = 127
    pitch_keycenter: int = 60
    tune: float = 0.0
    transpose: int = 0
    pitch_keytrack: float = 100.0
    volume: float = 0.0
    amplitude: float = 100.0
    amp_veltrack: float = 100.0
    offset: int = 0
    offset_random: int = 0
    end: int | None = None
    loop_mode: str = "no_loop"
    loop_start: int = 0
    loop_end: int = 0
    ampeg_attack: float = 0.0
    ampeg_hold: float = 0.0
    ampeg_decay: float = 0.0
    ampeg_sustain: float = 100.0
    ampeg_release: float = 0.001
    trigger: str = "attack"
    seq_length: int = 1
    seq_position: int = 1
    lorand: float = 0.0
    hirand: float = 1.0
    #: ``(cc, lo, hi)``: the region plays only while the CC lies in ``[lo, hi]``.
    conditions: tuple[tuple[int, float, float], ...] = ()
    #: ``(opcode, cc, amount)``: ``*_onccN`` modulations, scaled by the CC value / 127.
    modulations: tuple[tuple[str, int, float], ...] = ()
    #: ``(cc, lo, hi, fade_in)``: ``xfin_*ccN`` / ``xfout_*ccN`` crossfades.
    crossfades: tuple[tuple[int, float, float, bool], ...] = ()

    @property
    def is_attack(self) -> bool:
        """Whether the region plays at note-on."""
        return self.trigger in ("attack", "first")

    def active(self, cc: dict[int, float]) -> bool:
        """Whether the CC conditions allow the region to play."""
        return all(lo <= cc.get(number, 0.0) <= hi for number, lo, hi in self.conditions)

    def maps(self, pitch: int, velocity: int) -> bool:
        """Whether ``pitch`` and ``velocity`` fall in the region's key and velocity ranges."""
        return self.lokey <= pitch <= self.hikey and self.lovel <= velocity <= self.hivel

    def resolved(self, cc: dict[int, float]) -> Region:
        """The region with its CC modulations applied for the given CC values."""
        if not self.modulations:
            return self
        values = {name: float(getattr(self, name)) for name in _MODULATED}
        factor = 1.0
        for name, number, amount in self.modulations:
            value = cc.get(number, 0.0) / 127.0
            if name == "amplitude":
                factor *= amount / 100.0 * value
            else:
                values[name] += amount * value
        values["amplitude"] *= factor
        values["offset"] = max(round(values["offset"]), 0)
        return replace(self, modulations=(), **values)

    def gain(self, velocity: int, cc: dict[int, float]) -> float:
        """Linear gain from volume, amplitude, velocity tracking and CC crossfades."""
        db = self.volume + 40.0 * math.log10(max(velocity, 1) / 127.0) * self.amp_veltrack / 100
        gain = 10.0 ** (db / 20.0) * max(self.amplitude, 0.0) / 100.0
        for number, lo, hi, fade_in in self.crossfades:
            value = cc.get(number, 0.0)
            if fade_in:
                x = 1.0 if value >= hi else 0.0 if value <= lo else (value - lo) / (hi - lo)
            else:
                x = 1.0 if value <= lo else 0.0 if value >= hi else (hi - value) / (hi - lo)
            gain *= math.sqrt(x)
        return gain


class SampleSet:
    """A sampled instrument: regions mapping notes to sample files, and a renderer."""

    def __init__(
        self,
        name: str,
        path: Path,
        regions: Sequence[Region],
        cc_defaults: dict[int, float] | None = None,
    ) -> None:
        if not regions:
            raise MidivaeError("no playable regions in the sample library", path)
        self.name = name
        self.path = Path(path)
        self.regions: tuple[Region, ...] = tuple(regions)
        self.cc_defaults: dict[int, float] = dict(cc_defaults or {})
        #: Notes of the last ``render`` that no region covered.
        self.skipped = 0
        self._cache: OrderedDict[tuple[Path, int, int], tuple[np.ndarray, int, bool]] = (
            OrderedDict()
        )
        self._cache_bytes = 0
        self._info: dict[Path, tuple[int, int]] = {}

    def __repr__(self) -> str:
        return f"SampleSet({self.name!r}, {len(self.regions)} regions)"

    # ---------------------------------------------------------------- loading
    @classmethod
    def open(cls, path: str | Path) -> SampleSet:
        """An ``.sfz`` file, a folder's first ``.sfz``, or a folder of note-named files."""
        path = Path(path)
        if path.is_file() and path.suffix.lower() == ".sfz":
            return cls.from_sfz(path)
        if path.is_dir():
            sfz = sorted(p for p in path.iterdir() if p.suffix.lower() == ".sfz" and p.is_file())
            return cls.from_sfz(sfz[0]) if sfz else cls.from_named_files(path)
        raise MidivaeError("not an .sfz file or a folder of samples", path)

    @classmethod
    def from_sfz(cls, path: str | Path) -> SampleSet:
        """Parse an SFZ file (with its ``#include`` files) into regions."""
        path = Path(path)
        if not path.is_file():
            raise MidivaeError("SFZ file not found", path)
        text = _preprocess(path, path.parent, {}, 0)
        control: dict[str, str] = {}
        cc_defaults: dict[int, float] = {}
        levels: list[dict[str, str]] = [{}, {}, {}, {}]
        current: dict[str, str] | None = None
        region: dict[str, str] | None = None
        raw: list[tuple[dict[str, str], str]] = []
        for line in text.splitlines():
            tokens = list(_TOKEN.finditer(line))
            for i, token in enumerate(tokens):
                header = token.group(1)
                if header is not None:
                    if region is not None:
                        merged = {**levels[1], **levels[2], **levels[3], **region}
                        raw.append((merged, control.get("default_path", "")))
                    region = current = None
                    header = header.lower()
                    if header == "region":
                        region = current = {}
                    elif header in _LEVELS:
                        level = _LEVELS[header]
                        for j in range(level, 4):
                            levels[j] = {}
                        current = control if level == 0 else levels[level]
                    continue
                stop = tokens[i + 1].start() if i + 1 < len(tokens) else len(line)
                value = line[token.end() : stop].strip()
                if current is None or not value:
                    continue
                opcode = token.group(2).lower()
                current[opcode] = value
                if current is control:
                    _control_cc(opcode, value, cc_defaults)
        if region is not None:
            merged = {**levels[1], **levels[2], **levels[3], **region}
            raw.append((merged, control.get("default_path", "")))
        regions = []
        for opcodes, default_path in raw:
            region = _make_region(opcodes, path.parent, default_path, path)
            if region is not None:
                regions.append(region)
        return cls(path.stem, path, regions, cc_defaults)

    @classmethod
    def from_named_files(cls, folder: str | Path) -> SampleSet:
        """Files named by note (``C4.wav``, ``Fs4.ogg``, ``Bb0v3.flac``), searched recursively.

        Each file plays at its named note; keys between sampled notes use the nearest one;
        a note's ``v<N>`` velocity layers split 1-127 evenly in the order of N.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise MidivaeError("sample folder not found", folder)
        found: dict[int, dict[int, Path]] = {}
        candidates = sorted(
            (p for p in folder.rglob("*") if p.suffix.lower() in _AUDIO_EXTENSIONS),
            key=lambda p: (_AUDIO_EXTENSIONS.index(p.suffix.lower()), str(p)),
        )
        for file in candidates:
            match = _FILE_NOTE.match(file.stem)
            if match is None or not file.is_file():
                continue
            letter, accidental, octave, layer = match.groups()
            key = 12 * (int(octave) + 1) + _PITCH_CLASSES[letter.lower()]
            key += _ACCIDENTALS[accidental or ""]
            if not 0 <= key <= 127:
                continue
            layers = found.setdefault(key, {})
            number = int(layer) if layer else 0
            if number in layers:
                continue
            if file.suffix.lower() == ".mp3" and not _readable(file):
                continue
            layers[number] = file
        keys = sorted(found)
        regions = []
        for i, key in enumerate(keys):
            lokey = key if i == 0 else (keys[i - 1] + key) // 2 + 1
            hikey = key if i == len(keys) - 1 else (key + keys[i + 1]) // 2
            layers = sorted(found[key].items())
            for j, (_, file) in enumerate(layers):
                lovel = 127 * j // len(layers) + 1
                hivel = 127 * (j + 1) // len(layers)
                regions.append(
                    Region(
                        sample=file,
                        lokey=lokey,
                        hikey=hikey,
                        lovel=lovel,
                        hivel=hivel,
                        pitch_keycenter=key,
                    )
                )
        if not regions:
            raise MidivaeError("no note-named audio files (like C4.wav, Fs4v2.ogg)", folder)
        return cls(folder.name, folder, regions)

    # -------------------------------------------------------------- mapping
    def _note_cc(self, pitch: int, velocity: int) -> dict[int, float]:
        cc = dict(self.cc_defaults)
        cc[_VELOCITY_CC] = float(velocity)
        cc[_KEY_CC] = float(pitch)
        return cc

    def _candidates(self, pitch: int, velocity: int) -> list[tuple[Region, float]]:
        """Attack regions mapping the note, resolved for its CCs, with their gains."""
        cc = self._note_cc(pitch, velocity)
        chosen = []
        for region in self.regions:
            if region.is_attack and region.maps(pitch, velocity) and region.active(cc):
                region = region.resolved(cc)
                gain = region.gain(velocity, cc)
                if gain > 0.0:
                    chosen.append((region, gain))
        return chosen

    def covers(self, pitch: int, velocity: int) -> bool:
        """Whether some attack region plays this note (round robins aside)."""
        return bool(self._candidates(pitch, velocity))

    @property
    def key_range(self) -> tuple[int, int]:
        """Lowest and highest MIDI key that an attack region covers (default CC values)."""
        low, high = 128, -1
        for region in self.regions:
            lokey, hikey = max(region.lokey, 0), min(region.hikey, 127)
            if not region.is_attack or lokey > hikey or region.lovel > region.hivel:
                continue
            cc = self._note_cc(lokey, region.hivel)
            if region.active(cc) and region.resolved(cc).gain(region.hivel, cc) > 0.0:
                low, high = min(low, lokey), max(high, hikey)
        if high < 0:
            raise MidivaeError("no region plays under the default controller values", self.path)
        return low, high

    # ------------------------------------------------------------ rendering
    def render(
        self, notes: Sequence[Note], *, seconds: float, sample_rate: int = 22050, seed: int = 0
    ) -> np.ndarray:
        """Mono float32, exactly round(seconds * sample_rate) samples; deterministic from seed.

        Notes that no region covers are skipped and counted in ``self.skipped``.
        """
        out = np.zeros(max(round(seconds * sample_rate), 0), dtype=np.float32)
        skipped = 0
        for index, note in enumerate(notes):
            candidates = self._candidates(int(note.pitch), int(note.velocity))
            if not candidates:
                skipped += 1
                continue
            rng = np.random.default_rng([abs(int(seed)), index])
            counter = int(rng.integers(1 << 30))
            chance = float(rng.random())
            for region, gain in candidates:
                if (counter % max(region.seq_length, 1)) + 1 != region.seq_position:
                    continue
                if (
                    not region.lorand
                    <= chance
                    < max(region.hirand, 1.0 + 1e-9 * (region.hirand >= 1))
                ):
                    continue
                extra = int(rng.integers(region.offset_random + 1)) if region.offset_random else 0
                self._play(out, region, gain, note, sample_rate, extra)
        self.skipped = skipped
        return out

    def _play(
        self, out: np.ndarray, region: Region, gain: float, note: Note, rate: int, extra: int
    ) -> None:
        start = round(note.start * rate)
        if start >= len(out):
            return
        held = max(round((note.end - note.start) * rate), 0)
        release = max(region.ampeg_release, MIN_RELEASE)
        one_shot = region.loop_mode == "one_shot"
        length = len(out) - start if one_shot else held + round(release * rate)
        length = min(length, len(out) - start)
        audio = self._voice(region, note.pitch, rate, region.offset + extra, length)
        if audio.size == 0:
            return
        envelope = _envelope(audio.size, audio.size if one_shot else held, region, release, rate)
        segment = audio * envelope * gain
        if start < 0:
            segment, start = segment[-start:], 0
        out[start : start + segment.size] += segment.astype(np.float32)

    def _voice(self, region: Region, pitch: int, rate: int, offset: int, length: int) -> np.ndarray:
        """The region's sample shifted to ``pitch`` at ``rate``: ``length`` samples at most."""
        frames, file_rate = self._file_info(region.sample)
        last = frames if region.end is None else min(frames, region.end + 1)
        if offset >= last or length <= 0:
            return np.zeros(0, dtype=np.float32)
        semitones = (pitch - region.pitch_keycenter) * region.pitch_keytrack / 100
        semitones += region.transpose + region.tune / 100
        per_frame = rate / file_rate / 2.0 ** (semitones / 12)  # output samples per source frame
        ratio = Fraction(per_frame).limit_denominator(MAX_DENOMINATOR)
        if ratio == 0:
            ratio = Fraction(1, MAX_DENOMINATOR)
        looping = (
            region.loop_mode in ("loop_continuous", "loop_sustain")
            and offset <= region.loop_start < region.loop_end < last
        )
        need = offset + math.ceil(length / float(ratio)) + 64
        if looping:
            need = max(need, region.loop_end + 65)
        shifted = self._shifted(region.sample, ratio, min(need, last), last)
        q = float(ratio)
        first = round(offset * q)
        if not looping:
            return shifted[first : first + length]
        loop_start = round(region.loop_start * q)
        loop_end = min(max(round((region.loop_end + 1) * q), loop_start + 1), shifted.size)
        head = shifted[first:loop_end]
        if head.size >= length:
            return head[:length]
        cycle = shifted[loop_start:loop_end]
        repeats = -(-(length - head.size) // cycle.size)
        return np.concatenate([head, np.tile(cycle, repeats)])[:length]

    def _file_info(self, path: Path) -> tuple[int, int]:
        info = self._info.get(path)
        if info is None:
            try:
                meta = sf.info(str(path))
            except (RuntimeError, sf.LibsndfileError) as error:
                raise MidivaeError(f"cannot read sample: {error}", path) from error
            info = self._info[path] = (int(meta.frames), int(meta.samplerate))
        return info

    def _shifted(self, path: Path, ratio: Fraction, need: int, last: int) -> np.ndarray:
        """The first ``need`` source frames (at least) resampled by ``ratio``; cached."""
        key = (path, ratio.numerator, ratio.denominator)
        entry = self._cache.get(key)
        if entry is not None and (entry[2] or entry[1] >= need):
            self._cache.move_to_end(key)
            return entry[0]
        _, file_rate = self._file_info(path)
        chunk = max(file_rate, 1 << max(need - 1, 1).bit_length())  # round up: fewer re-reads
        frames = min(chunk, last)
        complete = frames >= last
        try:
            data, _ = sf.read(
                str(path),
                frames=frames if complete else frames + 256,
                dtype="float32",
                always_2d=True,
            )
        except (RuntimeError, sf.LibsndfileError) as error:
            raise MidivaeError(f"cannot read sample: {error}", path) from error
        mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
        if ratio != 1:
            mono = resample_poly(mono, ratio.numerator, ratio.denominator)
        shifted = np.ascontiguousarray(mono[: math.ceil(frames * ratio)], dtype=np.float32)
        if entry is not None:
            self._cache_bytes -= entry[0].nbytes
        self._cache[key] = (shifted, frames, complete)
        self._cache.move_to_end(key)
        self._cache_bytes += shifted.nbytes
        while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
            _, (old, _, _) = self._cache.popitem(last=False)
            self._cache_bytes -= old.nbytes
        return shifted


# --------------------------------------------------------------------- helpers
def _envelope(n: int, held: int, region: Region, release: float, rate: int) -> np.ndarray:
    """AHDSR gain for ``n`` samples with note-off at sample ``held``; exponential decay/release."""
    t = np.arange(n, dtype=np.float64) / rate
    sustain = min(max(region.ampeg_sustain / 100.0, 0.0), 1.0)
    attack, hold, decay = (
        max(x, 0.0) for x in (region.ampeg_attack, region.ampeg_hold, region.ampeg_decay)
    )
    env = np.ones(n)
    if attack > 0:
        env = np.minimum(t / attack, 1.0)
    after = t - attack - hold
    falling = after > 0
    if decay > 0:
        level = sustain + (1.0 - sustain) * 10.0 ** (-3.0 * np.minimum(after, decay) / decay)
        level[after >= decay] = sustain
        env = np.where(falling, level, env)
    else:
        env = np.where(falling, sustain, env)
    if held < n:
        level = env[held]
        tail = t[held:] - t[held]
        env[held:] = level * 10.0 ** (-3.0 * tail / release)
    return env


def _preprocess(path: Path, root: Path, defines: dict[str, str], depth: int) -> str:
    """SFZ text with comments removed, ``#include`` inlined and ``#define`` substituted."""
    if depth > 32:
        raise MidivaeError("#include nested too deeply", path)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as error:
        raise MidivaeError(f"cannot read SFZ file: {error}", path) from error
    text = _COMMENT.sub("", text)
    parts = []
    position = 0
    for match in _DIRECTIVE.finditer(text):
        parts.append(_substitute(text[position : match.start()], defines))
        position = match.end()
        if match.group(1):
            defines[match.group(1)] = _substitute(match.group(2), defines)
            continue
        name = _substitute(match.group(3), defines).replace("\\", "/")
        for base in (root, path.parent):
            included = base / name
            if included.is_file():
                break
        else:
            raise MidivaeError(f"#include file not found: {name}", path)
        parts.append("\n" + _preprocess(included, root, defines, depth + 1) + "\n")
    parts.append(_substitute(text[position:], defines))
    return "".join(parts)


def _substitute(text: str, defines: dict[str, str]) -> str:
    if "$" not in text or not defines:
        return text

    def replace_variable(match: re.Match[str]) -> str:
        name = match.group(0)
        for stop in range(len(name), 1, -1):
            if name[:stop] in defines:
                return defines[name[:stop]] + name[stop:]
        return name

    return _VARIABLE.sub(replace_variable, text)


def _control_cc(opcode: str, value: str, cc: dict[int, float]) -> None:
    match = re.match(r"^set_(hd)?cc(\d+)$", opcode)
    if match:
        number = _number(value)
        if number is not None:
            cc[int(match.group(2))] = number * 127.0 if match.group(1) else number


def _number(value: str) -> float | None:
    try:
        return float(value.split()[0])
    except (ValueError, IndexError):
        return None


def _key(value: str) -> int | None:
    try:
        return note_number(value.split()[0])
    except (ValueError, IndexError):
        return None


def _readable(path: Path) -> bool:
    try:
        sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError):
        return False
    return True


def _make_region(
    opcodes: dict[str, str], folder: Path, default_path: str, sfz: Path
) -> Region | None:
    """A Region from merged opcodes, or None for generated (``*sine``) or disabled regions."""
    sample = opcodes.get("sample", "").strip()
    if not sample or sample.startswith("*"):
        return None
    relative = (default_path + sample).replace("\\", "/")
    file = Path(os.path.normpath(folder / relative))
    if not file.is_file():
        raise MidivaeError(f"sample file not found: {relative}", sfz)
    fields: dict[str, object] = {"sample": file}
    key = _key(opcodes["key"]) if "key" in opcodes else None
    if key is not None:
        fields.update(lokey=key, hikey=key, pitch_keycenter=key)
    for name in ("lokey", "hikey", "pitch_keycenter"):
        if name in opcodes and (value := _key(opcodes[name])) is not None:
            fields[name] = value
    integers = ("lovel", "hivel", "transpose", "offset", "offset_random", "end")
    integers += ("loop_start", "loop_end", "seq_length", "seq_position")
    floats = ("tune", "pitch_keytrack", "amp_veltrack", "ampeg_attack", "ampeg_hold")
    floats += ("ampeg_decay", "ampeg_sustain", "ampeg_release", "lorand", "hirand")
    for name in integers + floats:
        if name in opcodes and (value := _number(opcodes[name])) is not None:
            fields[name] = round(value) if name in integers else value
    for name in ("loopstart", "loopend"):  # SFZ v1 aliases
        if name in opcodes and (value := _number(opcodes[name])) is not None:
            fields.setdefault(name.replace("loop", "loop_"), round(value))
    volume, amplitude = 0.0, 100.0
    for prefix in ("", "global_", "master_", "group_"):
        if (value := _number(opcodes.get(prefix + "volume", ""))) is not None:
            volume += value
        if (value := _number(opcodes.get(prefix + "amplitude", ""))) is not None:
            amplitude *= value / 100.0
    fields.update(volume=volume, amplitude=amplitude)
    if "trigger" in opcodes:
        fields["trigger"] = opcodes["trigger"].split()[0].lower()
    mode = opcodes.get("loop_mode", opcodes.get("loopmode", "")).split()
    if mode:
        fields["loop_mode"] = mode[0].lower()
    elif int(fields.get("loop_end", 0)) > int(fields.get("loop_start", 0)):  # type: ignore[call-overload]
        fields["loop_mode"] = "loop_continuous"  # loop points that came with the file
    if fields.get("end") is not None and int(fields["end"]) <= 0:  # type: ignore[call-overload]
        return None
    conditions: dict[int, list[float]] = {}
    crossfades: dict[tuple[int, bool], list[float]] = {}
    modulations = []
    for opcode, value in opcodes.items():
        if (match := _MODULATION.match(opcode)) and (amount := _number(value)) is not None:
            modulations.append((match.group(1), int(match.group(2)), amount))
        elif (match := _CONDITION.match(opcode)) and (bound := _number(value)) is not None:
            limits = conditions.setdefault(int(match.group(2)), [0.0, 127.0])
            limits[match.group(1) == "hi"] = bound
        elif (match := _CROSSFADE.match(opcode)) and (bound := _number(value)) is not None:
            fade_in = match.group(1) == "in"
            limits = crossfades.setdefault(
                (int(match.group(3)), fade_in), [0.0, 0.0] if fade_in else [127.0, 127.0]
            )
            limits[match.group(2) == "hi"] = bound
    fields["conditions"] = tuple((cc, lo, hi) for cc, (lo, hi) in sorted(conditions.items()))
    fields["modulations"] = tuple(modulations)
    fields["crossfades"] = tuple(
        (cc, lo, hi, fade_in) for (cc, fade_in), (lo, hi) in sorted(crossfades.items())
    )
    return Region(**fields)  # type: ignore[arg-type]
