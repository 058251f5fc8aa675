"""FHIR R4 export: real builds and checks, validated with R4 models and checked for content.

Validation libraries are test-only dependencies; meso writes plain dicts. fhirclient's models
are generated from FHIR 4.0.1 (R4 proper) and parse strictly: an unknown element, a wrong type
or a missing required element is an error. fhir.resources has no R4 package since 7.0, so its
R4B models are a second opinion; R4B matches R4 for every resource meso writes.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhirclient.models.bundle import Bundle as R4Bundle
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.operationoutcome import OperationOutcome as R4OperationOutcome

from mesocli import api
from mesocli.domain.patient import Patient
from mesocli.render.documents import DISCLAIMER
from mesocli.render.fhir import (
    ACT_CODE_SYSTEM,
    FINDING_KIND_SYSTEM,
    INDICATION_SYSTEM,
    MEDIA_TYPE,
    PRODUCT_SYSTEM,
    SUBSTANCE_SYSTEM,
    UCUM_CODES,
    UCUM_SYSTEM,
    UNII_SYSTEM,
    UcumMappingError,
    check_bundle,
    operation_outcome,
    recipe_bundle,
    source_url,
    ucum_quantity,
)
from mesocli.render.recipe import recipe_document
from mesocli.units import Q_

# Every UCUM code meso may emit. This list is kept apart from the module's map on purpose,
# so a new entry in the map has to be checked against UCUM here as well.
UCUM_ALLOWED = {"mg", "ug", "g", "mL", "L", "[iU]", "[USP'U]", "mg/mL", "ug/mL", "[iU]/mL",
                "[USP'U]/mL", "cm2", "mm", "cm", "d"}
SEVERITIES = {"contraindicated": "high", "caution": "moderate", "info": "low"}


# ----------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def hair_loss(catalogue):
    """The default hair-loss build: three syringes (minoxidil and dutasteride each alone)."""
    return api.build("hair-loss", catalogue=catalogue)


@pytest.fixture(scope="module")
def submental(catalogue):
    """Submental fat with a dose cap from the treatment area, and points from the protocol."""
    return api.build("submental-fat", volume="10 mL", treatment_area="25 cm**2", catalogue=catalogue)


@pytest.fixture(scope="module")
def refused(catalogue):
    """Refused: pregnancy contraindicates the whole procedure."""
    return api.build("hair-loss", Patient(conditions=("pregnancy",)), catalogue=catalogue)


@pytest.fixture(scope="module")
def allergy_check(catalogue):
    """A lidocaine-allergic patient checked against a pre-mixed lidocaine product."""
    return api.check(Patient(allergies=("lidocaine",)), ingredients=["restylane-vital-lidocaine"],
                     catalogue=catalogue)


@pytest.fixture(scope="module")
def screen(catalogue):
    """A lidocaine-allergic patient screened against the whole catalogue."""
    return api.check(Patient(allergies=("lidocaine",)), catalogue=catalogue)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _by_url(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _quantities(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Quantity: a dict with a numeric value (an Identifier's value is a string)."""
    return [d for d in _walk(bundle)
            if isinstance(d.get("value"), int | float) and not isinstance(d.get("value"), bool)]


def _codes(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c["system"] == system]


def _all_bundles(hair_loss, submental, refused, allergy_check, screen, catalogue) -> list[dict[str, Any]]:
    return [recipe_bundle(hair_loss, catalogue), recipe_bundle(submental, catalogue),
            recipe_bundle(refused, catalogue), check_bundle(allergy_check, catalogue),
            check_bundle(screen, catalogue)]


# ----------------------------------------------------------------------------- validity
def test_every_bundle_validates_against_the_r4b_models(hair_loss, submental, refused, allergy_check,
                                                       screen, catalogue):
    """Recipe, refusal, check and screen bundles all parse as FHIR Bundles of the expected types."""
    for doc in _all_bundles(hair_loss, submental, refused, allergy_check, screen, catalogue):
        parsed = Bundle.model_validate(doc)
        assert parsed.type == "collection"
        assert [e.resource.get_resource_type() for e in parsed.entry] == \
            [e["resource"]["resourceType"] for e in doc["entry"]]


