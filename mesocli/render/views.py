"""Human views of catalogue documents (the dicts built in :mod:`mesocli.render.documents`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mesocli.render.human import Printer
from mesocli.units import Amount, format_number


def q(doc: dict[str, Any] | None) -> str:
    if not doc:
        return "unknown"
    return f"{format_number(doc['value'])} {doc['unit']}"


def sources(p: Printer, doc: dict[str, Any]) -> None:
    items = doc.get("sources") or []
    p.field("Evidence", doc.get("evidence"))
    if not items:
        p.line("  Source: none recorded (unsourced)")
    for s in items:
        title, url = s.get("title"), s.get("url")
        p.line(f"  - {title} <{url}>" if title and url else f"  - {title or url}")


def ingredient(p: Printer, doc: dict[str, Any]) -> None:
    p.heading(f"{doc['name']} ({doc['id']})")
    p.field("Type", doc["type"])
    if doc["type"] == "substance":
        p.field("Class", doc["class"])
        p.field("Usual role", doc["role"])
        p.field("Origin", doc.get("origin"))
        p.field("Status", doc["status"] + ("" if doc["injectable"] else " (no injectable form)"))
        p.field("UNII", doc.get("unii"))
        p.field("Aliases", doc.get("aliases"))
        if doc.get("iu_mass"):
            p.field("1 IU equals", q(doc["iu_mass"]))
        if doc.get("dose_as"):
            p.field("Dosed as", f"{doc['dose_as']} (its dose limits hold for the sum of every form)")
        p.field("Notes", doc.get("notes"))
        p.field("In products", doc.get("products"))
    else:
        product(p, doc, heading=False)
    p.field("Allergen groups", doc.get("allergen_groups") or ["none recorded"])
    sources(p, doc)
    if doc.get("indications"):
        p.line()
        p.table(["Indication", "Fit", "Evidence"],
                [[i["indication"], i["fit"], i["evidence"]] for i in doc["indications"]],
                title="Indications")
    if doc.get("rules"):
        p.line()
        p.table(["Severity", "Rule", "Scope", "Message"],
                [[r["severity"], _rule_label(r), r["scope"], r["message"]] for r in doc["rules"]],
                title="Rules that concern it")
    if doc.get("protocols"):
        p.line()
        protocols(p, doc["protocols"])


def _rule_label(rule: dict[str, Any]) -> str:
    for key in ("condition", "medication", "medication_class"):
        if key in rule:
            return f"{rule['kind']}: {rule[key]}"
    if rule["kind"] == "incompatibility":
        return f"do not mix {rule.get('a')} with {rule.get('b')}"
    if rule["kind"] == "dose_limit":
        return f"dose: {rule.get('dose_kind')}"
    return rule["kind"]


def product(p: Printer, doc: dict[str, Any], heading: bool = True) -> None:
    if heading:
        p.heading(f"{doc['name']} ({doc['id']})")
    p.field("Status", doc["status"] + (" (clinic-local)" if doc.get("local") else ""))
    p.field("Presentation", f"{'generic' if doc['generic'] else 'branded'}, {doc['dose']}-dose, "
            f"{doc['vehicle']} vehicle")
    p.field("pH", doc.get("ph"))
    if doc.get("container_volume"):
        p.field("Container", q(doc["container_volume"]))
    p.field("Do not admix", "yes: give from its own syringe" if doc["do_not_admix"] else None)
    p.field("On-label areas", doc.get("areas"))
    p.field("Notes", doc.get("notes"))
    p.table(["Substance", "Role", "Concentration"],
            [[f"{c['name']} ({c['id']})", c["role"], q(c["concentration"])] for c in doc["composition"]],
            title="Composition")
    if heading:
        sources(p, doc)


def protocols(p: Printer, items: Sequence[dict[str, Any]]) -> None:
    from mesocli.render.recipe import count_range, range_text

    rows = []
    for pr in items:
        depth = range_text(_amount(pr.get("depth_min")), _amount(pr.get("depth_max"))) or "unknown"
        sessions = count_range(pr.get("sessions_min"), pr.get("sessions_max")) or "unknown"
        interval = range_text(_amount(pr.get("interval_min")), _amount(pr.get("interval_max"))) or "unknown"
        rows.append([pr["indication"], pr["area"], pr["technique"] or "unknown", depth, sessions, interval])
    p.table(["Indication", "Area", "Technique", "Depth", "Sessions", "Interval"], rows, title="Protocols")


def _amount(doc: dict[str, Any] | None) -> Amount | None:
    return Amount(doc["value"], doc["unit"]) if doc else None


def group(p: Printer, doc: dict[str, Any]) -> None:
    p.heading(f"{doc['name']} ({doc['id']})")
    p.field("Aliases", doc.get("aliases"))
    p.field("Members", doc.get("members"))
    p.field("Source organisms", doc.get("origins"))
    p.field("Substances by origin", doc.get("substances_by_origin"))
    p.field("Allergy to one member means, for the others", doc["member_severity"])
    p.field("Products containing them", doc.get("products"))
    p.field("Notes", doc.get("notes"))
    sources(p, doc)
    if doc["cross_reactions"]:
        p.line()
        p.table(["Reaches", "Severity", "Why"],
                [[c["to"], c["severity"], c["message"]] for c in doc["cross_reactions"]],
                title="Cross-reactivity")


def indication(p: Printer, doc: dict[str, Any]) -> None:
    p.heading(f"{doc['name']} ({doc['id']})")
    p.field("Aliases", doc.get("aliases"))
    p.field("Areas", doc.get("areas"))
    p.field("Notes", doc.get("notes"))
    sources(p, doc)
    p.line()
    p.table(["Ingredient", "Fit", "Final concentration", "Evidence"],
            [[f["target"], f["fit"], q(f["final_concentration"]) if f["final_concentration"] else "as supplied",
              f["evidence"]] for f in doc["fits"]], title="Ingredients")
    undosable = [f for f in doc["fits"] if f.get("not_dosable_because")]
    if undosable:
        p.line()
        p.table(["Ingredient", "Why a build cannot dose it"],
                [[f["target"], f["not_dosable_because"]] for f in undosable], title="Not dosable")
    if doc["protocols"]:
        p.line()
        protocols(p, doc["protocols"])
