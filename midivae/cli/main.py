"""Entry point: a click group whose subcommands are imported only when invoked.

``midivae --help`` and ``--version`` never import torch or numba.
"""

from __future__ import annotations

import importlib
import sys

import click

from midivae import __version__

# command name -> (module under midivae.cli, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "corpus": ("corpus", "corpus", "Build a note corpus with fluidsynth."),
    "explore": ("explore", "explore", "Wander the latent space: audio and its symbols."),
    "morph": ("morph", "morph", "Morph one sound into another through the latent space."),
    "plot": ("plot", "plot", "Draw a piano roll, a spectrogram or a latent map (PNG)."),
    "presets": ("presets", "presets", "List the shipped presets and their metrics."),
    "render": ("render", "render", "Render MIDI / MusicXML scores to audio."),
    "resynth": (
        "resynth",
        "resynth",
        "Analyse audio, drop the phase, reconstruct it (round trip).",
    ),
    "train": ("train", "train", "Train a model into a preset folder."),
    "transcribe": ("transcribe", "transcribe", "Transcribe recordings to MIDI / MusicXML."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        module = importlib.import_module(f"midivae.cli.{module_name}")
        command = getattr(module, attribute)
        _accept_global_flags(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="midivae")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool) -> None:
    """midivae: audio <-> MIDI through cross-modal variational auto-encoders."""
    from midivae.cli.common import Options, configure_logging

    ctx.obj = Options(quiet=quiet, debug=debug)
    configure_logging(quiet)


def _set_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--quiet`` / ``--debug`` given after a subcommand: as if given before it."""
    from midivae.cli.common import Options, configure_logging

    if not value:
        return
    flags = ctx.find_object(Options)
    if flags is None:
        flags = ctx.ensure_object(Options)
    setattr(flags, param.name, True)
    if param.name == "quiet":
        configure_logging(True)


def _accept_global_flags(command: click.Command) -> None:
    """Let ``command`` (and a group's subcommands) take ``--quiet`` and ``--debug`` too."""
    names = {param.name for param in command.params}
    for name, text in (("quiet", "No progress output."), ("debug", "Tracebacks for errors.")):
        if name not in names:
            command.params.append(
                click.Option(
                    [f"--{name}"], is_flag=True, expose_value=False, callback=_set_flag, help=text
                )
            )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_global_flags(sub)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(standalone_mode=True))
