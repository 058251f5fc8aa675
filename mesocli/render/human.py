"""Output for people: one layout everywhere, coloured only where colour is wanted.

A terminal, a pipe, ``NO_COLOR`` and ``TERM=dumb`` all get the same lines; only the colour
differs (no escape sequence at all when stdout is not a colour terminal). The layout is made
here rather than by a table library, because it keeps three promises a table library does not:

- lines fit the width: the terminal's, ``COLUMNS`` when set, :data:`DEFAULT_WIDTH` otherwise;
- a word is never split across lines, and an amount keeps its number and unit together, so ids,
  amounts and URLs can be read and copied whole (a word longer than the line overflows it);
- a wrapped line keeps its indent, and continues under the text after its label or bullet.

Every text is made visible first (:func:`visible`): control characters, escape sequences and
bidirectional overrides from catalogue or user text are shown escaped, never sent raw.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from mesocli.render.jsontext import shown

SEVERITY_STYLE = {"contraindicated": "bold red", "caution": "yellow", "info": "cyan", "ok": "green"}
SEVERITY_LABEL = {"contraindicated": "CONTRAINDICATED", "caution": "CAUTION", "info": "INFO"}
DEFAULT_WIDTH = 100  # when the output is not a terminal and COLUMNS is not set
MIN_WIDTH = 40
GAP = "  "  # between table columns
_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

_NUMBER = re.compile(r"[<>~≤≥±]?\d[\d.,]*(?:[-–]\d[\d.,]*)?")
_UNIT = re.compile(r"(?:[%°µμ]|[A-Za-z])[\w/²³^.*%µμ·-]{0,15}[,;:.)\]]*")
_LEAD = re.compile(r"( *)((?:[-*•] )?)((?:[A-Za-z][\w ()/'-]{0,30}?: (?=\S))?)")


def visible(text: Any) -> str:
    """``text`` with every character a terminal would act on, rather than show, escaped as
    ``\\xNN`` or ``\\uNNNN`` (newline and tab are kept): :func:`jsontext.shown`."""
    return shown(str(text))


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set or ``TERM=dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM", "") in ("dumb", "unknown"):
        return False
    return _isatty(stream)


use_rich = use_colour  # the earlier name


def output_width(stream: TextIO) -> int:
    """``COLUMNS`` when set, else the terminal's width, else :data:`DEFAULT_WIDTH`; never below
    :data:`MIN_WIDTH`."""
    columns = os.environ.get("COLUMNS", "").strip()
    width = int(columns) if columns.isdigit() else 0
    if width <= 0 and _isatty(stream):
        try:
            width = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            width = 0
    return max(width if width > 0 else DEFAULT_WIDTH, MIN_WIDTH)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- words and lines


def words(text: str) -> list[str]:
    """The unbreakable pieces of a text: its words, with a number joined to the unit after it
    ("10 mg/mL", "14-28 days") by a space that no line break may take."""
    pieces = text.split()
    out: list[str] = []
    i = 0
    while i < len(pieces):
        piece = pieces[i]
        if (i + 1 < len(pieces) and _NUMBER.fullmatch(piece.lstrip("([")) and _UNIT.fullmatch(pieces[i + 1])):
            piece = f"{piece} {pieces[i + 1]}"
            i += 1
        out.append(piece)
        i += 1
    return out


def wrap(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """``text`` in lines of at most ``width`` columns, the first after ``first``, the others after
    ``rest`` (the same width of blanks by default); words are never split, so a word longer than
    the line overflows it. A newline in the text starts a new line, at the same indent."""
    rest = " " * len(first) if rest is None else rest
    lines: list[str] = []
    for paragraph in visible(text).expandtabs(1).split("\n"):
        line = first if not lines else rest
        empty = True
        for word in words(paragraph):
            if not empty and len(line) + 1 + len(word) > width:
                lines.append(line.rstrip())
                line, empty = rest, True
            line += word if empty else " " + word
            empty = False
        lines.append(line.rstrip())
    return lines


# --------------------------------------------------------------------------- the printer


class Printer:
    """Writes headings, fields, tables and notes to one stream, in one layout, coloured or not."""

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None, rich: bool | None = None,
                 width: int | None = None) -> None:
        self.stream = stream or sys.stdout
        wanted = colour if colour is not None else rich
        self.colour = use_colour(self.stream) if wanted is None else wanted
        self.width = width or output_width(self.stream)

    @property
    def rich(self) -> bool:  # the earlier name of ``colour``
        return self.colour

    # The one place text is written: every other method comes here with plain, visible lines.
    def _emit(self, lines: Iterable[str], style: str | None = None, head: tuple[str, str | None] | None = None) -> None:
        out = []
        for index, line in enumerate(lines):
            if self.colour and head is not None and index == 0 and line.startswith(head[0]):
                out.append(self._paint(head[0], head[1]) + self._paint(line[len(head[0]):], style))
            else:
                out.append(self._paint(line, style))
        self.stream.write("".join(line + "\n" for line in out))

    def _paint(self, text: str, style: str | None) -> str:
        if not self.colour or not style or not text:
            return text
        codes = ";".join(_SGR[word] for word in style.split() if word in _SGR)
        return f"\x1b[{codes}m{text}\x1b[0m" if codes else text

    def line(self, text: str = "", style: str | None = None) -> None:
        """A line of text, wrapped to the width under its own indent, bullet or label."""
        text = visible(text)
        lead = _LEAD.match(text)
        assert lead is not None
        head = text[: lead.end()]
        hang = len(head) if len(head) <= self.width // 2 else len(lead.group(1)) + 4
        self._emit(wrap(text[lead.end():], self.width, head, " " * hang), style)

    def heading(self, text: str) -> None:
        lines = wrap(text, self.width)
        self._emit(lines, "bold")
        self._emit(["=" * min(max(len(line) for line in lines), self.width)], "bold")

    def field(self, label: str, value: Any) -> None:
        if value is None or value == "" or value == []:
            return
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        head = f"{visible(label)}: "
        hang = len(head) if len(head) <= self.width // 2 else 4
        self._emit(wrap(str(value), self.width, head, " " * hang), None, head=(head, "bold"))

    def severity(self, severity: str, text: str) -> None:
        label = f"{SEVERITY_LABEL.get(severity, visible(severity).upper()):<15} "
        self._emit(wrap(text, self.width, label), None, head=(label, SEVERITY_STYLE.get(severity)))

    def note(self, text: str) -> None:
        self.line(text, style="dim")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
              styles: Sequence[str | None] | None = None) -> None:
        """Columns sized to the content and the width, cells wrapped between words. When even one
        word per column cannot fit, each row is printed as a block of "column: value" lines."""
        cells = [[visible("" if v is None else v) for v in row] for row in rows]
        heads = [visible(c) for c in columns]
        if title:
            self._emit(wrap(title, self.width), "bold")
        widths = _column_widths(heads, cells, self.width)
        if widths is None:
            self._records(heads, cells, styles)
            return
        self._emit(_table_lines(heads, widths), "bold")
        self._emit([GAP.join("-" * w for w in widths)])
        for index, row in enumerate(cells):
            self._emit(_table_lines(row, widths), styles[index] if styles else None)

    def _records(self, heads: Sequence[str], cells: Sequence[Sequence[str]],
                 styles: Sequence[str | None] | None) -> None:
        for index, row in enumerate(cells):
            style = styles[index] if styles else None
            self._emit(wrap(row[0], self.width, "- "), style or "bold")
            for head, value in zip(heads[1:], row[1:], strict=True):
                if value:
                    label = f"    {head}: "
                    hang = label if len(label) <= self.width // 2 else "        "
                    self._emit(wrap(value, self.width, label, " " * len(hang)), style)


def _column_widths(heads: Sequence[str], cells: Sequence[Sequence[str]], width: int) -> list[int] | None:
    """Each column's width: its widest cell when all fit, else at least its longest word with the
    room left shared out by need; None when the longest words alone do not fit."""
    count = len(heads)
    natural = [max([len(heads[i])] + [len(" ".join(words(row[i]))) for row in cells]) for i in range(count)]
    least = [max(len(w) for w in [*words(heads[i]), *(w for row in cells for w in words(row[i]))] or [""])
             for i in range(count)]
    room = width - len(GAP) * (count - 1)
    if sum(natural) <= room:
        return natural
    if sum(least) > room:
        return None
    # Share the room left fairly: the narrowest wants are met in full first, and the wide
    # columns split what remains (so a long column cannot squeeze a short one into many lines).
    widths = list(least)
    spare = room - sum(widths)
    order = sorted(range(count), key=lambda i: natural[i] - least[i])
    for done, i in enumerate(order):
        give = min(natural[i] - least[i], spare // (count - done))
        widths[i] += give
        spare -= give
    for i in reversed(order):  # what the rounding down left over
        give = min(natural[i] - widths[i], spare)
        widths[i] += give
        spare -= give
    return widths


def _table_lines(row: Sequence[str], widths: Sequence[int]) -> list[str]:
    wrapped = [wrap(cell, width) if cell else [""] for cell, width in zip(row, widths, strict=True)]
    height = max(len(lines) for lines in wrapped)
    out = []
    for n in range(height):
        parts = [(lines[n] if n < len(lines) else "").ljust(width)
                 for lines, width in zip(wrapped, widths, strict=True)]
        out.append(GAP.join(parts).rstrip())
    return out
