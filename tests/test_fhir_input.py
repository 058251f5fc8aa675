"""FHIR R4 input: a patient read from a Bundle as a clinic's record system writes it.

The fixtures under tests/fixtures/fhir are written the way EHRs export: an IPS-style document
(Composition first, several codings per concept, extensions, references by urn:uuid), an
EHR search result (absolute fullUrls, contained Medications, display-only medications,
versioned references, an OperationOutcome entry) and a collection with text-only and "no
known ..." entries. Each fixture itself parses strictly with R4 models.
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhirclient.models.bundle import Bundle as R4Bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli.domain.patient import Patient, patient_from_mapping
from mesocli.errors import CatalogueDataError, InputError
from mesocli.fhir_input import code_table, patient_from_fhir, read_fhir_patient

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
TODAY = date(2026, 12, 6)
PATIENT_REF = "urn:uuid:7685713c-e29e-4a75-8a90-45be7ba3be94"


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _read(bundle: dict[str, Any], today: date = TODAY) -> Patient:
    return patient_from_fhir(bundle, today=today)


def _bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def _condition(text: str, ref: str = "Patient/1", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Condition", "code": {"text": text}, "subject": {"reference": ref}, **extra}


# ----------------------------------------------------------------------------- the fixtures
@pytest.mark.parametrize("name", ["ips-document", "searchset-medications", "collection-text-and-absent"])
def test_fixtures_are_valid_r4(name):
    """Every fixture is a Bundle that models generated from FHIR 4.0.1 accept strictly."""
    R4Bundle(_fixture(name), strict=True)


def test_ips_document_maps_codes_and_leaves_out_refuted_and_resolved_entries():
    """The IPS document gives the coded lidocaine allergy, pregnancy and warfarin (through a
    bundled Medication); the refuted penicillin allergy and the resolved diabetes are left out;
    the Composition and Practitioner are skipped; the age comes from birthDate and the weight
    from the body weight Observation, the sex from gender."""
    patient = _read(_fixture("ips-document"))
    assert patient == Patient(allergies=("lidocaine",), conditions=("pregnancy",), medications=("warfarin",),
                              age=34, weight={"value": 64.5, "unit": "kg"}, sex="female")


def test_what_is_left_out_is_said_with_its_reason():
    """The reader reports each entry it left out on purpose, in bundle order, with the reason."""
    reading = read_fhir_patient(_fixture("ips-document"), today=TODAY)
    no_fact = "holds no clinical fact about the patient"
    assert reading.left_out == (
        ("entry 1 (Composition/6e1fb74a-742b-4c7b-8487-171dacb88766)", f"Composition {no_fact}"),
        ("entry 3 (Practitioner/98315ba9-ffea-41ef-b59b-a836c039858f)", f"Practitioner {no_fact}"),
        ("entry 5 (AllergyIntolerance/0ad9d9c6-7f3c-4b36-8f4c-0c8a6b5b4f11)", "verificationStatus refuted"),
        ("entry 7 (Condition/2a1d9a3e-6a0b-4a53-9b5e-7d3c1f0e9a22)", "clinicalStatus resolved"),
    )
    assert reading.patient == _read(_fixture("ips-document"))
    searchset = read_fhir_patient(_fixture("searchset-medications"), today=TODAY).left_out
    assert [reason for _, reason in searchset] == ["status entered-in-error", "doNotPerform: an order not to take it"]


def test_searchset_reads_contained_and_display_only_medications():
    """A searchset's contained Medication maps by RxNorm, a display-only medication is read by its
    text, a stopped order still counts, and entered-in-error and doNotPerform orders do not;
    an informational OperationOutcome entry is ignored."""
    assert _read(_fixture("searchset-medications")) == Patient(medications=("aspirin", "ibuprofen"))


def test_text_mapped_codes_and_absent_codes():
    """A coding with only a display is read by its display; a mapped code wins over the text;
    IPS "no known ..." codes add nothing; an unconfirmed allergy is used; a birth month that
    allows one age only gives that age; gender male gives the sex."""
    patient = _read(_fixture("collection-text-and-absent"))
    assert patient == Patient(allergies=("Parabens",), conditions=("hypertension",), age=56, sex="male")


IPS_ABSENT = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"


@pytest.mark.parametrize("resource", [
    {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
     "code": {"coding": [{"system": IPS_ABSENT, "code": "no-known-allergies"}], "text": "NKA"}},
    {"resourceType": "Condition", "subject": {"reference": "Patient/1"},
     "code": {"coding": [{"system": IPS_ABSENT, "code": "no-problem-info"}]}},
    {"resourceType": "MedicationStatement", "status": "unknown", "subject": {"reference": "Patient/1"},
     "medicationCodeableConcept": {"coding": [{"system": IPS_ABSENT, "code": "no-known-medications"}]}},
])
def test_ips_absent_or_unknown_entries_add_nothing(resource):
    """An IPS "no known ..." or "no information" entry adds no term, whatever its text says."""
    assert _read(_bundle(resource)) == Patient()


def test_an_absent_code_in_another_list_is_not_nothing():
    """"No known medications" says nothing about allergies: as an allergy code it is read by text."""
    allergy = {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
               "code": {"coding": [{"system": IPS_ABSENT, "code": "no-known-medications"}], "text": "Odd entry"}}
    assert _read(_bundle(allergy)).allergies == ("Odd entry",)


def test_a_patient_file_document_with_a_resource_type_is_read_as_fhir():
    """patient_from_mapping (the --patient and batch path) hands a FHIR document to the reader."""
    patient = patient_from_mapping(_fixture("ips-document"))
    assert patient.allergies == ("lidocaine",) and patient.conditions == ("pregnancy",)


# ----------------------------------------------------------------------------- statuses
@pytest.mark.parametrize("field, code, used", [
    ("clinicalStatus", "active", True), ("clinicalStatus", "recurrence", True),
    ("clinicalStatus", "remission", True), ("clinicalStatus", "inactive", False),
    ("clinicalStatus", "resolved", False), ("verificationStatus", "unconfirmed", True),
    ("verificationStatus", "provisional", True), ("verificationStatus", "differential", True),
    ("verificationStatus", "refuted", False), ("verificationStatus", "entered-in-error", False),
])
def test_condition_statuses(field, code, used):
    """Only inactive or resolved conditions and refuted or entered-in-error ones are left out."""
    condition = _condition("Asthma", **{field: {"coding": [{"code": code}]}})
    assert _read(_bundle(condition)).conditions == (("Asthma",) if used else ())


SCT = "http://snomed.info/sct"
DVT = {"coding": [{"system": SCT, "code": "128053003", "display": "Deep venous thrombosis (disorder)"}]}


@pytest.mark.parametrize("clinical, verification, expected", [
    ("resolved", None, ("thrombosis-history",)),
    ("inactive", "confirmed", ("thrombosis-history",)),
    ("active", None, ("thrombosis-history",)),
    ("resolved", "refuted", ()),
    ("resolved", "entered-in-error", ()),
])
def test_a_resolved_condition_still_counts_when_its_code_is_a_history(clinical, verification, expected):
    """A resolved deep vein thrombosis is a history of thrombosis, so it counts; a refuted or
    mistaken one never happened and does not."""
    condition = {"resourceType": "Condition", "code": DVT, "subject": {"reference": "Patient/1"},
                 "clinicalStatus": {"coding": [{"code": clinical}]}}
    if verification:
        condition["verificationStatus"] = {"coding": [{"code": verification}]}
    assert _read(_bundle(condition)).conditions == expected


def test_a_resolved_condition_read_by_text_is_left_out():
    """Without a history code, a resolved entry is left out even if its text names a history."""
    condition = _condition("Deep vein thrombosis", clinicalStatus={"coding": [{"code": "resolved"}]})
    reading = read_fhir_patient(_bundle(condition), today=TODAY)
    assert reading.patient.conditions == () and reading.left_out[0][1] == "clinicalStatus resolved"


@pytest.mark.parametrize("kind, status, used", [
    ("MedicationStatement", "active", True), ("MedicationStatement", "completed", True),
    ("MedicationStatement", "stopped", True), ("MedicationStatement", "intended", True),
    ("MedicationStatement", "not-taken", False), ("MedicationStatement", "entered-in-error", False),
    ("MedicationRequest", "draft", True), ("MedicationRequest", "on-hold", True),
    ("MedicationRequest", "cancelled", False), ("MedicationRequest", "entered-in-error", False),
])
def test_medication_statuses(kind, status, used):
    """Recently stopped drugs still count; never-taken, cancelled and mistaken ones do not."""
    resource = {"resourceType": kind, "status": status, "medicationCodeableConcept": {"text": "Warfarin"},
                "subject": {"reference": "Patient/1"}}
    assert _read(_bundle(resource)).medications == (("Warfarin",) if used else ())


def test_reaction_substances_are_allergies_too():
    """An allergy's reaction.substance is read as well: more detail never drops an allergen."""
    allergy = {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
               "code": {"text": "Local anaesthetic"},
               "reaction": [{"substance": {"coding": [{"system": "http://snomed.info/sct", "code": "387150008"}]},
                             "manifestation": [{"text": "urticaria"}]}]}
    assert _read(_bundle(allergy)).allergies == ("Local anaesthetic", "bupivacaine")


