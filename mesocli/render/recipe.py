"""Recipe output: the JSON contract, the human table, the markdown recipe card, --explain."""

from __future__ import annotations

import datetime
import os
import re
from typing import Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.formulate import Recipe
from mesocli.render.check_view import patient_line
from mesocli.render.documents import DISCLAIMER, envelope, finding_document
from mesocli.render.human import Printer, visible
from mesocli.units import Amount, format_number, format_quantity, to_json


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
            "source_grades": protocol.provenance.grades(),
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
        plan=plan_document(recipe),
        refusal=refusal_document(recipe),
    )


def plan_document(recipe: Recipe) -> dict[str, Any] | None:
    """The session plan (JSON ``plan``): its basis, surface, points, volumes and the bound that decided."""
    plan = recipe.plan
    if plan is None:
        return None
    return {
        "basis": plan.basis,
        "surface": _q(plan.surface),
        "spacing": _q(plan.spacing),
        "points": plan.points,
        "volume_per_point": _q(plan.volume_per_point),
        "planned_volume": _q(plan.planned),
        "session_volume": _q(plan.session_volume),
        "decided_by": plan.decided_by,
        "capped": plan.capped,
        "max_session_volume": _q(plan.max_session_volume),
        "max_session_volume_bound": plan.max_bound,
        "bounds": [{"bound": b.name, "volume": to_json(Amount(b.ml, "mL")), "subject": b.subject,
                    "detail": b.detail} for b in plan.bounds],
        "notes": list(plan.notes),
    }


def refusal_document(recipe: Recipe) -> dict[str, Any] | None:
    """Why a build was refused (JSON ``refusal``): the kind of reason and its headline."""
    if recipe.status != "refused":
        return None
    return {"kind": recipe.refusal_kind or "patient", "message": _refusal_headline(recipe)}


def _refusal_headline(recipe: Recipe) -> str:
    from mesocli.domain.formulate import REFUSAL_HEADLINES

    kind = recipe.refusal_kind or "patient"
    headline = REFUSAL_HEADLINES.get(kind, "").split("{", 1)[0]
    found = next((r for r in recipe.reasons if headline and r.startswith(headline)), None)
    return found or (recipe.reasons[0] if recipe.reasons else kind)


PLAN_BASES = {
    "requested-volume": "the requested session volume (--volume)",
    "treatment-area": "the treated area (--treatment-area) at the protocol's spacing and volume per point",
    "protocol-session-volume": "the session volume of the protocol",
    "one-syringe": "a formula for one standard syringe (no source gives a session volume)",
}


def plan_lines(recipe: Recipe) -> list[tuple[str, str]]:
    """The plan as label and text pairs, for the human output and the card."""
    plan = recipe.plan
    if plan is None:
        return []
    rows = [("Planned from", PLAN_BASES.get(plan.basis, plan.basis)),
            ("Treated surface", format_quantity(plan.surface) if plan.surface is not None else "not given"),
            ("Spacing", format_quantity(plan.spacing) if plan.spacing is not None else "not recorded"),
            ("Points", str(plan.points) if plan.points is not None else "not planned (no volume per point recorded)"),
            ("Volume per point", format_quantity(plan.volume_per_point) if plan.volume_per_point is not None
             else "not recorded"),
            ("Session volume", format_quantity(plan.session_volume)),
            ("Decided by", plan.decided_by
             + (f" (capped from {format_quantity(plan.planned)})" if plan.capped else "")),
            ("Largest session volume", f"{format_quantity(plan.max_session_volume)} ({plan.max_bound}"
             + ("; only dose caps bound this session: no protocol, area or presentation bound is recorded)"
                if all(b.name == "dose-cap" for b in plan.bounds) else ")")
             if plan.max_session_volume is not None else "no sourced bound for this indication and area")]
    return rows


def render_recipe(p: Printer, recipe: Recipe, cat: Catalogue, *, explain: bool = False) -> None:
    indication = cat.indications[recipe.indication]
    p.heading(f"meso build: {indication.name}" + (f", {recipe.area}" if recipe.area else ""))
    p.line(_patient(recipe))
    p.line()
    if recipe.status == "refused":
        if recipe.refusal_kind == "evidence":
            p.line("REFUSED (missing evidence): no ingredient for this indication can be dosed from sourced "
                   "data, whatever the patient.", style="bold")
        elif recipe.refusal_kind in ("volume", "safety"):
            p.line("REFUSED: meso cannot print a safe, dosed recipe for this request.", style="bold")
        else:
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
            subs = "; ".join(_active_text(s) for s in c.substances if s.role == "active")
            rows.append([c.product.id + (" (local)" if c.product.local else ""), format_quantity(c.volume),
                         c.purpose, subs])
        title = f"Syringe {number}: {format_quantity(syringe.total_volume)}"
        if syringe.points:
            title += f", {syringe.points} points x {format_quantity(syringe.volume_per_point)}"
        p.table(["Product", "Volume", "Purpose", "Actives (stock -> amount, final)"], rows, title=title)
        for c in syringe.components:
            p.line(f"  {c.product.id}: {c.reason}")
        p.line()
    _plan(p, recipe)
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


