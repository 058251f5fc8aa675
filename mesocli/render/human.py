"""Output for people: rich on a terminal, plain aligned text everywhere else.

This is the only module that imports rich, and only when a terminal is there to use it.
Plain text is used when stdout is not a terminal, and when ``NO_COLOR`` is set or
``TERM=dumb``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

SEVERITY_STYLE = {"contraindicated": "bold red", "caution": "yellow", "info": "cyan", "ok": "green"}
SEVERITY_LABEL = {"contraindicated": "CONTRAINDICATED", "caution": "CAUTION", "info": "INFO"}


def use_rich(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM", "") in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Printer:
    """Writes headings, tables and notes to one stream, rich or plain."""

    def __init__(self, stream: TextIO | None = None, *, rich: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.rich = use_rich(self.stream) if rich is None else rich
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream, highlight=False, soft_wrap=False)
        return self._console

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.rich:
            from rich.text import Text

            self.console.print(Text(text, style=style or ""))
        else:
            self.stream.write(text + "\n")

    def heading(self, text: str) -> None:
        if self.rich:
            from rich.rule import Rule

            self.console.print(Rule(text, align="left", style="bold"))
        else:
            self.stream.write(f"{text}\n{'=' * min(len(text), 78)}\n")

    def field(self, label: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        if self.rich:
            from rich.text import Text

            self.console.print(Text.assemble((f"{label}: ", "bold"), str(value)))
        else:
            self.stream.write(f"{label}: {value}\n")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
              styles: Sequence[str | None] | None = None) -> None:
        cells = [[("" if v is None else str(v)) for v in row] for row in rows]
        if self.rich:
            from rich.table import Table

            table = Table(title=title, title_justify="left", show_lines=False, header_style="bold")
            for column in columns:
                table.add_column(column, overflow="fold")
            for index, row in enumerate(cells):
                table.add_row(*row, style=(styles[index] if styles else None))
            self.console.print(table)
            return
        if title:
            self.stream.write(f"{title}\n")
        widths = [len(c) for c in columns]
        for row in cells:
            for i, value in enumerate(row):
                widths[i] = min(max(widths[i], len(value)), 60)
        self.stream.write("  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip() + "\n")
        self.stream.write("  ".join("-" * w for w in widths) + "\n")
        for row in cells:
            self.stream.write("  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip() + "\n")

    def severity(self, severity: str, text: str) -> None:
        label = SEVERITY_LABEL.get(severity, severity.upper())
        if self.rich:
            from rich.text import Text

            self.console.print(Text.assemble((f"{label:<15}", SEVERITY_STYLE.get(severity, "")), " ", text))
        else:
            self.stream.write(f"{label:<15} {text}\n")

    def note(self, text: str) -> None:
        self.line(text, style="dim")
