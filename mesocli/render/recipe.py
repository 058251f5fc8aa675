"""Recipe output: the JSON contract, the human table, the markdown recipe card, --explain."""

from __future__ import annotations

from typing import Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.formulate import Recipe
from mesocli.render.check_view import patient_line
from mesocli.render.documents import DISCLAIMER, envelope, finding_document
from mesocli.render.human import Printer
from mesocli.units import format_quantity, to_json


def _q(quantity: Any) -> dict[str, Any] | None:
    return to_json(quantity) if quantity is not None else None


def recipe_document(recipe: Recipe, cat: Catalogue) -> dict[str, Any]:
    protocol = recipe.protocol
    proto: dict[str, Any] = {}
    if protocol is not None:
        proto = {
            "technique": protocol.technique,
            "depth": {"min": _q(protocol.depth_min), "max": _q(protocol.depth_max)},
            "sessions": {"min": protocol.sessions_min, "max": protocol.sessions_max},
            "interval": {"min": _q(protocol.interval_min), "max": _q(protocol.interval_max)},
            "needle": protocol.needle,
            "spacing": _q(protocol.spacing),
            "volume_per_point": _q(protocol.volume_per_point),
            "evidence": protocol.provenance.evidence,
            "sources": protocol.provenance.cited(),
        }
        if recipe.syringes:
            points = sum(s.points or 0 for s in recipe.syringes)
            proto["points"] = points or None
    syringes = []
    for syringe in recipe.syringes:
        syringes.append({
            "components": [
                {
                    "id": c.product.id,
                    "name": c.product.name,
                    "volume": to_json(c.volume),
                    "purpose": c.purpose,
                    "reason": c.reason,
                    "local": c.product.local,
                    "substances": [
                        {"id": s.id, "name": s.name, "role": s.role, "concentration": _q(s.concentration),
                         "amount": _q(s.amount), "final_concentration": _q(s.final_concentration)}
                        for s in c.substances
                    ],
                }
                for c in syringe.components
            ],
            "total_volume": to_json(syringe.total_volume),
            "points": syringe.points,
            "volume_per_point": _q(syringe.volume_per_point),
        })
    return envelope(
        "recipe",
        status=recipe.status,
        indication=recipe.indication,
        area=recipe.area,
        syringes=syringes,
        protocol=proto,
        findings=[finding_document(f) for f in recipe.findings],
        excluded=[{"id": e.id, "reason": e.reason, "trigger": e.trigger} for e in recipe.excluded],
        reasons=list(recipe.reasons),
        treatment_area=_q(recipe.treatment_area),
        use_by=recipe.use_by,
        explain=list(recipe.explanations),
        disclaimer=DISCLAIMER,
    )


def render_recipe(p: Printer, recipe: Recipe, cat: Catalogue, *, explain: bool = False) -> None:
    indication = cat.indications[recipe.indication]
    p.heading(f"meso build: {indication.name}" + (f", {recipe.area}" if recipe.area else ""))
    p.line(_patient(recipe))
    p.line()
    if recipe.status == "refused":
        p.severity("contraindicated", "REFUSED: meso will not print a recipe for this patient.")
        for reason in recipe.reasons:
            p.line(f"  - {reason}")
        _exclusions(p, recipe)
        p.line()
        p.note(DISCLAIMER)
        return
    for number, syringe in enumerate(recipe.syringes, 1):
        rows = []
        for c in syringe.components:
            subs = "; ".join(
                f"{s.name} {format_quantity(s.concentration)} -> {format_quantity(s.amount)}"
                if s.amount is not None else f"{s.name} (concentration unknown)"
                for s in c.substances if s.role == "active")
            rows.append([c.product.id + (" (local)" if c.product.local else ""), format_quantity(c.volume),
                         c.purpose, subs])
        title = f"Syringe {number}: {format_quantity(syringe.total_volume)}"
        if syringe.points:
            title += f", {syringe.points} points x {format_quantity(syringe.volume_per_point)}"
        p.table(["Product", "Volume", "Purpose", "Actives (stock -> amount)"], rows, title=title)
        for c in syringe.components:
            p.line(f"  {c.product.id}: {c.reason}")
        p.line()
    _protocol(p, recipe)
    if recipe.use_by:
        p.field("Use the mixed cocktail within", recipe.use_by)
    if recipe.reasons:
        p.line()
        p.line("Choices", style="bold")
        for reason in recipe.reasons:
            p.line(f"  - {reason}")
    _exclusions(p, recipe)
    cautions = [f for f in recipe.findings if f.severity != "info"]
    if cautions:
        p.line()
        p.line(f"Cautions ({len(cautions)})", style="bold")
        for f in cautions:
            p.severity(f.severity, f"{f.subject}: {f.message}")
    if explain:
        p.line()
        p.line("Arithmetic", style="bold")
        for line in recipe.explanations:
            p.line(f"  {line}")
    p.line()
    p.note(DISCLAIMER)


