"""Plain-dict documents for every output; the JSON contracts are built here and only here.

Nothing in this module imports rich. ``schema_version`` changes only when a key is renamed or
removed, which the contracts forbid; new keys may be added freely.
"""

from __future__ import annotations

from typing import Any

from mesocli import __version__
from mesocli.domain.catalogue import Catalogue
from mesocli.domain.engine import CheckResult, Finding
from mesocli.domain.formulate import fit_dosability
from mesocli.domain.identity import catalogue_identity
from mesocli.domain.model import (
    AllergenGroup,
    Fit,
    Indication,
    Product,
    Protocol,
    Provenance,
    Rule,
    Substance,
)
from mesocli.units import Amount, to_json

SCHEMA_VERSION = 1
DISCLAIMER = (
    "meso is decision support for qualified practitioners. It does not replace clinical "
    "judgement, the product labels or the patient's own history."
)


def envelope(kind: str, *, catalogue: Catalogue | None = None, **body: Any) -> dict[str, Any]:
    """A JSON document of ``kind``: its body, then which meso and which catalogue answered
    (``catalogue`` is ``null`` when none was read, e.g. an error before the catalogue opened)."""
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **body, **provenance_keys(catalogue)}


def provenance_keys(catalogue: Catalogue | None) -> dict[str, Any]:
    """``meso_version`` and ``catalogue`` (the identity of :mod:`mesocli.domain.identity`)."""
    return {"meso_version": __version__,
            "catalogue": catalogue_identity(catalogue) if catalogue is not None else None}


def with_provenance(document: dict[str, Any], catalogue: Catalogue | None) -> dict[str, Any]:
    """``document`` (built by :func:`envelope`) saying which meso and which catalogue answered."""
    document.update(provenance_keys(catalogue))
    return document


def error_document(code: int, message: str, *, catalogue: Catalogue | None = None,
                   **extra: Any) -> dict[str, Any]:
    return envelope("error", catalogue=catalogue, code=code, message=message, **extra)


def answer_document(request: Any, answer: Any, catalogue: Catalogue) -> dict[str, Any]:
    """The document of one answered :class:`~mesocli.domain.request.Request`: a check document,
    or a recipe document (what ``meso build --json`` writes)."""
    if request.action == "check":
        return check_document(answer, catalogue)
    from mesocli.render.recipe import recipe_document

    return with_provenance(recipe_document(answer, catalogue), catalogue)


def _q(amount: Amount | None) -> dict[str, Any] | None:
    return to_json(amount) if amount is not None else None


def provenance(p: Provenance) -> dict[str, Any]:
    return {"evidence": p.evidence,
            "sources": [{k: v for k, v in (("title", s.title), ("url", s.url), ("grade", s.grade)) if v}
                        for s in p.sources]}


def substance_summary(s: Substance) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "class": s.cls, "role": s.role, "origin": s.origin,
            "status": s.status, "injectable": s.injectable, "aliases": list(s.aliases), "local": s.local}


def product_summary(p: Product) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "status": p.status, "vehicle": p.vehicle, "dose": p.dose,
            "do_not_admix": p.do_not_admix, "generic": p.generic, "local": p.local,
            "substances": [c.substance for c in p.components]}


def product_detail(cat: Catalogue, p: Product) -> dict[str, Any]:
    return {
        **product_summary(p),
        "aliases": list(p.aliases),
        "ph": p.ph,
        "container_volume": _q(p.container_volume),
        "areas": list(p.areas),
        "notes": p.notes,
        "composition": [
            {"id": c.substance, "name": cat.substances[c.substance].name, "role": c.role,
             "concentration": _q(c.concentration)}
            for c in p.components
        ],
        **provenance(p.provenance),
    }


def rule_document(rule: Rule) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": rule.id, "kind": rule.kind, "severity": rule.severity,
                           "scope": str(rule.scope), "message": rule.message}
    params = rule.params
    for key in ("condition", "medication", "medication_class", "indication", "min_age", "max_age",
                "a", "b", "dose_kind", "count", "unless_with", "only_with", "area", "vehicle", "target_class",
                "unless_sex"):
        value = getattr(params, key, None)
        if value is not None:
            doc[key] = value
    if rule.advice is not None:
        doc["advice"] = rule.advice
    for key in ("amount", "cap"):  # the kind's quantities, after its other parameters
        value = getattr(params, key, None)
        if value is not None:
            doc[key] = to_json(value)
    doc.update(provenance(rule.provenance))
    return doc


