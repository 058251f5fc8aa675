"""Incompatibilities: ingredient ``a`` must not share a syringe with ``b`` (an ingredient, a
``class:<class>`` or ``*`` for anything)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mesocli.domain.model import Rule
from mesocli.domain.rules.base import Check, Context, Finding, Item, finding_of
from mesocli.domain.rules.purpose_conflict import syringes


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


def refs(ctx: Context, item: Item) -> frozenset[str]:
    """What an incompatibility can name in ``item``: its product, substances and their classes."""
    found = set(item.sids) | {f"class:{c}" for c in ctx.classes(item)}
    if item.product is not None:
        found.add(item.product.id)
    return frozenset(found)


def evaluate(ctx: Context) -> Iterator[Finding]:
    by_a = ctx.cat.rules_by_trigger
    for members in syringes(ctx.items):
        if len(members) == 1:
            continue
        named = [(item, refs(ctx, item)) for item in members]
        for item, mine in named:
            as_a = sorted({rule.id: rule for ref in mine
                           for rule in by_a.get(("incompatibility", "a", ref), ())}.items())
            if not as_a:
                continue
            for other, theirs in named:
                if other is item or other.subject == item.subject:
                    continue
                for _, rule in as_a:
                    if rule.params.b == "*" or rule.params.b in theirs:
                        yield finding_of(rule, "incompatibility", item.subject, other.subject)


CHECK = Check("incompatibility", "request", evaluate, params=Params, read=read,
              columns={"a": "a_ref", "b": "b_ref"}, references=references, triggers=triggers)
