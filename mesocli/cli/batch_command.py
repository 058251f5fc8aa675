"""``meso batch``: NDJSON requests in, NDJSON results out."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

import typer

from mesocli.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.batch import Block
    from mesocli.domain.catalogue import Catalogue

_SNIFF = 8192

def register(app: typer.Typer) -> None:
    app.command("batch")(batch)


def batch(
    source: str = typer.Argument(..., help="NDJSON file of requests, or - for standard input."),
    output: str | None = typer.Option(None, "--output", "-o", metavar="FILE",
                                      help="Write the results to FILE instead of standard output (- is "
                                           "standard output); FILE appears whole when the run ends."),
) -> int:
    """Run many build/check requests: one JSON object per line in, one result per line out.

    Each request is {"id": ..., "action": "build" | "check", ...} with the same fields as the
    options and the patient file (allergies, conditions, medications, age, weight, sex, patient,
    ingredients, recipe, indication, area, treatment_area, volume, max_products, fail_on).
    Results keep the input order and carry the request's id; a bad line gives an error
    document with its line number and the run goes on; the first bad line is also named on
    stderr. The exit code is the highest of the per-line codes; an input with no request at
    all (empty, blank or binary) is exit 2. With -o FILE the results appear in FILE when the
    run ends; a run that fails as a whole leaves FILE as it was.

    \b
    Examples:
      meso batch requests.ndjson > results.ndjson
      meso batch requests.ndjson -o results.ndjson
      echo '{"id": 1, "action": "check", "allergies": ["lidocaine"]}' | meso batch -
    """
    from mesocli.api import load_catalogue
    from mesocli.batch import run_batch_parallel
    from mesocli.cli.io import OutputState
    from mesocli.cli.output import destination

    OutputState.json = OutputState.ndjson = True
    catalogue = load_catalogue()
    name = "standard input" if source == "-" else source
    progress = None
    answered = worst = failed = 0
    first_failure = None
    sys.stdout.flush()
    try:
        with destination(output) as stream, _input(source) as handle:
            stream.flush()
            out = stream.buffer  # the answers come as UTF-8 bytes
            workers = _workers(source)
            if workers > 1:
                blocks: Iterator[Block] = run_batch_parallel(handle, catalogue, workers)
            else:
                blocks = _one_by_one(handle, catalogue, out, flush=_regular_size(source) is None)
            for block in blocks:
                if progress is None and sys.stderr.isatty():
                    # Started once the workers exist: they are forked from a process with no
                    # other thread (the bar redraws from a thread of its own).
                    from mesocli.render.progress import Progress

                    progress = Progress()
                out.write(block.data)
                answered += block.answered
                worst = max(worst, block.worst)
                failed += block.failed
                first_failure = first_failure or block.first_failure
                if progress is not None:
                    progress.advance(block.answered)
            out.flush()
            if not answered:
                raise InputError(f"batch input: {name} has no requests (it is empty or blank)")
    finally:
        if progress is not None:
            progress.stop()
    if first_failure is not None:
        line, message = first_failure
        more = f" ({failed} of {answered} requests failed; see their error documents)" if failed > 1 else ""
        from mesocli.cli.io import show_path, show_text

        sys.stderr.write(f"meso: error: batch input: {show_path(name)} line {line}: {show_text(message)}{more}\n")
    return worst


def _one_by_one(handle: BinaryIO, catalogue: Catalogue, out: BinaryIO, *, flush: bool) -> Iterator[Block]:
    """Answer in this process, a line at a time; from a pipe, each answer is flushed at once,
    so a client may wait for it before it writes the next request."""
    from mesocli.batch import answer_block, lines_of

    for number, line in enumerate(lines_of(handle), 1):
        block = answer_block(number, (line,), catalogue)
        yield block
        if flush and block.answered:
            out.flush()


WORKERS_ENV = "MESO_BATCH_WORKERS"
PARALLEL_MIN_BYTES = 64 * 1024


def _workers(source: str) -> int:
    """How many processes answer requests: one, unless the input is a large regular file.

    A pipe is answered line by line in this process, so a client may wait for each answer
    before it writes the next request. A file of at least ``PARALLEL_MIN_BYTES`` is shared
    among forked workers, one per available CPU (``MESO_BATCH_WORKERS`` overrides the count;
    1 turns the pool off). Without the fork start method, one process answers everything.
    """
    import os

    from mesocli.batch import fork_available

    wanted = os.environ.get(WORKERS_ENV, "").strip()
    try:
        workers = int(wanted) if wanted else len(os.sched_getaffinity(0))
    except (ValueError, AttributeError):
        workers = os.cpu_count() or 1
    if workers < 2 or not fork_available():
        return 1
    size = _regular_size(source)
    return workers if size is not None and size >= PARALLEL_MIN_BYTES else 1


@contextlib.contextmanager
def _input(source: str) -> Iterator[BinaryIO]:
    """The input as a byte stream, refused at once if its start holds NUL bytes (a binary
    file, /dev/zero). Read lazily, a line at a time, never the whole file at once."""
    from mesocli.cli.io import open_binary

    if source == "-":
        stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
        yield _text_only(stream, "standard input")
        return
    with open_binary(source, "batch input") as handle:
        yield _text_only(handle, source)


def _text_only(handle: BinaryIO, name: str) -> BinaryIO:
    if not hasattr(handle, "peek"):
        handle = io.BufferedReader(handle)  # type: ignore[arg-type]
    if b"\x00" in handle.peek(_SNIFF)[:_SNIFF]:  # type: ignore[attr-defined]
        raise InputError(f"batch input: {name} is binary, not text")
    return handle


def _regular_size(source: str) -> int | None:
    """The size of the input if it is a regular file; ``None`` for a pipe or a terminal."""
    import os
    import stat

    try:
        info = os.fstat(sys.stdin.fileno()) if source == "-" else os.stat(source)
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None