def test_every_bundle_validates_against_the_r4_models(hair_loss, submental, refused, allergy_check,
                                                      screen, catalogue):
    """Each bundle parses strictly with models generated from FHIR 4.0.1, resource by resource."""
    for doc in _all_bundles(hair_loss, submental, refused, allergy_check, screen, catalogue):
        parsed = R4Bundle(doc, strict=True)
        assert [e.resource.resource_type for e in parsed.entry] == \
            [e["resource"]["resourceType"] for e in doc["entry"]]
        assert parsed.as_json() == doc  # nothing was dropped or reshaped on the way in


def test_the_r4_check_rejects_what_r4_does_not_have(hair_loss, catalogue):
    """The R4 check can fail: an R5-only element (Medication.totalVolume) or a missing required
    element (DetectedIssue.status) is refused."""
    doc = recipe_bundle(hair_loss, catalogue)
    r5 = copy.deepcopy(doc)
    _resources(r5, "Medication")[0]["totalVolume"] = {"value": 2, "unit": "mL"}
    with pytest.raises(FHIRValidationError):
        R4Bundle(r5, strict=True)
    missing = copy.deepcopy(doc)
    del _resources(missing, "DetectedIssue")[0]["status"]
    with pytest.raises(FHIRValidationError):
        R4Bundle(missing, strict=True)


def test_bundle_and_every_resource_declare_fhir_r4(hair_loss, refused, screen, catalogue):
    """The version is declared the way a file can carry it: the R4 version profile in meta.profile
    of the Bundle and of each resource; the media type names fhirVersion 4.0."""
    assert MEDIA_TYPE == "application/fhir+json; fhirVersion=4.0"
    for doc in (recipe_bundle(hair_loss, catalogue), recipe_bundle(refused, catalogue),
                check_bundle(screen, catalogue)):
        assert doc["meta"]["profile"] == ["http://hl7.org/fhir/4.0/StructureDefinition/Bundle"]
        for entry in doc["entry"]:
            kind = entry["resource"]["resourceType"]
            assert entry["resource"]["meta"]["profile"] == [f"http://hl7.org/fhir/4.0/StructureDefinition/{kind}"]


def test_a_bundle_says_which_meso_and_which_catalogue_answered(meso, hair_loss, allergy_check, catalogue):
    """Bundle.meta.tag carries the meso version and the catalogue identity, the same values the
    JSON contracts carry as meso_version and catalogue."""
    from mesocli.render.fhir import PROVENANCE_SYSTEMS

    build_json = json.loads(meso("build", "--indication", "hair-loss", "--json").stdout)
    expected = {"meso_version": build_json["meso_version"], **build_json["catalogue"]}
    for bundle in (recipe_bundle(hair_loss, catalogue), check_bundle(allergy_check, catalogue)):
        tags = {tag["system"]: tag["code"] for tag in bundle["meta"]["tag"]}
        assert tags == {system: str(expected[key]) for key, system in PROVENANCE_SYSTEMS.items()}
    fhir = json.loads(meso("build", "--indication", "hair-loss", "--format", "fhir").stdout)
    assert fhir["meta"]["tag"] == recipe_bundle(hair_loss, catalogue)["meta"]["tag"]


@pytest.mark.parametrize("exit_code, issue_code", [(2, "invalid"), (3, "exception"), (4, "transient")])
def test_operation_outcome_is_valid_r4_with_the_message(exit_code, issue_code):
    """An error becomes one error issue: the message as diagnostics, the exit code in details."""
    outcome = operation_outcome(exit_code, "unknown allergy 'x'")
    R4OperationOutcome(outcome, strict=True)
    assert outcome["meta"]["profile"] == ["http://hl7.org/fhir/4.0/StructureDefinition/OperationOutcome"]
    [issue] = outcome["issue"]
    assert (issue["severity"], issue["code"], issue["diagnostics"]) == ("error", issue_code, "unknown allergy 'x'")
    assert issue["details"]["coding"][0]["code"] == str(exit_code)


