"""What the catalogue does not know about a checked item: no source, an active of unknown
strength, an unknown market status. Unknown is never "ok": each gets a finding that names what
is unknown, marked as not assessed, and the verdict says that not everything could be assessed.

The severity, message and advice of each come from one rule of its own kind in the catalogue
(data/clinical.toml), as the market-status wording does. An unknown vehicle has its own
finding (:mod:`mesocli.domain.rules.regulatory`).
"""

from __future__ import annotations

from collections.abc import Iterator

from mesocli.domain.model import Product, Substance
from mesocli.domain.rules.base import Check, Context, Finding, Item, NoParams, finding_on, no_params, wording

# what is unknown -> the rule kind that words its finding (data/clinical.toml)
KINDS = {"source": "unknown_source", "strength": "unknown_strength", "status": "unknown_status"}


def _entry(ctx: Context, item: Item) -> Product | Substance:
    return item.product if item.product is not None else ctx.cat.substances[item.subject]


def evaluate(ctx: Context) -> Iterator[Finding]:
    seen: set[str] = set()
    for item in ctx.items:
        entry = _entry(ctx, item)
        first = entry.id not in seen
        seen.add(entry.id)
        if first and (not entry.provenance.sources or entry.provenance.evidence == "unsourced"):
            rule = wording(ctx.cat, KINDS["source"])
            yield finding_on(entry.provenance, rule.severity, "evidence", item.subject, "unsourced",
                             rule.message.format(name=entry.name), rule.advice, unassessed="source")
        if first and entry.status == "unknown":
            rule = wording(ctx.cat, KINDS["status"])
            yield finding_on(entry.provenance, rule.severity, "regulatory", item.subject, "unknown-status",
                             rule.message.format(name=entry.name), rule.advice, unassessed="market status")
        # A product's strength is the catalogue's; a hand-mixed substance's is the request's, and
        # matters once there is a volume to dose.
        if item.product is None and item.volume is None:
            continue
        for component in item.components:
            if component.role != "active" or component.concentration is not None:
                continue
            substance = ctx.cat.substances[component.substance]
            rule = wording(ctx.cat, KINDS["strength"])
            yield finding_on(entry.provenance, rule.severity, "dose", item.subject, substance.id,
                             rule.message.format(name=entry.name, substance=substance.name), rule.advice,
                             unassessed=f"strength of {substance.name}")


CHECK = Check("unknowns", "request", evaluate)
# The rules that word these findings: one of each, with a message template and no other parameters.
WORDING = tuple(Check(kind, None, None, params=NoParams, read=no_params) for kind in KINDS.values())