def _active_text(s: Any) -> str:
    """One active of a component for the table: its stock, the amount drawn up, and its final
    concentration in the mixed syringe."""
    if s.amount is None:
        return f"{s.name} (concentration unknown)"
    text = f"{s.name} {format_quantity(s.concentration)} -> {format_quantity(s.amount)}"
    return text + (f", final {format_quantity(s.final_concentration)}" if s.final_concentration is not None else "")


def _known(quantity: Any) -> str:
    return format_quantity(quantity) if quantity is not None else "unknown"


# A protocol whose sources give no technique says so, rather than print a guess as a fact.
UNKNOWN_TECHNIQUE = "unknown (no source gives one for this indication and area)"


def depth_text(pr: Any) -> str | None:
    """The injection depth as recorded: a range, or only the bound the sources give."""
    return range_text(pr.depth_min, pr.depth_max)


def range_text(low: Amount | None, high: Amount | None) -> str | None:
    """A recorded range as people write it: "14-28 days", "2-4 mm"; "at least 14 days" or
    "up to 4 mm" when the sources give one bound only; None when they give neither."""
    if low is not None and high is not None:
        if low.unit == high.unit:
            if low.value == high.value:
                return _with_unit(low.value, low)
            return _with_unit(f"{format_number(low.value)}-{format_number(high.value)}", high)
        return f"{_with_unit(low.value, low)} to {_with_unit(high.value, high)}"
    if high is not None:
        return f"up to {_with_unit(high.value, high)}"
    if low is not None:
        return f"at least {_with_unit(low.value, low)}"
    return None


_DURATIONS = frozenset({"second", "minute", "hour", "day", "week", "month", "year"})


def count_range(low: int | None, high: int | None) -> str | None:
    """A recorded count range, e.g. sessions: "3-4", "at least 3", "up to 4"."""
    if low is not None and high is not None:
        return str(low) if low == high else f"{low}-{high}"
    if high is not None:
        return f"up to {high}"
    return f"at least {low}" if low is not None else None


def _with_unit(number: float | str, amount: Amount) -> str:
    """The number with the amount's unit; a duration's unit name in the plural after any number but 1."""
    text = format_quantity(amount)
    unit = text.split(" ", 1)[1] if " " in text else ""
    shown = number if isinstance(number, str) else format_number(number)
    if unit in _DURATIONS and shown != "1":
        unit += "s"
    return f"{shown} {unit}".strip()


def _patient(recipe: Recipe) -> str:
    from mesocli.domain.engine import CheckResult

    return patient_line(CheckResult("ok", (), patient=recipe.patient))


def _plan(p: Printer, recipe: Recipe) -> None:
    rows = plan_lines(recipe)
    if not rows:
        return
    p.line("Plan", style="bold")
    for label, text in rows:
        p.field(f"  {label}", text)
    for note in recipe.plan.notes:
        p.line(f"  - {note}")
    p.line()


def _protocol(p: Printer, recipe: Recipe) -> None:
    pr = recipe.protocol
    if pr is None:
        p.field("Protocol", "none recorded for this indication and area")
        return
    p.field("Technique", pr.technique or UNKNOWN_TECHNIQUE)
    p.field("Depth", depth_text(pr))
    p.field("Needle", pr.needle)
    p.field("Sessions", count_range(pr.sessions_min, pr.sessions_max))
    p.field("Interval", range_text(pr.interval_min, pr.interval_max))
    p.field("Protocol evidence", pr.provenance.evidence)


def _exclusions(p: Printer, recipe: Recipe) -> None:
    if recipe.excluded:
        p.line()
        p.line(f"Excluded ({len(recipe.excluded)})", style="bold")
        for e in recipe.excluded:
            p.line(f"  - {e.id}: {e.reason} [trigger: {e.trigger}]")


# --------------------------------------------------------------------------- the recipe card

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")
_SOURCE = re.compile(r"(?P<title>.*?)\s*<(?P<url>[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]+)>")
_PLAIN_ID = re.compile(r"[\w.:/+-]+")


def md(text: Any) -> str:
    """Text for Markdown: control characters made visible, line breaks made spaces, and every
    character Markdown would read as markup (``\\ ` * _ [ ] < > # |``) escaped with a backslash."""
    flat = " ".join(visible(text).split("\n"))
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(identifier: str) -> str:
    """An id as inline code, or as escaped text when it could break out of the code span."""
    return f"`{identifier}`" if _PLAIN_ID.fullmatch(identifier) else md(identifier)


