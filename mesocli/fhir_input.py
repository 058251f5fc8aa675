"""Reading a patient from a FHIR R4 Bundle, as a clinic's record system exports it.

Why: the EHR already holds the patient as FHIR resources with codes; retyping them is where
mistakes happen. ``--patient FILE`` and a batch line's ``patient`` accept a Bundle (type
``collection``, ``searchset`` or ``document``) and read it into the same
:class:`~mesocli.domain.patient.Patient` a typed patient file gives.

What is read:

* **Patient**: ``birthDate`` gives the age in whole years on ``today`` (the date the check is
  made). A partial birth date ("1980" or "1980-06") gives an age only when every day it allows
  gives the same age; otherwise the age stays unknown, as if none had been given. ``gender``
  ``male`` or ``female`` gives the patient's sex; ``other`` and ``unknown`` leave it unknown
  (and are listed among what is left out).
* **AllergyIntolerance** (``code`` and every ``reaction.substance``), **Condition** (``code``),
  **MedicationStatement** and **MedicationRequest** (``medicationCodeableConcept``, or the
  Medication that ``medicationReference`` points to, contained or in the bundle).
* **Observation**, only the kinds the code table's ``[[observation]]`` rows name: a pregnancy
  status (its value read as a condition: pregnant, possible pregnancy, or nothing for "not
  pregnant") and a body weight (the patient's weight, UCUM kg, g or [lb_av]). The latest by
  effective date wins; an undated one counts as the oldest.

How a concept becomes a term: a coding whose system and code are in the catalogue's code table
(the ``fhir_code`` rows of the catalogue database, built from ``data/codes/fhir.toml`` and
extended by a clinic's ``meso catalogue import``, every row with its sources and evidence grade)
gives the catalogue term of that row; codings that the table lists as "nothing to record" (IPS
absent-or-unknown codes, "not pregnant") add no term; otherwise the concept's ``text``, or else
its first coding's ``display``, is used as if the user had typed it. An unknown text therefore
fails exactly like an unknown typed name (exit 2 with suggestions), never silently.

What is left out, on purpose (:func:`read_fhir_patient` lists each such entry with its reason):

* AllergyIntolerance and Condition whose ``clinicalStatus`` is ``inactive`` or ``resolved``
  (a Condition in ``remission`` is still used), and whose ``verificationStatus`` is
  ``refuted`` or ``entered-in-error``. Unconfirmed, provisional and differential entries are
  used: an unconfirmed allergy still excludes. One exception: a resolved or inactive
  Condition coded with a code-table row marked ``history`` still counts, because meso's term
  is the history itself (a resolved deep vein thrombosis is a history of thrombosis).
* MedicationStatement with status ``entered-in-error`` or ``not-taken``, MedicationRequest with
  status ``entered-in-error`` or ``cancelled`` or with ``doNotPerform``. Stopped and completed
  medications are used: a drug taken recently can still matter.
* Observations with status ``entered-in-error`` or ``cancelled``, and every pregnancy status
  or body weight but the latest.

What is refused (fail closed; :class:`~mesocli.errors.InputError`, exit 2):

* A resource type meso does not read, unless it is one that holds no clinical fact about the
  patient (Composition, Practitioner, PractitionerRole, Organization, Location, Encounter,
  Provenance: these are skipped); likewise any other Observation. A Procedure may record a
  recent laser treatment and an Observation a lab result that matters, so ignoring them would
  hide safety data: the error names the entry, and the user removes it or types the fact.
* An entry about another patient, or one that does not say whose it is; a second Patient.
* A used resource with a ``modifierExtension`` or ``implicitRules``: FHIR says a reader that
  does not understand them must not process the resource.
* A searchset with a ``next`` page (the results are incomplete) or an OperationOutcome with an
  error or fatal issue (the search failed in part). Warnings and information are ignored.
* A concept with no mapped code, no text and no display.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from mesocli.domain.codes import CodeTable
from mesocli.domain.model import FHIR_CODE_KINDS as KINDS
from mesocli.domain.model import OBSERVATION_READS
from mesocli.domain.patient import SEXES, Patient
from mesocli.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.domain.catalogue import Catalogue

__all__ = ["BUNDLE_TYPES", "KINDS", "OBSERVATION_READS", "CodeTable", "FhirPatient", "code_table", "is_fhir",
           "patient_from_fhir", "read_fhir_patient"]

BUNDLE_TYPES = ("collection", "searchset", "document")
UCUM_SYSTEM = "http://unitsofmeasure.org"
# UCUM mass codes of a body weight, as meso's quantity parser spells them.
UCUM_MASS = {"kg": "kg", "g": "g", "[lb_av]": "lb"}

# Resources that describe people, places and paperwork around the record, never a clinical
# fact about the patient; they are skipped. Anything else unknown is refused.
NON_CLINICAL = frozenset({"Composition", "Practitioner", "PractitionerRole", "Organization", "Location",
                          "Encounter", "Provenance"})
_READ = frozenset({"Patient", "AllergyIntolerance", "Condition", "MedicationStatement", "MedicationRequest",
                   "Medication", "OperationOutcome", "Observation"})
_OBSERVATION_SKIPPED = frozenset({"entered-in-error", "cancelled"})

_INACTIVE_CLINICAL = frozenset({"inactive", "resolved"})
_NOT_VERIFIED = frozenset({"refuted", "entered-in-error"})
_STATEMENT_SKIPPED = frozenset({"entered-in-error", "not-taken"})
_REQUEST_SKIPPED = frozenset({"entered-in-error", "cancelled"})
_GENDERS = frozenset({"male", "female", "other", "unknown"})


# ----------------------------------------------------------------------------- code table
def code_table(catalogue: Catalogue | None = None) -> CodeTable:
    """The code table of ``catalogue`` (default: the catalogue the command uses, as
    :func:`mesocli.api.load_catalogue` gives it: the shipped SQLite file or ``MESO_DATABASE_URL``)."""
    if catalogue is None:
        from mesocli.api import load_catalogue

        catalogue = load_catalogue()
    return catalogue.code_table


# ----------------------------------------------------------------------------- reading
def is_fhir(data: Any) -> bool:
    """Whether a parsed document is a FHIR resource (it names its resourceType)."""
    return isinstance(data, Mapping) and "resourceType" in data


@dataclass(frozen=True, slots=True)
class FhirPatient:
    """A patient read from a Bundle, with the entries left out on purpose and why."""

    patient: Patient
    left_out: tuple[tuple[str, str], ...] = ()  # (entry label, reason), in bundle order


def read_fhir_patient(data: Any, *, what: str = "patient", today: date | None = None,
                      table: CodeTable | None = None, catalogue: Catalogue | None = None) -> FhirPatient:
    """Read a FHIR R4 Bundle; see the module docstring for the rules. ``today`` fixes the day
    ages are counted on (default: the system date). Codings are looked up in ``table``, else in
    ``catalogue``'s code table, else in that of the catalogue the command uses."""
    reader = _Reader(what, today or date.today(), table or code_table(catalogue))
    patient = reader.read(data)
    return FhirPatient(patient, tuple(reader.left_out))


