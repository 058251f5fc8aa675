"""A progress counter on stderr for long runs; shown only when stderr is a terminal."""

from __future__ import annotations

import sys


class Progress:
    """Counts processed requests on stderr (never on stdout, which carries the results)."""

    def __init__(self, label: str = "requests") -> None:
        from rich.console import Console
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn

        self._progress = RichProgress(SpinnerColumn(), TextColumn(f"{{task.completed}} {label}"),
                                      console=Console(file=sys.stderr), transient=True)
        self._task = self._progress.add_task(label, total=None)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()
