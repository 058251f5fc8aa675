"""``meso completion bash|zsh|fish``: print the shell completion script, and answer it.

The script calls ``meso`` back with ``_MESO_COMPLETE`` set; :func:`mesocli.cli.app.run`
hands such calls to the command line's completion machinery, which answers with the
commands, options and values that fit what has been typed:

- catalogue terms (indications, areas, allergies, conditions, medications, ingredients,
  products) from the catalogue, by id; an area after ``--indication`` only from its areas;
- formats from the list each command accepts;
- files by the shell itself: meso answers nothing for a file option, and each shell then
  completes file names its own way (bash ``-o default``, zsh ``_files``, fish's file list).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

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


# --------------------------------------------------------------------------- values


def formats(*names: str) -> Callable[[str], list[str]]:
    """A completion callback for ``--format``, offering the formats a command accepts."""

    def complete(incomplete: str) -> list[str]:
        return [name for name in names if name.startswith(incomplete)]

    return complete


def _catalogue_terms(pick: Callable[[Any, dict[str, Any]], Iterable[str]]) -> Callable[..., list[str]]:
    """A completion callback offering catalogue ids; the catalogue is loaded only when asked."""

    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            from mesocli.api import load_catalogue

            ids = set(pick(load_catalogue(), dict(ctx.params)))
        except Exception:  # completion must never break the shell: offer nothing instead
            return []
        return sorted(i for i in ids if i.startswith(incomplete))

    return complete


def _areas(cat: Any, params: dict[str, Any]) -> Iterable[str]:
    indication = cat.indications.get(params.get("indication") or "")
    return indication.areas if indication is not None and indication.areas else cat.areas


indications = _catalogue_terms(lambda cat, _: cat.indications)
areas = _catalogue_terms(_areas)
def _unrelated(cat: Any, kind: str) -> list[str]:
    """The ids of the vocabulary's terms of ``kind`` that concern no catalogue item."""
    return [entry for term_kind, entry in getattr(cat, "unrelated", {}) if term_kind == kind]


allergies = _catalogue_terms(lambda cat, _: [*cat.substances, *cat.groups, *_unrelated(cat, "allergy")])
conditions = _catalogue_terms(lambda cat, _: [*cat.conditions, *_unrelated(cat, "condition")])
medications = _catalogue_terms(lambda cat, _: [*cat.medications, *cat.medication_classes,
                                                *_unrelated(cat, "medication")])
ingredients = _catalogue_terms(lambda cat, _: [*cat.substances, *cat.products])
products = _catalogue_terms(lambda cat, _: cat.products)


def sexes(incomplete: str) -> list[str]:
    """A completion callback for ``--sex``: the sexes a patient can be recorded as."""
    from mesocli.domain.patient import SEXES

    return [sex for sex in SEXES if sex.startswith(incomplete)]


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
