"""Incompatibilities: ingredient ``a`` must not share a syringe with ``b`` (an ingredient, a
``class:<class>`` or ``*`` for anything)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mesocli.domain.model import Rule
from mesocli.domain.rules.base import Check, Context, Finding, Item, finding_of


@dataclass(frozen=True, slots=True)
class Params:
    a: str
    b: str


def read(row: Any) -> Params:
    return Params(row.ref("a"), row.ref("b", allow_any=True))


def references(params: Params) -> Iterator[tuple[str, str]]:
    for ref in (params.a, params.b):
        if ref != "*":
            yield "ingredient", ref


def triggers(rule: Rule) -> Iterator[tuple[str, str | None]]:
    yield "a", rule.params.a


def refs_of(product_id: str | None, sids: Iterable[str], classes: Iterable[str]) -> frozenset[str]:
    """What an incompatibility can name in an item: its product, substances and their classes."""
    found = set(sids) | {f"class:{c}" for c in classes}
    if product_id is not None:
        found.add(product_id)
    return frozenset(found)


def as_a(catalogue, refs: frozenset[str]) -> tuple[Rule, ...]:  # type: ignore[no-untyped-def]
    """The incompatibility rules whose ``a`` is one of ``refs``, in catalogue order."""
    by_a = catalogue.rules_by_trigger
    return tuple(rule for _, rule in sorted({rule.id: rule for ref in refs
                                             for rule in by_a.get(("incompatibility", "a", ref), ())}.items()))


def _holds(ctx: Context, item: Item, ref: str) -> bool:
    """Whether ``item`` is, holds or holds a member of ``ref`` (a product or substance id, or
    ``class:<class>``): whether ``ref`` is among its :func:`refs_of`."""
    if ref.startswith("class:") and ref[len("class:"):] in ctx.classes(item):
        return True
    return ref in item.sids or (item.product is not None and item.product.id == ref)


def _as_a(ctx: Context, item: Item) -> tuple[Rule, ...]:
    if item.product is not None and item.components is item.product.components:
        return ctx.cat.product_incompatible_as_a.get(item.product.id, ())  # type: ignore[no-any-return]
    if item.product is None and len(item.sids) == 1:  # a lone substance: it and its class, from the index
        return ctx.cat.substance_incompatible_as_a.get(item.sids[0], ())  # type: ignore[no-any-return]
    return as_a(ctx.cat, refs_of(item.product.id if item.product is not None else None, item.sids,
                                 ctx.classes(item)))


def evaluate(ctx: Context) -> Iterator[Finding]:
    for members in ctx.syringes():
        if len(members) == 1:
            continue
        ruled = [(item, _as_a(ctx, item)) for item in members]
        if not any(rules for _, rules in ruled):
            continue  # nothing in this syringe is the ``a`` of a rule
        for item, rules in ruled:
            if not rules:
                continue
            for other in members:
                if other is item or other.subject == item.subject:
                    continue
                for rule in rules:
                    if rule.params.b == "*" or _holds(ctx, other, rule.params.b):
                        yield finding_of(rule, "incompatibility", item.subject, other.subject)


CHECK = Check("incompatibility", "request", evaluate, params=Params, read=read,
              columns={"a": "a_ref", "b": "b_ref"}, references=references, triggers=triggers)
