"""``meso batch``: NDJSON requests in, NDJSON results out."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import typer

from mesocli.cli.io import write_ndjson_line


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
    document with its line number and the run goes on. The exit code is the highest of the
    per-line codes.
    """
    from mesocli.api import load_catalogue
    from mesocli.batch import run_batch
    from mesocli.cli.io import OutputState

    OutputState.json = True
    catalogue = load_catalogue()
    worst = 0
    lines = _lines(source)
    progress = None
    if sys.stderr.isatty():
        from mesocli.render.progress import Progress

        progress = Progress()
    try:
        for result in run_batch(lines, catalogue):
            write_ndjson_line(result.document)
            worst = max(worst, result.exit_code)
            if progress is not None:
                progress.advance()
    finally:
        if progress is not None:
            progress.stop()
    sys.stdout.flush()
    return worst


def _lines(source: str) -> Iterator[str]:
    """Lines of the input, read lazily (never the whole file at once)."""
    from mesocli.cli.io import open_binary

    if source == "-":
        stream = sys.stdin
        yield from _decoded(stream.buffer if hasattr(stream, "buffer") else stream)
        return
    with open_binary(source, "batch input") as handle:
        yield from _decoded(handle)


def _decoded(handle) -> Iterator[str]:  # type: ignore[no-untyped-def]
    for raw in handle:
        if isinstance(raw, str):
            yield raw
            continue
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield "\x00not utf-8"  # becomes an error document for that line
