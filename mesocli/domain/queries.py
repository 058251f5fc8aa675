"""Listing queries over the loaded catalogue, answered from its index."""

from __future__ import annotations

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.model import Product, Substance
from mesocli.errors import UnknownTermError


def list_substances(cat: Catalogue, *, cls: str | None = None, indication: str | None = None) -> list[Substance]:
    items = sorted(cat.substances.values(), key=lambda s: s.id)
    if cls is not None:
        classes = sorted({s.cls for s in cat.substances.values()})
        if cls not in classes:
            from difflib import get_close_matches

            raise UnknownTermError("class", cls, get_close_matches(cls, classes, n=3))
        members = set(cat.class_members.get(cls, ()))
        items = [s for s in items if s.id in members]
    if indication is not None:
        ind = cat.indications[cat.resolve_indication(indication).id]
        targets = {f.target for f in ind.fits}
        for f in ind.fits:
            if f.target in cat.products:
                targets.update(c.substance for c in cat.products[f.target].actives())
        items = [s for s in items if s.id in targets]
    return items


def list_products(cat: Catalogue, *, substance: str | None = None) -> list[Product]:
    if substance is None:
        return sorted(cat.products.values(), key=lambda p: p.id)
    sid = cat.resolve("substance", ("substance",), substance).id
    return [cat.products[pid] for pid in sorted(cat.products_by_substance.get(sid, ()))]
