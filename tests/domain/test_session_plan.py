"""The session plan of ``meso build``: every indication and area builds from ``--indication``
alone, every plan stays within every bound it names (and the ones the catalogue records), a
bound that truncates a plan is a caution finding, and a refusal says what kind of reason it has.
"""

from __future__ import annotations

import json
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.config import data_dir
from mesocli.domain.formulate import REFUSAL_KINDS
from mesocli.domain.patient import Patient
from mesocli.domain.session_plan import BASES, BOUNDS, MAX_SESSION_ML
from mesocli.errors import InputError
from mesocli.render.recipe import recipe_document
from mesocli.units import parse_quantity

REL = 1e-6


def _pairs() -> list[tuple[str, str]]:
    with (data_dir() / "indications.toml").open("rb") as handle:
        text = tomllib.load(handle)
    return [(ind["id"], area) for ind in text["indication"] for area in ind.get("areas", [])]


PAIRS = _pairs()


def _ml(quantity) -> float:
    return parse_quantity(quantity, kind="volume", what="volume", allow_zero=True).in_unit("mL")


def _doc(recipe, cat) -> dict:
    return json.loads(json.dumps(recipe_document(recipe, cat)))


def assert_within_bounds(doc: dict, cat) -> None:
    """The recipe's syringes add up to the plan, and the plan is within every bound it names and
    every bound the catalogue protocol records, whatever the plan says about itself."""
    plan = doc["plan"]
    assert plan["basis"] in BASES
    total = sum(_ml(s["total_volume"]) for s in doc["syringes"])
    assert total == pytest.approx(_ml(plan["session_volume"]), rel=REL, abs=1e-9)
    assert total <= _ml(plan["planned_volume"]) * (1 + REL)
    assert total <= MAX_SESSION_ML
    for bound in plan["bounds"]:
        assert bound["bound"] in BOUNDS
        assert total <= _ml(bound["volume"]) * (1 + REL), bound
    if plan["max_session_volume"] is not None:
        assert total <= _ml(plan["max_session_volume"]) * (1 + REL)
        assert _ml(plan["max_session_volume"]) == pytest.approx(min(_ml(b["volume"]) for b in plan["bounds"]))
    protocol = cat.protocol_for(doc["indication"], doc["area"])
    if protocol is None:
        return
    if protocol.session_volume is not None:
        assert total <= protocol.session_volume.value * (1 + REL)
    if protocol.max_points is not None and plan["points"] is not None:
        assert plan["points"] <= protocol.max_points
    if protocol.max_volume_per_point is not None:
        for syringe in doc["syringes"]:
            if syringe["volume_per_point"] is not None:
                assert _ml(syringe["volume_per_point"]) <= protocol.max_volume_per_point.value * (1 + REL)


def assert_checks_clean(doc: dict, patient: Patient, cat) -> None:
    """``meso check`` of the recipe for the same patient finds nothing contraindicated."""
    result = api.check(patient, recipe=doc, catalogue=cat)
    bad = [(f.subject, f.message) for f in result.findings if f.severity == "contraindicated"]
    assert not bad, bad


# ----------------------------------------------------------------------------- every indication x area
@pytest.mark.parametrize("patient", [Patient(), Patient(age=40, weight="70 kg")], ids=["nothing-said", "adult"])
@pytest.mark.parametrize(("indication", "area"), PAIRS)
def test_every_indication_and_area_builds_with_defaults(catalogue, indication, area, patient):
    """``meso build --indication X [--area Y]`` and nothing else (or a healthy adult's age and
    weight): a planned recipe that passes ``meso check``, or a refusal for missing evidence
    (never one blamed on the patient)."""
    recipe = api.build(indication, patient, area=area, catalogue=catalogue)
    doc = _doc(recipe, catalogue)
    if recipe.status == "refused":
        assert doc["refusal"]["kind"] == "evidence", doc["reasons"]
        assert doc["plan"] is None
        assert not any("for this patient" in reason for reason in doc["reasons"])
        return
    assert doc["refusal"] is None
    assert doc["plan"] is not None
    assert_within_bounds(doc, catalogue)
    assert_checks_clean(doc, patient, catalogue)


