"""What goes in one syringe: no more products than the limit, and a product labelled "do not
admix" alone."""

from __future__ import annotations

from collections.abc import Iterator

from mesocli.domain.model import Provenance
from mesocli.domain.rules.base import Check, Context, Finding, finding_on


def evaluate(ctx: Context) -> Iterator[Finding]:
    limit = ctx.options.max_products
    for members in ctx.syringes():
        distinct = list(dict.fromkeys([i.subject for i in members]))
        if len(distinct) > limit:
            default = ctx.cat.default("max-products-per-syringe")
            prov = default.provenance if default else Provenance("expert")
            yield finding_on(
                prov, "caution", "incompatibility", distinct[limit], "max-products-per-syringe",
                f"{len(distinct)} ingredients in one syringe exceeds the limit of {limit}.",
                "Split the cocktail across syringes, or raise the limit deliberately.")
        for item in members:
            if item.product is None or not item.product.do_not_admix:
                continue
            others = [o for o in members if o is not item and o.subject != item.subject]
            if others:
                yield finding_on(
                    item.product.provenance, "contraindicated", "incompatibility", item.subject, others[0].subject,
                    f"{item.product.name} must not be mixed with other products "
                    f"(here: {', '.join(o.subject for o in others)}).",
                    "Give it from its own syringe.")


CHECK = Check("syringe", "request", evaluate)
