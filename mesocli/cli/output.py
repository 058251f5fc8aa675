"""The one output contract of every command: ``--format`` names and ``-o FILE``.

Each format has one name wherever it makes sense (``table`` for people, ``json`` for the JSON
contract, ``csv``, ``markdown``, ``fhir``); a command offers the ones that fit what it prints,
and ``--json`` stays a short form of ``--format json``. ``-o FILE`` saves the output instead of
printing it; ``-o -`` is standard output.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

import typer

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

    def complete(incomplete: str) -> list[str]:
        return [name for name in offered if name.startswith(incomplete)]

    return typer.Option(offered[0], "--format", help="|".join(offered) + ".", autocompletion=complete)


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


@contextlib.contextmanager
def destination(path: str | None) -> Iterator[TextIO]:
    """Standard output, or a new file at ``path`` that appears whole when the command succeeds.

    The output is written to a temporary file next to ``path`` (so memory stays flat however
    much is written) and renamed over ``path`` at the end: a failure (an error, a full disk)
    leaves the previous file as it was and never half a file, and a symbolic link at ``path``
    is replaced rather than written through. Text is UTF-8 with line ends as written.
    """
    if path is None or path == "-":
        yield sys.stdout
        return
    import errno
    import tempfile
    from pathlib import Path

    target = Path(path)
    shown = os.fsdecode(path).encode("utf-8", "backslashreplace").decode("utf-8")
    if target.is_dir():
        raise InputError(f"--output: {shown} is a directory, not a file")
    temporary = None
    try:
        try:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, then renamed
                "w", encoding="utf-8", newline="", dir=target.parent, prefix=f".{target.name}.",
                suffix=".tmp", delete=False)
            temporary = handle.name
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(handle.fileno(), 0o666 & ~umask)  # as an ordinary new file, not 0600
        except OSError as error:
            raise InputError(f"--output: cannot write {shown} ({error.strerror or error})") from None
        with handle:
            yield handle
            try:
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as error:
                raise _write_error(shown, error) from None
        try:
            os.replace(temporary, target)
        except OSError as error:
            raise _write_error(shown, error) from None
        temporary = None
    except OSError as error:  # writing into the file failed (a full disk, a quota)
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
            raise _write_error(shown, error) from None
        raise
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _write_error(shown: str, error: OSError) -> InputError:
    import errno

    reason = "disk full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else (error.strerror or str(error))
    return InputError(f"--output: cannot write {shown} ({reason})")


def catalogue_or_none() -> Any:
    """The catalogue in use, to say which one a document comes from; ``None`` when it cannot be
    read (a command such as ``meso db path`` still answers then)."""
    from mesocli.api import load_catalogue
    from mesocli.errors import MesoError

    try:
        return load_catalogue()
    except MesoError:
        return None
