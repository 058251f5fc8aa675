"""Market status and labelling: withdrawn, cosmetic-only or unapproved ingredients; a product
whose vehicle is not recorded; a product used outside the areas it is labelled for. The same
for every patient, so a screen reports it only when asked. The severity, message and advice of
each come from one rule of its own kind in the catalogue (data/clinical.toml)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mesocli.domain.model import Component, Product, Substance
from mesocli.domain.rules.base import Check, Context, Finding, Item, NoParams, finding_on, no_params, wording

FLAGGED = ("withdrawn", "cosmetic-only", "unapproved")


def statuses(cat, item: Item) -> tuple[tuple[str, Substance | Product], ...]:  # type: ignore[no-untyped-def]
    """The item's flagged statuses, each with the product or substance it belongs to, once each."""
    if item.product is not None and item.components is item.product.components:
        return cat.product_statuses.get(item.product.id, ())  # type: ignore[no-any-return]
    return tuple(statuses_of(cat, item.product, item.components))


def statuses_of(cat, product: Product | None,  # type: ignore[no-untyped-def]
                components: Iterable[Component]) -> list[tuple[str, Substance | Product]]:
    found: list[tuple[str, Substance | Product]] = []
    if product is not None and product.status in FLAGGED:
        found.append((product.status, product))
    for component in components:
        substance = cat.substances[component.substance]
        status = substance.status
        if status not in FLAGGED:
            status = "cosmetic-only" if not substance.injectable else ""
        if status and all(status != s for s, _ in found):
            found.append((status, substance))
    return found


# status -> the rule kind that words its finding (data/clinical.toml)
STATUS_KINDS = {"withdrawn": "status_withdrawn", "cosmetic-only": "status_cosmetic_only",
                "unapproved": "status_unapproved"}


def _status_finding(cat, item: Item, status: str, entry: Substance | Product) -> Finding:  # type: ignore[no-untyped-def]
    rule = wording(cat, STATUS_KINDS[status])
    message = rule.message.format(name=entry.name)
    if entry.notes:
        message += f" {entry.notes}"
    return finding_on(entry.provenance, rule.severity, "regulatory", item.subject, status, message, rule.advice)


def evaluate(ctx: Context) -> Iterator[Finding]:
    area = ctx.options.area
    for item in ctx.items:
        for status, entry in statuses(ctx.cat, item):
            yield _status_finding(ctx.cat, item, status, entry)
        product = item.product
        if product is None:
            continue
        if product.vehicle == "unknown":
            rule = wording(ctx.cat, "vehicle_unknown")
            yield finding_on(product.provenance, rule.severity, "vehicle", item.subject, "unknown-vehicle",
                             rule.message.format(name=product.name), rule.advice, unassessed="vehicle")
        if area and product.areas and area not in product.areas:
            rule = wording(ctx.cat, "off_label")
            yield finding_on(product.provenance, rule.severity, "regulatory", item.subject, area,
                             rule.message.format(name=product.name, areas=", ".join(product.areas), area=area),
                             rule.advice)


CHECK = Check("regulatory", "status", evaluate, reads=frozenset())  # the same for every patient
# The rules that word these findings: one of each, with a message template and no other parameters.
WORDING = tuple(Check(kind, None, None, params=NoParams, read=no_params)
                for kind in (*STATUS_KINDS.values(), "vehicle_unknown", "off_label"))
