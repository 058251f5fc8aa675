"""Studied strength: a principal active is not diluted below the final concentration its sources
studied (the fit's ``final_concentration``). The formulator keeps it (a stock already at that
strength gets a syringe of its own; the other products give up volume when shares, rounding or
a dose cap would leave it weaker), and where that is impossible a caution gives both numbers,
in a build and in ``meso check`` of a recipe.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.domain.patient import Patient
from mesocli.render.recipe import recipe_document
from mesocli.units import Q_, format_quantity
from tests.domain.test_build_properties import PAIRS, SETTINGS, TREATMENT_AREA, patients

VOLUMES = ("0.5 mL", "1.3 mL", "2 mL", "7 mL", "100 mL")


def _document(cat, indication: str, patient: Patient | None = None, **kw: Any) -> dict[str, Any]:
    recipe = api.build(indication, patient, catalogue=cat, **kw)
    return json.loads(json.dumps(recipe_document(recipe, cat)))


def _q(doc: dict[str, Any]):
    return Q_(doc["value"], doc["unit"])


def studied(cat, indication: str) -> dict[str, Any]:
    """The indication's principal substances with a studied final concentration, as quantities."""
    return {f.target: Q_(f.final_concentration.value, f.final_concentration.unit)
            for f in cat.indications[indication].fits
            if f.fit == "principal" and f.final_concentration is not None and f.target in cat.substances}


def weak_principals(cat, doc: dict[str, Any]) -> list[tuple[int, str, Any, Any]]:
    """(syringe number, substance, final strength, studied strength) of every principal active that
    ends below its studied strength, worked out with pint from the recipe's own JSON."""
    targets = studied(cat, doc["indication"])
    weak = []
    for number, syringe in enumerate(doc["syringes"], 1):
        total = _q(syringe["total_volume"])
        amounts: dict[str, Any] = {}
        for c in syringe["components"]:
            for s in c["substances"]:
                if s["id"] in targets and s["amount"] is not None:
                    amounts[s["id"]] = amounts.get(s["id"], 0) + _q(s["concentration"]) * _q(c["volume"])
        for sid, amount in amounts.items():
            strength = (amount / total).to(targets[sid].units)
            if strength.magnitude < targets[sid].magnitude * (1 - 1e-6):
                weak.append((number, sid, strength, targets[sid]))
    return weak


def cautions_on(doc: dict[str, Any], sid: str) -> list[dict[str, Any]]:
    return [f for f in doc["findings"]
            if f["severity"] == "caution" and f["kind"] == "dose" and f["trigger"] == sid and "studied" in f["message"]]


def with_studied(cat, indication: str, target: str, strength: str):
    """The shipped catalogue with the studied final concentration of one fit changed."""
    from mesocli.domain.catalogue import Catalogue
    from mesocli.units import parse_amount

    ind = cat.indications[indication]
    amount = parse_amount(strength, kind="concentration", what="test")
    fits = tuple(replace(f, final_concentration=amount) if f.target == target else f for f in ind.fits)
    return Catalogue(
        substances=cat.substances.values(), products=cat.products.values(), groups=cat.groups.values(),
        crosses=cat.crosses, conditions=cat.conditions.values(),
        medication_classes=cat.medication_classes.values(), medications=cat.medications.values(),
        areas=cat.areas.values(), indications=[replace(ind, fits=fits) if i.id == indication else i
                                               for i in cat.indications.values()],
        protocols=cat.protocols, rules=cat.rules, defaults=cat.defaults.values())


# ----------------------------------------------------------------------------- the formulator keeps it
@pytest.mark.parametrize("volume", VOLUMES)
def test_no_principal_active_below_its_studied_strength_without_a_caution(catalogue, volume):
    """Over every indication x area, a principal active below its studied strength always has a caution."""
    for indication, area in PAIRS:
        doc = _document(catalogue, indication, area=area, volume=volume, treatment_area=TREATMENT_AREA)
        for number, sid, strength, target in weak_principals(catalogue, doc):
            assert cautions_on(doc, sid), (indication, area, number, sid, strength, target)


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_no_silent_dilution_for_any_patient(catalogue, data):
    """For generated patients, volumes and product limits, no principal active is silently diluted."""
    indication, area = data.draw(st.sampled_from(PAIRS), label="pair")
    patient = data.draw(patients(catalogue), label="patient")
    volume = data.draw(st.sampled_from(VOLUMES), label="volume")
    max_products = data.draw(st.sampled_from([1, 2, 3, 5]), label="max_products")
    doc = _document(catalogue, indication, patient, area=area, volume=volume, treatment_area=TREATMENT_AREA,
                    max_products=max_products)
    for number, sid, strength, target in weak_principals(catalogue, doc):
        assert cautions_on(doc, sid), (number, sid, strength, target)


@pytest.mark.parametrize("volume", VOLUMES)
@pytest.mark.parametrize("indication", ["hair-loss", "hyperpigmentation"])
def test_shipped_principals_reach_their_studied_strength(catalogue, indication, volume):
    """With the shipped catalogue every principal active with a studied strength reaches it."""
    doc = _document(catalogue, indication, volume=volume)
    assert doc["status"] == "ok", doc["reasons"]
    assert weak_principals(catalogue, doc) == []
    present = {s["id"] for syringe in doc["syringes"] for c in syringe["components"] for s in c["substances"]}
    assert present & set(studied(catalogue, indication))


