"""A progress bar on stderr for long runs, shown only where it helps and cannot get in the way.

It is shown when stderr is a terminal that can redraw a line (not ``TERM=dumb``) and stdout
is not that terminal as well (results going to the screen would tear through the bar).
Results are never routed through it: stdout stays the caller's, byte for byte.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO


def wanted(stderr: TextIO | None = None, stdout: TextIO | None = None) -> bool:
    """Whether a progress bar belongs on ``stderr`` while results go to ``stdout``."""
    if os.environ.get("TERM", "") in ("dumb", "unknown"):
        return False
    return _isatty(stderr or sys.stderr) and not _isatty(stdout or sys.stdout)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts processed requests on stderr (never on stdout, which carries the results)."""

    def __init__(self, label: str = "requests") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        # redirect_stdout/redirect_stderr off: rich would otherwise capture sys.stdout while the
        # bar is live and print the results on stderr's console.
        self._progress = RichProgress(SpinnerColumn(), TextColumn(f"{{task.completed}} {label}"), BarColumn(),
                                      TimeElapsedColumn(), console=Console(file=sys.stderr), transient=True,
                                      redirect_stdout=False, redirect_stderr=False, disable=not wanted())
        self._task = self._progress.add_task(label, total=None)
        self._progress.start()

    def advance(self, count: int = 1) -> None:
        self._progress.advance(self._task, count)

    def stop(self) -> None:
        self._progress.stop()