def test_defaults_build_for_all_but_indications_without_evidence(catalogue):
    """Only an indication whose every fit is unsourced is refused with default options."""
    refused = {(i, a) for i, a in PAIRS if api.build(i, area=a, catalogue=catalogue).status == "refused"}
    for indication, _area in refused:
        fits = catalogue.indications[indication].fits
        assert all(f.provenance.evidence == "unsourced" for f in fits) or not fits
    assert len(refused) < len(PAIRS)


# ----------------------------------------------------------------------------- bounds, as properties
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pair=st.sampled_from(PAIRS),
       volume=st.one_of(st.none(), st.floats(min_value=0.05, max_value=100, allow_nan=False)),
       surface=st.one_of(st.none(), st.floats(min_value=1, max_value=3000, allow_nan=False)),
       weight=st.one_of(st.none(), st.floats(min_value=40, max_value=150, allow_nan=False)),
       age=st.one_of(st.none(), st.integers(min_value=18, max_value=90)))
def test_every_plan_is_within_every_bound_and_checks_clean(catalogue, pair, volume, surface, weight, age):
    indication, area = pair
    patient = Patient(weight=f"{weight:.1f} kg" if weight is not None else None, age=age)
    kwargs = {}
    if volume is not None:
        kwargs["volume"] = f"{volume:.3f} mL"
    if surface is not None:
        kwargs["treatment_area"] = f"{surface:.1f} cm**2"
    try:
        recipe = api.build(indication, patient, area=area, catalogue=catalogue, **kwargs)
    except InputError as error:  # only a treated area beyond the session limit is refused outright
        assert surface is not None and volume is None and f"{MAX_SESSION_ML:g} mL" in str(error)
        return
    doc = _doc(recipe, catalogue)
    if recipe.status == "refused":
        assert doc["refusal"]["kind"] in REFUSAL_KINDS
        return
    assert_within_bounds(doc, catalogue)
    if doc["plan"]["capped"]:
        capping = [f for f in doc["findings"] if f["trigger"] == f"plan:{doc['plan']['decided_by']}"]
        assert capping and all(f["severity"] == "caution" for f in capping)
    assert_checks_clean(doc, patient, catalogue)


# ----------------------------------------------------------------------------- out of bounds
def test_a_volume_above_the_protocol_is_capped_with_a_caution(catalogue):
    """100 mL on a face whose protocol gives 2 mL is planned at 2 mL, and a caution says so."""
    doc = _doc(api.build("skin-rejuvenation", volume="100 mL", catalogue=catalogue), catalogue)
    plan = doc["plan"]
    assert plan["basis"] == "requested-volume" and plan["capped"] is True
    assert plan["decided_by"] == "protocol-session-volume"
    assert _ml(plan["session_volume"]) <= 2.0 + 1e-9
    assert plan["points"] <= 200
    caution = [f for f in doc["findings"] if f["trigger"] == "plan:protocol-session-volume"]
    assert caution and caution[0]["severity"] == "caution" and "100 mL" in caution[0]["message"]
    assert caution[0]["sources"]


def test_the_label_plans_the_submental_area_from_the_treated_surface(catalogue):
    """25 cm² at the label's 1 cm spacing and 0.2 mL per point: 25 points, 5 mL, no volume asked for."""
    doc = _doc(api.build("submental-fat", treatment_area="25 cm^2", catalogue=catalogue), catalogue)
    plan = doc["plan"]
    assert plan["basis"] == "treatment-area"
    assert plan["points"] == 25
    assert _ml(plan["session_volume"]) == pytest.approx(5.0)
    assert _ml(plan["volume_per_point"]) == pytest.approx(0.2)
    assert plan["capped"] is False


def test_a_treated_surface_beyond_the_label_points_is_capped_at_fifty(catalogue):
    doc = _doc(api.build("submental-fat", treatment_area="100 cm^2", catalogue=catalogue), catalogue)
    plan = doc["plan"]
    assert plan["capped"] is True and plan["points"] <= 50
    assert _ml(plan["session_volume"]) <= 10.0 + 1e-9
    assert any(f["trigger"].startswith("plan:") and f["severity"] == "caution" for f in doc["findings"])


def test_a_treated_surface_beyond_the_session_limit_is_an_input_error(catalogue):
    with pytest.raises(InputError, match=r"--treatment-area.*100 mL"):
        api.build("skin-rejuvenation", area="neck", treatment_area="20000 cm^2", catalogue=catalogue)


