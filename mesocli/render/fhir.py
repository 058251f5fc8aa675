"""HL7 FHIR R4 export: a recipe or a check as a Bundle of plain dicts.

Why: a clinic's record system speaks FHIR, not meso's JSON contract. This module maps the facts
that :func:`mesocli.render.recipe.recipe_document` and
:func:`mesocli.render.documents.check_document` publish onto R4 resources:

* ``recipe_bundle``: one Medication per syringe (the cocktail) with one ingredient per
  substance, its strength the amount in the syringe over the syringe volume; one
  MedicationRequest per syringe, ``status`` draft and ``intent`` proposal, because meso
  proposes and a practitioner orders; one DetectedIssue per finding. A refused build has no
  Medication or MedicationRequest, and an OperationOutcome states why it was refused.
* ``check_bundle``: one Medication for the checked ingredients (none for a screen of the whole
  catalogue) and one DetectedIssue per finding.

Rules the output keeps:

* No FHIR library at run time. The output is plain, JSON-serialisable dicts. The tests
  validate them with ``fhir.resources``.
* Deterministic. Resource ids come from position ("medication-1"). ``fullUrl`` values are
  ``urn:uuid:`` ids made with uuid5 from a digest of the bundle's content. No clock is read;
  pass ``timestamp`` to stamp a bundle.
* Honest. meso ships no licensed terminology, so substances, products, indications, areas and
  finding kinds use local code systems under ``https://meso.invalid/``. The ``.invalid`` domain
  is reserved and never resolves, so nobody mistakes these systems for published ones. An HL7
  v3 ActCode is added only where its definition fits the finding. A unit outside the UCUM map
  raises :class:`UcumMappingError` rather than emitting a guessed code. An unknown amount
  leaves out the strength rather than inventing one.
* No patient identity. R4 requires MedicationRequest.subject, so the subject is a
  display-only Reference that says no patient is identified.
* Declared R4. A FHIR resource does not carry its version in its content; the specification
  (hl7.org/fhir/R4/versioning.html) lets the exchange say it: the ``fhirVersion`` parameter of
  the media type (:data:`MEDIA_TYPE`, ``application/fhir+json; fhirVersion=4.0``), a server's
  CapabilityStatement.fhirVersion, or a version-specific profile in ``meta.profile``
  (``http://hl7.org/fhir/4.0/StructureDefinition/<type>``). A file written to stdout has no
  headers and meso is no server, so the Bundle and every resource in it carry the version
  profile; a program that posts the file should send :data:`MEDIA_TYPE` as its Content-Type.
* Errors are resources too. Under ``--format fhir`` a failed command writes
  :func:`operation_outcome` (one error issue) to stdout instead of meso's JSON error document.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.engine import PROCEDURE, CheckResult, Finding
from mesocli.domain.formulate import DosedSubstance, Recipe, Syringe
from mesocli.errors import UnitError
from mesocli.render.documents import DISCLAIMER
from mesocli.units import format_number, format_quantity, sum_of, to_json

MEDIA_TYPE = "application/fhir+json; fhirVersion=4.0"
VERSION_PROFILE = "http://hl7.org/fhir/4.0/StructureDefinition/{type}"
UCUM_SYSTEM = "http://unitsofmeasure.org"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
UNII_SYSTEM = "http://fdasis.nlm.nih.gov"
RFC3986_SYSTEM = "urn:ietf:rfc:3986"
LOCAL_BASE = "https://meso.invalid"
SUBSTANCE_SYSTEM = f"{LOCAL_BASE}/substance"
PRODUCT_SYSTEM = f"{LOCAL_BASE}/product"
INDICATION_SYSTEM = f"{LOCAL_BASE}/indication"
AREA_SYSTEM = f"{LOCAL_BASE}/area"
FINDING_KIND_SYSTEM = f"{LOCAL_BASE}/finding-kind"
EXIT_CODE_SYSTEM = f"{LOCAL_BASE}/exit-code"
# On a DetectedIssue: the own grade (label, peer-reviewed, ...) of the document its reference cites.
SOURCE_GRADE_EXTENSION = f"{LOCAL_BASE}/StructureDefinition/source-grade"
# Which meso and which catalogue answered, as tags on the Bundle (the JSON contracts carry the
# same as meso_version and catalogue): each a Coding of its own local system.
PROVENANCE_SYSTEMS = {
    "meso_version": f"{LOCAL_BASE}/meso-version",
    "schema_revision": f"{LOCAL_BASE}/catalogue-schema-revision",
    "content_sha256": f"{LOCAL_BASE}/catalogue-content-sha256",
    "clinic_rows": f"{LOCAL_BASE}/catalogue-clinic-rows",
}

# OperationOutcome.issue.code (R4 value set issue-type) for each of meso's failing exit codes.
_OUTCOME_CODES = {2: "invalid", 3: "exception", 4: "transient"}

# Every fullUrl, bundle id and group identifier is a uuid5 in this namespace, so the same
# content always gets the same ids and different content gets different ones.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"{LOCAL_BASE}/fhir")

# Unit text as mesocli.units.format_unit writes it, mapped to its UCUM code. Keep this map
# small and explicit. A unit missing from it raises an error, because a wrong UCUM code would
# silently change a dose.
UCUM_CODES: dict[str, str] = {
    "mg": "mg",
    "g": "g",
    "µg": "ug",  # pint's micro sign (U+00B5)
    "μg": "ug",  # Greek mu (U+03BC), in case a catalogue spells it so
    "ug": "ug",
    "mcg": "ug",
    "mL": "mL",
    "L": "L",
    "IU": "[iU]",
    "USP": "[USP'U]",
    "mg/mL": "mg/mL",
    "µg/mL": "ug/mL",
    "μg/mL": "ug/mL",
    "mcg/mL": "ug/mL",
    "IU/mL": "[iU]/mL",
    "USP/mL": "[USP'U]/mL",
    "cm**2": "cm2",
    "mm": "mm",
    "cm": "cm",
    "d": "d",
}

SEVERITY = {"contraindicated": "high", "caution": "moderate", "info": "low"}

# HL7 v3 ActCode detected-issue codes, used only where the definition fits the finding kind:
#   ALGY  Allergy Alert: inappropriate or contraindicated because of a recorded patient allergy
#   COND  Condition Alert: inappropriate or contraindicated due to a patient condition
#   AGE   Age Alert: inappropriate or contraindicated due to patient age
#   DRG   Drug Interaction Alert: may interact with an existing or recent drug therapy
# The remaining kinds have no fitting code, so they get only the local coding:
# incompatibility (a physical admixture problem, not an interaction with the patient's
# therapy), dose (which also covers "could not be checked"), fit, regulatory, vehicle and
# protocol.
_ACT_CODES: dict[str, tuple[str, str]] = {
    "allergy": ("ALGY", "Allergy Alert"),
    "condition": ("COND", "Condition Alert"),
    "age": ("AGE", "Age Alert"),
    "medication": ("DRG", "Drug Interaction Alert"),
}
# More specific children of COND, used when the finding was triggered by these conditions.
_CONDITION_ACT_CODES: dict[str, tuple[str, str]] = {
    "pregnancy": ("PREG", "Pregnancy Alert"),
    "breastfeeding": ("LACT", "Lactation Alert"),
}

NO_PATIENT = {"display": "Patient not identified: meso holds no patient identity"}
FORM_TEXT = "solution for injection"

_URL_IN_SOURCE = re.compile(r"<(https?://[^\s<>]+)>\s*$")
_BARE_URL = re.compile(r"^(https?://[^\s<>]+)$")


class UcumMappingError(UnitError):
    """A quantity whose unit has no entry in meso's UCUM map; FHIR export refuses to guess one."""


