"""``meso completion bash|zsh|fish``: print the shell completion script.

The script calls ``meso`` back with ``_MESO_COMPLETE`` set; :func:`mesocli.cli.app.run`
hands such calls to the command line's completion machinery, which answers with the
commands, options and (for catalogue names) the ids that fit what has been typed.
"""

from __future__ import annotations

import sys
from enum import StrEnum

import typer

PROG_NAME = "meso"
COMPLETE_VAR = "_MESO_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def register(app: typer.Typer) -> None:
    from typer.completion import completion_init

    completion_init()  # the shells' completion classes, which answer _MESO_COMPLETE requests
    app.command("completion")(completion)


def completion(
    ctx: typer.Context,
    shell: Shell = typer.Argument(..., help="bash, zsh or fish.", case_sensitive=False),
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    \b
    Load it from the shell's start-up file, or save it where the shell looks for completions:
      eval "$(meso completion bash)"      # in ~/.bashrc
      eval "$(meso completion zsh)"       # in ~/.zshrc, after compinit
      meso completion fish > ~/.config/fish/completions/meso.fish
    """
    from typer.completion import shell_completion

    complete_class = shell_completion.get_completion_class(shell.value)
    if complete_class is None:  # pragma: no cover - register() installs every Shell
        raise typer.BadParameter(f"no completion for {shell.value}")
    script = complete_class(ctx.find_root().command, {}, PROG_NAME, COMPLETE_VAR).source()
    sys.stdout.write(script.strip() + "\n")