# ----------------------------------------------------------------------------- refusals
def _with(entry_resource: dict[str, Any]) -> dict[str, Any]:
    bundle = _fixture("ips-document")
    bundle["entry"].append({"fullUrl": "urn:uuid:0b5b0f3e-0000-4000-8000-000000000001", "resource": entry_resource})
    return bundle


def _mutated(change) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    bundle = _fixture("ips-document")
    change(bundle)
    return bundle


REFUSED = {
    "observation": (_with({"resourceType": "Observation", "id": "obs-1", "status": "final",
                           "code": {"text": "Blood pressure"}, "subject": {"reference": PATIENT_REF}}),
                    "entry 11 (Observation/obs-1): meso reads only pregnancy status and body weight Observations"),
    "procedure": (_with({"resourceType": "Procedure", "id": "laser-1", "status": "completed",
                         "code": {"text": "Fractional CO2 laser resurfacing"}, "subject": {"reference": PATIENT_REF}}),
                  "entry 11 (Procedure/laser-1): meso does not read Procedure resources"),
    "pregnancy status without value": (_with({"resourceType": "Observation", "status": "final",
                                              "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
                                              "subject": {"reference": PATIENT_REF}}),
                                       "a pregnancy status with no coded value"),
    "weight in centimetres": (_with({"resourceType": "Observation", "status": "final",
                                     "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                                     "subject": {"reference": PATIENT_REF}, "effectiveDateTime": "2026-12-01",
                                     "valueQuantity": {"value": 170, "system": "http://unitsofmeasure.org",
                                                       "code": "cm"}}),
                              "is not a mass meso reads"),
    "second patient": (_with({"resourceType": "Patient", "id": "other"}), "a second Patient"),
    "another patient": (_with(_condition("Asthma", ref="urn:uuid:someone-else")),
                        "another patient than the bundle's Patient"),
    "no patient reference": (_with({"resourceType": "Condition", "code": {"text": "Asthma"}}),
                             "does not say which patient"),
    "modifier extension": (_with(_condition("Asthma", ref=PATIENT_REF, modifierExtension=[
        {"url": "https://example.org/fhir/StructureDefinition/negated", "valueBoolean": True}])),
        "modifierExtension"),
    "unmapped code without text": (_with({"resourceType": "Condition", "subject": {"reference": PATIENT_REF},
                                          "code": {"coding": [{"system": "https://example.org/cs", "code": "X1"}]}}),
                                   "https://example.org/cs|X1 and the entry has no text"),
    "no code": (_with({"resourceType": "AllergyIntolerance", "patient": {"reference": PATIENT_REF}}), "has no code"),
    "missing medication": (_with({"resourceType": "MedicationStatement", "status": "active",
                                  "medicationReference": {"reference": "Medication/gone"},
                                  "subject": {"reference": PATIENT_REF}}), "'Medication/gone' is not in the bundle"),
    "transaction": (_mutated(lambda b: b.update(type="transaction")), "Bundle type must be one of"),
    "next page": (_mutated(lambda b: b.update(type="searchset", link=[{"relation": "next", "url": "https://x/p2"}])),
                  "next page"),
    "outcome error": (_with({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "too-costly", "diagnostics": "Too many results"}]}), "Too many results"),
    "future birth": (_mutated(lambda b: b["entry"][1]["resource"].update(birthDate="2027-01-01")), "after today"),
    "bad birth": (_mutated(lambda b: b["entry"][1]["resource"].update(birthDate="01/05/1992")), "is not a date"),
    "bad gender": (_mutated(lambda b: b["entry"][1]["resource"].update(gender="F")), "gender must be one of"),
    "not a bundle": ({"resourceType": "Patient", "id": "p"}, "must be a Bundle"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_meso_cannot_read_safely_is_refused(name):
    """Fail closed: each case is one InputError (exit 2) that says what is wrong and where."""
    bundle, expected = REFUSED[name]
    with pytest.raises(InputError) as raised:
        _read(copy.deepcopy(bundle))
    assert expected in raised.value.message
    assert raised.value.exit_code == 2


def test_non_clinical_resources_are_skipped():
    """Practitioner, Organization, Encounter, Location, Provenance and Composition hold no clinical
    fact about the patient and are skipped rather than refused."""
    bundle = _bundle(*({"resourceType": kind, "id": "x"} for kind in
                       ("Practitioner", "PractitionerRole", "Organization", "Encounter", "Location", "Provenance")),
                     _condition("Asthma"))
    assert _read(bundle).conditions == ("Asthma",)


def test_entries_without_a_bundled_patient_must_share_one_subject():
    """With no Patient in the bundle (a search by patient), every entry must name the same one."""
    same = _bundle(_condition("Asthma", ref="Patient/1"),
                   _condition("Hypertension", ref="https://ehr.example.org/fhir/Patient/1/_history/2"))
    assert _read(same).conditions == ("Asthma", "Hypertension")
    with pytest.raises(InputError, match="another patient"):
        _read(_bundle(_condition("Asthma", ref="Patient/1"), _condition("Hypertension", ref="Patient/2")))


# ----------------------------------------------------------------------------- observations
LOINC = "http://loinc.org"


def _pregnancy_status(value: dict[str, Any], when: str | None, status: str = "final") -> dict[str, Any]:
    observation = {"resourceType": "Observation", "status": status,
                   "code": {"coding": [{"system": LOINC, "code": "82810-3", "display": "Pregnancy status"}]},
                   "subject": {"reference": "Patient/1"}, "valueCodeableConcept": value}
    if when:
        observation["effectiveDateTime"] = when
    return observation


def _weight(value: float, code: str, when: str, system: str | None = "http://unitsofmeasure.org") -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": code, "code": code}
    if system:
        quantity["system"] = system
    return {"resourceType": "Observation", "status": "final", "effectiveDateTime": when,
            "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}]},
            "subject": {"reference": "Patient/1"}, "valueQuantity": quantity}


PREGNANT = {"coding": [{"system": SCT, "code": "77386006", "display": "Pregnant"}]}
NOT_PREGNANT = {"coding": [{"system": SCT, "code": "60001007", "display": "Not pregnant"}]}


@pytest.mark.parametrize("observations, expected", [
    ([_pregnancy_status(PREGNANT, "2026-11-30")], ("pregnancy",)),
    ([_pregnancy_status({"coding": [{"system": LOINC, "code": "LA15173-0"}]}, "2026-11-30")], ("pregnancy",)),
    ([_pregnancy_status({"coding": [{"system": SCT, "code": "146799005"}]}, None)], ("possible-pregnancy",)),
    ([_pregnancy_status(PREGNANT, "2025-02-01"), _pregnancy_status(NOT_PREGNANT, "2026-11-30")], ()),
    ([_pregnancy_status(NOT_PREGNANT, "2025-02-01"), _pregnancy_status(PREGNANT, "2026-11-30T09:00:00+01:00")],
     ("pregnancy",)),
    ([_pregnancy_status(PREGNANT, None), _pregnancy_status(NOT_PREGNANT, "2026-11-30")], ()),
    ([_pregnancy_status(PREGNANT, "2026-11-30", status="entered-in-error")], ()),
    ([_pregnancy_status({"text": "Pregnant"}, "2026-11-30")], ("Pregnant",)),
])
def test_the_latest_pregnancy_status_counts(observations, expected):
    """The latest pregnancy status Observation is read as a condition (coded or by text); earlier
    ones, and mistaken ones, are left out; an undated one is the oldest."""
    assert _read(_bundle(*observations)).conditions == expected


def test_the_latest_body_weight_is_the_patient_weight():
    """Body weight Observations give the patient's weight in UCUM kg, g or [lb_av]; the latest wins."""
    reading = read_fhir_patient(_bundle(_weight(80, "kg", "2024-01-01"), _weight(154, "[lb_av]", "2026-10-01")),
                                today=TODAY)
    assert reading.patient.weight == {"value": 154, "unit": "lb"}
    assert reading.left_out[0][1] == "a later body-weight replaces it"
    assert _read(_bundle(_weight(70500, "g", "2026-10-01"))).weight == {"value": 70500, "unit": "g"}
    assert _read(_bundle(_weight(70, "kg", "2026-10-01", system=None))).weight == {"value": 70, "unit": "kg"}


def test_a_body_weight_is_checked_like_a_typed_one(catalogue):
    """A weight from the record goes through the same check as --weight: 154 lb is about 69.9 kg."""
    from mesocli.domain.engine import resolve_patient

    patient = _read(_bundle(_weight(154, "[lb_av]", "2026-10-01")))
    assert resolve_patient(catalogue, patient).weight_kg == pytest.approx(69.85, abs=0.01)


def test_build_refuses_for_a_pregnancy_status_observation(meso, tmp_path):
    """A pregnancy recorded only as an Observation still makes `meso build` refuse."""
    path = tmp_path / "pregnant.json"
    path.write_text(json.dumps(_bundle(_pregnancy_status(PREGNANT, "2026-11-30"))), encoding="utf-8")
    result = meso("build", "--indication", "hair-loss", "--patient", str(path), "--json")
    assert result.exit_code == 1 and result.json()["status"] == "refused"


# ----------------------------------------------------------------------------- age
# Births from 1911 keep every age within the 0-130 years a Patient accepts.
@settings(max_examples=200, deadline=None)
@given(born=st.dates(min_value=date(1911, 1, 1), max_value=date(2026, 12, 6)),
       today=st.dates(min_value=date(2026, 12, 6), max_value=date(2040, 12, 31)))
def test_age_is_whole_years_on_the_given_day(born, today):
    """A full birth date gives the age in whole years on ``today``, birthdays included."""
    age = _read(_bundle({"resourceType": "Patient", "id": "1", "birthDate": born.isoformat()}), today).age
    had_birthday = (today.month, today.day) >= (born.month, born.day)
    assert age == today.year - born.year - (0 if had_birthday else 1)


@settings(max_examples=200, deadline=None)
@given(born=st.dates(min_value=date(1911, 1, 1), max_value=date(2026, 11, 30)),
       today=st.dates(min_value=date(2026, 12, 6), max_value=date(2040, 12, 31)),
       precision=st.sampled_from(["year", "month"]))
def test_a_partial_birth_date_gives_an_age_only_when_it_is_certain(born, today, precision):
    """A year or a year-month gives an age only when every day it allows (up to today) gives that
    age; otherwise the age is unknown, as if none had been given."""
    text = f"{born.year:04d}" if precision == "year" else f"{born.year:04d}-{born.month:02d}"
    age = _read(_bundle({"resourceType": "Patient", "id": "1", "birthDate": text}), today).age
    first = date(born.year, 1 if precision == "year" else born.month, 1)
    days = [first + timedelta(days=n) for n in range(366)]
    days = [d for d in days if d.year == born.year and (precision == "year" or d.month == born.month)
            and d <= today]  # a birth after today is impossible, so it allows no age
    ages = {today.year - d.year - ((today.month, today.day) < (d.month, d.day)) for d in days}
    assert age == (ages.pop() if len(ages) == 1 else None)


def test_an_impossible_age_is_refused_like_a_typed_one():
    """A birth date more than 130 years ago fails as --age 131 would."""
    with pytest.raises(InputError, match="from 0 to 130"):
        _read(_bundle({"resourceType": "Patient", "id": "1", "birthDate": "1890-01-01"}))


# ----------------------------------------------------------------------------- text like typed terms
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_text_entries_read_like_typed_names(catalogue, data):
    """Any catalogue condition or medication name given as text comes out exactly as typed, in order."""
    conditions = data.draw(st.lists(st.sampled_from(sorted(c.name for c in catalogue.conditions.values())),
                                    max_size=4, unique=True))
    medications = data.draw(st.lists(st.sampled_from(sorted(m.name for m in catalogue.medications.values())),
                                     max_size=4, unique=True))
    resources = [*(_condition(c) for c in conditions),
                 *({"resourceType": "MedicationStatement", "status": "active", "medicationCodeableConcept":
                    {"text": m}, "subject": {"reference": "Patient/1"}} for m in medications)]
    patient = _read(_bundle(*resources))
    assert (patient.conditions, patient.medications) == (tuple(conditions), tuple(medications))


# ----------------------------------------------------------------------------- the code table
def test_every_code_table_term_resolves_in_the_catalogue(catalogue):
    """Each mapped code leads to a term the catalogue knows for that kind (on SQLite and PostgreSQL)."""
    resolve = {"allergy": catalogue.resolve_allergy, "condition": catalogue.resolve_condition,
               "medication": catalogue.resolve_medication}
    table = code_table(catalogue)
    assert table.terms and table.nothing and set(table.observations.values()) == {"pregnancy-status", "body-weight"}
    for (kind, _system, _code), terms in table.terms.items():
        for term in terms:
            assert resolve[kind](term) is not None


def test_the_same_code_may_mean_different_terms_by_kind():
    """RxNorm aspirin is the salicylates allergen in an allergy and the drug in a medication list."""
    rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    coded = {"coding": [{"system": rxnorm, "code": "1191", "display": "Aspirin"}]}
    bundle = _bundle({"resourceType": "AllergyIntolerance", "code": coded, "patient": {"reference": "Patient/1"}},
                     {"resourceType": "MedicationStatement", "status": "active", "medicationCodeableConcept": coded,
                      "subject": {"reference": "Patient/1"}})
    patient = _read(bundle)
    assert (patient.allergies, patient.medications) == (("salicylates",), ("aspirin",))


ROW = {"system": "http://snomed.info/sct", "code": "1", "display": "x", "kind": "condition", "term": "asthma",
       "evidence": "reference", "sources": [{"title": "t"}]}
NONE_ROW = {"system": ROW["system"], "codes": ["1"], "kind": "condition", "evidence": "reference",
            "sources": [{"title": "t"}]}


def _parse_code_table(document: dict[str, Any]) -> None:
    """Read a code-table document as 'meso db build' reads data/codes/fhir.toml, beside the
    rest of the shipped catalogue (without its own code table)."""
    from mesocli.config import data_dir
    from mesocli.storage.text import parse_documents, read_directory, validate_references

    shipped = read_directory(data_dir())
    shipped.fhir_codes = []
    validate_references(parse_documents({"codes/fhir.toml": document}), known=shipped)


@pytest.mark.parametrize("document, message", [
    ({"code": [ROW, ROW]}, "mapped twice"),
    ({"code": [{**ROW, "kind": "procedure"}]}, "'kind' = 'procedure' is not one of"),
    ({"code": [{**ROW, "sources": []}]}, "needs at least one source"),
    ({"code": [{**ROW, "sources": [{}]}]}, "neither a title nor a URL"),
    ({"code": [{**ROW, "evidence": "unsourced", "sources": []}]}, "'unsourced' is not accepted"),
    ({"code": [{k: v for k, v in ROW.items() if k != "evidence"}]}, "'evidence' = None is not one of"),
    ({"code": [ROW], "none": [NONE_ROW]}, "a term and 'nothing to record'"),
    ({"none": [NONE_ROW, NONE_ROW]}, "mapped twice"),
    ({"codes": []}, "unknown table"),
    ({"code": [{**ROW, "history": "yes"}]}, "'history' must be true or false"),
    ({"observation": [{"system": "http://loinc.org", "code": "1-1", "display": "x", "reads": "heart-rate",
                       "evidence": "reference", "sources": [{"title": "t"}]}]}, "'reads' = 'heart-rate' is not one of"),
    ({"code": [{**ROW, "kind": "allergy", "history": True}]}, "only a condition can be a history"),
    ({"code": [{**ROW, "system": "https://example.org/codes"}]}, "not a code system meso knows"),
    ({"code": [{**ROW, "system": "http://snomed.info/sct/"}]}, "not a code system meso knows"),
    ({"code": [{**ROW, "term": "asthmaa"}]}, "term 'asthmaa' is not a condition in the catalogue"),
    ({"code": [{**ROW, "kind": "medication"}]}, "term 'asthma' is not a medication or medication class"),
    ({"code": [{**ROW, "code": " 1"}]}, "must be a FHIR code"),
    ({"code": [{**ROW, "code": "1  2"}]}, "must be a FHIR code"),
    ({"code": [{**ROW, "code": 1}]}, "must be a FHIR code"),
    ({"code": [{**ROW, "colour": "red"}]}, "unknown field"),
    ({"code": [{k: v for k, v in ROW.items() if k != "term"}]}, "'term' is required"),
    ({"none": [{**NONE_ROW, "codes": []}]}, "'codes' must be a non-empty list"),
    ({"none": [{**NONE_ROW, "term": "asthma"}]}, "unknown field"),
])
def test_a_bad_code_table_is_refused(document, message):
    """A code-table row without a source or evidence grade, with an unknown kind, system or term,
    or mapped twice is a data error."""
    with pytest.raises(CatalogueDataError, match=message):
        _parse_code_table(document)


def test_the_shipped_code_table_is_valid():
    """data/codes/fhir.toml itself passes the checks above (the control for the refusals)."""
    import tomllib

    from mesocli.config import data_dir

    _parse_code_table(tomllib.loads((data_dir() / "codes" / "fhir.toml").read_text(encoding="utf-8")))
    _parse_code_table({"code": [ROW]})


# ----------------------------------------------------------------------------- command line and batch
def test_check_reads_a_fhir_patient_file(meso):
    """`meso check --patient bundle.json` finds the coded lidocaine allergy and the pregnancy."""
    result = meso("check", "--patient", str(FIXTURES / "ips-document.json"),
                  "--ingredient", "restylane-vital-lidocaine", "--json")
    assert result.exit_code == 1
    triggers = {(f["kind"], f["trigger"]) for f in result.json()["findings"] if f["severity"] == "contraindicated"}
    assert {("allergy", "lidocaine"), ("condition", "pregnancy"), ("medication", "warfarin")} <= triggers


def test_build_refuses_for_the_pregnancy_in_the_record(meso):
    """`meso build --patient bundle.json` refuses: the record says the patient is pregnant."""
    result = meso("build", "--indication", "hair-loss", "--patient", str(FIXTURES / "ips-document.json"), "--json")
    assert result.exit_code == 1 and result.json()["status"] == "refused"


def test_options_add_to_a_fhir_patient(meso):
    """Command-line options add to what the bundle says, as they do for a typed patient file."""
    result = meso("check", "--patient", str(FIXTURES / "searchset-medications.json"), "--allergy", "parabens",
                  "--ingredient", "lidocaine-2pct-md-methylparaben", "--json")
    triggers = {f["trigger"] for f in result.json()["findings"]}
    assert {"parabens", "aspirin"} <= triggers


def test_unknown_text_fails_exactly_like_a_typed_name(meso, tmp_path):
    """An entry meso cannot map gives the same error and exit code as typing its text."""
    path = tmp_path / "latex.json"
    path.write_text(json.dumps(_bundle({"resourceType": "AllergyIntolerance", "code": {"text": "Latex gloves"},
                                        "patient": {"reference": "Patient/1"}})), encoding="utf-8")
    from_file = meso("check", "--patient", str(path))
    typed = meso("check", "--allergy", "Latex gloves")
    assert from_file.exit_code == typed.exit_code == 2
    assert from_file.stderr == typed.stderr


def test_a_near_miss_in_a_bundle_gets_suggestions(meso, tmp_path):
    """A misspelt condition text is refused with the catalogue's suggestions, as when typed."""
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(_bundle(_condition("pregnancyy"))), encoding="utf-8")
    result = meso("check", "--patient", str(path))
    assert result.exit_code == 2 and "did you mean" in result.stderr and "pregnancy" in result.stderr


