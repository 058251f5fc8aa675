"""Fit for the indication: each ingredient is a recorded principal or complementary ingredient
for it, an adjunct (a class the catalogue's [[adjunct_class]] rules name: anaesthetic, vehicle,
buffer...), or has no recorded reason to be there."""

from __future__ import annotations

from collections.abc import Iterator

from mesocli.domain.model import Fit
from mesocli.domain.rules.base import Check, Context, Finding, Item, NoParams, finding_on, no_params


def adjunct_classes(catalogue) -> frozenset[str]:  # type: ignore[no-untyped-def]
    """The classes the catalogue's [[adjunct_class]] rules name (data/clinical.toml)."""
    return frozenset(rule.scope.ref for rule in catalogue.rules_by_kind.get("adjunct_class", ())
                     if rule.scope.ref is not None)


def item_fits(catalogue, indication_id: str, item: Item) -> list[Fit]:  # type: ignore[no-untyped-def]
    """The indication's fits that name the item's product or one of its actives."""
    indication = catalogue.indications[indication_id]
    actives = {c.substance for c in item.components if c.role == "active"}
    return [f for f in indication.fits
            if (item.product is not None and f.target == item.product.id) or f.target in actives]


def is_adjunct(ctx: Context, item: Item) -> bool:
    """Whether the item's actives (or, with none, its components) are all adjuncts."""
    adjuncts = ctx.state.get("adjunct-classes")
    if adjuncts is None:
        adjuncts = ctx.state["adjunct-classes"] = adjunct_classes(ctx.cat)
    actives = [c for c in item.components if c.role == "active"] or list(item.components)
    return all(ctx.cat.substances[c.substance].cls in adjuncts for c in actives)


def evaluate(ctx: Context) -> Iterator[Finding]:
    indication_id = ctx.options.indication
    if indication_id is None:
        return
    indication = ctx.cat.indications[indication_id]
    for item in ctx.items:
        fits = item_fits(ctx.cat, indication_id, item)
        if fits:
            best = min(fits, key=lambda f: 0 if f.fit == "principal" else 1)
            yield finding_on(best.provenance, "info", "fit", item.subject, indication_id,
                             f"{ctx.name(item)}: {best.fit} ingredient for {indication.name} "
                             f"(evidence: {best.provenance.evidence}).")
        elif not is_adjunct(ctx, item):
            yield finding_on(indication.provenance, "caution", "fit", item.subject, indication_id,
                             f"{ctx.name(item)} has no recorded fit for {indication.name}.",
                             "Leave it out, or record why it is used.")


CHECK = Check("fit", "request", evaluate)
# [[adjunct_class]]: an ingredient whose actives all belong to the class needs no recorded fit.
ADJUNCT = Check("adjunct_class", None, None, params=NoParams, read=no_params, scoped=True)
