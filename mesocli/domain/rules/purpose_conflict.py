"""Purpose conflicts: an ingredient that defeats an indication's purpose (reported as fit), or
one that must not be mixed with a class of ingredient in the same syringe (as incompatibility)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mesocli.domain.model import Rule
from mesocli.domain.rules.base import Check, Context, Finding, Item, finding_of


@dataclass(frozen=True, slots=True)
class Params:
    """Exactly one is set: the indication whose purpose the scope defeats, or the class of
    ingredient the scope must not share a syringe with."""

    indication: str | None = None
    target_class: str | None = None


def read(row: Any) -> Params:
    if row.data.get("indication"):
        return Params(indication=row.slug("indication"))
    if row.data.get("target_class"):
        return Params(target_class=row.slug("target_class"))
    raise row.fail("a purpose conflict needs 'indication' or 'target_class'")


def references(params: Params) -> Iterator[tuple[str, str]]:
    if params.indication is not None:
        yield "indication", params.indication


def triggers(rule: Rule) -> Iterator[tuple[str, str | None]]:
    if rule.params.indication is not None:
        yield "indication", rule.params.indication
    else:
        yield "targeted", None


def conflicts(ctx: Context, rule: Rule, items: Sequence[Item]) -> Iterator[tuple[str, Item | None]]:
    """The subjects ``rule`` concerns among ``items``, each with the item whose class it
    conflicts with (``None`` for an indication's conflict)."""
    params: Params = rule.params
    if params.indication is not None:
        if rule.scope.kind == "procedure":
            yield "procedure", None
            return
        for item in items:
            subject = ctx.matches(rule.scope, item)
            if subject is not None:
                yield subject, None
        return
    targets = [o for o in items if params.target_class in ctx.classes(o)]
    if not targets:
        return
    for item in items:
        subject = ctx.matches(rule.scope, item)
        if subject is not None and item not in targets:
            yield subject, targets[0]


def evaluate(ctx: Context) -> Iterator[Finding]:
    indication_id = ctx.options.indication
    if indication_id is not None:
        for rule in ctx.cat.rules_by_trigger.get(("purpose_conflict", "indication", indication_id), ()):
            yield from ctx.scoped(rule, "fit", indication_id)
    targeted = ctx.cat.rules_by_trigger.get(("purpose_conflict", "targeted", None), ())
    if not targeted:
        return
    for members in ctx.syringes():
        if len(members) == 1:
            continue  # a lone ingredient is mixed with nothing
        for rule in targeted:
            for subject, target in conflicts(ctx, rule, members):
                assert target is not None
                yield finding_of(rule, "incompatibility", subject, target.subject)


CHECK = Check("purpose_conflict", "request", evaluate, params=Params, read=read, scoped=True,
              columns={"indication": "indication_id", "target_class": "target_class"},
              references=references, triggers=triggers)
