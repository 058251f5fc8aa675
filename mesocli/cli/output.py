"""The one output contract of every command: ``--format`` names and ``-o FILE``.

Each format has one name wherever it makes sense (``table`` for people, ``json`` for the JSON
contract, ``csv``, ``markdown``, ``fhir``); a command offers the ones that fit what it prints,
and ``--json`` stays a short form of ``--format json``. ``-o FILE`` saves the output instead of
printing it; ``-o -`` is standard output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from mesocli.cli.io import destination as destination  # the one atomic writer, re-exported
from mesocli.errors import InputError

# Every format meso writes, and what it is.
FORMATS = {
    "table": "for people (the default)",
    "json": "the JSON contract ('meso schema NAME' prints its JSON Schema)",
    "csv": "CSV, one row per entry",
    "markdown": "Markdown",
    "fhir": "a FHIR R4 Bundle (JSON)",
}
MACHINE = ("json", "fhir")  # formats whose errors are JSON documents too


def format_option(*offered: str) -> Any:
    """The ``--format`` option of a command that writes the ``offered`` formats."""
    unknown = set(offered) - FORMATS.keys()
    assert not unknown, unknown

    from mesocli.cli.completion import formats

    return typer.Option(offered[0], "--format", help="|".join(offered) + ".", autocompletion=formats(*offered))


JSON_OPTION = typer.Option(False, "--json", help="Same as --format json: the JSON contract.")
OUTPUT_OPTION = typer.Option(None, "--output", "-o", metavar="FILE",
                             help="Write to FILE instead of standard output (- is standard output).")


def choose(output_format: str, as_json: bool, offered: Sequence[str]) -> str:
    """The format a command writes: ``--json`` wins; any other name must be one it offers."""
    fmt = "json" if as_json else output_format
    if fmt not in offered:
        raise InputError(f"--format must be {_either(offered)}, not {fmt!r}")
    return fmt


def _either(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def catalogue_or_none() -> Any:
    """The catalogue in use, to say which one a document comes from; ``None`` when it cannot be
    read (a command such as ``meso db path`` still answers then)."""
    from mesocli.api import load_catalogue
    from mesocli.errors import MesoError

    try:
        return load_catalogue()
    except MesoError:
        return None
