"""Fit for the indication: each ingredient is a recorded principal or complementary ingredient
for it, an adjunct (anaesthetic, vehicle, buffer...), or has no recorded reason to be there."""

from __future__ import annotations

from collections.abc import Iterator

from mesocli.domain.model import Fit
from mesocli.domain.rules.base import Check, Context, Finding, Item, cited

ADJUNCT_CLASSES = frozenset({"local-anaesthetic", "vehicle", "buffer", "preservative",
                             "antioxidant-excipient", "chelating-agent", "stabiliser"})


def item_fits(catalogue, indication_id: str, item: Item) -> list[Fit]:  # type: ignore[no-untyped-def]
    """The indication's fits that name the item's product or one of its actives."""
    indication = catalogue.indications[indication_id]
    actives = {c.substance for c in item.components if c.role == "active"}
    return [f for f in indication.fits
            if (item.product is not None and f.target == item.product.id) or f.target in actives]


def is_adjunct(ctx: Context, item: Item) -> bool:
    actives = [c for c in item.components if c.role == "active"] or list(item.components)
    return all(ctx.cat.substances[c.substance].cls in ADJUNCT_CLASSES for c in actives)


def evaluate(ctx: Context) -> Iterator[Finding]:
    indication_id = ctx.options.indication
    if indication_id is None:
        return
    indication = ctx.cat.indications[indication_id]
    for item in ctx.items:
        fits = item_fits(ctx.cat, indication_id, item)
        if fits:
            best = min(fits, key=lambda f: 0 if f.fit == "principal" else 1)
            yield Finding("info", "fit", item.subject, indication_id,
                          f"{ctx.name(item)}: {best.fit} ingredient for {indication.name} "
                          f"(evidence: {best.provenance.evidence}).",
                          cited(best.provenance), best.provenance.evidence)
        elif not is_adjunct(ctx, item):
            yield Finding("caution", "fit", item.subject, indication_id,
                          f"{ctx.name(item)} has no recorded fit for {indication.name}.",
                          cited(indication.provenance), indication.provenance.evidence,
                          "Leave it out, or record why it is used.")


CHECK = Check("fit", "request", evaluate)
