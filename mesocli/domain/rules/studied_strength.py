"""Studied strength: a principal active of the indication that ends, in its mixed syringe, weaker
than the final concentration its sources studied.

The strength studied is the fit's ``final_concentration`` (data/indications.toml: set only where
a source gives the concentration injected). Mixing dilutes every product in a syringe, so a stock
already at that strength is below it as soon as anything else is drawn up with it, and a weaker
solution is outside the evidence the catalogue records for that use. The formulator avoids it
(see ``formulate._keep_studied_strength``); this check says so wherever it still happens, in a
build or in a recipe given to ``meso check``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mesocli.domain.dosing import strength_in, syringe_parts
from mesocli.domain.model import Fit
from mesocli.domain.rules.base import Check, Context, Finding, Item, finding_on
from mesocli.units import canonical, format_quantity, format_value

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.domain.catalogue import Catalogue

ADVICE = ("Draw it up with less of the other products (or none), or use a stronger stock, so it is "
          "injected at the studied strength.")


def holds_to_strength(catalogue: Catalogue, fit: Fit) -> bool:
    """Whether ``fit`` sets a strength to keep: a principal fit of a substance with a studied final
    concentration. A fit that names a product rather than a substance is left out: its
    concentration would not say which of the product's substances it concerns."""
    return fit.fit == "principal" and fit.final_concentration is not None and fit.target in catalogue.substances


def studied_strengths(catalogue: Catalogue, indication_id: str) -> dict[str, Fit]:
    """The indication's fits that set a strength to keep (:func:`holds_to_strength`), by substance."""
    found: dict[str, Fit] = {}
    for fit in catalogue.indications[indication_id].fits:
        if holds_to_strength(catalogue, fit):
            found.setdefault(fit.target, fit)
    return found


def below_studied(strength: float, fit: Fit) -> bool:
    """Whether ``strength`` (in the unit of the fit's final concentration) is below it, compared
    as settled numbers in canonical units (see "canonical numbers" in :mod:`mesocli.units`)."""
    studied = fit.final_concentration
    assert studied is not None
    return canonical(strength, studied.unit) < studied.canonical


def message(catalogue: Catalogue, indication_id: str, sid: str, strength: float, fit: Fit, number: int) -> str:
    """The finding's text: the strength reached in the syringe and the strength studied."""
    studied = fit.final_concentration
    assert studied is not None
    return (f"{catalogue.substances[sid].name} ends at {format_value(strength, studied.unit)} in syringe {number}, "
            f"below the {format_quantity(studied)} studied for {catalogue.indications[indication_id].name}: "
            "the strength at which the catalogue's sources injected it.")


def evaluate(ctx: Context) -> Iterator[Finding]:
    indication_id = ctx.options.indication
    if indication_id is None:
        return
    studied = studied_strengths(ctx.cat, indication_id)
    if not studied:
        return
    by_syringe: dict[int, list[Item]] = {}
    for item in ctx.items:
        by_syringe.setdefault(item.syringe, []).append(item)
    for number, syringe in sorted(by_syringe.items()):
        present = sorted({sid for item in syringe for sid in item.sids if sid in studied})
        if not present:
            continue
        parts = syringe_parts(syringe)
        for sid in present:
            fit = studied[sid]
            assert fit.final_concentration is not None
            strength = strength_in(parts, sid, fit.final_concentration.unit)
            if strength is None or not below_studied(strength, fit):
                continue  # unknown (a volume or concentration not given), or at the studied strength
            text = message(ctx.cat, indication_id, sid, strength, fit, number)
            for item in syringe:
                if sid in item.sids:
                    yield finding_on(fit.provenance, "caution", "dose", item.subject, sid, text, ADVICE)


CHECK = Check("studied_strength", "quantities", evaluate)
