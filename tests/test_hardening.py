"""Issue 9, hardening: every bad input through the real CLI, and the unusual inputs it accepts.

A rejected input gives exactly one line ``error: FILE: problem`` on stderr, exit 1 (2 for usage
errors) and leaves the output folder as it was (no output, no temp file). An accepted one exits
0, with a notice where something was changed. Runs in-process through click's CliRunner (whose
stderr is not a terminal); the progress tests run the command on a pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import pickle
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
from click.testing import CliRunner, Result
from conftest import SR, harmonic_tone

from midivae.cli.main import cli
from midivae.presets.preset import shipped_presets, shipped_root

FLUTE = ("--instrument", "flute")  # one small preset keeps every run fast


def invoke(*args: str | Path) -> Result:
    """Run ``midivae ARGS`` in-process; never let an exception escape as a traceback."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.stderr
    return result


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for folders, the kind for special
    files, which are never opened: reading a FIFO would block)."""
    return {
        str(p.relative_to(folder)): None
        if p.is_dir()
        else (p.read_bytes() if p.is_file() else b"special file")
        for p in sorted(folder.rglob("*"))
    }


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if ".tmp" in p.name]


def tone(path: Path, seconds: float = 1.0, *, rate: int = SR, channels: int = 1, **kw) -> Path:
    """A short harmonic phrase around C5 (inside every preset's range)."""
    audio = harmonic_tone(seconds, 72.0)
    if rate != SR:
        audio = np.interp(np.arange(int(seconds * rate)) * SR / rate, np.arange(len(audio)), audio)
    if channels > 1:
        audio = np.repeat(audio[:, None], channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, **kw)
    return path


def midi(path: Path, pitches: tuple[int, ...] = (72, 76), *, program: int = 73, drum=False):
    """A MIDI file of half-second notes on one track."""
    pm = pretty_midi.PrettyMIDI()
    track = pretty_midi.Instrument(program=program, is_drum=drum)
    track.notes = [pretty_midi.Note(90, p, 0.5 * i, 0.5 * i + 0.4) for i, p in enumerate(pitches)]
    pm.instruments.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def n_notes(path: Path) -> int:
    return sum(len(i.notes) for i in pretty_midi.PrettyMIDI(str(path)).instruments)


# --- rejected ------------------------------------------------------------------------------


@dataclass
class Rejected:
    """A failing command line, the file its error names and how the problem starts."""

    args: list[str | Path]
    names: Path
    problem: str
    exit_code: int = 1
    untouched: dict[str, bytes | None] = field(default_factory=dict)


_OUT = {"transcribe": ".mid", "render": ".wav"}  # each command's output suffix


def _audio_input(tmp: Path, make: Callable[[Path], object], problem: str) -> Rejected:
    source = tmp / "in" / "take.wav"
    source.parent.mkdir()
    make(source)
    return Rejected(["transcribe", source, "-o", tmp / "out" / "take.mid", *FLUTE], source, problem)


def _empty_wav(tmp: Path) -> Rejected:
    return _audio_input(tmp, lambda p: p.write_bytes(b""), "empty file (0 bytes)")


def _text_wav(tmp: Path) -> Rejected:
    make = lambda p: p.write_text("these are my notes, not audio\n")  # noqa: E731
    return _audio_input(tmp, make, "not an audio file (format not recognised)")


def _truncated_header(tmp: Path) -> Rejected:
    full = tone(tmp / "full.wav")
    make = lambda p: p.write_bytes(full.read_bytes()[:30])  # noqa: E731
    return _audio_input(tmp, make, "cannot read audio (")  # libsndfile says why


def _header_rate(tmp: Path) -> Rejected:
    """A tiny WAV whose header claims 1 Hz: refused before any resampling is planned."""
    return _audio_input(tmp, lambda p: sf.write(p, np.zeros(8), 1), "sample rate 1 Hz")


def _fifo_input(tmp: Path) -> Rejected:
    """A FIFO named like a recording: refused before it is opened (opening would block)."""
    return _audio_input(tmp, lambda p: os.mkfifo(p), "not a regular file")


def _fifo_output(command: str) -> Callable[[Path], Rejected]:
    """A FIFO where the output goes: never replaced, --overwrite or not."""

    def make(tmp: Path) -> Rejected:
        out = tmp / "out" / f"take{_OUT[command]}"
        out.parent.mkdir()
        os.mkfifo(out)
        args = [*_good_job(tmp, command, out), "--overwrite"]
        return Rejected(args, out, "exists and is not a regular file")

    return make


def _header_no_data(tmp: Path) -> Rejected:
    return _audio_input(tmp, lambda p: sf.write(p, np.zeros(0), SR), "no audio samples")


def _missing(command: str) -> Callable[[Path], Rejected]:
    def make(tmp: Path) -> Rejected:
        source = tmp / "in" / ("gone.wav" if command == "transcribe" else "gone.mid")
        source.parent.mkdir()
        out = tmp / "out" / f"gone{_OUT[command]}"
        return Rejected([command, source, "-o", out, *FLUTE], source, "no such file")

    return make


def _score_input(tmp: Path, make: Callable[[Path], object], name: str, problem: str) -> Rejected:
    source = tmp / "in" / name
    source.parent.mkdir()
    make(source)
    return Rejected(["render", source, "-o", tmp / "out" / "score.wav"], source, problem)


def _no_notes(tmp: Path) -> Rejected:
    return _score_input(tmp, lambda p: midi(p, ()), "empty.mid", "no notes to render")


def _only_drums(tmp: Path) -> Rejected:
    make = lambda p: midi(p, (36, 38, 42), program=0, drum=True)  # noqa: E731
    return _score_input(tmp, make, "drums.mid", "only drum tracks; nothing to render")


def _far_midi(ticks: int, tempo: int, problem: str) -> Callable[[Path], Rejected]:
    """A tiny MIDI file whose one note ends ``ticks`` in, at ``tempo`` microseconds a beat."""

    def write(path: Path) -> None:
        import mido

        track = mido.MidiTrack()
        track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
        track.append(mido.Message("note_on", note=60, velocity=80, time=0))
        track.append(mido.Message("note_off", note=60, time=ticks))
        score = mido.MidiFile()
        score.tracks.append(track)
        score.save(path)

    return lambda tmp: _score_input(tmp, write, "far.mid", problem)


def _not_midi(tmp: Path) -> Rejected:
    make = lambda p: p.write_text("MIDI? no, a shopping list\n")  # noqa: E731
    return _score_input(tmp, make, "list.mid", "not a MIDI file")


BROKEN_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="4.0"><part-list>'
    '<score-part id="P1"><part-name>Flute</part-name></score-part></part-list>'
    '<part id="P1"><measure number="1"><note><pitch><step>C</step>'
)


