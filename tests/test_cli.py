"""The command line: fast help, the batch contract, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import SR, harmonic_tone, interrupt_cli, run_cli

from midivae import __version__
from midivae.cli.main import cli


def run(*args: str) -> subprocess.CompletedProcess:
    """The ``midivae`` entry point in a child process (the in-process run is ``run_cli``)."""
    return subprocess.run(
        [sys.executable, "-c", "from midivae.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow  # fresh interpreters: what the command imports
def test_help_and_version_import_nothing_heavy():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from midivae.cli.main import cli\n"
        "r = CliRunner().invoke(cli, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'resynth' in r.output\n"
        "print(sorted(m for m in ('torch', 'numba', 'scipy', 'music21') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert run("--version").stdout.strip() == f"midivae, version {__version__}"


def test_unknown_option_is_a_usage_error():
    result = CliRunner().invoke(cli, ["resynth", "--bogus", "x.wav"])
    assert result.exit_code == 2


def _tone(path: Path, seconds: float = 1.5, rate: int = SR, channels: int = 1) -> Path:
    audio = harmonic_tone(seconds)
    if rate != SR:
        audio = np.interp(np.arange(int(seconds * rate)) * SR / rate, np.arange(len(audio)), audio)
    if channels == 2:
        audio = np.stack([audio, audio], axis=1)
    sf.write(path, audio, rate)
    return path


def test_resynth_one_file_beside_input(tmp_path):
    source = _tone(tmp_path / "tone.wav")
    done = run_cli("resynth", str(source))
    assert done.exit_code == 0, done.stderr
    out = tmp_path / "tone.resynth.wav"
    audio, rate = sf.read(out)
    assert rate == SR and len(audio) == int(1.5 * SR)
    assert "spectral convergence" in done.stdout
    assert not list(tmp_path.glob(".*tmp*"))


def test_existing_output_is_untouched_without_overwrite(tmp_path):
    source = _tone(tmp_path / "tone.wav")
    target = tmp_path / "out.wav"
    target.write_bytes(b"precious")
    done = run_cli("resynth", str(source), "-o", str(target))
    assert done.exit_code == 1
    assert done.stderr.strip().splitlines()[0] == f"error: {target}: exists, use --overwrite"
    assert target.read_bytes() == b"precious"
    done = run_cli("resynth", str(source), "-o", str(target), "--overwrite")
    assert done.exit_code == 0 and sf.info(target).frames == int(1.5 * SR)


def test_folder_with_a_bad_file_finishes_the_others(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _tone(folder / "a.wav")
    _tone(folder / "c.flac", rate=44100, channels=2)
    (folder / "b.wav").write_text("not audio at all")
    done = run_cli("--debug", "resynth", str(folder), "-o", str(tmp_path / "out"))
    assert done.exit_code == 1
    lines = done.stderr.strip().splitlines()
    assert any(line.startswith(f"error: {folder / 'b.wav'}: ") for line in lines)
    assert lines[-1] == "2 ok, 1 failed"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a.resynth.wav",
        "c.resynth.wav",
    ]
    assert any("notice:" in line and "44100" in line for line in lines)


def test_batches_mirror_subfolders_refuse_collisions_and_skip_what_is_done(tmp_path):
    takes = tmp_path / "takes"
    for sub in ("a", "b"):
        (takes / sub).mkdir(parents=True)
        _tone(takes / sub / "take1.wav", seconds=0.5)
    out = tmp_path / "out"
    done = run_cli("resynth", str(takes), "-o", str(out))
    assert done.exit_code == 0, done.stderr
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.wav")) == [
        "a/take1.resynth.wav",
        "b/take1.resynth.wav",
    ]
    assert done.stderr.strip().splitlines()[-1] == "2 ok, 0 failed"
    # a re-run skips what exists, before any work, and says so
    (out / "b" / "take1.resynth.wav").unlink()
    again = run_cli("resynth", str(takes), "-o", str(out))
    assert again.exit_code == 0, again.stderr
    assert again.stderr.strip().splitlines()[-1] == (
        "1 ok, 1 skipped (outputs exist; --overwrite replaces them), 0 failed"
    )
    # two inputs that would write one output: refused up front, nothing written
    clash = run_cli(
        "resynth",
        str(takes / "a" / "take1.wav"),
        str(takes / "b" / "take1.wav"),
        "-o",
        str(tmp_path / "flat"),
    )
    assert clash.exit_code == 2 and "would both write" in clash.stderr
    assert not (tmp_path / "flat").exists()
    # two folders keep their own names under -o
    both = run_cli("resynth", str(takes / "a"), str(takes / "b"), "-o", str(tmp_path / "two"))
    assert both.exit_code == 0, both.stderr
    assert {p.parent.name for p in (tmp_path / "two").rglob("*.wav")} == {"a", "b"}


def test_any_failure_of_one_input_ends_only_that_input(tmp_path):
    import click

    from midivae.cli.batch import run_batch

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text(name)

    def job(source: Path, target: Path) -> str:
        if source.stem == "b":
            raise RecursionError("too deep\nfor one line")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("done")
        return "ok"

    @click.command()
    @click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
    def command(inputs):
        run_batch(inputs, tmp_path / "out", suffixes=(".txt",), default_suffix=".out", job=job)

    done = CliRunner().invoke(command, [str(folder)])
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert f"error: {folder / 'b.txt'}: RecursionError: too deep\\nfor one line" in lines
    assert lines[-1] == "2 ok, 1 failed"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.out", "c.out"]


def test_options_refuse_what_no_command_can_use():
    for args in (
        ["transcribe", "x.wav", "--gain-db", "nan"],
        ["transcribe", "x.wav", "--tempo", "inf"],
        ["render", "x.mid", "--seed", "-1"],
        ["render", "x.mid", "--walk-scale", "nan"],
    ):
        done = CliRunner().invoke(cli, args)
        assert done.exit_code == 2 and "Invalid value" in done.output, args


def test_quiet_hides_notices(tmp_path):
    source = _tone(tmp_path / "tone.flac", rate=44100)
    done = run_cli("--quiet", "resynth", str(source))
    assert done.exit_code == 0 and done.stderr == "" and done.stdout == ""


def test_global_flags_work_after_the_subcommand_too(tmp_path):
    source = _tone(tmp_path / "tone.flac", rate=44100)
    done = run_cli("resynth", str(source), "--quiet", "--overwrite")
    assert done.exit_code == 0 and done.stderr == "" and done.stdout == ""


def test_every_command_shows_an_example():
    from midivae.cli.main import COMMANDS

    for name in COMMANDS:
        shown = CliRunner().invoke(cli, [name, "--help"])
        assert shown.exit_code == 0 and "Example: midivae " + name in shown.output, name


def test_missing_input_is_one_line(tmp_path):
    done = run_cli("resynth", str(tmp_path / "nope.wav"))
    assert done.exit_code == 1
    assert done.stderr.splitlines()[0] == f"error: {tmp_path / 'nope.wav'}: no such file"
    assert "Traceback" not in done.stderr


@pytest.mark.slow  # a real process and its Ctrl-C
def test_ctrl_c_keeps_finished_outputs_and_leaves_no_partial(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    # far more files than finish before the signal arrives, even on a busy machine (with six,
    # a starved poll once let the whole batch finish first)
    names = [f"f{index:02d}" for index in range(24)]
    for name in names:
        _tone(folder / f"{name}.wav", seconds=8.0)
    out = tmp_path / "out"
    code, _, stderr = interrupt_cli(
        ["resynth", str(folder), "-o", str(out)], out / "f00.resynth.wav", wait_s=60, settle_s=0.1
    )
    assert code == 130, stderr
    assert "interrupted" in stderr
    finished = sorted(p.name for p in out.iterdir())
    assert "f00.resynth.wav" in finished and len(finished) < len(names)
    assert all(not name.startswith(".") for name in finished)  # no temp file left
    for name in finished:
        assert sf.info(out / name).frames == 8 * SR  # every output present is complete


def test_batch_progress_estimates_the_time_left(tmp_path):
    from midivae.cli.batch import BatchClock, _duration

    small, big = tmp_path / "a.wav", tmp_path / "b.wav"
    small.write_bytes(b"x" * 100)
    big.write_bytes(b"x" * 300)
    clock = BatchClock([(small, tmp_path / "a.mid"), (big, tmp_path / "b.mid")])
    clock._now = lambda: clock._start + 10.0  # ten seconds on the first file's 100 bytes
    assert clock.line(1, small, 0) == f"[1/2] {small}"
    assert clock.line(2, big, 1) == f"[2/2] {big}  (~30s left)"
    assert [_duration(s) for s in (42, 185, 3725)] == ["42s", "3m05s", "1h02m"]