def depth_text(pr: Any) -> str | None:
    """The injection depth as recorded: a range, or only the bound the sources give."""
    if pr.depth_min and pr.depth_max:
        return f"{format_quantity(pr.depth_min)} - {format_quantity(pr.depth_max)}"
    if pr.depth_max:
        return f"up to {format_quantity(pr.depth_max)}"
    if pr.depth_min:
        return f"at least {format_quantity(pr.depth_min)}"
    return None


def _patient(recipe: Recipe) -> str:
    from mesocli.domain.engine import CheckResult

    return patient_line(CheckResult("ok", (), patient=recipe.patient))


def _protocol(p: Printer, recipe: Recipe) -> None:
    pr = recipe.protocol
    if pr is None:
        p.field("Protocol", "none recorded for this indication and area")
        return
    p.field("Technique", pr.technique)
    p.field("Depth", depth_text(pr))
    p.field("Needle", pr.needle)
    if pr.sessions_min:
        p.field("Sessions", f"{pr.sessions_min}-{pr.sessions_max}")
    if pr.interval_min:
        p.field("Interval", f"{format_quantity(pr.interval_min)}"
                + (f" - {format_quantity(pr.interval_max)}" if pr.interval_max else ""))
    p.field("Protocol evidence", pr.provenance.evidence)


def _exclusions(p: Printer, recipe: Recipe) -> None:
    if recipe.excluded:
        p.line()
        p.line(f"Excluded ({len(recipe.excluded)})", style="bold")
        for e in recipe.excluded:
            p.line(f"  - {e.id}: {e.reason} [trigger: {e.trigger}]")


def recipe_markdown(recipe: Recipe, cat: Catalogue) -> str:
    """A printable recipe card a clinic can file."""
    indication = cat.indications[recipe.indication]
    lines = [f"# Mesotherapy recipe card: {indication.name}", ""]
    lines += [f"- **Indication:** {indication.name} (`{recipe.indication}`)",
              f"- **Area:** {recipe.area or 'not given'}",
              f"- **{_patient(recipe)}**", f"- **Status:** {recipe.status}", ""]
    if recipe.status == "refused":
        lines += ["## Refused", ""] + [f"- {r}" for r in recipe.reasons] + [""]
    for number, syringe in enumerate(recipe.syringes, 1):
        lines += [f"## Syringe {number} ({format_quantity(syringe.total_volume)})", "",
                  "| Product | Volume | Substance | Role | Stock | Amount |",
                  "|---|---|---|---|---|---|"]
        for c in syringe.components:
            for s in c.substances:
                lines.append(f"| {c.product.name} | {format_quantity(c.volume)} | {s.name} | {s.role} | "
                             f"{format_quantity(s.concentration) if s.concentration is not None else 'unknown'} | "
                             f"{format_quantity(s.amount) if s.amount is not None else 'unknown'} |")
        if syringe.points:
            lines += ["", f"Points: {syringe.points} x {format_quantity(syringe.volume_per_point)}"]
        lines.append("")
    pr = recipe.protocol
    if pr is not None and recipe.status == "ok":
        lines += ["## Protocol", "", f"- Technique: {pr.technique}"]
        if depth_text(pr):
            lines.append(f"- Depth: {depth_text(pr)}")
        if pr.needle:
            lines.append(f"- Needle: {pr.needle}")
        if pr.sessions_min:
            lines.append(f"- Sessions: {pr.sessions_min}-{pr.sessions_max}")
        if pr.interval_min:
            lines.append(f"- Interval: at least {format_quantity(pr.interval_min)}")
        if recipe.use_by:
            lines.append(f"- Use the mixed cocktail within {recipe.use_by}")
        lines.append("")
    if recipe.findings:
        lines += ["## Findings", ""]
        lines += [f"- **{f.severity}** ({f.kind}) {f.subject}: {f.message}" for f in recipe.findings]
        lines.append("")
    if recipe.excluded:
        lines += ["## Excluded", ""] + [f"- `{e.id}`: {e.reason}" for e in recipe.excluded] + [""]
    if recipe.sources:
        lines += ["## Sources", ""] + [f"- {s}" for s in recipe.sources] + [""]
    lines += ["---", "", f"_{DISCLAIMER}_", "", "Prepared by: ____________  Checked by: ____________", ""]
    return "\n".join(lines)
