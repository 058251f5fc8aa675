"""One walk of the dose rules: the check and the build's dose caps see the same governing rules.

``dosing.governing`` is the walk both use: the check (``rules/dose_limit.py``) over checked
items, which may lack volumes and carry unknown strengths, and the build (``dosing.held_limits``)
over its planned syringes. For every built recipe, the mass limits the build held are exactly
the mass rules the walk finds governing the recipe's own items, with the same forms.
"""

from __future__ import annotations

import pytest

from mesocli import api
from mesocli.domain import dosing
from mesocli.domain.engine import Item, resolve_patient
from mesocli.domain.patient import Patient
from mesocli.units import parse_quantity
from tests.domain.test_build_properties import PAIRS, TREATMENT_AREA

WEIGHTS = [None, "60 kg"]


def _items(recipe) -> list[Item]:
    return [Item(c.product.id, c.product, c.product.components, volume=c.volume, syringe=number)
            for number, syringe in enumerate(recipe.syringes, 1) for c in syringe.components]


@pytest.mark.parametrize("weight", WEIGHTS)
def test_the_build_holds_the_mass_limits_the_check_walk_finds(catalogue, weight):
    """Over every indication x area, the build's held limits are the walk's governing mass rules
    whose mass can be worked out for the patient."""
    patient = resolve_patient(catalogue, Patient(weight=weight))
    area_treated = parse_quantity(TREATMENT_AREA, kind="area", what="treated area")
    compared = 0
    for indication, area in PAIRS:
        recipe = api.build(indication, Patient(weight=weight), area=area, treatment_area=TREATMENT_AREA,
                           catalogue=catalogue)
        if recipe.status != "ok":
            continue
        items = _items(recipe)
        syringes = [[(c.product, c.volume.canonical) for c in s.components] for s in recipe.syringes]
        held = {(h.key, h.forms, h.rule.id) for h in dosing.held_limits(catalogue, patient, area_treated, area,
                                                                         syringes)}
        forms_of = dosing.dose_forms(catalogue, (sid for item in items for sid in item.sids))
        companions = dosing.companions_of(items, catalogue)
        walked = {(key, forms, rule.id)
                  for key, _, forms, rules in dosing.governing(catalogue, forms_of, companions, area)
                  for rule in rules if rule.params.dose_kind in dosing.MASS_KINDS
                  and dosing.mass_limit(rule, patient, area_treated).mg is not None}
        assert held == walked, (indication, area)
        compared += 1
    assert compared >= 10


def test_the_walk_goes_through_each_dose_id_once_in_order(catalogue):
    """Every dose id of the session comes once, sorted, with the forms of it present."""
    recipe = api.build("hair-loss", catalogue=catalogue)
    items = _items(recipe)
    forms_of = dosing.dose_forms(catalogue, (sid for item in items for sid in item.sids))
    keys = [key for key, _, _, _ in dosing.governing(catalogue, forms_of, dosing.companions_of(items, catalogue),
                                                     None)]
    assert keys == sorted(forms_of) and len(keys) == len(set(keys))
