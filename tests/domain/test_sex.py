"""The patient's sex, end to end, and the 5-alpha-reductase inhibitor rules it drives.

Sex comes from ``--sex``, a patient file, a batch line's ``sex`` or a FHIR Patient's ``gender``;
left out, it is unknown. Dutasteride (the catalogue's only 5-alpha-reductase inhibitor) carries
a caution for every patient not recorded as male, and is contraindicated in pregnancy, possible
pregnancy and breastfeeding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli import check
from mesocli.domain.patient import SEXES, Patient
from mesocli.domain.request import option_name, request_from_mapping
from mesocli.errors import InputError
from mesocli.fhir_input import read_fhir_patient

DUTASTERIDE = "dutasteride-0-01pct"
PATIENT_REF = "urn:uuid:0f3b6c1e-2a44-4d5e-9a43-3d2f6b1c9e10"


def _bundle(gender: str | None) -> dict[str, Any]:
    """A FHIR R4 collection with one Patient, written as an EHR exports it."""
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "birthDate": "1990-05-01"}
    if gender is not None:
        patient["gender"] = gender
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": PATIENT_REF, "resource": patient}]}


def _sex_findings(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((f["severity"], f["subject"], f["trigger"]) for f in doc["findings"] if f["kind"] == "sex")


# ------------------------------------------------------------------------------ every input form
@pytest.mark.parametrize("sex", SEXES)
def test_option_file_batch_and_fhir_give_the_same_sex(meso, tmp_path, sex) -> None:
    """--sex, a patient file, a batch line and a FHIR gender all give the same check document."""
    by_option = meso("check", "--sex", sex, "--ingredient", DUTASTERIDE, "--json")
    assert by_option.exit_code == 0, by_option.stderr
    expected = by_option.json()

    patient_file = tmp_path / "patient.json"
    patient_file.write_text(json.dumps({"sex": sex}), encoding="utf-8")
    by_file = meso("check", "--patient", str(patient_file), "--ingredient", DUTASTERIDE, "--json")
    fhir_file = tmp_path / "bundle.json"
    fhir_file.write_text(json.dumps(_bundle(sex)), encoding="utf-8")
    by_fhir = meso("check", "--patient", str(fhir_file), "--ingredient", DUTASTERIDE, "--json")
    line = {"id": "x", "action": "check", "sex": sex, "ingredients": [DUTASTERIDE]}
    batched = json.loads(meso("batch", "-", input=json.dumps(line) + "\n").stdout.splitlines()[0])
    batched.pop("id")

    assert by_file.json() == expected
    assert by_fhir.json() == expected
    assert batched == expected
    if sex == "male":
        assert _sex_findings(expected) == []
    else:
        assert _sex_findings(expected) == [("caution", DUTASTERIDE, sex)]


def test_a_patient_file_sex_is_overridden_by_the_option(meso, tmp_path) -> None:
    """Scalars from the command line override the patient file: --sex male silences the caution."""
    patient_file = tmp_path / "patient.toml"
    patient_file.write_text('sex = "female"\n', encoding="utf-8")
    doc = meso("check", "--patient", str(patient_file), "--sex", "male", "--ingredient", DUTASTERIDE,
               "--json").json()
    assert _sex_findings(doc) == []


def test_the_patient_line_shows_the_sex(meso) -> None:
    """The human output names the recorded sex on the patient line."""
    out = meso("check", "--sex", "female", "--ingredient", DUTASTERIDE)
    assert "Patient: sex female" in out.stdout


@pytest.mark.parametrize("gender", ["other", "unknown"])
def test_fhir_other_or_unknown_gender_leaves_sex_unknown_and_says_so(gender) -> None:
    """A FHIR gender other than male or female gives no sex, and is listed among what was left out."""
    read = read_fhir_patient(_bundle(gender))
    assert read.patient.sex is None
    assert any(f"gender {gender}" in reason for _label, reason in read.left_out), read.left_out


def test_fhir_without_gender_leaves_sex_unknown() -> None:
    """A Patient with no gender gives an unknown sex, nothing left out for it."""
    read = read_fhir_patient(_bundle(None))
    assert read.patient.sex is None
    assert not any("gender" in reason for _label, reason in read.left_out)


# ------------------------------------------------------------------------------ refusal
@pytest.mark.parametrize("value", ["other", "Female", "m", "", "unknown"])
def test_the_option_refuses_any_other_value_naming_the_allowed_ones(meso, value) -> None:
    """--sex takes female or male only: anything else is exit 2 with both allowed values named."""
    out = meso("check", "--sex", value, "--ingredient", DUTASTERIDE)
    assert out.exit_code == 2
    assert "--sex" in out.stderr and "female" in out.stderr and "male" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_batch_line_with_another_sex_is_an_error_document(meso) -> None:
    """A batch line's bad sex is its own error document (code 2), naming the field and the allowed values."""
    line = {"id": "x", "action": "build", "indication": "hair-loss", "sex": "x"}
    result = json.loads(meso("batch", "-", input=json.dumps(line) + "\n").stdout.splitlines()[0])
    assert result["kind"] == "error" and result["code"] == 2
    assert "'sex'" in result["message"] and "female, male" in result["message"]


def test_a_patient_file_with_another_sex_is_refused(meso, tmp_path) -> None:
    """A patient file's sex is validated the same way: exit 2."""
    patient_file = tmp_path / "patient.json"
    patient_file.write_text(json.dumps({"sex": 1}), encoding="utf-8")
    out = meso("check", "--patient", str(patient_file), "--ingredient", DUTASTERIDE)
    assert out.exit_code == 2 and "female, male" in out.stderr