# ----------------------------------------------------------------------------- public API
def recipe_bundle(recipe: Recipe, catalogue: Catalogue, *,
                  timestamp: str | datetime | None = None) -> dict[str, Any]:
    """An R4 collection Bundle for a built (or refused) recipe; see the module docstring."""
    medications = [_syringe_medication(n, s, recipe, catalogue) for n, s in enumerate(recipe.syringes, 1)]
    issues = []
    for number, finding in enumerate(recipe.findings, 1):
        implicated = _syringes_with(recipe.syringes, finding.subject)
        issues.append(_detected_issue(number, finding, [_medication_ref(n) for n in implicated]))
    requests = [_medication_request(n, s, recipe, catalogue, _issues_implicating(issues, n))
                for n, s in enumerate(recipe.syringes, 1)]
    resources = [*medications, *requests, *issues]
    if recipe.status == "refused":
        resources.append(_refusal(recipe, catalogue))
    return _bundle("recipe", resources, timestamp, catalogue)


def check_bundle(result: CheckResult, catalogue: Catalogue, *,
                 timestamp: str | datetime | None = None) -> dict[str, Any]:
    """An R4 collection Bundle for a check, or for a screen (then no Medication is implicated)."""
    resources: list[dict[str, Any]] = []
    implicated: list[str] = []
    if not result.screened:
        resources.append(_checked_medication(result, catalogue))
        implicated = [_medication_ref(1)]
    alternatives = {a.replaces: a for a in result.alternatives}
    for number, finding in enumerate(result.findings, 1):
        issue = _detected_issue(number, finding, implicated)
        alternative = alternatives.get(finding.subject)
        if alternative is not None and finding.severity == "contraindicated":
            text = f"Alternatives to {finding.subject}: {', '.join(alternative.use) or 'none found'}"
            text += f" ({alternative.note})." if alternative.note else "."
            issue.setdefault("mitigation", []).append({"action": {"text": text}})
        resources.append(issue)
    return _bundle("check", resources, timestamp, catalogue)


