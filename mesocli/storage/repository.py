"""Queries that run in the database itself, through a caller-owned session.

Most commands work on the in-memory catalogue; search runs as SQL so that it stays fast on a
clinic catalogue with many thousands of local products.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mesocli.domain.catalogue import normalise
from mesocli.errors import InputError
from mesocli.storage import models as m

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

MAX_QUERY = 200


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: str  # substance | product
    id: str
    name: str
    cls: str
    matched: str
    rank: int  # 0 exact, 1 prefix, 2 word prefix, 3 substring


def search(session: Session, text: str, limit: int = 25) -> list[SearchHit]:
    """Substances and products whose id, name, aliases or class match ``text``, best first."""
    from sqlalchemy import literal, select, union_all

    if len(text) > MAX_QUERY:
        raise InputError(f"search text longer than {MAX_QUERY} characters")
    key = normalise(text)
    if not text.strip():
        raise InputError("search text is empty")
    if not key:
        raise InputError(f"search text {text.strip()!r} has no letters or digits to search for")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Cn") for ch in key):
        raise InputError("search text contains control or invalid characters")
    pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    substances = select(literal("substance").label("kind"), m.SubstanceRow.id, m.SubstanceRow.name,
                        m.SubstanceRow.cls.label("cls"), m.SubstanceRow.search_text).where(
        m.SubstanceRow.search_text.like(pattern, escape="\\"))
    products = select(literal("product").label("kind"), m.ProductRow.id, m.ProductRow.name,
                      literal("product").label("cls"), m.ProductRow.search_text).where(
        m.ProductRow.search_text.like(pattern, escape="\\"))
    hits = []
    for kind, entry_id, name, cls, search_text in session.execute(union_all(substances, products)):
        best = None
        for term in search_text.split("\n"):
            rank = _rank(term, key)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, term)
        if best is not None:
            hits.append(SearchHit(kind, entry_id, name, cls, best[1], best[0]))
    hits.sort(key=lambda h: (h.rank, 0 if h.kind == "substance" else 1, h.id))
    return hits[:limit]


def _rank(term: str, key: str) -> int | None:
    if term == key:
        return 0
    if term.startswith(key):
        return 1
    if ("-" + key) in term:
        return 2
    if key in term:
        return 3
    return None