@settings(max_examples=50, deadline=None)
@given(value=st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.lists(st.text(max_size=3))))
def test_the_request_model_accepts_exactly_female_male_or_nothing(value) -> None:
    """Any sex but female or male is refused by the one request model, wherever it comes from."""
    fields = {"action": "check", "sex": value}
    if value in SEXES:
        assert request_from_mapping(fields, name=option_name).patient.sex == value
    else:
        with pytest.raises(InputError, match="female, male"):
            request_from_mapping(fields, name=option_name)
    assert request_from_mapping({"action": "check"}).patient.sex is None


# ------------------------------------------------------------------------------ the rules
def _kinds(result: Any, subject: str) -> set[tuple[str, str]]:
    return {(f.kind, f.severity) for f in result.findings if f.subject == subject}


def test_the_caution_fires_for_female_and_unknown_not_for_male(catalogue) -> None:
    """Dutasteride: a caution for a woman and for a patient of unknown sex, none for a man."""
    for patient, fires in ((Patient(sex="female"), True), (Patient(), True), (Patient(sex="male"), False)):
        result = check(patient, ingredients=[DUTASTERIDE], catalogue=catalogue)
        assert (("sex", "caution") in _kinds(result, DUTASTERIDE)) is fires, patient
        assert result.status != "contraindicated", patient
    caution = next(f for f in check(Patient(), ingredients=[DUTASTERIDE], catalogue=catalogue).findings
                   if f.kind == "sex")
    assert "contraception" in (caution.advice or "") and "pregnan" in (caution.advice or "")
    assert caution.evidence == "label" and caution.sources


def test_the_caution_concerns_only_the_5_alpha_reductase_inhibitor(catalogue) -> None:
    """A hair-loss mix of minoxidil and biotin gets no sex caution for a woman."""
    result = check(Patient(sex="female"), ingredients=["minoxidil-0-5pct", "biotin-0-5mg-ml"], catalogue=catalogue)
    assert not any(f.kind == "sex" for f in result.findings)


@pytest.mark.parametrize("condition", ["pregnancy", "possible-pregnancy", "breastfeeding"])
@pytest.mark.parametrize("sex", [None, "female"])
def test_pregnancy_possible_pregnancy_and_breastfeeding_contraindicate_dutasteride(catalogue, condition,
                                                                                    sex) -> None:
    """Each is a contraindication for dutasteride itself, sourced from its label."""
    result = check(Patient(conditions=(condition,), sex=sex), ingredients=[DUTASTERIDE], catalogue=catalogue)
    found = [f for f in result.findings if f.kind == "condition" and f.subject == DUTASTERIDE]
    assert [f.severity for f in found] == ["contraindicated"], result.findings
    assert found[0].trigger == condition and found[0].evidence == "label"
    assert result.status == "contraindicated"


def test_a_hair_loss_build_for_a_breastfeeding_patient_has_no_dutasteride(meso) -> None:
    """The formulator leaves dutasteride out for a breastfeeding patient and says why."""
    doc = meso("build", "--indication", "hair-loss", "--condition", "breastfeeding", "--sex", "female",
               "--json").json()
    used = {c["id"] for syringe in doc["syringes"] for c in syringe["components"]}
    assert not any(pid.startswith("dutasteride") for pid in used), used
    excluded = {e["id"]: e["trigger"] for e in doc["excluded"]}
    assert excluded.get(DUTASTERIDE) == "breastfeeding"


def test_a_build_for_a_woman_not_pregnant_carries_the_caution(meso) -> None:
    """Dutasteride may still be built for a woman not pregnant, with the caution in the recipe; a man's
    recipe has none."""
    female = meso("build", "--indication", "hair-loss", "--sex", "female", "--json").json()
    used = {c["id"] for syringe in female["syringes"] for c in syringe["components"]}
    assert female["status"] != "refused"
    dutasteride = sorted(pid for pid in used if pid.startswith("dutasteride"))
    assert dutasteride, used
    assert _sex_findings(female) == [("caution", pid, "female") for pid in dutasteride]
    male = meso("build", "--indication", "hair-loss", "--sex", "male", "--json").json()
    assert _sex_findings(male) == []


# ------------------------------------------------------------------------------ the rule kind's data
def _sex_caution(**override: Any) -> dict[str, Any]:
    row = {"substance": "dutasteride", "unless_sex": "male", "severity": "caution", "message": "m",
           "evidence": "label", "sources": [{"title": "A label", "url": "https://example.org/label"}], **override}
    return {"rules.toml": {"sex_caution": [{k: v for k, v in row.items() if v is not None}]}}


def test_a_sex_caution_row_is_read_through_the_registry() -> None:
    """A [[sex_caution]] row parses into a rule of that kind with its typed parameter."""
    from mesocli.storage.text import parse_documents

    (rule,) = parse_documents(_sex_caution()).rules
    assert rule.kind == "sex_caution" and rule.params.unless_sex == "male"


@pytest.mark.parametrize(("override", "problem"), [
    ({"severity": "contraindicated"}, "caution"),
    ({"unless_sex": "other"}, "unless_sex"),
    ({"unless_sex": None}, "unless_sex"),
])
def test_a_sex_caution_row_must_be_a_caution_about_female_or_male(override, problem) -> None:
    """A sex rule that would contraindicate, or names another sex, is refused when the data is read."""
    from mesocli.errors import CatalogueDataError
    from mesocli.storage.text import parse_documents

    with pytest.raises(CatalogueDataError, match=problem):
        parse_documents(_sex_caution(**override))


@pytest.mark.parametrize(("line", "expected"), [
    ("meso check --sex ", ["female", "male"]),
    ("meso build --sex f", ["female"]),
])
def test_the_shell_completes_the_sex(line, expected) -> None:
    """--sex completes to the sexes meso records, on check and build."""
    from tests.cli.test_completion import _bash_completions

    assert _bash_completions(line) == expected