def _bad_musicxml(tmp: Path) -> Rejected:
    make = lambda p: p.write_text(BROKEN_XML)  # noqa: E731
    return _score_input(tmp, make, "cut.musicxml", "not a readable MusicXML file (")


def _zip_bomb(tmp: Path) -> Rejected:
    """A small .mxl whose one member expands to 96 MB of spaces."""

    def make(path: Path) -> None:
        import zipfile

        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("score.musicxml", b" " * (96 * 2**20))

    return _score_input(tmp, make, "bomb.mxl", "archive expands to 96 MB")


def _entities(tmp: Path) -> Rejected:
    """A MusicXML file declaring nested entities (the billion laughs)."""
    laughs = '<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    text = f'<?xml version="1.0"?><!DOCTYPE score-partwise [{laughs}]><score-partwise>&b;'
    make = lambda p: p.write_text(text + "</score-partwise>")  # noqa: E731
    return _score_input(tmp, make, "laughs.musicxml", "declares XML entities")


def _good_job(tmp: Path, command: str, out: Path) -> list[str | Path]:
    if command == "transcribe":
        return ["transcribe", tone(tmp / "in" / "take.wav"), "-o", out, *FLUTE]
    return ["render", midi(tmp / "in" / "take.mid"), "-o", out]


def _parent_is_file(command: str, depth: int) -> Callable[[Path], Rejected]:
    """The output's parent (depth 1) or grandparent (depth 2) is a regular file."""

    def make(tmp: Path) -> Rejected:
        blocker = tmp / "out"
        blocker.write_text("a file where a folder should be")
        out = blocker / Path(*["sub"] * (depth - 1)) / f"take{_OUT[command]}"
        problem = f"cannot write here: {blocker} is a file, not a folder"
        return Rejected(_good_job(tmp, command, out), out, problem)

    return make


