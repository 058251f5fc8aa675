"""CSV output for tables (catalogue lists and check findings), written with the csv module.

One writer serves every table: RFC 4180 (comma separated, fields quoted when needed, CRLF line
ends), a header row, one row per entry. Cells are made spreadsheet-safe:

- missing values are empty cells, booleans are ``true``/``false``;
- several values in one field are joined with ``"; "``;
- control characters but tab and newline, and invisible format characters (bidirectional
  overrides, zero-width characters, line separators, ...) are written visibly as ``\\xNN`` or
  ``\\uNNNN``, so that a cell shown on a terminal cannot act on it;
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
from mesocli.render.jsontext import shown

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
    return _defused(shown(text))


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


# ------------------------------------------------------------------------------- recipes
RECIPE_COLUMNS = ("syringe", "component", "component_name", "volume", "substance", "substance_name", "role",
                  "concentration", "final_concentration", "amount")


def recipe_csv(recipe: Any, catalogue: Any, stream: TextIO | None = None) -> None:
    """Write a built recipe as CSV: one row per substance of each syringe's components
    (a refused recipe has no syringes, so only the header)."""
    from mesocli.render.recipe import recipe_document

    write_csv(RECIPE_COLUMNS, _recipe_rows(recipe_document(recipe, catalogue)), stream)


def _recipe_rows(document: Mapping[str, Any]) -> Iterable[list[Any]]:
    for number, syringe in enumerate(document.get("syringes") or (), 1):
        for component in syringe.get("components", ()):
            for substance in component.get("substances") or ({},):
                yield [number, component.get("id"), component.get("name"), _quantity(component.get("volume")),
                       substance.get("id"), substance.get("name"), substance.get("role"),
                       _quantity(substance.get("concentration")), _quantity(substance.get("final_concentration")),
                       _quantity(substance.get("amount"))]


def _quantity(value: Any) -> str | None:
    if isinstance(value, Mapping) and "value" in value:
        return f"{value['value']} {value.get('unit', '')}".strip()
    return None


# ------------------------------------------------------------------------------- Markdown
# Specials that take effect inside a line (emphasis, code, links, HTML, table cells); a cell
# or list item never starts a line, so "#", "-" or "1." at a line's start cannot occur.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def markdown_text(value: Any) -> str:
    """One value as Markdown text that shows literally: specials escaped, line breaks and
    control characters turned into spaces (a table cell is one line), invisible format
    characters written visibly (``\\u202e``)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", shown(_CONTROL.sub(" ", _plain_cell(value))))


def _plain_cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return SEPARATOR.join(_plain(v) for v in value)
    return _plain(value)


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` under ``columns``, every cell escaped."""
    lines = ["| " + " | ".join(markdown_text(c) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(markdown_text(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def items_markdown(title: str, columns: Sequence[str], items: Iterable[Mapping[str, Any]],
                   stream: TextIO | None = None) -> None:
    """Write list items (the dicts a JSON listing holds) as a titled Markdown table."""
    rows = [[item.get(c) for c in columns] for item in items]
    (stream or sys.stdout).write(f"# {markdown_text(title)} ({len(rows)})\n\n" + markdown_table(columns, rows))


def _graded_sources(finding: Finding) -> list[str]:
    """A finding's sources for people: each with its own grade, e.g. "(label) Kybella ..."."""
    return [f"({grade}) {source}" if grade else source
            for source, grade in zip(finding.sources, finding.source_grades(), strict=True)]


def check_markdown(result: Any, catalogue: Any) -> str:
    """A check as Markdown: its status, the findings as a table, and the alternatives."""
    from mesocli import __version__
    from mesocli.domain.identity import catalogue_identity
    from mesocli.render.documents import DISCLAIMER, verdict

    identity = catalogue_identity(catalogue)
    checked = "whole catalogue" if result.screened else markdown_text(", ".join(result.subjects))
    lines = ["# meso check", "",
             f"- **Status:** {markdown_text(result.status)}",
             f"- **Checked:** {checked}",
             f"- **meso** {markdown_text(__version__)}, catalogue {markdown_text(identity['content_sha256'][:12])} "
             f"(schema {markdown_text(identity['schema_revision'])}, {identity['clinic_rows']} clinic rows)", ""]
    if result.findings:
        lines += ["## Findings", "", markdown_table(
            FINDING_COLUMNS, ([f.severity, f.kind, f.subject, f.trigger, f.message, f.advice, f.evidence,
                               _graded_sources(f)] for f in result.findings))]
    else:
        lines += ["No findings.", ""]
    if result.alternatives:
        lines += ["## Alternatives", ""]
        lines += [f"- instead of {markdown_text(a.replaces)}: {markdown_text(', '.join(a.use))}"
                  + (f" ({markdown_text(a.note)})" if a.note else "") for a in result.alternatives]
        lines.append("")
    lines += [f"**{markdown_text(verdict(result))}**", ""]
    lines += [f"*{markdown_text(DISCLAIMER)}*", ""]
    return "\n".join(lines)