def protocol_document(p: Protocol) -> dict[str, Any]:
    doc: dict[str, Any] = {"indication": p.indication, "area": p.area, "technique": p.technique,
                           "needle": p.needle}
    for key in ("depth_min", "depth_max", "volume_per_point", "max_volume_per_point", "spacing",
                "session_volume", "interval_min", "interval_max"):
        doc[key] = _q(getattr(p, key))
    doc.update(max_points=p.max_points, sessions_min=p.sessions_min, sessions_max=p.sessions_max,
               notes=p.notes, **provenance(p.provenance))
    return doc


def rules_concerning(cat: Catalogue, ids: set[str], classes: set[str]) -> list[Rule]:
    # the substances the forms among ids are dosed as: their dose limits hold for the forms too
    dosed_as = {cat.dose_id(i) for i in ids if i in cat.substances} - ids

    def concerns(rule: Rule) -> bool:
        if rule.scope.kind in ("substance", "product") and rule.scope.ref in ids:
            return True
        if rule.kind == "dose_limit" and rule.scope.kind == "substance" and rule.scope.ref in dosed_as:
            return True
        if rule.scope.kind == "class" and rule.scope.ref in classes:
            return True
        return any(ref and (ref in ids or (ref.startswith("class:") and ref[6:] in classes))
                   for ref in (getattr(rule.params, "a", None), getattr(rule.params, "b", None)))

    return [r for r in cat.rules if concerns(r)]


def ingredient_detail(cat: Catalogue, kind: str, entry_id: str) -> dict[str, Any]:
    """Everything about one substance or product: what ``ingredients show`` prints."""
    if kind == "product":
        product = cat.products[entry_id]
        doc = {"type": "product", **product_detail(cat, product)}
        ids = {product.id, *product.substance_ids()}
        classes = {cat.substances[s].cls for s in product.substance_ids()}
    else:
        s = cat.substances[entry_id]
        doc = {"type": "substance", **substance_summary(s), "unii": s.unii, "notes": s.notes,
               "iu_mass": _q(s.iu_mass), "dose_as": s.dose_as, **provenance(s.provenance),
               "products": list(cat.products_by_substance.get(s.id, ()))}
        ids, classes = {s.id}, {s.cls}
    substance_ids = [i for i in ids if i in cat.substances]
    groups = sorted({g for sid in substance_ids for g in cat.groups_by_substance.get(sid, ())})
    origins = {cat.substances[sid].origin for sid in substance_ids} - {None}
    groups += sorted(g.id for g in cat.groups.values() if g.origins & origins and g.id not in groups)
    doc["allergen_groups"] = groups
    doc["rules"] = [rule_document(r) for r in rules_concerning(cat, ids, classes)]
    fit_ids = ids
    doc["indications"] = [
        {"indication": ind.id, "target": f.target, "fit": f.fit, **provenance(f.provenance)}
        for ind in cat.indications.values() for f in ind.fits if f.target in fit_ids
    ]
    used_in = {d["indication"] for d in doc["indications"]}
    doc["protocols"] = [protocol_document(p) for p in cat.protocols if p.indication in used_in]
    return doc


def group_detail(cat: Catalogue, g: AllergenGroup) -> dict[str, Any]:
    reached = sorted(s.id for s in cat.substances.values() if s.origin in g.origins)
    return {
        "id": g.id, "name": g.name, "aliases": list(g.aliases), "members": sorted(g.members),
        "origins": sorted(g.origins), "substances_by_origin": reached,
        "member_severity": g.member_severity, "origin_severity": g.origin_severity, "notes": g.notes,
        "cross_reactions": [
            {"to": c.target_group, "severity": c.severity, "message": c.message, **provenance(c.provenance)}
            for c in cat.crosses_from.get(g.id, ())
        ],
        "products": sorted({p for sid in set(g.members) | set(reached)
                            for p in cat.products_by_substance.get(sid, ())}),
        **provenance(g.provenance),
    }


def _fit_document(cat: Catalogue, f: Fit) -> dict[str, Any]:
    dosable, why_not = fit_dosability(cat, f)
    return {"target": f.target, "fit": f.fit, "final_concentration": _q(f.final_concentration),
            "notes": f.notes, **provenance(f.provenance), "dosable_products": list(dosable),
            "not_dosable_because": why_not}


