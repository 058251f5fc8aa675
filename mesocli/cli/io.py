"""Reading inputs (files, ``-`` for stdin) and writing machine output, for the commands.

Machine output (JSON, NDJSON, CSV) is written with the standard library straight to stdout;
it never goes through rich.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from mesocli import strictjson
from mesocli.errors import EXIT_WORKER, InputError

# The largest patient, recipe or FHIR document read (1 MiB). A larger one is refused after
# reading at most this many bytes, before any parsing, so time and memory stay bounded; a
# clinic import file has its own, larger limit (mesocli.storage.importer.MAX_IMPORT_BYTES),
# and batch input is limited per line instead (mesocli.batch.MAX_LINE).
MAX_INPUT_BYTES = 1024 * 1024


class OutputState:
    """What the running command promised to write, so errors can follow the same contract."""

    json = False
    ndjson = False  # one document per line (meso batch): an error document is one line too


def write_json(document: Any, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    text = _dumps(document)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # text from a file name that is not UTF-8: shown escaped
        text = _dumps(_escaped(document))
    out.write(text + "\n")


def _dumps(document: Any) -> str:
    """The JSON text of ``document``: non-ASCII characters as they are, but the ones a terminal
    would act on rather than show (C1 controls, bidirectional overrides, ...) as ``\\uXXXX``."""
    from mesocli.render.jsontext import compact, indented, printable

    if OutputState.ndjson:
        return compact(document)
    return printable(indented(document))  # json.dumps(document, ensure_ascii=False, indent=2)


def _escaped(value: Any) -> Any:
    """``value`` with every string made valid UTF-8 text the way :func:`show_path` shows names."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") \
            .encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


def read_text(source: str, what: str, limit: int | None = None) -> str:
    """Read a file path, or stdin for ``-``, as UTF-8 text of at most ``limit`` bytes (by
    default :data:`MAX_INPUT_BYTES`, a document's); every failure is an InputError."""
    if limit is None:
        limit = MAX_INPUT_BYTES
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
        name = "standard input"
    else:
        name = show_path(source)
        with open_binary(source, what) as handle:
            try:
                data = handle.read(limit + 1)
            except OSError as exc:
                raise InputError(f"{what}: {name}: cannot read ({exc.strerror})") from None
    if b"\x00" in data:
        raise InputError(f"{what}: {name} is binary, not text")
    if len(data) > limit:
        raise InputError(f"{what}: {name} is larger than the {_size(limit)} limit for a document")
    if not data.strip():
        raise InputError(f"{what}: {name} is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what}: {name} is not UTF-8 text") from None


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{limit:,}-byte ({mib:g} MiB)" if mib >= 1 else f"{limit:,}-byte"


def open_binary(source: str, what: str) -> BinaryIO:
    """Open a named input file for reading bytes; every failure is one clear InputError."""
    if not source.strip():
        raise InputError(f"{what}: no file name given")
    path = Path(source)
    shown = show_path(source)
    if path.is_dir():
        raise InputError(f"{what}: {shown} is a directory, not a file")
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{what}: {shown}: no such file") from None
    except PermissionError:
        raise InputError(f"{what}: {shown}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{what}: {shown}: cannot read ({exc.strerror})") from None


def read_document(source: str, what: str) -> Any:
    """Read JSON or TOML (by extension; stdin and unknown extensions try JSON, then TOML)."""
    text = read_text(source, what)
    name = "standard input" if source == "-" else show_path(source)
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
    import tomllib  # only a TOML file needs it; importing it compiles its patterns at every start

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what}: {name} is not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{what}: {name} is nested too deeply") from None


# ------------------------------------------------------------------------------- writing files
def show_path(path: str | os.PathLike[str]) -> str:
    """A file name for a message: bytes that are not UTF-8 (and control characters) are shown
    as escapes such as ``\\xff``, never written raw and never a UnicodeEncodeError."""
    text = os.fspath(path)
    with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate no file name gives: escaped below
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return show_text(text)


def show_text(text: str) -> str:
    """``text`` (an id, a name, a location) for a line of a message or report: every character
    that is not printable (controls, line breaks, bidirectional overrides, invisible format
    characters, lone surrogates) shown as an escape such as ``\\x85`` or ``\\u202e``."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def write_output(path: str | os.PathLike[str], text: str, *, what: str = "--output") -> None:
    """Write ``text`` to ``path`` whole, or leave what was there untouched (see :func:`destination`)."""
    with destination(path, what=what) as stream:
        stream.write(text)


@contextlib.contextmanager
def destination(path: str | os.PathLike[str] | None, *, what: str = "--output") -> Iterator[TextIO]:
    """Standard output (``None`` or ``-``), or a new file at ``path`` that appears whole when the
    block ends without an error.

    The text goes to a new temporary file in the same directory (so memory stays flat however
    much is written), is flushed to disk, and is renamed over ``path`` in one step: a reader sees
    the old file or the new one, never half of one; a full disk or any other failure leaves the
    old file as it was and removes the temporary one. A link at ``path`` is replaced, never
    written through; a directory or another special file at ``path`` is refused. An existing
    file keeps its mode; a new one gets the user's usual mode.
    """
    if path is None or os.fspath(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    import stat
    import tempfile

    target = Path(os.fspath(path))
    shown = show_path(target)
    if not os.fspath(target).strip():
        raise InputError(f"{what}: no file name given")
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InputError(f"{what}: cannot write {shown} ({_reason(exc)})") from None
    if info is not None and not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise InputError(f"{what}: {shown} is {kind}; give the path of a file to write")
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        mode = stat.S_IMODE(info.st_mode) if info is not None and stat.S_ISREG(info.st_mode) else _default_mode()
        os.chmod(temporary, mode)
        os.replace(temporary, target)
        temporary = None
    except OSError as exc:
        raise InputError(f"{what}: cannot write {shown} ({_reason(exc)}); nothing was changed") from None
    finally:
        if temporary is not None:
            with _suppressed():
                os.unlink(temporary)


def _default_mode() -> int:
    """The mode a new file gets from the user's umask (mkstemp's own is 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOENT:
        return "no such directory"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or type(exc).__name__


def _suppressed() -> Any:
    import contextlib

    return contextlib.suppress(OSError)


# ------------------------------------------------------------------------------- closed pipes
def closed_pipe(exc: BaseException) -> bool:
    """Whether ``exc`` comes from writing to a reader that went away (``meso ... | head -1``);
    click turns that into ``SystemExit(1)``, so the cause is looked for too."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, BrokenPipeError) or (isinstance(seen, OSError) and seen.errno == errno.EPIPE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unwritable(exc: OSError) -> int:
    """The exit code when writing standard output raised ``exc``: a reader that went away is no
    error (:func:`reader_gone`); anything else is (:func:`output_failed`)."""
    return reader_gone() if closed_pipe(exc) else output_failed(exc)


def output_failed(exc: OSError) -> int:
    """The exit code when standard output could not be written for another reason than a reader
    that went away (a full disk, an input/output error): ``EXIT_WORKER`` (out of a resource),
    with the reason on standard error, never the findings code. Standard output is pointed at
    the null device so the final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"meso: error: cannot write standard output ({_reason(exc)}); "
                         "what was written before is incomplete\n")
    _to_null()
    return EXIT_WORKER


def reader_gone() -> int:
    """The exit code when the reader of standard output went away: 0, quietly. Standard output
    is pointed at the null device so the final flush cannot fail again."""
    _to_null()
    return 0


def _to_null() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (a test's stream)
        pass
