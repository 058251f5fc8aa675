"""``meso batch``: NDJSON requests in, NDJSON results out."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import typer

from mesocli.errors import EXIT_FINDINGS, InputError

_SNIFF = 8192

def register(app: typer.Typer) -> None:
    app.command("batch")(batch)


def batch(
    source: str = typer.Argument(..., help="NDJSON file of requests, or - for standard input."),
) -> int:
    """Run many build/check requests: one JSON object per line in, one result per line out.

    Each request is {"id": ..., "action": "build" | "check", ...} with the same fields as the
    options and the patient file (allergies, conditions, medications, age, weight, patient,
    ingredients, recipe, indication, area, treatment_area, volume, max_products, fail_on).
    Results keep the input order and carry the request's id; a bad line gives an error
    document with its line number and the run goes on; the first bad line is also named on
    stderr. The exit code is the highest of the per-line codes; an input with no request at
    all (empty, blank or binary) is exit 2.
    """
    from mesocli.api import load_catalogue
    from mesocli.batch import run_batch, run_batch_parallel
    from mesocli.cli.io import OutputState

    OutputState.json = True
    catalogue = load_catalogue()
    worst = 0
    answered = 0
    failed: list[tuple[int, str]] = []
    lines = _lines(source)
    workers = _workers(source)
    if workers > 1:
        from mesocli.units import registry

        registry()  # built once here, before the workers fork, instead of once in each
        results = run_batch_parallel(lines, catalogue, workers)
    else:
        results = run_batch(lines, catalogue)
    progress = None
    if sys.stderr.isatty():
        from mesocli.render.progress import Progress

        progress = Progress()
    out = sys.stdout
    try:
        for result in results:
            out.write(result.ndjson())
            worst = max(worst, result.exit_code)
            answered += 1
            if result.exit_code > EXIT_FINDINGS:
                failed.append((result.line, str(result.document.get("message", ""))))
            if progress is not None:
                progress.advance()
    finally:
        if progress is not None:
            progress.stop()
    sys.stdout.flush()
    name = "standard input" if source == "-" else source
    if not answered:
        raise InputError(f"batch input: {name} has no requests (it is empty or blank)")
    if failed:
        line, message = failed[0]
        more = f" ({len(failed)} of {answered} requests failed; see their error documents)" if len(failed) > 1 else ""
        sys.stderr.write(f"meso: error: batch input: {name} line {line}: {message}{more}\n")
    return worst


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
    import stat

    from mesocli.batch import fork_available

    wanted = os.environ.get(WORKERS_ENV, "").strip()
    try:
        workers = int(wanted) if wanted else len(os.sched_getaffinity(0))
    except (ValueError, AttributeError):
        workers = os.cpu_count() or 1
    if workers < 2 or not fork_available():
        return 1
    try:
        info = os.fstat(sys.stdin.fileno()) if source == "-" else os.stat(source)
    except (OSError, ValueError, AttributeError):
        return 1
    if not stat.S_ISREG(info.st_mode) or info.st_size < PARALLEL_MIN_BYTES:
        return 1
    return workers


def _lines(source: str) -> Iterator[str]:
    """Lines of the input, read lazily (never the whole file at once)."""
    from mesocli.cli.io import open_binary

    if source == "-":
        stream = sys.stdin
        yield from _decoded(_text_only(stream.buffer if hasattr(stream, "buffer") else stream, "standard input"))
        return
    with open_binary(source, "batch input") as handle:
        yield from _decoded(_text_only(handle, source))


def _text_only(handle, name: str):  # type: ignore[no-untyped-def]
    """The byte stream, refused at once if its start holds NUL bytes (a binary file, /dev/zero)."""
    if isinstance(handle, io.TextIOBase):
        return handle
    if not hasattr(handle, "peek"):
        handle = io.BufferedReader(handle)
    if b"\x00" in handle.peek(_SNIFF)[:_SNIFF]:
        raise InputError(f"batch input: {name} is binary, not text")
    return handle


def _decoded(handle) -> Iterator[str]:  # type: ignore[no-untyped-def]
    for raw in handle:
        if isinstance(raw, str):
            yield raw
            continue
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield "\x00not utf-8"  # becomes an error document for that line
