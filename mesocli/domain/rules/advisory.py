"""Advisories: a standing note on every ingredient in the rule's scope, whoever the patient is.

Some facts about an ingredient matter whenever it is used, not because of anything recorded
about the patient: biotin, for one, makes some laboratory immunoassays read falsely high or
falsely low, so a patient given it should say so before any blood test. An advisory fires
whenever an ingredient in its scope is in a check or a recipe.

An advisory is never a contraindication (its reader refuses one): a rule that fires for every
patient would forbid the ingredient outright, which is a market-status fact, not an advisory.
It runs for a request (ingredients, a recipe, a build), never in a screen, where it would be
the same note on every product that holds the substance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mesocli.domain.rules.base import PROCEDURE, Check, Context, Finding, NoParams

SEVERITIES = ("caution", "info")


def read(row: Any) -> NoParams:
    if row.data.get("severity") not in SEVERITIES:
        raise row.fail('an advisory must have severity = "caution" or "info"')
    if row.data.get("procedure"):
        raise row.fail("an advisory concerns a class, a substance or a product, not the whole procedure")
    return NoParams()


def evaluate(ctx: Context) -> Iterator[Finding]:
    for rule in ctx.rules("advisory"):
        if rule.scope.kind != PROCEDURE:  # refused when read; a clinic database is read the same way
            yield from ctx.scoped(rule, "advisory", rule.scope.ref or rule.scope.kind)


CHECK = Check("advisory", "request", evaluate, params=NoParams, read=read, scoped=True)
