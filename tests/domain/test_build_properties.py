"""Safe by construction, as properties: for every indication and each of its areas, and a
generated matrix of patients, ``meso build`` either refuses cleanly or prints a recipe that the
safety engine, run again from the recipe's own JSON with the same patient, finds nothing
contraindicated in.
"""

from __future__ import annotations

import json
import math
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.config import data_dir
from mesocli.domain.patient import Patient
from mesocli.render.recipe import recipe_document
from mesocli.units import parse_quantity

VOLUME = "2 mL"
TREATMENT_AREA = "25 cm**2"


def _pairs() -> list[tuple[str, str]]:
    """Every (indication, area) in the catalogue text, read without opening the database."""
    with (data_dir() / "indications.toml").open("rb") as handle:
        text = tomllib.load(handle)
    return [(ind["id"], area) for ind in text["indication"] for area in ind.get("areas", [])]


PAIRS = _pairs()

SETTINGS = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def patients(cat) -> st.SearchStrategy[Patient]:
    allergens = sorted(cat.groups) + sorted(cat.substances)
    conditions = sorted(cat.conditions)
    medications = sorted(cat.medications) + sorted(cat.medication_classes)
    weight = st.one_of(st.none(), st.floats(min_value=40, max_value=150, allow_nan=False)
                       .map(lambda kg: f"{kg:.1f} kg"))
    return st.builds(
        Patient,
        allergies=st.lists(st.sampled_from(allergens), max_size=3, unique=True).map(tuple),
        conditions=st.lists(st.sampled_from(conditions), max_size=2, unique=True).map(tuple),
        medications=st.lists(st.sampled_from(medications), max_size=2, unique=True).map(tuple),
        age=st.one_of(st.none(), st.integers(min_value=12, max_value=90)),
        weight=weight,
    )


def _ml(q) -> float:
    return parse_quantity(q, kind="volume", what="volume", allow_zero=True).in_unit("mL")


def _assert_safe_by_construction(cat, indication, area, patient, max_products) -> dict:
    recipe = api.build(indication, patient, area=area, volume=VOLUME, treatment_area=TREATMENT_AREA,
                       max_products=max_products, catalogue=cat)
    doc = json.loads(json.dumps(recipe_document(recipe, cat)))
    assert doc["schema_version"] == 1 and doc["kind"] == "recipe"
    assert doc["indication"] == indication and doc["area"] == area

    for item in doc["excluded"]:
        assert item["id"] and item["reason"].strip() and item["trigger"].strip(), item

    if doc["status"] == "refused":
        assert doc["syringes"] == []
        assert doc["reasons"] and all(r.strip() for r in doc["reasons"])
        return doc

    assert doc["status"] == "ok"
    assert doc["syringes"]
    excluded = {e["id"] for e in doc["excluded"]}
    total = 0.0
    for syringe in doc["syringes"]:
        ids = [c["id"] for c in syringe["components"]]
        assert len(ids) <= max_products, ids
        if any(cat.products[i].do_not_admix for i in ids):
            assert len(ids) == 1, ids
        assert not set(ids) & excluded, (ids, excluded)
        volumes = [_ml(c["volume"]) for c in syringe["components"]]
        assert math.isclose(_ml(syringe["total_volume"]), sum(volumes), rel_tol=1e-6, abs_tol=1e-12)
        total += _ml(syringe["total_volume"])
    assert total <= 2.0 * (1 + 1e-6)

    assert not [f for f in doc["findings"] if f["severity"] == "contraindicated"]
    result = api.check(patient, recipe=doc, indication=indication, area=area, treatment_area=TREATMENT_AREA,
                       max_products=max_products, catalogue=cat)
    bad = [(f.kind, f.subject, f.trigger, f.message) for f in result.findings if f.severity == "contraindicated"]
    assert not bad, bad
    return doc


@pytest.mark.parametrize("indication, area", PAIRS, ids=[f"{i}/{a}" for i, a in PAIRS])
@settings(max_examples=4, **SETTINGS)
@given(data=st.data())
def test_build_is_safe_by_construction(catalogue, indication, area, data):
    patient = data.draw(patients(catalogue), label="patient")
    max_products = data.draw(st.sampled_from([3, 4, 5]), label="max_products")
    doc = _assert_safe_by_construction(catalogue, indication, area, patient, max_products)
    # Same input, same output.
    again = api.build(indication, patient, area=area, volume=VOLUME, treatment_area=TREATMENT_AREA,
                      max_products=max_products, catalogue=catalogue)
    assert json.dumps(recipe_document(again, catalogue)) == json.dumps(doc)


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_allergen_never_reaches_the_recipe(catalogue, data):
    """Whatever the patient is allergic to is never in a printed recipe (direct or via a group)."""
    indication, area = data.draw(st.sampled_from(PAIRS), label="pair")
    allergens = sorted(catalogue.groups) + sorted(catalogue.substances)
    allergy = data.draw(st.sampled_from(allergens), label="allergy")
    recipe = api.build(indication, Patient(allergies=(allergy,)), area=area, volume=VOLUME,
                       treatment_area=TREATMENT_AREA, catalogue=catalogue)
    present = {s.id for syringe in recipe.syringes for c in syringe.components for s in c.substances}
    forbidden = set(catalogue.groups[allergy].members) if allergy in catalogue.groups else {allergy}
    assert not present & forbidden, (indication, allergy, present & forbidden)


@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_syringe_limit_holds_for_small_limits(catalogue, data):
    indication, area = data.draw(st.sampled_from(PAIRS), label="pair")
    patient = data.draw(patients(catalogue), label="patient")
    max_products = data.draw(st.sampled_from([1, 2]), label="max_products")
    _assert_safe_by_construction(catalogue, indication, area, patient, max_products)