def test_a_stock_at_its_studied_strength_is_drawn_up_alone(catalogue):
    """Minoxidil 0.5 % and dutasteride 0.01 %, supplied at the studied strength, each get a syringe
    with nothing else in it; the anaesthetic goes with the other products."""
    doc = _document(catalogue, "hair-loss", volume="2 mL")
    alone = {}
    for syringe in doc["syringes"]:
        ids = [c["id"] for c in syringe["components"]]
        for c in syringe["components"]:
            for s in c["substances"]:
                if s["id"] in ("minoxidil", "dutasteride"):
                    alone[s["id"]] = ids
                    assert s["final_concentration"] == s["concentration"]
    assert alone == {"minoxidil": ["minoxidil-0-5pct"], "dutasteride": ["dutasteride-0-01pct"]}
    anaesthetised = [s for s in doc["syringes"] if any(c["purpose"] == "anaesthetic" for c in s["components"])]
    assert anaesthetised and all(len(s["components"]) > 1 for s in anaesthetised)
    assert any("minoxidil-0-5pct is already at the strength its sources studied" in r for r in doc["reasons"])
    assert not [r for r in doc["reasons"] if "cannot join the others" in r]


def test_rounding_is_made_up_from_the_diluent(catalogue):
    """When rounding to the syringe graduation leaves the diluted stock short, the diluent gives up
    volume so the studied strength holds, and --explain says so."""
    doc = _document(catalogue, "hyperpigmentation", volume="1.3 mL")
    assert weak_principals(catalogue, doc) == []
    assert any("below the studied 4 mg/mL" in line and "taking volume from the other products" in line
               for line in doc["explain"])
    for syringe in doc["syringes"]:
        assert any(c["purpose"] == "diluent" for c in syringe["components"])


def test_a_dose_cap_never_dilutes_a_principal(catalogue):
    """A dose cap that cuts a diluted principal's volume shrinks its syringe rather than weakening it."""
    doc = _document(catalogue, "hyperpigmentation", volume="100 mL")
    assert any("dose cap truncated" in r for r in doc["reasons"])
    assert weak_principals(catalogue, doc) == []


# ----------------------------------------------------------------------------- where it cannot
def test_a_stock_weaker_than_studied_gets_a_caution_with_both_numbers(catalogue):
    """A principal whose only stock is weaker than the strength studied is used alone, and the
    caution names its final and its studied strength."""
    cat = with_studied(catalogue, "hair-loss", "minoxidil", "10 mg/mL")
    doc = _document(cat, "hair-loss", volume="2 mL")
    assert doc["status"] == "ok"
    [(number, sid, strength, target)] = weak_principals(cat, doc)
    assert sid == "minoxidil"
    [caution] = cautions_on(doc, "minoxidil")
    assert caution["subject"] == "minoxidil-0-5pct"
    assert (f"ends at {format_quantity(strength)} in syringe {number}, below the {format_quantity(target)} studied"
            in caution["message"])
    assert "5 mg/mL" in caution["message"] and "10 mg/mL" in caution["message"]
    assert caution["sources"] and caution["evidence"] == "peer-reviewed"
    holding = doc["syringes"][number - 1]
    assert [c["id"] for c in holding["components"]] == ["minoxidil-0-5pct"]
    assert any("minoxidil-0-5pct is weaker than the strength its sources studied" in r for r in doc["reasons"])


def _hand_mix(minoxidil_ml: str, lidocaine_ml: str) -> dict[str, Any]:
    return {"indication": "hair-loss", "area": "scalp", "syringes": [{"components": [
        {"id": "minoxidil-0-5pct", "volume": minoxidil_ml},
        {"id": "lidocaine-1pct-sd", "volume": lidocaine_ml}]}]}


def test_check_of_a_recipe_cautions_a_diluted_principal(catalogue):
    """``meso check`` of a recipe that dilutes minoxidil 0.5 % with lidocaine gives 3.5 against 5 mg/mL."""
    result = api.check(recipe=_hand_mix("0.7 mL", "0.3 mL"), catalogue=catalogue)
    found = [f for f in result.findings if f.kind == "dose" and f.trigger == "minoxidil"]
    assert [f.severity for f in found] == ["caution"]
    assert found[0].subject == "minoxidil-0-5pct"
    assert "Minoxidil ends at 3.5 mg/mL in syringe 1, below the 5 mg/mL studied" in found[0].message
    assert found[0].advice


def test_check_of_an_undiluted_principal_says_nothing_of_strength(catalogue):
    """Minoxidil alone, or a mix checked for no indication, gives no strength caution."""
    alone = {"indication": "hair-loss", "syringes": [{"components": [{"id": "minoxidil-0-5pct", "volume": "1 mL"}]}]}
    result = api.check(recipe=alone, catalogue=catalogue)
    assert not [f for f in result.findings if "studied for" in f.message]
    unstated = _hand_mix("0.7 mL", "0.3 mL")
    del unstated["indication"], unstated["area"]
    result = api.check(recipe=unstated, catalogue=catalogue)
    assert not [f for f in result.findings if "studied for" in f.message]


def test_cli_check_and_build_agree_on_strength(meso, tmp_path):
    """A built recipe checks without a strength caution through the CLI; a diluted hand mix gets one."""
    built = meso("build", "--indication", "hair-loss", "--sex", "male", "--json")
    assert built.exit_code == 0, built.stderr
    path = tmp_path / "built.json"
    path.write_text(built.stdout, encoding="utf-8")
    checked = meso("check", "--sex", "male", "--recipe", str(path), "--json")
    assert not [f for f in checked.json()["findings"] if "studied for" in f["message"]]
    mix = tmp_path / "mix.json"
    mix.write_text(json.dumps(_hand_mix("0.7 mL", "0.3 mL")), encoding="utf-8")
    out = meso("check", "--recipe", str(mix))
    assert out.exit_code == 0
    assert "Minoxidil ends at 3.5 mg/mL in syringe 1, below the 5 mg/mL studied" in " ".join(out.stdout.split())
