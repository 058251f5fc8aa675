"""Market status and labelling: withdrawn, cosmetic-only or unapproved ingredients; a product
whose vehicle is not recorded; a product used outside the areas it is labelled for. The same
for every patient, so a screen reports it only when asked."""

from __future__ import annotations

from collections.abc import Iterator

from mesocli.domain.model import Product, Substance
from mesocli.domain.rules.base import Check, Context, Finding, Item, cited

FLAGGED = ("withdrawn", "cosmetic-only", "unapproved")


def statuses(cat, item: Item) -> list[tuple[str, Substance | Product]]:  # type: ignore[no-untyped-def]
    """The item's flagged statuses, each with the product or substance it belongs to, once each."""
    found: list[tuple[str, Substance | Product]] = []
    if item.product is not None and item.product.status in FLAGGED:
        found.append((item.product.status, item.product))
    for component in item.components:
        substance = cat.substances[component.substance]
        status = substance.status
        if status not in FLAGGED:
            status = "cosmetic-only" if not substance.injectable else ""
        if status and all(status != s for s, _ in found):
            found.append((status, substance))
    return found


def _status_finding(item: Item, status: str, entry: Substance | Product) -> Finding:
    texts = {
        "withdrawn": ("contraindicated", f"{entry.name} has been withdrawn from the market.",
                      "Do not use; pick a current product in the same role."),
        "cosmetic-only": ("contraindicated",
                          f"{entry.name} has no injectable form; it is for topical cosmetic use only.",
                          "Do not inject topical or cosmetic-grade products."),
        "unapproved": ("caution", f"{entry.name} has no approved injectable product.",
                       "Use only a sterile product with instructions for injection."),
    }
    severity, message, advice = texts[status]
    if entry.notes:
        message += f" {entry.notes}"
    return Finding(severity, "regulatory", item.subject, status, message,
                   cited(entry.provenance), entry.provenance.evidence, advice)


def evaluate(ctx: Context) -> Iterator[Finding]:
    area = ctx.options.area
    for item in ctx.items:
        for status, entry in statuses(ctx.cat, item):
            yield _status_finding(item, status, entry)
        product = item.product
        if product is None:
            continue
        if product.vehicle == "unknown":
            yield Finding(
                "caution", "vehicle", item.subject, "unknown-vehicle",
                f"The vehicle of {product.name} is not recorded in the catalogue; an oily or "
                "alcoholic vehicle must not be injected.",
                cited(product.provenance), product.provenance.evidence,
                "Confirm from the label that it is an aqueous solution before injecting it.")
        if area and product.areas and area not in product.areas:
            yield Finding(
                "caution", "regulatory", item.subject, area,
                f"{product.name} is labelled for {', '.join(product.areas)} only; use in the {area} area is off-label.",
                cited(product.provenance), product.provenance.evidence,
                "Use an ingredient labelled for this area, or document the off-label use.")


CHECK = Check("regulatory", "status", evaluate)
