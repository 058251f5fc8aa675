"""Reading inputs (files, ``-`` for stdin) and writing machine output, for the commands.

Machine output (JSON, NDJSON, CSV) is written with the standard library straight to stdout;
it never goes through rich.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from mesocli import strictjson
from mesocli.errors import InputError

MAX_INPUT_BYTES = 32 * 1024 * 1024


class OutputState:
    """What the running command promised to write, so errors can follow the same contract."""

    json = False
    ndjson = False  # one document per line (meso batch): an error document is one line too


def write_json(document: Any, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    if OutputState.ndjson:
        out.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
    else:
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def read_text(source: str, what: str) -> str:
    """Read a file path, or stdin for ``-``, as UTF-8 text; every failure is an InputError."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        name = "standard input"
    else:
        name = source
        with open_binary(source, what) as handle:
            try:
                data = handle.read(MAX_INPUT_BYTES + 1)
            except OSError as exc:
                raise InputError(f"{what}: {source}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{what}: {name} is larger than the {MAX_INPUT_BYTES:,}-byte limit")
    if not data.strip():
        raise InputError(f"{what}: {name} is empty")
    if b"\x00" in data:
        raise InputError(f"{what}: {name} is binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what}: {name} is not UTF-8 text") from None


def open_binary(source: str, what: str) -> BinaryIO:
    """Open a named input file for reading bytes; every failure is one clear InputError."""
    if not source.strip():
        raise InputError(f"{what}: no file name given")
    path = Path(source)
    if path.is_dir():
        raise InputError(f"{what}: {source} is a directory, not a file")
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{what}: {source}: no such file") from None
    except PermissionError:
        raise InputError(f"{what}: {source}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{what}: {source}: cannot read ({exc.strerror})") from None


def read_document(source: str, what: str) -> Any:
    """Read JSON or TOML (by extension; stdin and unknown extensions try JSON, then TOML)."""
    text = read_text(source, what)
    name = "standard input" if source == "-" else source
    suffix = Path(source).suffix.lower() if source != "-" else ""
    if suffix == ".toml":
        return _toml(text, what, name)
    try:
        return strictjson.loads(text)
    except InputError as exc:
        raise InputError(f"{what}: {name}: {exc.message}") from None
    except json.JSONDecodeError as exc:
        if suffix == ".json":
            raise InputError(f"{what}: {name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                             f"{exc.msg})") from None
        try:
            return _toml(text, what, name)
        except InputError:
            raise InputError(f"{what}: {name} is neither valid JSON (line {exc.lineno}: {exc.msg}) "
                             "nor TOML") from None
    except RecursionError:
        raise InputError(f"{what}: {name} is nested too deeply") from None


def _toml(text: str, what: str, name: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what}: {name} is not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{what}: {name} is nested too deeply") from None