def md_source(source: str) -> str:
    """A source citation, "Title <url>": the title escaped and the URL as an autolink (a URL
    that is not one safe token is escaped with the title)."""
    match = _SOURCE.fullmatch(visible(source))
    if match is None:
        return md(source)
    return f"{md(match['title'])} <{match['url']}>".lstrip()


def source_grades(recipe: Recipe) -> dict[str, str | None]:
    """Each source a recipe cites (as ``recipe.sources`` writes it) with the source's own grade,
    from the facts the recipe rests on: its findings, its protocol and its products."""
    graded: dict[str, str | None] = {}
    for finding in recipe.findings:
        graded.update(zip(finding.sources, finding.source_grades(), strict=True))
    if recipe.protocol is not None:
        provenance = recipe.protocol.provenance
        graded.update(zip(provenance.cited(), provenance.grades(), strict=True))
    for syringe in recipe.syringes:
        for component in syringe.components:
            graded.update((str(s), s.grade) for s in component.product.provenance.sources)
    return graded


def _graded(grade: str | None) -> str:
    return f"({md(grade)}) " if grade else ""


def card_date() -> datetime.date:
    """The card's date: today, or the UTC date of ``SOURCE_DATE_EPOCH`` for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date()
    return datetime.date.today()


def recipe_markdown(recipe: Recipe, cat: Catalogue) -> str:
    """A printable recipe card a clinic can file: dated, naming the meso and the catalogue that
    made it; every name and title escaped, so none can break the card's Markdown."""
    from mesocli import __version__

    indication = cat.indications[recipe.indication]
    from mesocli.domain.identity import catalogue_identity

    identity = catalogue_identity(cat)
    lines = [f"# Mesotherapy recipe card: {md(indication.name)}", ""]
    lines += [f"- **Date:** {card_date().isoformat()}",
              f"- **Made by:** meso {md(__version__)}, catalogue revision "
              f"{md(identity['schema_revision'] or 'unknown')}, content sha256 `{identity['content_sha256']}`",
              f"- **Indication:** {md(indication.name)} ({md_code(recipe.indication)})",
              f"- **Area:** {md(recipe.area or 'not given')}",
              f"- **{md(_patient(recipe))}**", f"- **Status:** {md(recipe.status)}", ""]
    if recipe.status == "refused":
        lines += ["## Refused", "", f"- Kind of reason: {md(recipe.refusal_kind or 'patient')}"]
        lines += [f"- {md(r)}" for r in recipe.reasons] + [""]
    for number, syringe in enumerate(recipe.syringes, 1):
        lines += [f"## Syringe {number} ({format_quantity(syringe.total_volume)})", "",
                  "| Product | Volume | Substance | Role | Stock | Amount | Final in syringe |",
                  "|---|---|---|---|---|---|---|"]
        for c in syringe.components:
            for s in c.substances:
                lines.append(f"| {md(c.product.name)} | {format_quantity(c.volume)} | {md(s.name)} | {md(s.role)} | "
                             f"{_known(s.concentration)} | {_known(s.amount)} | {_known(s.final_concentration)} |")
        if syringe.points:
            lines += ["", f"Points: {syringe.points} x {format_quantity(syringe.volume_per_point)}"]
        lines.append("")
    if recipe.plan is not None and recipe.status == "ok":
        lines += ["## Plan", ""] + [f"- {md(label)}: {md(text)}" for label, text in plan_lines(recipe)]
        lines += [f"- {md(note)}" for note in recipe.plan.notes] + [""]
    pr = recipe.protocol
    if pr is not None and recipe.status == "ok":
        lines += ["## Protocol", "", f"- Technique: {md(pr.technique or UNKNOWN_TECHNIQUE)}"]
        for label, text in (("Depth", depth_text(pr)), ("Needle", pr.needle),
                            ("Sessions", count_range(pr.sessions_min, pr.sessions_max)),
                            ("Interval", range_text(pr.interval_min, pr.interval_max))):
            if text:
                lines.append(f"- {label}: {md(text)}")
        if recipe.use_by:
            lines.append(f"- Use the mixed cocktail within {md(recipe.use_by)}")
        lines.append("")
    if recipe.findings:
        lines += ["## Findings", ""]
        lines += [f"- **{md(f.severity)}** ({md(f.kind)}) {md_code(f.subject)}: {md(f.message)}"
                  for f in recipe.findings]
        lines.append("")
    if recipe.excluded:
        lines += ["## Excluded", ""] + [f"- {md_code(e.id)}: {md(e.reason)}" for e in recipe.excluded] + [""]
    if recipe.sources:
        grades = source_grades(recipe)
        lines += ["## Sources", ""] + [f"- {_graded(grades.get(s))}{md_source(s)}" for s in recipe.sources] + [""]
    lines += ["---", "", f"_{md(DISCLAIMER)}_", "", "Prepared by: ____________  Checked by: ____________", ""]
    return "\n".join(lines)