def _exists(command: str) -> Callable[[Path], Rejected]:
    def make(tmp: Path) -> Rejected:
        out = tmp / "out" / f"take{_OUT[command]}"
        out.parent.mkdir()
        out.write_bytes(b"precious, do not touch")
        return Rejected(_good_job(tmp, command, out), out, "exists, use --overwrite")

    return make


def _corrupt_weights(path: Path, how: str) -> None:
    from safetensors.torch import load_file, save_file

    if how == "pickled":
        weights = load_file(str(path))
        path.write_bytes(pickle.dumps({k: v.numpy() for k, v in weights.items()}))
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:  # wrong shapes: one extra row on every 2-D tensor
        import torch

        weights = load_file(str(path))
        for key, tensor in weights.items():
            if tensor.ndim == 2:
                weights[key] = torch.cat([tensor, tensor[:1]])
        save_file(weights, str(path), metadata={"format": "midivae-preset"})


PRESET_PROBLEMS = {
    "pickled": "not a safetensors file (bad header; pickled or truncated?)",
    "truncated": "corrupt safetensors file (",
    "wrong-shapes": "tensor ",
}


def _bad_preset(command: str, how: str) -> Callable[[Path], Rejected]:
    def make(tmp: Path) -> Rejected:
        preset = tmp / "mypreset"
        shutil.copytree(shipped_root() / "flute", preset)
        weights = preset / "model.safetensors"
        _corrupt_weights(weights, how)
        args = _good_job(tmp, command, tmp / "out" / f"take{_OUT[command]}")
        if command == "transcribe":
            args = args[:-2]  # no --instrument: --preset chooses the model
        return Rejected([*args, "--preset", preset], weights, PRESET_PROBLEMS[how])

    return make


def _bad_meta(change: Callable[[dict, Path], None], problem: str) -> Callable[[Path], Rejected]:
    """A preset folder whose preset.json is changed by ``change(meta, path)``."""

    def make(tmp: Path) -> Rejected:
        preset = tmp / "mypreset"
        shutil.copytree(shipped_root() / "flute", preset)
        path = preset / "preset.json"
        change(json.loads(path.read_text()), path)
        args = _good_job(tmp, "transcribe", tmp / "out" / "take.mid")[:-2]
        return Rejected([*args, "--preset", preset], path, problem)

    return make


def _huge_hidden(meta: dict, path: Path) -> None:
    meta["model_config"]["signal_hidden"] = [10**9, 512]
    path.write_text(json.dumps(meta))


def _deep_json(meta: dict, path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000)