def test_no_sourced_session_volume_gives_one_standard_syringe_and_the_largest_volume(catalogue):
    """The Kybella vial is used as supplied: one 2 mL vial, and the label's 50 x 0.2 mL as the most."""
    doc = _doc(api.build("submental-fat", catalogue=catalogue), catalogue)
    plan = doc["plan"]
    assert plan["basis"] == "one-syringe"
    assert _ml(plan["session_volume"]) == pytest.approx(2.0)
    assert plan["points"] == 10
    assert _ml(plan["max_session_volume"]) == pytest.approx(10.0)
    assert plan["max_session_volume_bound"] in {"protocol-points", "dose-cap"}


def test_a_dose_cap_that_truncates_the_plan_is_a_caution_finding(catalogue):
    """Lidocaine at 4.5 mg/kg for 60 kg (270 mg) truncates 100 mL on the neck: a caution names it."""
    doc = _doc(api.build("skin-rejuvenation", Patient(weight="60 kg"), area="neck", volume="100 mL",
                         catalogue=catalogue), catalogue)
    assert doc["plan"]["decided_by"] == "dose-cap"
    caution = [f for f in doc["findings"] if f["trigger"] == "plan:dose-cap"]
    assert caution and caution[0]["severity"] == "caution" and caution[0]["kind"] == "dose"
    assert "270 mg" in caution[0]["message"]


# ----------------------------------------------------------------------------- refusal kinds
def test_missing_evidence_is_refused_as_evidence_not_as_the_patient(catalogue):
    recipe = api.build("rosacea", catalogue=catalogue)
    doc = _doc(recipe, catalogue)
    assert doc["status"] == "refused"
    assert doc["refusal"]["kind"] == "evidence"
    assert "Missing evidence" in doc["refusal"]["message"]
    assert not any("for this patient" in r for r in doc["reasons"])


def test_a_contraindicated_patient_is_refused_as_patient(catalogue):
    doc = _doc(api.build("hair-loss", Patient(conditions=["pregnancy"]), catalogue=catalogue), catalogue)
    assert doc["status"] == "refused"
    assert doc["refusal"]["kind"] == "patient"


# ----------------------------------------------------------------------------- the command line

def _run(meso, *args: str):
    out = meso("build", *args)
    assert "Traceback" not in out.stdout and "Traceback" not in out.stderr, out.stderr
    return out


@pytest.mark.usefixtures("backend")
def test_cli_plan_in_human_output(meso):
    out = _run(meso, "--indication", "submental-fat", "--treatment-area", "25 cm^2")
    assert out.exit_code == 0
    assert "\nPlan\n" in out.stdout
    assert "Points: 25" in out.stdout
    assert "Session volume: 5 mL" in out.stdout
    assert "Largest session volume" in out.stdout


@pytest.mark.usefixtures("backend")
def test_cli_plan_in_json(meso):
    out = _run(meso, "--indication", "skin-rejuvenation", "--volume", "100 mL", "--json")
    assert out.exit_code == 0
    doc = json.loads(out.stdout)
    plan = doc["plan"]
    assert {"basis", "surface", "points", "volume_per_point", "session_volume", "decided_by",
            "max_session_volume", "bounds"} <= set(plan)
    assert plan["decided_by"] == "protocol-session-volume"
    assert doc["refusal"] is None


@pytest.mark.usefixtures("backend")
def test_cli_plan_on_the_markdown_card(meso):
    out = _run(meso, "--indication", "hyperpigmentation", "--format", "markdown")
    assert out.exit_code == 0
    assert "## Plan" in out.stdout
    assert "formula for one standard syringe" in out.stdout


@pytest.mark.usefixtures("backend")
def test_cli_plan_arithmetic_under_explain(meso):
    out = _run(meso, "--indication", "submental-fat", "--treatment-area", "100 cm^2", "--explain")
    assert out.exit_code == 0
    assert "Points the treated area holds = 100 cm² / (1 cm)^2 = 100." in out.stdout
    assert "Bound (protocol-points)" in out.stdout
    assert "Largest session volume for this patient under every bound: 10 mL" in out.stdout