def indication_detail(cat: Catalogue, ind: Indication) -> dict[str, Any]:
    return {
        "id": ind.id, "name": ind.name, "aliases": list(ind.aliases), "areas": list(ind.areas),
        "notes": ind.notes,
        "fits": [_fit_document(cat, f) for f in ind.fits],
        "protocols": [protocol_document(p) for p in cat.protocols if p.indication == ind.id],
        **provenance(ind.provenance),
    }


def finding_document(f: Finding) -> dict[str, Any]:
    doc = {"severity": f.severity, "kind": f.kind, "subject": f.subject, "trigger": f.trigger,
           "message": f.message, "sources": list(f.sources), "evidence": f.evidence,
           "source_grades": list(f.source_grades())}
    if f.advice:
        doc["advice"] = f.advice
    if f.path:
        doc["path"] = f.path
    if f.summary:
        doc["summary"] = f.summary
    if f.unassessed:
        doc["unassessed"] = f.unassessed
    return doc


def not_assessed(result: CheckResult) -> dict[str, list[str]]:
    """What could not be assessed because it is unknown, by subject, in the findings' order."""
    out: dict[str, list[str]] = {}
    for f in result.findings:
        if f.unassessed is not None and f.unassessed not in out.setdefault(f.subject, []):
            out[f.subject].append(f.unassessed)
    return out


def verdict(result: CheckResult) -> str:
    """The one-line verdict of a check, as people read it and as the JSON document holds it.

    A check that could not assess everything says so, and names what was unknown: unknown is
    never "ok"."""
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    if result.screened:
        avoid = len({f.subject for f in result.findings if f.severity == "contraindicated"})
        care = len({f.subject for f in result.findings if f.severity == "caution"})
        return (f"Verdict: {avoid} ingredient(s) to avoid and {care} to use with caution for this patient; "
                "everything else in the catalogue raised no finding.")
    summary = ", ".join(f"{counts[s]} {s}" for s in ("contraindicated", "caution", "info") if counts.get(s))
    unknown = not_assessed(result)
    if result.status == "contraindicated":
        head = "Verdict: CONTRAINDICATED. Do not proceed as checked"
    elif result.status == "caution":
        head = "Verdict: CAUTION. Proceed only after reviewing each caution"
    elif unknown:
        head = "Verdict: NOT FULLY ASSESSED. No contraindication or caution found in what could be checked"
    else:
        head = "Verdict: OK. No contraindication or caution found"
    text = f"{head} ({summary or 'no findings'})."
    if unknown:
        text += (" Not everything could be assessed: "
                 + "; ".join(f"{subject}: {', '.join(what)} unknown" for subject, what in unknown.items()) + ".")
    return text


def check_document(result: CheckResult, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """What ``meso check --json`` writes: the one definition of the check document."""
    return envelope(
        "check",
        catalogue=catalogue,
        status=result.status,
        findings=[finding_document(f) for f in result.findings],
        alternatives=_alternatives(result),
        screened=result.screened,
        checked=list(result.subjects) if not result.screened else [],
        verdict=verdict(result),
        fully_assessed=not any(f.unassessed is not None for f in result.findings),
        disclaimer=DISCLAIMER,
        unrelated_terms=unrelated_terms(result),
        term_notes=term_notes(result),
    )


def unrelated_terms(result: CheckResult) -> list[dict[str, Any]]:
    """The patient's terms that meso knows and that concern no catalogue item: each with why,
    and how it matters to the procedure where it does."""
    patient = result.patient
    out = []
    for term, row in patient.unrelated if patient is not None else ():
        doc = {"kind": row.kind, "term": term, "id": row.id, "name": row.name,
               "affects": "no catalogue item", "reason": row.reason}
        if row.procedure_note:
            doc["procedure_note"] = row.procedure_note
        doc["evidence"] = row.provenance.evidence
        doc["sources"] = list(row.provenance.citations)
        out.append(doc)
    return out


def term_notes(result: CheckResult) -> list[dict[str, Any]]:
    """What the patient's terms do not imply: each term on one side of a distinction, with the
    distinction's sourced statement."""
    patient = result.patient
    return [{"kind": kind, "term": term, "id": entry, "note": d.message, "evidence": d.provenance.evidence,
             "sources": list(d.provenance.citations)}
            for kind, term, entry, d in (patient.distinctions if patient is not None else ())]


def _alternatives(result: CheckResult) -> list[dict[str, Any]]:
    return [{"for": a.replaces, "use": list(a.use), **({"note": a.note} if a.note else {})}
            for a in result.alternatives]