def patient_from_fhir(data: Any, *, what: str = "patient", today: date | None = None,
                      table: CodeTable | None = None, catalogue: Catalogue | None = None) -> Patient:
    """Read a FHIR R4 Bundle into a :class:`Patient` (what ``--patient`` uses)."""
    return read_fhir_patient(data, what=what, today=today, table=table, catalogue=catalogue).patient


class _Reader:
    def __init__(self, what: str, today: date, table: CodeTable) -> None:
        self.what = what
        self.today = today
        self.table = table
        self.index: dict[str, dict[str, Any]] = {}
        self.patient_keys: frozenset[str] = frozenset()
        self.subject: str | None = None  # the first entry's patient reference, when no Patient is bundled
        self.lists: dict[str, list[str]] = {kind: [] for kind in KINDS}
        self.left_out: list[tuple[str, str]] = []
        self.sex: str | None = None  # from the Patient's gender: female | male, else unknown
        self.observed: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}  # reads -> (when, label, resource)

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.what}: {message}")

    # -- the bundle ------------------------------------------------------------------------
    def read(self, data: Any) -> Patient:
        if not is_fhir(data) or data.get("resourceType") != "Bundle":
            kind = data.get("resourceType") if isinstance(data, Mapping) else None
            raise self.fail(f"a FHIR patient must be a Bundle of resources, not {kind or 'this document'!r}")
        if data.get("type") not in BUNDLE_TYPES:
            raise self.fail(f"Bundle type must be one of {', '.join(BUNDLE_TYPES)}, not {data.get('type')!r}")
        if data["type"] == "searchset" and any(isinstance(link, Mapping) and link.get("relation") == "next"
                                               for link in _list(data.get("link"))):
            raise self.fail("the search results have a next page, so this bundle is incomplete; "
                            "export every page into one bundle")
        entries = list(self._entries(data))
        for _label, resource, full_url in entries:
            for key in _keys(resource, full_url):
                self.index.setdefault(key, resource)
        age = self._patient([(label, r, url) for label, r, url in entries if r["resourceType"] == "Patient"])
        for label, resource, _ in entries:
            self._entry(label, resource)
        weight = self._latest_observations()
        return Patient(allergies=tuple(_unique(self.lists["allergy"])),
                       conditions=tuple(_unique(self.lists["condition"])),
                       medications=tuple(_unique(self.lists["medication"])),
                       age=age, weight=weight, sex=self.sex)

    def _entries(self, bundle: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any], str | None]]:
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            raise self.fail("Bundle.entry must be a list")
        for number, entry in enumerate(entries, 1):
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                raise self.fail(f"entry {number} has no resource with a resourceType")
            label = f"entry {number} ({resource['resourceType']}"
            label += f"/{resource['id']})" if isinstance(resource.get("id"), str) else ")"
            full_url = entry.get("fullUrl")
            yield label, resource, full_url if isinstance(full_url, str) else None

    def _entry(self, label: str, resource: dict[str, Any]) -> None:
        kind = resource["resourceType"]
        if kind in NON_CLINICAL:
            self.left_out.append((label, f"{kind} holds no clinical fact about the patient"))
            return
        if kind in ("Patient", "Medication"):  # read above, and through references
            return
        if kind == "OperationOutcome":
            self._outcome(label, resource)
            return
        if kind not in _READ:
            raise self.fail(f"{label}: meso does not read {kind} resources, and one may hold safety data "
                            "(a Procedure, for example, may record a recent laser treatment), so meso "
                            "will not ignore it; remove the entry and give what matters as options")
        if kind == "Observation":
            self._observation(label, resource)
            return
        self._modifiers(label, resource)
        self._belongs(label, resource.get("patient" if kind == "AllergyIntolerance" else "subject"))
        if kind == "AllergyIntolerance":
            reason = self._left_out_for(resource)
            if reason is not None:
                self.left_out.append((label, reason))
                return
            concepts = [resource.get("code"), *(r.get("substance") for r in _list(resource.get("reaction"))
                                                 if isinstance(r, Mapping) and r.get("substance"))]
            self._concepts(label, "allergy", concepts, required=True)
        elif kind == "Condition":
            reason = self._left_out_for(resource)
            if reason is None:
                self._concepts(label, "condition", [resource.get("code")], required=True)
            elif reason.startswith("clinicalStatus") and self._histories(resource.get("code")):
                self.lists["condition"].extend(self._histories(resource.get("code")))
            else:
                self.left_out.append((label, reason))
        else:
            skipped = _STATEMENT_SKIPPED if kind == "MedicationStatement" else _REQUEST_SKIPPED
            if _text(resource.get("status")) in skipped:
                self.left_out.append((label, f"status {resource['status']}"))
                return
            if resource.get("doNotPerform") is True:
                self.left_out.append((label, "doNotPerform: an order not to take it"))
                return
            self._concepts(label, "medication", [self._medication(label, resource)], required=True)

    # -- the patient -----------------------------------------------------------------------
    def _patient(self, patients: list[tuple[str, dict[str, Any], str | None]]) -> int | None:
        if not patients:
            return None
        if len(patients) > 1:
            raise self.fail(f"{patients[1][0]}: a second Patient; a bundle must hold one patient's record")
        label, resource, full_url = patients[0]
        self._modifiers(label, resource)
        self.patient_keys = frozenset(_keys(resource, full_url))
        gender = resource.get("gender")
        if gender is not None and _text(gender) not in _GENDERS:
            raise self.fail(f"{label}: gender must be one of {', '.join(sorted(_GENDERS))}, not {gender!r}")
        if gender is not None:
            if _text(gender) in SEXES:
                self.sex = _text(gender)
            else:  # administrative gender other/unknown says nothing meso can use: sex stays unknown
                self.left_out.append((label, f"gender {gender}: sex left unknown"))
        born = resource.get("birthDate")
        return None if born is None else self._age(label, born)

    def _age(self, label: str, born: Any) -> int | None:
        """Whole years on ``today``; None when a partial date allows more than one age."""
        parts = born.split("-") if isinstance(born, str) else []
        try:
            if len(parts) == 3:
                first = last = date(int(parts[0]), int(parts[1]), int(parts[2]))
            elif len(parts) == 2:
                year, month = int(parts[0]), int(parts[1])
                first = date(year, month, 1)
                last = date.fromordinal(date(year + month // 12, month % 12 + 1, 1).toordinal() - 1)
            elif len(parts) == 1 and len(parts[0]) == 4:
                first, last = date(int(parts[0]), 1, 1), date(int(parts[0]), 12, 31)
            else:
                raise ValueError(born)
        except ValueError:
            raise self.fail(f"{label}: birthDate {born!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)") from None
        if first > self.today:
            raise self.fail(f"{label}: birthDate {born} is after today ({self.today.isoformat()})")
        oldest, youngest = _years(first, self.today), _years(min(last, self.today), self.today)
        return oldest if oldest == youngest else None

    def _belongs(self, label: str, reference: Any) -> None:
        ref = reference.get("reference") if isinstance(reference, Mapping) else None
        if not isinstance(ref, str) or not ref.strip():
            raise self.fail(f"{label}: does not say which patient it is about (no patient reference)")
        keys = set(_normalise(ref))
        if self.subject is None and not self.patient_keys:  # no Patient bundled: the first entry decides
            self.subject = ref
            self.patient_keys = frozenset(keys)
        elif not keys & self.patient_keys:
            whose = "the bundle's Patient" if self.subject is None else f"{self.subject!r} as the other entries"
            raise self.fail(f"{label}: is about {ref!r}, another patient than {whose}")

    # -- clinical content ------------------------------------------------------------------
    def _modifiers(self, label: str, resource: Mapping[str, Any]) -> None:
        if resource.get("implicitRules") or _has_modifier(resource):
            raise self.fail(f"{label}: carries a modifierExtension or implicitRules that meso does not "
                            "understand; FHIR forbids reading such a resource as if they were absent")

    @staticmethod
    def _left_out_for(resource: Mapping[str, Any]) -> str | None:
        """Why an allergy or condition is left out for its status, or None when it is used.

        A refuted or mistaken entry is left out first: it never happened, history or not.
        """
        for element, left_out in (("verificationStatus", _NOT_VERIFIED), ("clinicalStatus", _INACTIVE_CLINICAL)):
            codes = sorted(_codes(resource.get(element)) & left_out)
            if codes:
                return f"{element} {codes[0]}"
        return None

    def _histories(self, concept: Any) -> list[str]:
        """The history terms a condition's codings map to (they count even when it is resolved)."""
        if not isinstance(concept, Mapping):
            return []
        found = []
        for coding in _list(concept.get("coding")):
            if isinstance(coding, Mapping) and isinstance(coding.get("system"), str) \
                    and isinstance(coding.get("code"), str):
                key = ("condition", coding["system"], coding["code"].strip())
                if key in self.table.history:
                    found.extend(self.table.terms[key])
        return found

    def _medication(self, label: str, resource: Mapping[str, Any]) -> Any:
        if "medicationCodeableConcept" in resource:
            return resource["medicationCodeableConcept"]
        reference = resource.get("medicationReference")
        ref = reference.get("reference") if isinstance(reference, Mapping) else None
        if not isinstance(ref, str):
            display = reference.get("display") if isinstance(reference, Mapping) else None
            if isinstance(display, str) and display.strip():
                return {"text": display}
            raise self.fail(f"{label}: names no medication")
        if ref.startswith("#"):
            target = next((c for c in _list(resource.get("contained"))
                           if isinstance(c, Mapping) and c.get("id") == ref[1:]), None)
        else:
            target = next((self.index[k] for k in _normalise(ref) if k in self.index), None)
        if target is None or target.get("resourceType") != "Medication":
            raise self.fail(f"{label}: its medication {ref!r} is not in the bundle")
        self._modifiers(label, target)
        return target.get("code")

    def _concepts(self, label: str, kind: str, concepts: list[Any], *, required: bool) -> None:
        for concept in concepts:
            if not isinstance(concept, Mapping):
                if required:
                    raise self.fail(f"{label}: has no code, so meso cannot tell what it is")
                continue
            self.lists[kind].extend(self._terms(label, kind, concept))
            required = False  # reaction substances are extra detail, the code is the entry

    def _terms(self, label: str, kind: str, concept: Mapping[str, Any]) -> list[str]:
        mapped: list[str] = []
        nothing = False
        codings = [c for c in _list(concept.get("coding")) if isinstance(c, Mapping)]
        for coding in codings:
            system, code = coding.get("system"), coding.get("code")
            if not isinstance(system, str) or not isinstance(code, str):
                continue
            terms = self.table.lookup(kind, system, code.strip())
            if terms is not None:
                mapped.extend(terms)
                nothing = nothing or not terms
        if mapped:
            return mapped
        if nothing:
            self.left_out.append((label, f"{kind}: nothing to record (an absent-or-unknown code)"))
            return []
        text = concept.get("text")
        if not (isinstance(text, str) and text.strip()):
            text = next((c["display"] for c in codings if isinstance(c.get("display"), str)
                         and c["display"].strip()), None)
        if text is None:
            shown = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings) or "no coding"
            raise self.fail(f"{label}: meso has no mapping for {shown} and the entry has no text, "
                            "so meso cannot tell what it is")
        return [text.strip()]

    # -- observations ----------------------------------------------------------------------
    def _observation(self, label: str, resource: dict[str, Any]) -> None:
        """Keep a pregnancy status or body weight for :meth:`_latest_observations`; refuse the rest."""
        code = resource.get("code") if isinstance(resource.get("code"), Mapping) else {}
        reads = next((self.table.observations[(c["system"], c["code"])] for c in _list(code.get("coding"))
                      if isinstance(c, Mapping) and isinstance(c.get("system"), str)
                      and isinstance(c.get("code"), str) and (c["system"], c["code"]) in self.table.observations),
                     None)
        if reads is None:
            shown = _text(code.get("text")) or ", ".join(
                f"{c.get('system')}|{c.get('code')}" for c in _list(code.get("coding")) if isinstance(c, Mapping))
            raise self.fail(f"{label}: meso reads only pregnancy status and body weight Observations, not "
                            f"{shown or 'one without a code'!r}; this one may hold safety data, so meso will not "
                            "ignore it; remove the entry and give what matters as options")
        self._modifiers(label, resource)
        self._belongs(label, resource.get("subject"))
        if _text(resource.get("status")) in _OBSERVATION_SKIPPED:
            self.left_out.append((label, f"status {resource['status']}"))
            return
        self.observed.setdefault(reads, []).append((_when(resource), label, resource))

    def _latest_observations(self) -> Any:
        """Apply the latest pregnancy status and return the latest body weight (or None).

        The latest is the one with the latest effective date; an undated one counts as the oldest.
        Earlier ones are left out: a status or a weight is replaced by the next measurement.
        """
        weight = None
        for reads, found in self.observed.items():
            found.sort(key=lambda item: item[0])
            *older, (_, label, resource) = found
            self.left_out.extend((old_label, f"a later {reads} replaces it") for _, old_label, _ in older)
            if reads == "pregnancy-status":
                value = resource.get("valueCodeableConcept")
                if not isinstance(value, Mapping):
                    raise self.fail(f"{label}: a pregnancy status with no coded value")
                self.lists["condition"].extend(self._terms(label, "condition", value))
            else:
                weight = self._weight(label, resource.get("valueQuantity"))
        return weight

    def _weight(self, label: str, quantity: Any) -> dict[str, Any]:
        value = quantity.get("value") if isinstance(quantity, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"{label}: a body weight with no valueQuantity.value")
        code = _text(quantity.get("code")) if quantity.get("system") == UCUM_SYSTEM else None
        unit = UCUM_MASS.get(code) if code is not None else _text(quantity.get("unit"))
        if unit is None:
            raise self.fail(f"{label}: body weight unit {quantity.get('code') or quantity.get('unit')!r} "
                            "is not a mass meso reads (UCUM kg, g or [lb_av])")
        return {"value": value, "unit": unit}

    def _outcome(self, label: str, resource: Mapping[str, Any]) -> None:
        for issue in _list(resource.get("issue")):
            if isinstance(issue, Mapping) and _text(issue.get("severity")) in ("error", "fatal"):
                details = issue.get("details")
                said = (_text(issue.get("diagnostics"))
                        or (_text(details.get("text")) if isinstance(details, Mapping) else None)
                        or _text(issue.get("code")) or "no details")
                raise self.fail(f"{label}: the search that made this bundle reported an error ({said}); "
                                "its results may be incomplete")


# ----------------------------------------------------------------------------- helpers
def _when(resource: Mapping[str, Any]) -> str:
    """An Observation's effective time as sortable text ("" when it has none)."""
    period = resource.get("effectivePeriod")
    for value in (resource.get("effectiveDateTime"), resource.get("effectiveInstant"),
                  period.get("start") if isinstance(period, Mapping) else None, resource.get("issued")):
        if isinstance(value, str):
            return value
    return ""


def _text(value: Any) -> str | None:
    """``value`` if it is text, else None: input JSON may hold anything where text belongs."""
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _codes(concept: Any) -> set[str]:
    if not isinstance(concept, Mapping):
        return set()
    codings = _list(concept.get("coding"))
    return {c["code"] for c in codings if isinstance(c, Mapping) and isinstance(c.get("code"), str)}


def _has_modifier(value: Any) -> bool:
    """A modifierExtension anywhere in the resource, but not inside contained resources."""
    if isinstance(value, Mapping):
        return bool(value.get("modifierExtension")) or any(
            _has_modifier(v) for k, v in value.items() if k != "contained")
    if isinstance(value, list):
        return any(_has_modifier(v) for v in value)
    return False


def _keys(resource: Mapping[str, Any], full_url: str | None) -> list[str]:
    """Every way a reference may name this bundled resource."""
    keys = []
    if full_url:
        keys.extend(_normalise(full_url))
    if isinstance(resource.get("id"), str):
        keys.append(f"{resource['resourceType']}/{resource['id']}")
    return keys


def _normalise(reference: str) -> list[str]:
    """A reference as itself and as its trailing "Type/id", without a version."""
    ref = reference.strip()
    if "/_history/" in ref:
        ref = ref.split("/_history/")[0]
    keys = [ref]
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 2 and not ref.startswith(("urn:", "#")):
        keys.append("/".join(parts[-2:]))
    return keys


def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.casefold() not in seen:
            seen.add(item.casefold())
            out.append(item)
    return out