def operation_outcome(exit_code: int, message: str) -> dict[str, Any]:
    """An R4 OperationOutcome for a command that failed: what ``--format fhir`` prints on error.

    The issue code says which kind of failure the exit code stands for: ``invalid`` for input
    meso refuses (exit 2), ``exception`` for a catalogue or database that cannot be used (3)
    and ``transient`` for a batch worker that stopped (4). ``diagnostics`` is meso's one-line
    message, the same text the error line on stderr shows.
    """
    code = _OUTCOME_CODES.get(exit_code, "exception")
    return _versioned({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": message,
                   "details": {"coding": [{"system": EXIT_CODE_SYSTEM, "code": str(exit_code)}],
                               "text": f"meso exit code {exit_code}"}}],
    })


# ----------------------------------------------------------------------------- quantities
def ucum_quantity(quantity: Any) -> dict[str, Any]:
    """A FHIR Quantity in UCUM for an :class:`~mesocli.units.Amount`."""
    data = to_json(quantity)
    code = UCUM_CODES.get(data["unit"])
    if code is None:
        raise UcumMappingError(
            f"FHIR export: unit {data['unit']!r} has no UCUM code in meso's map; "
            "meso will not guess one (add it to mesocli.render.fhir.UCUM_CODES)")
    return {"value": data["value"], "unit": data["unit"], "system": UCUM_SYSTEM, "code": code}


def _total_amount(doses: Sequence[DosedSubstance]) -> Any:
    """The summed amount of one substance in a syringe, or None when it is not known.

    Any component with an unknown amount makes the total unknown. Amounts that cannot be added,
    such as IU with no mass factor next to mg, also give None. A partial sum would understate
    the dose.
    """
    if any(d.amount is None for d in doses):
        return None
    total = doses[0].amount
    for dose in doses[1:]:
        if dose.amount.canonical_unit != total.canonical_unit:
            return None
        total = sum_of(total, dose.amount)
    return total


def _days(amount: Any) -> float | int:
    from mesocli.units import clean_number

    return clean_number(amount.canonical)  # a duration's canonical unit is the day


# ----------------------------------------------------------------------------- codings
def _substance_concept(catalogue: Catalogue, substance_id: str, name: str) -> dict[str, Any]:
    coding = [{"system": SUBSTANCE_SYSTEM, "code": substance_id, "display": name}]
    substance = catalogue.substances.get(substance_id)
    if substance is not None and substance.unii:
        coding.append({"system": UNII_SYSTEM, "code": substance.unii, "display": name})
    return {"coding": coding, "text": name}


