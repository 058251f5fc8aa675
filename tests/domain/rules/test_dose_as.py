"""A substance dosed as another (``dose_as``): the forms of one molecule share its dose limits.

Phosphatidylcholine whose source is not declared (Dermaheal LL) is dosed as phosphatidylcholine
(soy): a session holding both adds them up, and the one 2,500 mg per-session cap applies to the
sum, in ``meso check``, in the build's dose caps and in the session plan's bounds. The field is
validated strictly, in the shipped catalogue and in a clinic's import.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.config import data_dir
from mesocli.domain import formulate, session_plan
from mesocli.domain.engine import resolve_patient
from mesocli.domain.model import SEVERITY_RANK
from mesocli.domain.patient import Patient
from mesocli.domain.rules.base import CheckOptions
from mesocli.errors import CatalogueDataError
from mesocli.storage.export import export_toml
from mesocli.storage.text import parse_documents, read_directory, validate_references

SOY, UNDECLARED = "phosphatidylcholine", "phosphatidylcholine-undeclared-origin"
CAP_MG = 2500
PC_MG_PER_ML = 50  # both pc-dc-injection and dermaheal-ll hold 50 mg/mL


@pytest.fixture(scope="module")
def cat():
    return api.load_catalogue()


def _recipe(*components: tuple[str, float]) -> dict[str, Any]:
    """One syringe per (product id, mL)."""
    return {"syringes": [{"components": [{"id": pid, "volume": f"{ml:g} mL"}]} for pid, ml in components]}


def _pc_caps(findings) -> list[Any]:
    return [f for f in findings if f.kind == "dose" and f"limit {CAP_MG} mg" in f.message]


# ----------------------------------------------------------------------------- the catalogue
def test_the_undeclared_form_is_dosed_as_phosphatidylcholine_and_has_no_limit_of_its_own(cat):
    assert cat.substances[UNDECLARED].dose_as == SOY
    assert cat.dose_id(UNDECLARED) == SOY and cat.dose_id(SOY) == SOY
    assert cat.substances[SOY].cls == cat.substances[UNDECLARED].cls
    assert not any(r.scope.ref == UNDECLARED for r in cat.rules_by_kind["dose_limit"])
    # its allergy reach and its mixing rule stay its own
    assert "phospholipids-undeclared-origin" in cat.groups_by_substance[UNDECLARED]
    assert any(UNDECLARED in (r.params.a, r.params.b) for r in cat.rules_by_kind["incompatibility"])


def test_every_dose_as_of_the_catalogue_is_valid(cat):
    for substance in cat.substances.values():
        if substance.dose_as is None:
            continue
        target = cat.substances[substance.dose_as]
        assert target.dose_as is None and target.cls == substance.cls and target.id != substance.id


# ----------------------------------------------------------------------------- meso check
def test_both_forms_above_the_cap_together_get_the_dose_finding(cat):
    result = api.check(recipe=_recipe(("pc-dc-injection", 30), ("dermaheal-ll", 30)), catalogue=cat)
    [hit] = _pc_caps(result.findings)
    assert (hit.severity, hit.trigger) == ("caution", SOY)
    # it names the substances summed and what each one brought
    assert cat.substances[SOY].name in hit.message and cat.substances[UNDECLARED].name in hit.message
    assert "1500 mg + " in hit.message and "= 3000 mg" in hit.message
    assert hit.sources


def test_each_form_below_the_cap_but_the_sum_above_is_not_missed(cat):
    """1,300 mg + 1,300 mg: neither form alone crosses 2,500 mg, their sum does."""
    ml = 1300 / PC_MG_PER_ML
    assert _pc_caps(api.check(recipe=_recipe(("pc-dc-injection", ml)), catalogue=cat).findings) == []
    assert _pc_caps(api.check(recipe=_recipe(("dermaheal-ll", ml)), catalogue=cat).findings) == []
    both = api.check(recipe=_recipe(("pc-dc-injection", ml), ("dermaheal-ll", ml)), catalogue=cat)
    assert len(_pc_caps(both.findings)) == 1


def test_both_forms_below_the_cap_together_get_no_dose_finding(cat):
    result = api.check(recipe=_recipe(("pc-dc-injection", 24), ("dermaheal-ll", 24)), catalogue=cat)  # 2,400 mg
    assert _pc_caps(result.findings) == []


def test_the_undeclared_form_alone_is_held_to_the_cap_and_named_as_itself(cat):
    above = api.check(recipe=_recipe(("dermaheal-ll", 55)), catalogue=cat)  # 2,750 mg
    [hit] = _pc_caps(above.findings)
    assert (hit.subject, hit.trigger) == ("dermaheal-ll", UNDECLARED)
    assert hit.message.startswith(f"{cat.substances[UNDECLARED].name} (dosed as {cat.substances[SOY].name})")
    assert _pc_caps(api.check(recipe=_recipe(("dermaheal-ll", 45)), catalogue=cat).findings) == []


def test_a_form_without_a_volume_leaves_the_sum_partly_checked(cat):
    recipe = {"syringes": [{"components": [{"id": "pc-dc-injection"}]},
                           {"components": [{"id": "dermaheal-ll", "volume": "10 mL"}]}]}
    findings = api.check(recipe=recipe, catalogue=cat).findings
    partly = [f for f in findings if f.kind == "dose" and f.trigger == SOY and "no volume given for" in f.message]
    assert len(partly) == 1 and partly[0].severity == "caution"


# The property: moving part of an amount of phosphatidylcholine to its other form never takes a
# finding away (the forms are one substance for dosing; the other form only adds its own rules).
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(total_ml=st.floats(min_value=2, max_value=120), share=st.floats(min_value=0.05, max_value=0.95),
       same_syringe=st.booleans())
def test_splitting_an_amount_across_forms_never_lowers_the_findings(cat, total_ml, share, same_syringe):
    def component(sid: str, ml: float) -> dict[str, Any]:
        return {"substances": [{"id": sid, "concentration": f"{PC_MG_PER_ML} mg/mL"}], "volume": f"{ml:.6g} mL"}

    whole = {"syringes": [{"components": [component(SOY, total_ml)]}]}
    parts = [component(SOY, total_ml * share), component(UNDECLARED, total_ml * (1 - share))]
    split = ({"syringes": [{"components": parts}]} if same_syringe
             else {"syringes": [{"components": [part]} for part in parts]})
    before = api.check(recipe=whole, catalogue=cat)
    after = api.check(recipe=split, catalogue=cat)
    assert SEVERITY_RANK.get(after.status, 0) >= SEVERITY_RANK.get(before.status, 0)
    assert len(_pc_caps(after.findings)) >= len(_pc_caps(before.findings))
    severities_before = sorted(f.severity for f in before.findings if f.kind == "dose")
    severities_after = [f.severity for f in after.findings if f.kind == "dose"]
    for severity in severities_before:
        assert severity in severities_after
    exceeds = total_ml * PC_MG_PER_ML > CAP_MG * (1 + 1e-6)
    assert bool(_pc_caps(after.findings)) == exceeds or total_ml * PC_MG_PER_ML == pytest.approx(CAP_MG)


# ----------------------------------------------------------------------------- the build
def _soy_pc(cat):
    """pc-dc-injection without its deoxycholate (whose own 100 mg cap would scale it first)."""
    product = cat.products["pc-dc-injection"]
    return replace(product, components=tuple(c for c in product.components if c.substance == SOY))


def _plan(cat) -> formulate._Plan:
    patient = resolve_patient(cat, Patient())
    return formulate._Plan(cat, patient, formulate.BuildRequest("localized-fat"), CheckOptions())


def _pc_mg(syringes) -> float:
    return sum(vol * PC_MG_PER_ML for parts in syringes for product, vol, *_ in parts
               if any(c.substance in (SOY, UNDECLARED) for c in product.components))


@pytest.mark.parametrize(("soy_ml", "undeclared_ml"), [(30, 30), (45, 10), (10, 45), (26, 26)])
def test_the_build_caps_the_sum_of_the_forms(cat, soy_ml, undeclared_ml):
    plan = _plan(cat)
    syringes = [[(_soy_pc(cat), float(soy_ml), "active", "test")],
                [(cat.products["dermaheal-ll"], float(undeclared_ml), "active", "test")]]
    capped = formulate._apply_caps(plan, syringes)
    assert _pc_mg(capped) <= CAP_MG * (1 + 1e-9)
    truncated = [f for f in plan.plan_findings if f.trigger == "plan:dose-cap" and f"{CAP_MG} mg" in f.message]
    assert len(truncated) == 1 and truncated[0].subject == SOY
    assert cat.substances[UNDECLARED].name in truncated[0].message


def test_the_build_leaves_a_sum_within_the_cap_alone(cat):
    plan = _plan(cat)
    syringes = [[(_soy_pc(cat), 20.0, "active", "test")],
                [(cat.products["dermaheal-ll"], 20.0, "active", "test")]]
    assert _pc_mg(formulate._apply_caps(plan, syringes)) == pytest.approx(2000)
    assert not [f for f in plan.plan_findings if f"{CAP_MG} mg" in f.message]


def test_the_session_plan_bound_holds_the_sum_to_the_cap(cat):
    patient = resolve_patient(cat, Patient())
    syringes = [[(cat.products["pc-dc-injection"], 30.0)], [(cat.products["dermaheal-ll"], 30.0)]]
    bounds = [b for b in session_plan.dose_cap_bounds(cat, patient, None, syringes, 60.0, area=None)
              if f"{CAP_MG} mg" in b.detail]
    [bound] = bounds
    assert bound.subject == SOY
    # 3,000 mg in 60 mL: 50 mg per mL, so at most 50 mL keeps the sum at 2,500 mg
    assert bound.ml == pytest.approx(CAP_MG / (3000 / 60))


# ----------------------------------------------------------------------------- validation
SUBSTANCES = textwrap.dedent('''\
    [[substance]]
    id = "base-x"
    name = "Base X"
    class = "lipolytic"
    evidence = "unsourced"
    sources = []

    [[substance]]
    id = "form-y"
    name = "Form Y"
    class = "lipolytic"
    dose_as = "base-x"
    evidence = "unsourced"
    sources = []
    ''')


def _validate(text: str) -> None:
    import tomllib

    validate_references(parse_documents({"substances.toml": tomllib.loads(text)}))


def test_a_valid_dose_as_is_accepted():
    _validate(SUBSTANCES)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace('dose_as = "base-x"', 'dose_as = "no-such-substance"'), "names no substance"),
    (lambda t: t.replace('dose_as = "base-x"', 'dose_as = "form-y"'), "names the substance itself"),
    (lambda t: t.replace('id = "form-y"\nname = "Form Y"\nclass = "lipolytic"',
                         'id = "form-y"\nname = "Form Y"\nclass = "vitamin"'), "is of class 'lipolytic'"),
    (lambda t: t + textwrap.dedent('''
        [[substance]]
        id = "form-z"
        name = "Form Z"
        class = "lipolytic"
        dose_as = "form-y"
        evidence = "unsourced"
        sources = []
        '''), "is itself dosed as 'base-x'"),
    (lambda t: t.replace('dose_as = "base-x"', 'dose_as = "Base X"'), "is not a lowercase slug"),
])
def test_a_bad_dose_as_is_refused(edit, expected):
    with pytest.raises(CatalogueDataError, match=expected):
        _validate(edit(SUBSTANCES))


def test_a_dose_limit_on_a_substance_dosed_as_another_is_refused():
    data = read_directory(data_dir())
    limit = next(r for r in data.rules if r.kind == "dose_limit" and r.scope.ref == SOY)
    data.rules.append(replace(limit, id=max(r.id for r in data.rules) + 1,
                              scope=replace(limit.scope, ref=UNDECLARED)))
    with pytest.raises(CatalogueDataError, match=f"substance '{UNDECLARED}' is dosed as '{SOY}'"):
        validate_references(data)


def test_export_writes_dose_as_and_reads_back(cat):
    text = export_toml([cat.substances[UNDECLARED]], [], header="test")
    assert f'dose_as = "{SOY}"' in text
    import tomllib

    [again] = parse_documents({"substances.toml": tomllib.loads(text)}).substances
    assert again.dose_as == SOY


CLINIC_PC = textwrap.dedent('''\
    [[substance]]
    id = "clinic-pc-sunflower"
    name = "Clinic phosphatidylcholine (sunflower)"
    class = "lipolytic"
    dose_as = "phosphatidylcholine"
    evidence = "vendor"
    sources = [{title = "Clinic supplier data sheet"}]

    [[product]]
    id = "clinic-pc-vial"
    name = "Clinic PC vial"
    evidence = "vendor"
    sources = [{title = "Clinic compounding record"}]

    [[product.component]]
    substance = "clinic-pc-sunflower"
    concentration = "50 mg/mL"
    ''')


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "clinic.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_clinic_form_dosed_as_a_shipped_substance_is_imported_and_shares_its_cap(meso, clinic_database, tmp_path):
    outcome = meso("catalogue", "import", _write(tmp_path, CLINIC_PC), "--json")
    assert outcome.exit_code == 0, outcome.stderr
    recipe = tmp_path / "recipe.json"
    recipe.write_text('{"syringes": [{"components": [{"id": "clinic-pc-vial", "volume": "30 mL"}]}, '
                      '{"components": [{"id": "pc-dc-injection", "volume": "30 mL"}]}]}', encoding="utf-8")
    findings = meso("check", "--recipe", str(recipe), "--json").json()["findings"]
    hits = [f for f in findings if f["kind"] == "dose" and f"limit {CAP_MG} mg" in f["message"]]
    assert len(hits) == 1 and hits[0]["trigger"] == SOY and "= 3000 mg" in hits[0]["message"]
    exported = meso("catalogue", "export")
    assert 'dose_as = "phosphatidylcholine"' in exported.stdout


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace('dose_as = "phosphatidylcholine"', 'dose_as = "no-such-substance"'), "names no substance"),
    (lambda t: t.replace('dose_as = "phosphatidylcholine"', f'dose_as = "{UNDECLARED}"'), "is itself dosed as"),
    (lambda t: t.replace('dose_as = "phosphatidylcholine"', 'dose_as = "hyaluronic-acid"'), "is of class"),
    # without dose_as the clinic's lipolytic would escape the limits set substance by substance
    (lambda t: t.replace('dose_as = "phosphatidylcholine"\n', ''), "dose limits are set substance by substance"),
])
def test_a_clinic_import_with_a_bad_dose_as_is_refused(meso, clinic_database, tmp_path, edit, expected):
    outcome = meso("catalogue", "import", _write(tmp_path, edit(CLINIC_PC)))
    assert outcome.exit_code == 2, outcome.stdout
    assert expected in outcome.stderr


def test_ingredients_show_says_what_a_form_is_dosed_as(meso):
    doc = meso("ingredients", "show", UNDECLARED, "--json").json()
    assert doc["dose_as"] == SOY
    assert meso("ingredients", "show", SOY, "--json").json()["dose_as"] is None
    assert f"Dosed as: {SOY}" in meso("ingredients", "show", UNDECLARED).stdout
    # the limit that holds for it is listed with it, though it is set on phosphatidylcholine
    for entry in (UNDECLARED, "dermaheal-ll"):
        rules = meso("ingredients", "show", entry, "--json").json()["rules"]
        assert any(r["kind"] == "dose_limit" and r.get("cap") == {"value": CAP_MG, "unit": "mg"} for r in rules), entry


# ----------------------------------------------------------------------------- companions
def test_a_form_counts_as_its_substance_only_where_that_is_stricter():
    """"only with X": a form dosed as X in the syringe brings the limit into play; "unless with
    X": a form of X never lifts the limit (it is not X at X's studied strength)."""
    from mesocli.domain.dosing import rule_applies
    from mesocli.domain.model import UNSOURCED, Rule, Scope, Substance
    from mesocli.domain.rules import dose_limit
    from mesocli.units import Amount

    target = Substance("target", "Target", "local-anaesthetic", "active", UNSOURCED)
    cap = Amount(100.0, "mg")

    def rule(**with_: str) -> Rule:
        return Rule(1, "dose_limit", "caution", "A test limit.", UNSOURCED,
                    dose_limit.Params("per-session", cap=cap, **with_), Scope("substance", "target"))

    def dose_id(sid: str) -> str:
        return {"x-form": "x"}.get(sid, sid)

    with_form = [{"target", "x-form"}]
    assert rule_applies(rule(only_with="x"), target, with_form, dose_id, area=None)
    assert not rule_applies(rule(only_with="x"), target, with_form, area=None)  # without dose ids: by id only
    assert rule_applies(rule(unless_with="x"), target, with_form, dose_id, area=None)
    assert not rule_applies(rule(unless_with="x"), target, [{"target", "x"}], dose_id, area=None)