def test_a_refused_bundle_is_exit_2_naming_the_entry(meso, tmp_path):
    """An unreadable resource stops the command with exit 2 and names the file and the entry."""
    path = tmp_path / "obs.json"
    path.write_text(json.dumps(REFUSED["observation"][0]), encoding="utf-8")
    result = meso("check", "--patient", str(path), "--format", "fhir")
    assert result.exit_code == 2
    assert f"--patient {path}: entry 11 (Observation/obs-1)" in result.stderr
    assert result.json()["resourceType"] == "OperationOutcome"


def test_a_batch_line_takes_a_fhir_patient(meso):
    """A batch request's `patient` may be a FHIR Bundle; its allergy reaches the check."""
    request = {"id": "fhir-1", "action": "check", "patient": _fixture("ips-document"),
               "ingredients": ["restylane-vital-lidocaine"]}
    out = meso("batch", "-", input=json.dumps(request) + "\n")
    [line] = [json.loads(text) for text in out.stdout.splitlines()]
    assert line["id"] == "fhir-1" and line["status"] == "contraindicated"
    assert any(f["kind"] == "allergy" and f["trigger"] == "lidocaine" for f in line["findings"])


# ----------------------------------------------------------------------------- robustness
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "#m", "Patient/1", "active",
                                                                      "resolved", "refuted", "next", "error"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["resourceType", "id", "code", "coding", "system", "text", "display", "status", "subject",
                         "patient", "reference", "clinicalStatus", "verificationStatus", "medicationReference",
                         "medicationCodeableConcept", "contained", "reaction", "substance", "birthDate", "gender",
                         "issue", "severity", "link", "relation", "modifierExtension", "doNotPerform"]),
        children, max_size=4),
    max_leaves=12)
_TYPES = st.sampled_from(["Patient", "AllergyIntolerance", "Condition", "MedicationStatement", "MedicationRequest",
                          "Medication", "OperationOutcome", "Organization", "Observation"])


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["collection", "searchset", "document", "transaction", None]),
       resources=st.lists(st.tuples(_TYPES, st.dictionaries(st.sampled_from(
           ["id", "code", "status", "subject", "patient", "clinicalStatus", "verificationStatus", "birthDate",
            "gender", "medicationReference", "medicationCodeableConcept", "contained", "reaction", "issue",
            "doNotPerform"]), _JSON, max_size=5)), max_size=4),
       link=_JSON)
def test_any_bundle_is_read_or_refused_never_crashes(kind, resources, link):
    """Whatever a bundle holds, reading it gives a Patient or an InputError, never another exception."""
    bundle = {"resourceType": "Bundle", "type": kind, "link": link,
              "entry": [{"resource": {**body, "resourceType": rtype}} for rtype, body in resources]}
    try:
        patient = _read(bundle)
    except InputError:
        return
    assert isinstance(patient, Patient)