def _concept(system: str, code: str, name: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": name}], "text": name}


def _product_concept(catalogue: Catalogue, product_id: str) -> dict[str, Any]:
    return _concept(PRODUCT_SYSTEM, product_id, catalogue.products[product_id].name)


def _finding_code(finding: Finding) -> dict[str, Any]:
    coding = []
    act = _CONDITION_ACT_CODES.get(finding.trigger) if finding.kind == "condition" else None
    act = act or _ACT_CODES.get(finding.kind)
    if act is not None:
        coding.append({"system": ACT_CODE_SYSTEM, "code": act[0], "display": act[1]})
    coding.append({"system": FINDING_KIND_SYSTEM, "code": finding.kind})
    return {"coding": coding, "text": finding.kind}


def source_grade(finding: Finding) -> str | None:
    """The own grade of the source :func:`source_url` cites, when the finding records it."""
    for record in finding.references:
        if record.url and _BARE_URL.match(record.url):
            return record.grade
    return None


def source_url(finding: Finding) -> str | None:
    """The URL a DetectedIssue.reference cites for ``finding``, or None: the URL of the finding's
    first source that has an http(s) one; titles alone are not URIs.

    The engine's findings carry their sources as records; a finding made without them (by
    hand) is read from its text, "Title <URL>" or a bare URL."""
    for record in finding.references:
        if record.url and _BARE_URL.match(record.url):
            return record.url
    if finding.references:
        return None
    for source in finding.sources:
        match = _URL_IN_SOURCE.search(source) or _BARE_URL.match(source.strip())
        if match:
            return match.group(1)
    return None


def _sentence(text: str) -> str:
    """Lower-case a leading capital ("Hair loss" -> "hair loss") but leave acronyms alone."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _medication_ref(number: int) -> str:
    return f"Medication/medication-{number}"


# ----------------------------------------------------------------------------- recipe parts
def _cocktail_name(number: int, recipe: Recipe, catalogue: Catalogue) -> str:
    indication = catalogue.indications[recipe.indication].name
    return f"Mesotherapy cocktail for {_sentence(indication)}, syringe {number}"


def _syringe_medication(number: int, syringe: Syringe, recipe: Recipe,
                        catalogue: Catalogue) -> dict[str, Any]:
    by_substance: dict[str, list[DosedSubstance]] = {}
    for component in syringe.components:
        for dose in component.substances:
            by_substance.setdefault(dose.id, []).append(dose)
    ingredients = []
    for substance_id, doses in by_substance.items():
        ingredient: dict[str, Any] = {
            "itemCodeableConcept": _substance_concept(catalogue, substance_id, doses[0].name),
            "isActive": any(d.role == "active" for d in doses),
        }
        amount = _total_amount(doses)
        if amount is not None:  # absent strength means unknown; never a guess
            ingredient["strength"] = {"numerator": ucum_quantity(amount),
                                      "denominator": ucum_quantity(syringe.total_volume)}
        ingredients.append(ingredient)
    return {
        "resourceType": "Medication",
        "id": f"medication-{number}",
        "code": {"text": _cocktail_name(number, recipe, catalogue)},
        "form": {"text": FORM_TEXT},
        "ingredient": ingredients,
    }


def _syringes_with(syringes: Sequence[Syringe], subject: str) -> list[int]:
    """Numbers of the syringes that hold ``subject`` (a product or substance); all for the procedure."""
    if subject == PROCEDURE:
        return list(range(1, len(syringes) + 1))
    return [n for n, s in enumerate(syringes, 1)
            if any(c.product.id == subject or any(d.id == subject for d in c.substances)
                   for c in s.components)]


def _issues_implicating(issues: Sequence[dict[str, Any]], number: int) -> list[str]:
    wanted = _medication_ref(number)
    return [f"DetectedIssue/{i['id']}" for i in issues
            if any(r["reference"] == wanted for r in i.get("implicated", ()))]


def _medication_request(number: int, syringe: Syringe, recipe: Recipe, catalogue: Catalogue,
                        issues: Sequence[str]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": f"medicationrequest-{number}",
        "status": "draft",
        "intent": "proposal",
        "medicationReference": {"reference": _medication_ref(number),
                                "display": _cocktail_name(number, recipe, catalogue)},
        "subject": dict(NO_PATIENT),
        "reasonCode": [_indication_concept(recipe, catalogue)],
        "dosageInstruction": [_dosage(syringe, recipe, catalogue)],
        "note": _request_notes(syringe, recipe),
    }
    if issues:
        request["detectedIssue"] = [{"reference": ref} for ref in issues]
    return request


def _indication_concept(recipe: Recipe, catalogue: Catalogue) -> dict[str, Any]:
    name = catalogue.indications[recipe.indication].name
    return _concept(INDICATION_SYSTEM, recipe.indication, name)


def _dosage(syringe: Syringe, recipe: Recipe, catalogue: Catalogue) -> dict[str, Any]:
    protocol = recipe.protocol
    dosage: dict[str, Any] = {"text": _dosage_text(syringe, recipe)}
    timing = _timing(protocol) if protocol is not None else None
    if timing:
        dosage["timing"] = timing
    if recipe.area is not None:
        area = catalogue.areas.get(recipe.area)
        name = area.name if area is not None else recipe.area
        dosage["site"] = _concept(AREA_SYSTEM, recipe.area, name)
    if protocol is not None and protocol.technique:
        dosage["method"] = {"text": protocol.technique}
    if syringe.volume_per_point is not None:
        # The dose given at each injection point; the point count is in the text.
        dosage["doseAndRate"] = [{"doseQuantity": ucum_quantity(syringe.volume_per_point)}]
    return dosage


def _timing(protocol: Any) -> dict[str, Any] | None:
    """Sessions and interval as Timing.repeat. Only bounds the protocol records are used.

    A session count with no minimum stays in the text, because ``count`` alone would state
    an exact number of sessions.
    """
    repeat: dict[str, Any] = {}
    if protocol.sessions_min is not None:
        repeat["count"] = protocol.sessions_min
        if protocol.sessions_max is not None and protocol.sessions_max > protocol.sessions_min:
            repeat["countMax"] = protocol.sessions_max
    if protocol.interval_min is not None:
        repeat.update(frequency=1, period=_days(protocol.interval_min), periodUnit="d")
        if protocol.interval_max is not None and _days(protocol.interval_max) > repeat["period"]:
            repeat["periodMax"] = _days(protocol.interval_max)
    return {"repeat": repeat} if repeat else None


def _dosage_text(syringe: Syringe, recipe: Recipe) -> str:
    protocol = recipe.protocol
    parts = []
    if protocol is not None:
        parts.append(f"Technique: {protocol.technique or 'not recorded (no source gives one)'}")
        depth = _range(protocol.depth_min, protocol.depth_max, format_quantity)
        if depth:
            parts.append(f"depth {depth}")
        if protocol.needle:
            parts.append(f"needle {protocol.needle}")
        if protocol.spacing is not None:
            parts.append(f"points {format_quantity(protocol.spacing)} apart")
    total = format_quantity(syringe.total_volume)
    if syringe.points:
        parts.append(f"{syringe.points} injection points x {format_quantity(syringe.volume_per_point)} "
                     f"({total} in total)")
    else:
        parts.append(f"{total} in total; no volume per point is recorded for this protocol")
    if protocol is not None:
        sessions = _range(protocol.sessions_min, protocol.sessions_max, str)
        if sessions:
            parts.append(f"{sessions} sessions")
        interval = _range(protocol.interval_min, protocol.interval_max, lambda a: format_number(_days(a)))
        if interval:
            parts.append(f"{interval} days apart")
    return "; ".join(parts) + "."


def _range(low: Any, high: Any, show: Any) -> str | None:
    if low is not None and high is not None:
        return show(low) if show(low) == show(high) else f"{show(low)}-{show(high)}"
    if high is not None:
        return f"up to {show(high)}"
    if low is not None:
        return f"at least {show(low)}"
    return None


def _request_notes(syringe: Syringe, recipe: Recipe) -> list[dict[str, str]]:
    prepare = "; ".join(f"{c.product.name} [{c.product.id}] {format_quantity(c.volume)} ({c.purpose})"
                        for c in syringe.components)
    notes = [{"text": DISCLAIMER}, {"text": f"Prepare: {prepare}."}]
    if recipe.use_by:
        notes.append({"text": f"Use the mixed cocktail within {recipe.use_by}."})
    if recipe.reasons:
        notes.append({"text": "Choices made by meso: " + " ".join(recipe.reasons)})
    if recipe.excluded:
        notes.append({"text": "Excluded: " + "; ".join(f"{e.id}: {e.reason} [trigger: {e.trigger}]"
                                                       for e in recipe.excluded) + "."})
    return notes


def _refusal(recipe: Recipe, catalogue: Catalogue) -> dict[str, Any]:
    name = catalogue.indications[recipe.indication].name
    issues = [{"severity": "error", "code": "business-rule",
               "details": {"text": f"Refused: meso will not propose a recipe for {_sentence(name)} "
                                   "for this patient."}}]
    issues += [{"severity": "error", "code": "business-rule", "details": {"text": reason}}
               for reason in recipe.reasons]
    issues.append({"severity": "information", "code": "informational", "details": {"text": DISCLAIMER}})
    return {"resourceType": "OperationOutcome", "id": "operationoutcome-1", "issue": issues}


# ----------------------------------------------------------------------------- check parts
def _checked_medication(result: CheckResult, catalogue: Catalogue) -> dict[str, Any]:
    ingredients = []
    names = []
    for subject in result.subjects:
        if subject in catalogue.products:
            concept = _product_concept(catalogue, subject)
            ingredients.append({"itemCodeableConcept": concept})  # its role in the mix is not known
        else:
            substance = catalogue.substances[subject]
            concept = _substance_concept(catalogue, subject, substance.name)
            ingredients.append({"itemCodeableConcept": concept, "isActive": substance.role == "active"})
        names.append(concept["text"])
    # A check records no volumes, so no strength is known and none is given.
    return {
        "resourceType": "Medication",
        "id": "medication-1",
        "code": {"text": "Ingredients checked together by meso: " + ", ".join(names)},
        "ingredient": ingredients,
    }


# ----------------------------------------------------------------------------- shared
def _detected_issue(number: int, finding: Finding, implicated: Sequence[str]) -> dict[str, Any]:
    detail = finding.message
    if not implicated and finding.subject != PROCEDURE:
        # Nothing in the bundle stands for the subject (a screen), so name it in the text.
        detail = f"{finding.subject}: {detail}"
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": f"detectedissue-{number}",
        "status": "final",
        "code": _finding_code(finding),
        "severity": SEVERITY[finding.severity],
    }
    if implicated:
        issue["implicated"] = [{"reference": ref} for ref in implicated]
    issue["detail"] = detail
    url = source_url(finding)
    if url is not None:
        issue["reference"] = url
        grade = source_grade(finding)
        if grade is not None:
            issue["extension"] = [{"url": SOURCE_GRADE_EXTENSION, "valueCode": grade}]
    if finding.advice:
        issue["mitigation"] = [{"action": {"text": finding.advice}}]
    return issue


def _bundle(kind: str, resources: list[dict[str, Any]], timestamp: str | datetime | None,
            catalogue: Catalogue) -> dict[str, Any]:
    """Wrap ``resources`` in a collection Bundle with content-derived urn:uuid fullUrls.

    References are written as "Type/id" while the resources are built. They are rewritten here
    to the matching fullUrl, so each one resolves inside the bundle without a server base.
    """
    canonical = json.dumps([kind, resources], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    urls = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{_uuid(digest, r['resourceType'], r['id'])}"
            for r in resources}
    group = {"system": RFC3986_SYSTEM, "value": f"urn:uuid:{_uuid(digest, 'group')}"}
    entries = []
    for resource in resources:
        resolved = _resolve_references(resource, urls)
        if resolved["resourceType"] == "MedicationRequest":
            # Ties the syringes of one session together once the bundle is split up.
            resolved["groupIdentifier"] = dict(group)
        key = f"{resource['resourceType']}/{resource['id']}"
        entries.append({"fullUrl": urls[key], "resource": _versioned(resolved)})
    bundle_id = _uuid(digest)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": bundle_id,
        "meta": {"profile": [VERSION_PROFILE.format(type="Bundle")], "tag": provenance_tags(catalogue)},
        "identifier": {"system": RFC3986_SYSTEM, "value": f"urn:uuid:{bundle_id}"},
        "type": "collection",
    }
    if timestamp is not None:
        bundle["timestamp"] = _instant(timestamp)
    bundle["entry"] = entries
    return bundle


def provenance_tags(catalogue: Catalogue) -> list[dict[str, str]]:
    """Bundle.meta.tag: the meso version and the catalogue's identity (schema revision, content
    hash, clinic rows), one Coding each; a value the catalogue does not have is left out."""
    from mesocli import __version__
    from mesocli.domain.identity import catalogue_identity

    values = {"meso_version": __version__, **catalogue_identity(catalogue)}
    return [{"system": system, "code": str(values[key])}
            for key, system in PROVENANCE_SYSTEMS.items() if values.get(key) is not None]


def _versioned(resource: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``resource`` whose ``meta.profile`` is the R4 version profile (see the module docstring)."""
    out = {"resourceType": resource["resourceType"]}
    if "id" in resource:
        out["id"] = resource["id"]
    out["meta"] = {"profile": [VERSION_PROFILE.format(type=resource["resourceType"])]}
    out.update((k, v) for k, v in resource.items() if k not in out)
    return out


def _uuid(digest: str, *parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join((digest, *parts))))


def _resolve_references(value: Any, urls: dict[str, str]) -> Any:
    """A copy of ``value`` with every Reference.reference that names a bundled resource resolved."""
    if isinstance(value, dict):
        out = {k: _resolve_references(v, urls) for k, v in value.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in urls:
            out["reference"] = urls[ref]
        return out
    if isinstance(value, list):
        return [_resolve_references(v, urls) for v in value]
    return value


def _instant(timestamp: str | datetime) -> str:
    """An R4 instant. A datetime must carry a time zone, because an instant without one is invalid."""
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("FHIR export: timestamp needs a time zone (an R4 instant)")
        return timestamp.isoformat()
    return timestamp
