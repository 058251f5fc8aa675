"""Final concentrations: every substance of a built syringe carries its concentration in the mixed
syringe (JSON ``final_concentration``, the human table, the recipe card, ``--explain``), and
that concentration times the syringe's volume is the amount drawn up, as pint computes it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.domain.patient import Patient
from mesocli.render.recipe import recipe_document
from mesocli.units import Q_, format_quantity
from tests.domain.test_build_properties import PAIRS, SETTINGS, TREATMENT_AREA, patients

# Session volumes that exercise shares, rounding to the 0.01 mL graduation and the dose caps.
VOLUMES = ("2 mL", "1.3 mL", "7 mL")
# Quantities in the JSON contract keep six significant figures.
REL = 1e-5


def _document(cat, indication: str, patient: Patient | None = None, **kw: Any) -> dict[str, Any]:
    recipe = api.build(indication, patient, catalogue=cat, **kw)
    return json.loads(json.dumps(recipe_document(recipe, cat)))


def _q(doc: dict[str, Any]):
    return Q_(doc["value"], doc["unit"])


def assert_final_concentrations(doc: dict[str, Any]) -> int:
    """Every dosed substance has a final concentration, and final concentration x syringe volume
    = amount (with pint); returns how many were checked."""
    checked = 0
    for number, syringe in enumerate(doc["syringes"], 1):
        total = _q(syringe["total_volume"])
        assert total.to("mL").magnitude > 0, (number, syringe)
        for component in syringe["components"]:
            for s in component["substances"]:
                where = (number, component["id"], s["id"])
                if s["amount"] is None:
                    assert s["final_concentration"] is None, where
                    continue
                assert s["final_concentration"] is not None, where
                final, amount = _q(s["final_concentration"]), _q(s["amount"])
                assert final.dimensionality == _q(s["concentration"]).dimensionality, where
                product = (final * total).to(amount.units).magnitude
                assert math.isclose(product, amount.magnitude, rel_tol=REL, abs_tol=1e-12), (
                    where, s["final_concentration"], syringe["total_volume"], s["amount"])
                checked += 1
    return checked


@pytest.mark.parametrize("volume", VOLUMES)
def test_final_concentration_times_syringe_volume_is_the_amount(catalogue, volume):
    """Over every indication x area, a final concentration times its syringe's volume is its amount."""
    checked = built = 0
    for indication, area in PAIRS:
        doc = _document(catalogue, indication, area=area, volume=volume, treatment_area=TREATMENT_AREA)
        if doc["status"] == "ok":
            built += 1
            checked += assert_final_concentrations(doc)
    assert built >= 10 and checked >= 20, (built, checked)


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_final_concentrations_hold_for_any_patient(catalogue, data):
    """For generated patients, every built syringe's final concentrations give back its amounts."""
    indication, area = data.draw(st.sampled_from(PAIRS), label="pair")
    patient = data.draw(patients(catalogue), label="patient")
    volume = data.draw(st.sampled_from(VOLUMES), label="volume")
    doc = _document(catalogue, indication, patient, area=area, volume=volume, treatment_area=TREATMENT_AREA)
    if doc["status"] == "ok":
        assert_final_concentrations(doc)


def test_a_mixed_syringe_dilutes_each_product(catalogue):
    """In a syringe of several products, each substance ends weaker than its stock, by the share of the syringe."""
    doc = _document(catalogue, "hyperpigmentation", volume="2 mL")
    mixed = [s for s in doc["syringes"] if len(s["components"]) > 1]
    assert mixed
    for syringe in mixed:
        total = _q(syringe["total_volume"])
        for component in syringe["components"]:
            for s in component["substances"]:
                if s["concentration"] is None:
                    continue
                share = (_q(component["volume"]) / total).to("").magnitude
                expected = _q(s["concentration"]) * share
                assert _q(s["final_concentration"]).to(expected.units).magnitude == pytest.approx(
                    expected.magnitude, rel=REL)
                assert share < 1


# ----------------------------------------------------------------------------- the command line
def _finals(doc: dict[str, Any], role: str | None = None) -> list[tuple[int, str, str, str]]:
    """(syringe number, product id, substance name, final concentration as people read it), of
    the substances of ``role`` (any role when None)."""
    return [(number, c["id"], s["name"], format_quantity(_q(s["final_concentration"])))
            for number, syringe in enumerate(doc["syringes"], 1) for c in syringe["components"]
            for s in c["substances"] if s["final_concentration"] is not None and role in (None, s["role"])]


@pytest.mark.parametrize("indication", ["hair-loss", "hyperpigmentation"])
def test_json_has_a_final_concentration_on_every_substance(meso, indication):
    """``meso build --json`` writes final_concentration on each substance of each syringe."""
    out = meso("build", "--indication", indication, "--volume", "2 mL", "--json")
    assert out.exit_code == 0, out.stderr
    substances = [s for syringe in out.json()["syringes"] for c in syringe["components"] for s in c["substances"]]
    assert substances and all("final_concentration" in s for s in substances)
    assert all(set(s["final_concentration"]) == {"value", "unit"}
               for s in substances if s["concentration"] is not None)


@pytest.mark.parametrize("indication", ["hair-loss", "hyperpigmentation"])
def test_human_table_shows_the_final_concentration(meso, indication):
    """The human table shows each active's final concentration next to its stock and amount."""
    doc = meso("build", "--indication", indication, "--volume", "2 mL", "--json").json()
    out = meso("build", "--indication", indication, "--volume", "2 mL")
    assert out.exit_code == 0
    assert "Actives (stock -> amount, final)" in out.stdout
    rows = [line for line in out.stdout.splitlines() if " -> " in line]
    assert _finals(doc, "active")
    for _number, product, name, final in _finals(doc, "active"):
        assert any(line.startswith(product) and f"{name} " in line and f", final {final}" in line
                   for line in rows), (product, name, final, rows)


@pytest.mark.parametrize("indication", ["hair-loss", "hyperpigmentation"])
def test_recipe_card_has_a_final_concentration_column(meso, indication):
    """The markdown card has a "Final in syringe" column holding each substance's final concentration."""
    doc = meso("build", "--indication", indication, "--volume", "2 mL", "--json").json()
    card = meso("build", "--indication", indication, "--volume", "2 mL", "--format", "markdown").stdout
    assert "| Product | Volume | Substance | Role | Stock | Amount | Final in syringe |" in card
    rows = [line for line in card.splitlines() if line.startswith("| ") and not line.startswith("| Product")]
    for _number, _product, name, final in _finals(doc):
        assert any(f"| {name} |" in row and row.endswith(f"| {final} |") for row in rows), (name, final)


def test_explain_gives_each_final_concentration_as_amount_over_syringe_volume(meso):
    """``--explain`` shows each final concentration as the amount over the syringe's volume."""
    out = meso("build", "--indication", "hyperpigmentation", "--volume", "2 mL", "--explain", "--json").json()
    lines = out["explain"]
    for number, syringe in enumerate(out["syringes"], 1):
        total = format_quantity(_q(syringe["total_volume"]))
        for c in syringe["components"]:
            for s in c["substances"]:
                if s["final_concentration"] is None:
                    continue
                expected = (f"Syringe {number}: {s['id']} from {c['id']}, final concentration = "
                            f"{format_quantity(_q(s['amount']))} / {total} = "
                            f"{format_quantity(_q(s['final_concentration']))}.")
                assert expected in lines, (expected, lines)
    text = meso("build", "--indication", "hyperpigmentation", "--volume", "2 mL", "--explain").stdout
    assert "final concentration = " in text
