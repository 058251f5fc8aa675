"""CSV output for tables (lists and findings), written with the csv module to stdout."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from mesocli.domain.engine import Finding

FINDING_COLUMNS = ("severity", "kind", "subject", "trigger", "message", "advice", "evidence", "sources")


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], stream: TextIO | None = None) -> None:
    writer = csv.writer(stream or sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])


def findings_csv(findings: Iterable[Finding], stream: TextIO | None = None) -> None:
    write_csv(FINDING_COLUMNS,
              ([f.severity, f.kind, f.subject, f.trigger, f.message, f.advice or "", f.evidence,
                " | ".join(f.sources)] for f in findings), stream)
