"""The FHIR code table: the catalogue's code rows, indexed for reading a Bundle.

The rows come from the catalogue database (``fhir_code`` table, built from
``data/codes/fhir.toml`` and extended by a clinic's imports); :class:`CodeTable` is the index
:mod:`mesocli.fhir_input` looks codings up in, built once with the catalogue's index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mesocli.domain.model import FhirCode


@dataclass(frozen=True, slots=True)
class CodeTable:
    """Codings meso understands: (kind, system, code) -> catalogue terms, and "nothing" codes."""

    terms: Mapping[tuple[str, str, str], tuple[str, ...]]
    nothing: frozenset[tuple[str, str, str]]
    history: frozenset[tuple[str, str, str]] = frozenset()  # terms that count even when resolved
    observations: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (system, code) -> reads

    def lookup(self, kind: str, system: str, code: str) -> tuple[str, ...] | None:
        """The terms for one coding; ``()`` for a "nothing to record" code; None if unknown."""
        key = (kind, system, code)
        if key in self.nothing:
            return ()
        return self.terms.get(key)


def code_table(codes: Iterable[FhirCode]) -> CodeTable:
    """Index code rows (already validated: one row per kind, system and code)."""
    terms: dict[tuple[str, str, str], tuple[str, ...]] = {}
    nothing: set[tuple[str, str, str]] = set()
    history: set[tuple[str, str, str]] = set()
    observations: dict[tuple[str, str], str] = {}
    for row in codes:
        if row.kind == "observation":
            if row.reads is not None:
                observations[(row.system, row.code)] = row.reads
            continue
        key = (row.kind, row.system, row.code)
        if row.term is None:
            nothing.add(key)
            continue
        terms[key] = (row.term,)
        if row.history:
            history.add(key)
    return CodeTable(terms=terms, nothing=frozenset(nothing), history=frozenset(history),
                     observations=observations)
