"""The human report of ``meso check``: grouped by severity, each finding with what, why,
what to do instead and the source; then a one-line verdict and the disclaimer."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.engine import CheckResult, Finding
from mesocli.render.documents import DISCLAIMER
from mesocli.render.human import Printer

TITLES = {
    "contraindicated": "Contraindicated: do not use",
    "caution": "Caution: use only with care",
    "info": "For information",
}
SCREEN_TITLES = {
    "contraindicated": "Avoid",
    "caution": "Use with caution",
    "info": "For information",
}


def name_of(cat: Catalogue, subject: str) -> str:
    if subject in cat.products:
        return f"{cat.products[subject].name} [{subject}]"
    if subject in cat.substances:
        return f"{cat.substances[subject].name} [{subject}]"
    return subject


def render_check(p: Printer, cat: Catalogue, result: CheckResult, patient_line: str) -> None:
    p.heading("meso check: " + ("screen of the whole catalogue" if result.screened else "safety check"))
    p.line(patient_line)
    if not result.screened:
        p.line("Checked: " + ", ".join(result.subjects))
    p.line()
    by_severity: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_severity[finding.severity].append(finding)
    titles = SCREEN_TITLES if result.screened else TITLES
    for severity in ("contraindicated", "caution", "info"):
        findings = by_severity.get(severity)
        if not findings:
            continue
        p.line(f"{titles[severity]} ({len(findings)})", style="bold")
        if result.screened and severity != "info":
            _screen_table(p, cat, findings)
        else:
            for finding in findings:
                _finding(p, cat, finding)
        p.line()
    if result.alternatives:
        p.line("Alternatives in the same role", style="bold")
        for alt in result.alternatives:
            use = ", ".join(alt.use) if alt.use else "none in the catalogue"
            if alt.note:
                use += f" ({alt.note})"
            p.line(f"  instead of {alt.replaces}: {use}")
        p.line()
    p.severity(result.status if result.status != "ok" else "info", verdict(result))
    p.note(DISCLAIMER)


def verdict(result: CheckResult) -> str:
    counts = defaultdict(int)
    for f in result.findings:
        counts[f.severity] += 1
    summary = ", ".join(f"{counts[s]} {s}" for s in ("contraindicated", "caution", "info") if counts[s])
    if result.status == "contraindicated":
        head = "Verdict: CONTRAINDICATED, do not proceed as checked"
    elif result.status == "caution":
        head = "Verdict: CAUTION, proceed only after reviewing each caution"
    else:
        head = "Verdict: OK, no contraindication or caution found"
    return f"{head} ({summary or 'no findings'})."


def _finding(p: Printer, cat: Catalogue, f: Finding) -> None:
    p.severity(f.severity, f"{name_of(cat, f.subject)}  [{f.kind}, triggered by {f.trigger}]")
    p.line(f"    why: {f.message}")
    if f.advice:
        p.line(f"    instead: {f.advice}")
    p.line(f"    source ({f.evidence}): {_sources(f)}")


def _sources(f: Finding) -> str:
    shown = list(f.sources[:2])
    extra = len(f.sources) - len(shown)
    return "; ".join(shown) + (f" (+{extra} more)" if extra > 0 else "")


def _screen_table(p: Printer, cat: Catalogue, findings: list[Finding]) -> None:
    rows: list[list[Any]] = []
    for f in findings:
        rows.append([name_of(cat, f.subject), f.kind + (f" ({f.path})" if f.path else ""), f.trigger,
                     f.message])
    p.table(["Ingredient", "Why", "Trigger", "Detail"], rows)


def patient_line(result: CheckResult) -> str:
    patient = result.patient
    if patient is None:
        return "Patient: none given"
    parts = []
    if patient.allergies:
        parts.append("allergies " + ", ".join(i for _, i in patient.allergies))
    if patient.conditions:
        parts.append("conditions " + ", ".join(patient.conditions))
    if patient.medications or patient.medication_classes:
        parts.append("medications " + ", ".join(patient.medications or patient.medication_classes))
    if patient.age is not None:
        parts.append(f"age {patient.age}")
    if patient.weight_kg is not None:
        parts.append(f"weight {patient.weight_kg:g} kg")
    return "Patient: " + ("; ".join(parts) if parts else "no allergies, conditions or medications given")