@pytest.mark.usefixtures("backend")
def test_cli_refusal_kind_on_the_card(meso):
    out = _run(meso, "--indication", "rosacea", "--format", "markdown")
    assert "Kind of reason: evidence" in out.stdout
    assert "Missing evidence" in out.stdout


@pytest.mark.usefixtures("backend")
def test_cli_refusal_for_missing_evidence(meso):
    out = _run(meso, "--indication", "rosacea")
    assert out.exit_code == 1
    assert "missing evidence" in out.stdout
    assert "for this patient" not in out.stdout
    doc = json.loads(_run(meso, "--indication", "rosacea", "--json").stdout)
    assert doc["refusal"]["kind"] == "evidence"


@pytest.mark.usefixtures("backend")
def test_cli_treated_surface_beyond_the_session_limit_is_exit_2(meso):
    out = _run(meso, "--indication", "skin-rejuvenation", "--area", "neck", "--treatment-area", "20000 cm^2")
    assert out.exit_code == 2
    assert "100 mL" in out.stderr


# ----------------------------------------------------------------------------- the bounds one by one
def test_a_prefilled_syringe_bounds_the_session_to_one_syringe(catalogue):
    """A pre-filled single-dose gel (Restylane Vital Lidocaine, 1 mL) alone in its syringe: 4 mL
    asked for is planned at 1 mL, and the presentation is the bound that decides."""
    from mesocli.domain import session_plan
    from mesocli.units import parse_quantity as pq

    product = catalogue.products["restylane-vital-lidocaine"]
    assert session_plan.prefilled(product)
    first = session_plan.start(catalogue.protocol_for("skin-rejuvenation", "face"),
                               pq("4 mL", kind="volume", what="v"), None, [[product]])
    volume, decided = session_plan.decide(first.ml, first.bounds)
    assert decided is not None and decided.name == "presentation" and decided.subject == product.id
    assert volume == pytest.approx(1.0)
    caution = session_plan.capped_finding(first, decided, volume)
    assert caution.severity == "caution" and "1 mL" in caution.message and "4 mL" in caution.message


def test_one_standard_syringe_is_the_container_of_a_product_used_as_supplied(catalogue):
    from mesocli.domain import session_plan

    vial = catalogue.products["deoxycholic-acid-10mg-ml"]
    assert session_plan.standard_syringe([vial])[0] == pytest.approx(2.0)
    mixed = [catalogue.products["ha-nonxl-booster"], catalogue.products["lidocaine-1pct-sd"]]
    assert session_plan.standard_syringe(mixed)[0] == session_plan.FORMULA_SYRINGE


def test_equal_bounds_name_the_dose_cap():
    """Of two bounds of the same volume the dose cap decides, so the caution names the patient's limit."""
    from mesocli.domain.session_plan import Bound, decide

    volume, decided = decide(20.0, [Bound("protocol-points", 10.0, "points"), Bound("dose-cap", 10.0, "cap")])
    assert volume == 10.0 and decided is not None and decided.name == "dose-cap"
    assert decide(5.0, [Bound("dose-cap", 10.0, "cap")]) == (5.0, None)


def test_a_requested_volume_only_dose_caps_bound_is_a_caution(catalogue):
    """4 mL asked for under the eyes, where no protocol session volume, treated area or
    presentation bound is recorded: planned as asked, with a caution that nothing but the dose
    caps could hold it (unknown is never ok)."""
    doc = _doc(api.build("dark-circles", volume="4 mL", catalogue=catalogue), catalogue)
    assert {b["bound"] for b in doc["plan"]["bounds"]} <= {"dose-cap"}
    caution = [f for f in doc["findings"] if f["trigger"] == "plan:no-volume-bound"]
    assert caution and caution[0]["severity"] == "caution" and "4 mL" in caution[0]["message"]
    assert caution[0]["unassessed"] == "session volume bound"


def test_no_such_caution_where_a_sourced_bound_holds_the_volume(catalogue):
    """The same request where the protocol gives a session volume: the bound holds it, no
    'held only to the dose caps' caution; and a volume meso chose itself never gets one."""
    for recipe in (api.build("skin-rejuvenation", volume="1 mL", catalogue=catalogue),
                   api.build("dark-circles", catalogue=catalogue)):
        doc = _doc(recipe, catalogue)
        assert not [f for f in doc["findings"] if f["trigger"] == "plan:no-volume-bound"]