@pytest.mark.parametrize("args, code", [
    (("check", "--allergy", "no-such-allergen", "--format", "fhir"), 2),
    (("check", "--allergy", "lidocaine", "--fail-on", "never", "--format=fhir"), 2),
    (("build", "--indication", "no-such-indication", "--format", "fhir"), 2),
    (("check", "--no-such-option", "--format", "fhir"), 2),
])
def test_an_error_under_format_fhir_is_an_operation_outcome_on_stdout(meso, args, code):
    """A failed command under --format fhir prints only an OperationOutcome, with the usual exit code
    and the usual one-line message on stderr."""
    result = meso(*args)
    assert result.exit_code == code
    outcome = result.json()
    R4OperationOutcome(outcome, strict=True)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"] in result.stderr
    assert result.stderr.startswith("meso: error: ")


@pytest.mark.parametrize("extra", [("--json",), ("--format", "fhir", "--json")])
def test_the_same_error_as_json_keeps_meso_error_document(meso, extra):
    """Only --format fhir changes the error document; --json (which wins over --format) keeps meso's own."""
    result = meso("check", "--allergy", "no-such-allergen", *extra)
    assert result.exit_code == 2
    assert "resourceType" not in result.json()


def test_source_url_takes_the_first_url_of_a_finding(allergy_check):
    """The DetectedIssue reference is the first source that is, or ends with, an http(s) URL."""
    from mesocli.domain.model import Source

    finding = allergy_check.findings[0]
    assert finding.references, "the engine's findings carry their sources as records"
    records = (Source("A title only"), Source("Label", "https://example.org/a"), Source(None, "https://example.org/b"))
    assert source_url(dataclasses.replace(finding, references=records)) == "https://example.org/a"
    assert source_url(dataclasses.replace(finding, references=(Source("No link here"),))) is None
    # A finding made by hand, without records, is read from its text.
    titled = dataclasses.replace(finding, references=(), sources=(
        "A title only", "Label <https://example.org/a>", "https://example.org/b"))
    assert source_url(titled) == "https://example.org/a"
    assert source_url(dataclasses.replace(finding, references=(), sources=("No link here",))) is None


def test_every_reference_resolves_inside_the_bundle(hair_loss, submental, allergy_check, catalogue):
    """fullUrls are unique urn:uuids and every Reference points at an entry of the bundle."""
    for doc in (recipe_bundle(hair_loss, catalogue), recipe_bundle(submental, catalogue),
                check_bundle(allergy_check, catalogue)):
        urls = [e["fullUrl"] for e in doc["entry"]]
        assert len(urls) == len(set(urls)) and all(u.startswith("urn:uuid:") for u in urls)
        references = [d["reference"] for d in _walk(doc["entry"]) if isinstance(d.get("reference"), str)
                      and "resourceType" not in d]
        assert references
        assert all(ref in urls for ref in references)


def test_output_is_deterministic_and_json_serialisable(hair_loss, submental, refused, allergy_check,
                                                       screen, catalogue):
    """Two exports of the same result are equal, survive a JSON round trip, and differ across results."""
    first = _all_bundles(hair_loss, submental, refused, allergy_check, screen, catalogue)
    second = _all_bundles(hair_loss, submental, refused, allergy_check, screen, catalogue)
    assert first == second
    for doc in first:
        assert json.loads(json.dumps(doc)) == doc
    assert len({doc["id"] for doc in first}) == len(first)


