"""CSV output for tables (catalogue lists and check findings), written with the csv module.

One writer serves every table: RFC 4180 (comma separated, fields quoted when needed, CRLF line
ends), a header row, one row per entry. Cells are made spreadsheet-safe:

- missing values are empty cells, booleans are ``true``/``false``;
- several values in one field are joined with ``"; "``;
- text that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return, and is not a number) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from mesocli.domain.engine import Finding

FINDING_COLUMNS = ("severity", "kind", "subject", "trigger", "message", "advice", "evidence", "sources")
SEPARATOR = "; "
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def cell(value: Any) -> str:
    """One value as CSV cell text (see the module docstring for the rules)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        text = SEPARATOR.join(_plain(v) for v in items)
    else:
        text = str(value)
    return _defused(text)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _defused(text: str) -> str:
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], stream: TextIO | None = None) -> None:
    """Write a header and the rows as CSV to ``stream`` (stdout by default)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)  # the csv default: RFC 4180 quoting and "\r\n" line ends
    writer.writerow([cell(c) for c in columns])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    _write(buffer.getvalue(), stream or sys.stdout)


def items_csv(columns: Sequence[str], items: Iterable[Mapping[str, Any]], stream: TextIO | None = None) -> None:
    """Write list items (the dicts a JSON listing holds) as CSV, one column per key in ``columns``."""
    write_csv(columns, ([item.get(c) for c in columns] for item in items), stream)


def findings_csv(findings: Iterable[Finding], stream: TextIO | None = None) -> None:
    write_csv(FINDING_COLUMNS,
              ([f.severity, f.kind, f.subject, f.trigger, f.message, f.advice, f.evidence, list(f.sources)]
               for f in findings), stream)


def _write(text: str, stream: TextIO) -> None:
    """Write the CSV text unchanged: past the text layer when there is one, so that a platform's
    newline translation cannot turn "\\r\\n" into "\\r\\r\\n"."""
    raw = getattr(stream, "buffer", None)
    if raw is None:
        stream.write(text)
        return
    stream.flush()
    raw.write(text.encode(getattr(stream, "encoding", None) or "utf-8", getattr(stream, "errors", None) or "strict"))
    raw.flush()