REJECTED: dict[str, Callable[[Path], Rejected]] = {
    "preset-claims-a-billion-units": _bad_meta(_huge_hidden, "model config: signal_hidden"),
    "preset-json-nested-100000-deep": _bad_meta(_deep_json, "unreadable preset.json"),
    "empty-wav": _empty_wav,
    "text-named-wav": _text_wav,
    "truncated-wav-header": _truncated_header,
    "wav-header-without-data": _header_no_data,
    "wav-header-claims-1-hz": _header_rate,
    "fifo-input": _fifo_input,
    "fifo-output-transcribe": _fifo_output("transcribe"),
    "fifo-output-render": _fifo_output("render"),
    "missing-input-transcribe": _missing("transcribe"),
    "missing-input-render": _missing("render"),
    "midi-without-notes": _no_notes,
    "midi-only-drums": _only_drums,
    "not-midi-named-mid": _not_midi,
    "midi-event-at-a-billion-ticks": _far_midi(10**9, 500_000, "events reach tick 1000000"),
    "midi-slowest-tempo-six-hours": _far_midi(600_000, 16_777_215, "lasts 5.8 hours"),
    "malformed-musicxml": _bad_musicxml,
    "musicxml-zip-bomb": _zip_bomb,
    "musicxml-entities": _entities,
    "parent-is-file-transcribe": _parent_is_file("transcribe", 1),
    "parent-is-file-render": _parent_is_file("render", 1),
    "grandparent-is-file-transcribe": _parent_is_file("transcribe", 2),
    "grandparent-is-file-render": _parent_is_file("render", 2),
    "output-exists-transcribe": _exists("transcribe"),
    "output-exists-render": _exists("render"),
    **{
        f"preset-{how}-{command}": _bad_preset(command, how)
        for how in PRESET_PROBLEMS
        for command in ("transcribe", "render")
    },
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_rejected_input_is_one_error_line(tmp_path, name):
    case = REJECTED[name](tmp_path)
    before = snapshot(tmp_path)
    result = invoke(*case.args)
    assert result.exit_code == case.exit_code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {case.names}: {case.problem}"), lines[0]
    assert result.stdout == ""
    assert snapshot(tmp_path) == before  # no output, no temp file, existing files untouched


def test_debug_adds_the_traceback(tmp_path):
    case = _not_midi(tmp_path)
    result = CliRunner().invoke(cli, ["--debug", *map(str, case.args)])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1] == f"error: {case.names}: not a MIDI file"


@pytest.mark.parametrize("command", ["transcribe", "render"])
def test_unknown_instrument_is_a_usage_error(tmp_path, command):
    args = _good_job(tmp_path, command, tmp_path / "out" / f"take{_OUT[command]}")
    if command == "transcribe":
        args = args[:-2]
    result = invoke(*args, "--instrument", "kazoo")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith(
        "Error: Invalid value for --instrument: unknown instrument 'kazoo' (known: "
    )
    assert not (tmp_path / "out").exists()


# --- accepted ------------------------------------------------------------------------------


