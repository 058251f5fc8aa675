"""The human report of ``meso check``: grouped by severity, each finding with what, why,
what to do instead and the source; then a one-line verdict and the disclaimer."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.engine import CheckResult, Finding
from mesocli.render.documents import DISCLAIMER, verdict
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


def render_check(p: Printer, cat: Catalogue, result: CheckResult, patient_line: str, *,
                 compact: bool = False) -> None:
    """The report, each finding with its full why, advice and source; ``compact`` makes a screen
    one table row per finding, with the finding's summary as its why."""
    p.heading("meso check: " + ("screen of the whole catalogue" if result.screened else "safety check"))
    p.line(patient_line)
    if not result.screened:
        p.line("Checked: " + ", ".join(result.subjects))
    p.line()
    by_severity: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_severity[finding.severity].append(finding)
    titles = SCREEN_TITLES if result.screened else TITLES
    sources = _SourceIndex()
    for severity in ("contraindicated", "caution", "info"):
        findings = by_severity.get(severity)
        if not findings:
            continue
        p.line(f"{titles[severity]} ({len(findings)})", style="bold")
        if result.screened and compact:
            _screen_table(p, findings, sources)
        else:
            for finding in findings:
                _finding(p, cat, finding, sources)
        p.line()
    if result.alternatives:
        p.line("Alternatives in the same role", style="bold")
        grouped: dict[tuple[tuple[str, ...], str | None], list[str]] = defaultdict(list)
        for alt in result.alternatives:
            grouped[(alt.use, alt.note)].append(alt.replaces)
        for (use, note), replaced in grouped.items():
            text = ", ".join(use) if use else "none in the catalogue"
            if note:
                text += f", {note}"
            p.line(f"  instead of {', '.join(replaced)}:")
            p.line(f"      {text}")
        p.line()
    _term_lines(p, result, sources)
    if sources.items:
        p.line("Sources", style="bold")
        for number, (source, grade) in enumerate(sources.items, 1):
            p.line(f"  [{number}] ({grade}) {source}")
        p.line()
    p.line(verdict(result), style=SEVERITY_STYLE_FOR.get(result.status))
    p.note(DISCLAIMER)


SEVERITY_STYLE_FOR = {"contraindicated": "bold red", "caution": "bold yellow", "ok": "bold green"}


class _SourceIndex:
    """Numbers each distinct source once, so rows can cite [n]; each is listed with its own
    grade (a label is "label" whatever the finding citing it is graded)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self._numbers: dict[str, int] = {}

    def cite(self, finding: Finding) -> str:
        return self.cite_sources(finding.sources, finding.source_grades())

    def cite_sources(self, cited: Any, grades: Any) -> str:
        refs = []
        for source, grade in zip(cited, grades, strict=True):
            if source not in self._numbers:
                self.items.append((source, grade or "grade not recorded"))
                self._numbers[source] = len(self.items)
            refs.append(self._numbers[source])
        return "[" + ",".join(map(str, refs)) + "]" if refs else ""


def _term_lines(p: Printer, result: CheckResult, sources: _SourceIndex) -> None:
    """The patient's terms that affect no catalogue item, and what the patient's terms do not
    imply (distinctions), each with its sources."""
    patient = result.patient
    if patient is None:
        return
    if patient.unrelated:
        p.line("Patient terms that affect no catalogue item", style="bold")
        for term, row in patient.unrelated:
            cited = sources.cite_sources(row.provenance.citations, row.provenance.grades())
            p.line(f"  {row.kind} {term!r} ({row.name}): no catalogue item affected")
            p.line(f"    why: {row.reason}")
            if row.procedure_note:
                p.line(f"    procedure: {row.procedure_note}")
            p.line(f"    source: {row.provenance.evidence} {cited}")
        p.line()
    if patient.distinctions:
        p.line("Notes on the patient's terms", style="bold")
        for kind, term, _entry, distinction in patient.distinctions:
            cited = sources.cite_sources(distinction.provenance.citations, distinction.provenance.grades())
            p.line(f"  {kind} {term!r}: {distinction.message}")
            p.line(f"    source: {distinction.provenance.evidence} {cited}")
        p.line()


def _finding(p: Printer, cat: Catalogue, f: Finding, sources: _SourceIndex) -> None:
    p.severity(f.severity, f"{name_of(cat, f.subject)}  ({f.kind}; triggered by {f.trigger})")
    p.line(f"    why: {f.message}")
    if f.advice:
        p.line(f"    instead: {f.advice}")
    p.line(f"    source: {f.evidence} {sources.cite(f)}")


def _screen_table(p: Printer, findings: list[Finding], sources: _SourceIndex) -> None:
    rows: list[list[Any]] = []
    for f in findings:
        why = f.summary or _first_sentence(f.message)
        rows.append([f.subject, f.kind, f.trigger, why, sources.cite(f)])
    p.table(["Ingredient", "Kind", "Trigger", "Why", "Source"], rows)


def _first_sentence(text: str, limit: int = 90) -> str:
    head = text.split(". ")[0].rstrip(".")
    return head if len(head) <= limit else head[: limit - 1] + "\u2026"


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
    if patient.sex is not None:
        parts.append(f"sex {patient.sex}")
    if patient.unrelated:
        parts.append("affecting no catalogue item " + ", ".join(row.id for _, row in patient.unrelated))
    return "Patient: " + ("; ".join(parts) if parts else "no allergies, conditions or medications given")