def test_timestamp_is_used_only_when_given(hair_loss, catalogue):
    """No clock is read: a timestamp appears only when passed, and it does not change any id."""
    plain = recipe_bundle(hair_loss, catalogue)
    stamped = recipe_bundle(hair_loss, catalogue, timestamp="2024-05-01T10:00:00+02:00")
    assert "timestamp" not in plain
    assert stamped["timestamp"] == "2024-05-01T10:00:00+02:00"
    assert {k: v for k, v in stamped.items() if k != "timestamp"} == plain
    Bundle.model_validate(stamped)


def test_import_loads_no_fhir_library():
    """Importing mesocli.render.fhir loads neither fhir.resources nor pydantic."""
    code = ("import sys, mesocli.render.fhir;"
            "print(','.join(m for m in sys.modules if m.split('.')[0] in ('fhir', 'fhir_core', 'pydantic')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ----------------------------------------------------------------------------- quantities
def test_every_quantity_is_ucum_from_the_allow_list(hair_loss, submental, catalogue):
    """Each emitted Quantity has the UCUM system and a code from the allow-list matching its unit."""
    quantities = [*_quantities(recipe_bundle(hair_loss, catalogue)),
                  *_quantities(recipe_bundle(submental, catalogue))]
    assert quantities
    for quantity in quantities:
        assert quantity["system"] == UCUM_SYSTEM
        assert quantity["code"] in UCUM_ALLOWED
        assert quantity["code"] == UCUM_CODES[quantity["unit"]]


def test_ucum_map_only_holds_allowed_codes():
    """The module's map can only produce codes from the allow-list."""
    assert set(UCUM_CODES.values()) <= UCUM_ALLOWED


def test_unmapped_unit_raises_instead_of_guessing():
    """A unit outside the map raises UcumMappingError, naming the unit."""
    with pytest.raises(UcumMappingError, match="kg"):
        ucum_quantity(Q_(70, "kg"))


def test_micrograms_and_units_map_to_their_ucum_codes():
    """µg, IU and USP units get UCUM's ug, [iU] and [USP'U]."""
    assert ucum_quantity(Q_(5, "ug"))["code"] == "ug"
    assert ucum_quantity(Q_(1000, "IU/mL"))["code"] == "[iU]/mL"
    assert ucum_quantity(Q_(150, "USP"))["code"] == "[USP'U]"


# ----------------------------------------------------------------------------- medications
@pytest.mark.parametrize("name", ["hair_loss", "submental"])
def test_strength_reproduces_recipe_amount_and_syringe_volume(name, request, catalogue):
    """Each strength is the summed amount in the syringe over the syringe's total volume, as in the JSON."""
    recipe = request.getfixturevalue(name)
    document = recipe_document(recipe, catalogue)
    medications = _resources(recipe_bundle(recipe, catalogue), "Medication")
    assert len(medications) == len(document["syringes"]) > 0
    for syringe, medication in zip(document["syringes"], medications, strict=True):
        amounts: dict[str, list[Any]] = {}
        for component in syringe["components"]:
            for substance in component["substances"]:
                amounts.setdefault(substance["id"], []).append(substance["amount"])
        for ingredient in medication["ingredient"]:
            sid = _codes(ingredient["itemCodeableConcept"], SUBSTANCE_SYSTEM)[0]
            parts = amounts[sid]
            if any(p is None for p in parts):
                assert "strength" not in ingredient
                continue
            numerator = ingredient["strength"]["numerator"]
            assert numerator["unit"] == parts[0]["unit"]
            assert numerator["value"] == pytest.approx(sum(p["value"] for p in parts))
            denominator = ingredient["strength"]["denominator"]
            assert (denominator["value"], denominator["unit"]) == \
                (syringe["total_volume"]["value"], syringe["total_volume"]["unit"])


def test_ingredients_are_the_distinct_substances_of_each_syringe(hair_loss, catalogue):
    """One ingredient per distinct substance in the syringe, with its name and meso id."""
    medications = _resources(recipe_bundle(hair_loss, catalogue), "Medication")
    for syringe, medication in zip(hair_loss.syringes, medications, strict=True):
        distinct = list(dict.fromkeys(d.id for c in syringe.components for d in c.substances))
        ids = [_codes(i["itemCodeableConcept"], SUBSTANCE_SYSTEM)[0] for i in medication["ingredient"]]
        assert ids == distinct
        names = {d.id: d.name for c in syringe.components for d in c.substances}
        assert [i["itemCodeableConcept"]["text"] for i in medication["ingredient"]] == [names[i] for i in ids]
        assert medication["form"]["text"] == "solution for injection"


def test_same_substance_in_two_products_is_one_summed_ingredient(catalogue):
    """A substance from two components of one syringe is a single ingredient with the summed amount."""
    import dataclasses

    from mesocli.units import sum_of

    recipe = api.build("hair-loss", catalogue=catalogue)
    number = next(n for n, s in enumerate(recipe.syringes) if any(c.purpose == "anaesthetic" for c in s.components))
    syringe = recipe.syringes[number]
    lidocaine = next(c for c in syringe.components if c.purpose == "anaesthetic")
    doubled = dataclasses.replace(syringe, components=(*syringe.components, lidocaine),
                                  total_volume=sum_of(syringe.total_volume, lidocaine.volume))
    syringes = list(recipe.syringes)
    syringes[number] = doubled
    recipe = dataclasses.replace(recipe, syringes=tuple(syringes))
    parts = [d.amount for c in doubled.components for d in c.substances if d.id == "lidocaine"]
    assert len(parts) == 2
    medication = _resources(recipe_bundle(recipe, catalogue), "Medication")[number]
    found = [i for i in medication["ingredient"]
             if _codes(i["itemCodeableConcept"], SUBSTANCE_SYSTEM) == ["lidocaine"]]
    assert len(found) == 1
    assert found[0]["strength"]["numerator"]["value"] == pytest.approx(sum(p.in_unit("mg") for p in parts))


def test_unknown_amounts_have_no_strength_and_roles_set_is_active(submental, catalogue):
    """Excipients of unknown concentration carry no strength; isActive follows the role."""
    medication = _resources(recipe_bundle(submental, catalogue), "Medication")[0]
    by_id = {_codes(i["itemCodeableConcept"], SUBSTANCE_SYSTEM)[0]: i for i in medication["ingredient"]}
    assert by_id["deoxycholic-acid"]["isActive"] is True
    assert by_id["benzyl-alcohol"]["isActive"] is False
    assert "strength" not in by_id["sodium-chloride"]
    assert by_id["deoxycholic-acid"]["strength"]["numerator"]["value"] == 50  # capped by 2 mg/cm² x 25 cm²


def test_unii_coding_appears_only_for_substances_that_have_one(hair_loss, catalogue):
    """Without a UNII there is no UNII coding; with one, the FDA SRS system carries it."""
    plain = recipe_bundle(hair_loss, catalogue)
    assert not [d for d in _walk(plain) if d.get("system") == UNII_SYSTEM]
    with_unii = copy.copy(catalogue)
    lidocaine_with_unii = dataclasses.replace(catalogue.substances["lidocaine"], unii="98PI200987")
    with_unii.substances = {**catalogue.substances, "lidocaine": lidocaine_with_unii}
    doc = recipe_bundle(hair_loss, with_unii)
    lidocaine = next(i for medication in _resources(doc, "Medication") for i in medication["ingredient"]
                     if _codes(i["itemCodeableConcept"], SUBSTANCE_SYSTEM) == ["lidocaine"])
    assert _codes(lidocaine["itemCodeableConcept"], UNII_SYSTEM) == ["98PI200987"]
    Bundle.model_validate(doc)


# ----------------------------------------------------------------------------- requests
def test_requests_are_draft_proposals_for_the_indication(submental, catalogue):
    """Each MedicationRequest is a draft proposal citing its Medication, the indication and the disclaimer."""
    doc = recipe_bundle(submental, catalogue)
    urls = _by_url(doc)
    [request] = _resources(doc, "MedicationRequest")
    assert (request["status"], request["intent"]) == ("draft", "proposal")
    assert urls[request["medicationReference"]["reference"]]["id"] == "medication-1"
    assert _codes(request["reasonCode"][0], INDICATION_SYSTEM) == ["submental-fat"]
    assert request["reasonCode"][0]["text"] == catalogue.indications["submental-fat"].name
    assert request["subject"] == {"display": "Patient not identified: meso holds no patient identity"}
    assert request["note"][0]["text"] == DISCLAIMER


def test_dosage_states_technique_points_and_volume_per_point(submental, catalogue):
    """The dosage text and fields carry the technique, 25 points x 0.2 mL, the area and the interval."""
    [request] = _resources(recipe_bundle(submental, catalogue), "MedicationRequest")
    [dosage] = request["dosageInstruction"]
    assert "deep-subcutaneous" in dosage["text"]
    assert "25 injection points x 0.2 mL (5 mL in total)" in dosage["text"]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 0.2
    assert dosage["site"]["text"] == catalogue.areas["submental"].name
    assert dosage["timing"]["repeat"] == {"frequency": 1, "period": 28, "periodUnit": "d"}


def test_session_range_becomes_timing_count_and_period_range(hair_loss, catalogue):
    """10-12 sessions every 7-28 days become count/countMax and period/periodMax."""
    request = _resources(recipe_bundle(hair_loss, catalogue), "MedicationRequest")[0]
    repeat = request["dosageInstruction"][0]["timing"]["repeat"]
    assert repeat == {"count": 10, "countMax": 12, "frequency": 1,
                      "period": 7, "periodMax": 28, "periodUnit": "d"}
    # nappage has no sourced depth, so the dosage text states none rather than inventing one
    assert "depth" not in request["dosageInstruction"][0]["text"]


def test_syringes_of_one_recipe_share_a_group_identifier(hair_loss, catalogue):
    """Every syringe request of one session carries the same groupIdentifier."""
    requests = _resources(recipe_bundle(hair_loss, catalogue), "MedicationRequest")
    assert len(requests) == len(hair_loss.syringes) > 1
    assert len({json.dumps(r["groupIdentifier"], sort_keys=True) for r in requests}) == 1


# ----------------------------------------------------------------------------- issues
@pytest.mark.parametrize("name", ["hair_loss", "submental", "refused"])
def test_one_detected_issue_per_finding_with_mapped_severity(name, request, catalogue):
    """DetectedIssues match the findings one to one: severity, kind, message, advice and final status."""
    recipe = request.getfixturevalue(name)
    issues = _resources(recipe_bundle(recipe, catalogue), "DetectedIssue")
    assert len(issues) == len(recipe.findings) > 0
    for finding, issue in zip(recipe.findings, issues, strict=True):
        assert issue["status"] == "final"
        assert issue["severity"] == SEVERITIES[finding.severity]
        assert _codes(issue["code"], FINDING_KIND_SYSTEM) == [finding.kind]
        assert finding.message in issue["detail"]
        if finding.advice:
            assert issue["mitigation"][0]["action"]["text"] == finding.advice


def test_issue_implicates_the_syringe_holding_its_subject(hair_loss, catalogue):
    """A product finding implicates only the Medication of the syringe(s) that contain that product."""
    doc = recipe_bundle(hair_loss, catalogue)
    urls = _by_url(doc)
    for finding, issue in zip(hair_loss.findings, _resources(doc, "DetectedIssue"), strict=True):
        holding = {f"medication-{n}" for n, s in enumerate(hair_loss.syringes, 1)
                   if any(c.product.id == finding.subject for c in s.components)}
        assert {urls[r["reference"]]["id"] for r in issue["implicated"]} == holding


def test_procedure_wide_medication_finding_implicates_every_syringe(catalogue):
    """A warfarin caution concerns the whole procedure: DRG code, implicating every Medication."""
    recipe = api.build("hair-loss", Patient(medications=("warfarin",)), catalogue=catalogue)
    doc = recipe_bundle(recipe, catalogue)
    urls = _by_url(doc)
    position = next(i for i, f in enumerate(recipe.findings) if f.kind == "medication")
    issue = _resources(doc, "DetectedIssue")[position]
    assert _codes(issue["code"], ACT_CODE_SYSTEM) == ["DRG"]
    assert sorted(urls[r["reference"]]["id"] for r in issue["implicated"]) == [
        f"medication-{n}" for n in range(1, len(recipe.syringes) + 1)]
    assert len(recipe.syringes) > 1
    for request in _resources(doc, "MedicationRequest"):
        assert {"reference": next(e["fullUrl"] for e in doc["entry"] if e["resource"] is issue)} \
            in request["detectedIssue"]


def test_refused_build_has_no_medication_and_states_the_refusal(refused, catalogue):
    """A refusal exports DetectedIssues (pregnancy coded PREG) and an OperationOutcome with the reasons."""
    doc = recipe_bundle(refused, catalogue)
    assert _resources(doc, "Medication") == [] and _resources(doc, "MedicationRequest") == []
    [outcome] = _resources(doc, "OperationOutcome")
    texts = [i["details"]["text"] for i in outcome["issue"] if i["severity"] == "error"]
    assert texts[0].startswith("Refused:")
    assert texts[1:] == list(refused.reasons)
    pregnancy = next(i for i in _resources(doc, "DetectedIssue") if i["severity"] == "high")
    assert _codes(pregnancy["code"], ACT_CODE_SYSTEM) == ["PREG"]
    assert "implicated" not in pregnancy
    assert pregnancy["reference"].startswith("https://")


def test_kinds_without_a_fitting_act_code_use_only_the_local_system(hair_loss, catalogue):
    """Vehicle, fit and dose findings get no HL7 ActCode, only the meso finding-kind coding."""
    issues = _resources(recipe_bundle(hair_loss, catalogue), "DetectedIssue")
    local_only = [i for i in issues if i["code"]["text"] in ("vehicle", "fit", "dose")]
    assert local_only
    for issue in local_only:
        assert [c["system"] for c in issue["code"]["coding"]] == [FINDING_KIND_SYSTEM]


# ----------------------------------------------------------------------------- checks
def test_allergy_check_implicates_the_checked_product(allergy_check, catalogue):
    """The checked product is a Medication ingredient; the allergy is ALGY, high, with alternatives."""
    doc = check_bundle(allergy_check, catalogue)
    [medication] = _resources(doc, "Medication")
    [ingredient] = medication["ingredient"]
    assert _codes(ingredient["itemCodeableConcept"], PRODUCT_SYSTEM) == ["restylane-vital-lidocaine"]
    assert "strength" not in ingredient
    issues = _resources(doc, "DetectedIssue")
    assert len(issues) == len(allergy_check.findings)
    allergy = issues[0]
    assert _codes(allergy["code"], ACT_CODE_SYSTEM) == ["ALGY"]
    assert allergy["severity"] == "high"
    medication_url = next(e["fullUrl"] for e in doc["entry"] if e["resource"] is medication)
    assert all(i["implicated"] == [{"reference": medication_url}] for i in issues)
    assert any("procaine-injection" in m["action"]["text"] for m in allergy["mitigation"])


def test_screen_implicates_nothing_and_names_the_subject(screen, catalogue):
    """A screen has no Medication; each DetectedIssue names its subject in the detail instead."""
    doc = check_bundle(screen, catalogue)
    assert _resources(doc, "Medication") == []
    issues = _resources(doc, "DetectedIssue")
    assert len(issues) == len(screen.findings)
    for finding, issue in zip(screen.findings, issues, strict=True):
        assert "implicated" not in issue
        assert issue["severity"] == SEVERITIES[finding.severity]
        if finding.subject != "procedure":
            assert issue["detail"].startswith(f"{finding.subject}: ")