def _transcribed(tmp: Path, source: Path) -> tuple[Result, Path]:
    out = tmp / "out" / "take.mid"
    result = invoke("transcribe", source, "-o", out, *FLUTE)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{out}  (")
    assert not temp_files(tmp)
    return result, out


def test_silence_gives_an_empty_midi_and_a_notice(tmp_path):
    source = tmp_path / "silence.wav"
    sf.write(source, np.zeros(SR), SR)
    result, out = _transcribed(tmp_path, source)
    assert result.stderr == f"notice: {source}: silence: no notes\n"
    assert n_notes(out) == 0


@pytest.mark.parametrize(
    ("name", "rate", "channels", "subtype", "notices"),
    [
        (
            "wav-96k-stereo-float32",
            96000,
            2,
            "FLOAT",
            ["mixed 2 channels to mono", "resampled from 96000 Hz to 22050 Hz"],
        ),
        ("wav-8-bit", SR, 1, "PCM_U8", []),
        ("flac-44k1", 44100, 1, "PCM_16", ["resampled from 44100 Hz to 22050 Hz"]),
    ],
)
def test_unusual_formats_are_transcribed(tmp_path, name, rate, channels, subtype, notices):
    suffix = ".flac" if name.startswith("flac") else ".wav"
    source = tone(tmp_path / f"take{suffix}", 1.5, rate=rate, channels=channels, subtype=subtype)
    assert sf.info(source).subtype == subtype
    result, out = _transcribed(tmp_path, source)
    lines = result.stderr.splitlines()
    assert lines[-1].startswith(f"notice: {source}: loud recording")  # the tone sits at -13 dBFS
    assert lines[:-1] == [f"notice: {source}: {n}" for n in notices]
    assert n_notes(out) > 0


def test_wav_with_data_cut_short_is_read_with_a_notice(tmp_path):
    full = tone(tmp_path / "full.wav", 1.5)
    source = tmp_path / "cut.wav"
    source.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    result, out = _transcribed(tmp_path, source)
    assert f"notice: {source}: the file is shorter than its header says" in result.stderr
    assert n_notes(out) > 0


def test_three_minutes_complete(tmp_path):
    audio = np.zeros(180 * SR)
    for start in (5, 90, 170):  # a few tones in a long silence
        audio[start * SR : (start + 2) * SR] = harmonic_tone(2.0, 72.0)
    source = tmp_path / "long.wav"
    sf.write(source, audio, SR)
    _, out = _transcribed(tmp_path, source)
    midi_file = pretty_midi.PrettyMIDI(str(out))
    assert midi_file.get_end_time() > 170.0


@pytest.mark.presets
@pytest.mark.parametrize("preset", shipped_presets())
def test_notes_outside_every_range_move_by_octaves(tmp_path, preset):
    score = midi(tmp_path / "extremes.mid", (0, 127))  # below and above every instrument
    out = tmp_path / "extremes.wav"
    result = invoke("render", score, "-o", out, "--instrument", preset)
    assert result.exit_code == 0, result.stderr
    notice = re.fullmatch(
        rf"notice: {re.escape(str(score))}: part '.*': 2 of 2 notes outside "
        rf"{re.escape(preset)}'s range \(\d+-\d+\) moved by octaves\n",
        result.stderr,
    )
    assert notice, result.stderr
    audio, rate = sf.read(out)
    assert rate == 44100 and np.abs(audio).max() > 1e-3


@pytest.mark.parametrize("command", ["transcribe", "render"])
def test_overwrite_replaces_the_output(tmp_path, command):
    out = tmp_path / "out" / f"take{_OUT[command]}"
    out.parent.mkdir()
    out.write_bytes(b"old")
    result = invoke(*_good_job(tmp_path, command, out), "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{out}  (")
    if command == "transcribe":
        assert n_notes(out) > 0
    else:
        assert sf.info(out).frames > SR
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temp file left


# --- batches and progress ------------------------------------------------------------------


def _batch(tmp: Path, command: str) -> tuple[Path, Path, Path]:
    """A folder of two good inputs and a bad one (in the middle), and the output folder."""
    folder = tmp / "in"
    if command == "transcribe":
        tone(folder / "a.wav")
        tone(folder / "c.flac", rate=44100)
        bad = folder / "b.wav"
        bad.write_text("not audio")
    else:
        midi(folder / "a.mid")
        midi(folder / "c.mid", (67, 69, 71))
        bad = folder / "b.mid"
        midi(bad, (36,), program=0, drum=True)
    return folder, bad, tmp / "out"


@pytest.mark.parametrize("command", ["transcribe", "render"])
def test_batch_finishes_the_good_files(tmp_path, command):
    folder, bad, out = _batch(tmp_path, command)
    extra = FLUTE if command == "transcribe" else ()
    result = invoke(command, folder, "-o", out, *extra)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("error:")] == [
        f"error: {bad}: "
        + (
            "not an audio file (format not recognised)"
            if command == "transcribe"
            else "only drum tracks; nothing to render"
        )
    ]
    assert lines[-1] == "2 ok, 1 failed"
    assert not any(line.startswith("[") for line in lines)  # stderr is no terminal: no progress
    suffix = _OUT[command]
    assert sorted(p.name for p in out.iterdir()) == [f"a{suffix}", f"c{suffix}"]
    assert result.stdout.splitlines()[0].startswith(f"{out / ('a' + suffix)}  (")


def test_quiet_batch_prints_only_errors_and_the_summary(tmp_path):
    folder, bad, out = _batch(tmp_path, "transcribe")
    result = invoke("--quiet", "transcribe", folder, "-o", out, *FLUTE)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {bad}: not an audio file (format not recognised)",
        "2 ok, 1 failed",
    ]


