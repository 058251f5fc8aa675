"""Vehicle rules: what the catalogue says of products with an oily or alcoholic vehicle."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mesocli.domain.model import Rule
from mesocli.domain.rules.base import Check, Context, Finding, finding_of

VEHICLES = frozenset(["oily", "alcoholic", "gel"])  # aqueous needs no rule; unknown has its own finding


@dataclass(frozen=True, slots=True)
class Params:
    vehicle: str


def read(row: Any) -> Params:
    return Params(row.choice("vehicle", VEHICLES))


def triggers(rule: Rule) -> Iterator[tuple[str, str | None]]:
    yield "vehicle", rule.params.vehicle


def evaluate(ctx: Context) -> Iterator[Finding]:
    for item in ctx.items:
        product = item.product
        if product is None:
            continue
        for rule in ctx.cat.rules_by_trigger.get(("vehicle_rule", "vehicle", product.vehicle), ()):
            vehicle = rule.params.vehicle
            yield finding_of(rule, "vehicle", item.subject, vehicle,
                             f"{product.name} has an {vehicle} vehicle. {rule.message}")


CHECK = Check("vehicle_rule", "status", evaluate, params=Params, read=read, columns={"vehicle": "vehicle"},
              triggers=triggers, reads=frozenset())
