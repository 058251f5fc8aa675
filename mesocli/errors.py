"""meso's error hierarchy.

Every error meso raises on purpose derives from :class:`MesoError` and carries the exit code
the command line uses for it. The CLI translates errors once, at its boundary; the core never
prints and never exits.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_DATABASE = 3
EXIT_WORKER = 4


class MesoError(Exception):
    """Root of every error meso raises deliberately."""

    exit_code: int = EXIT_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(MesoError):
    """The user's input is invalid: a bad option, file, quantity or document (exit 2)."""

    exit_code = EXIT_INPUT


class UnknownTermError(InputError):
    """A name that the catalogue does not know (exit 2); never silently ignored."""

    def __init__(self, kind: str, term: str, suggestions: Sequence[str] = ()) -> None:
        self.kind = kind
        self.term = term
        self.suggestions = tuple(suggestions)
        shown = _printable(term)
        message = f"unknown {kind} {shown!r}"
        if self.suggestions:
            message += "; did you mean: " + ", ".join(self.suggestions) + "?"
        else:
            message += f"; list the known ones with 'meso {_LISTING.get(kind, 'ingredients list')}'"
        super().__init__(message)


class UnitError(InputError):
    """A quantity that cannot be accepted: bad unit, wrong dimension or bad magnitude."""


class CatalogueDataError(InputError):
    """Catalogue source text (data files or an import) that fails validation."""


class DatabaseError(MesoError):
    """The catalogue database is missing, unreadable, damaged or at another revision (exit 3)."""

    exit_code = EXIT_DATABASE


class WorkerError(MesoError):
    """A batch worker process stopped before answering its requests (exit 4): killed, for
    example, or out of memory. The lines written before it are complete and in order."""

    exit_code = EXIT_WORKER


_LISTING = {
    "allergy": "allergens list",
    "condition": "conditions list",
    "medication": "medications list",
    "indication": "indications list",
    "area": "indications show INDICATION",
    "ingredient": "ingredients list",
    "product": "products list",
    "substance": "ingredients list",
}


def _printable(text: str, limit: int = 80) -> str:
    """Return ``text`` safe for a one-line message: no control characters, bounded length."""
    cleaned = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "\u2026"
    return cleaned