def _on_a_terminal(*args: str | Path) -> tuple[int, str]:
    """Run ``midivae ARGS`` with stderr on a pseudo-terminal; (exit code, stderr)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "midivae.cli", *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=120), b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.slow  # a real process: its stderr on a pseudo-terminal
@pytest.mark.parametrize("quiet", [False, True], ids=["progress", "quiet"])
def test_progress_per_file_on_a_terminal(tmp_path, quiet):
    folder, bad, out = _batch(tmp_path, "transcribe")
    flags = ["--quiet"] if quiet else []
    code, stderr = _on_a_terminal(*flags, "transcribe", folder, "-o", out, *FLUTE)
    assert code == 1, stderr
    lines = stderr.splitlines()
    raw = [line for line in lines if line.startswith("[")]
    progress = [re.sub(r"  \(~\w+ left\)$", "", line) for line in raw]
    inputs = [folder / "a.wav", bad, folder / "c.flac"]
    assert progress == ([] if quiet else [f"[{i}/3] {p}" for i, p in enumerate(inputs, 1)])
    assert quiet or raw[-1].endswith(" left)")  # once a file is done: the time left
    assert f"error: {bad}: not an audio file (format not recognised)" in lines
    assert lines[-1] == "2 ok, 1 failed"
    assert "Traceback" not in stderr


@pytest.mark.presets
def test_any_name_the_file_system_allows_works(tmp_path):
    examples = Path(__file__).resolve().parents[1] / "examples"
    folder = os.fsencode(tmp_path)
    latin1 = os.fsdecode(folder + b"/caf\xe9.flac")  # not UTF-8
    longest = str(tmp_path / ("a" * 245 + ".flac"))  # 250 bytes: no room for a temp marker
    for name in (latin1, longest):
        shutil.copy(examples / "example_recording.flac", name)
    shutil.copy(examples / "example_score.mid", os.fsdecode(folder + b"/sc\xe8ne.mid"))
    done = invoke("transcribe", tmp_path, "--instrument", "flute")
    assert done.exit_code == 0 and "2 ok" in done.stderr, done.stderr
    assert os.path.exists(folder + b"/caf\xe9.mid") and Path(longest).with_suffix(".mid").exists()
    rendered = invoke("render", os.fsdecode(folder + b"/sc\xe8ne.mid"))
    assert rendered.exit_code == 0, rendered.stderr
    assert sf.info(os.fsencode(tmp_path / "sc\udce8ne.wav")).samplerate == 44100


@pytest.mark.presets
def test_one_inputs_outputs_appear_together_or_not_at_all(tmp_path, monkeypatch):
    import midivae.plots

    examples = Path(__file__).resolve().parents[1] / "examples"
    take = tmp_path / "take.flac"
    shutil.copy(examples / "example_recording.flac", take)
    (tmp_path / "take.png").write_bytes(b"mine")  # the second output exists: refused up front
    refused = invoke("transcribe", take, "--plot", *FLUTE)
    assert refused.exit_code == 1 and "take.png: exists" in refused.stderr
    assert not (tmp_path / "take.mid").exists() and "notes" not in refused.stdout

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    (tmp_path / "take.png").unlink()
    monkeypatch.setattr(midivae.plots, "spectrogram", full_disk)
    failed = invoke("transcribe", take, "--plot", *FLUTE)
    assert failed.exit_code == 1 and "No space left" in failed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.flac"]  # no MIDI, no temp

    score = tmp_path / "band.mid"
    shutil.copy(examples / "example_score.mid", score)
    (tmp_path / "band.Violin.wav").write_bytes(b"mine")
    stems = invoke("render", score, "--stems")
    assert stems.exit_code == 1 and "band.Violin.wav: exists" in stems.stderr
    assert not (tmp_path / "band.wav").exists()
    assert (tmp_path / "band.Violin.wav").read_bytes() == b"mine"
