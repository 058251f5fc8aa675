"""The dose arithmetic on canonical numbers gives the numbers pint gives.

Doses, limits and volumes are worked out on plain numbers in canonical units (mesocli.units,
"canonical numbers"). Each test here does the same sum with pint quantities, step by step, and
asks for agreement to 11 significant figures (each canonical input is settled to 12,
``units.settle``), far beyond the 6 figures meso prints.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import units
from mesocli.domain import dosing, formulate
from mesocli.domain.model import UNSOURCED, Rule, Scope, Substance
from mesocli.domain.patient import ResolvedPatient
from mesocli.domain.rules import dose_limit
from mesocli.units import Q_, Amount, format_number, format_quantity, parse_quantity

PROPERTY = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

MAGNITUDES = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
VOLUMES = ["mL", "L", "uL", "cm**3", "dL"]
MASS_CONCENTRATIONS = ["mg/mL", "g/L", "ug/mL", "g/mL", "mg/cm**3", "kg/L"]
CONCENTRATIONS = [*MASS_CONCENTRATIONS, "IU/mL", "USP/mL", "IU/L"]
AREAS = ["cm**2", "mm**2", "m**2"]
DURATIONS = ["day", "d", "week", "hour"]


def _agrees(value: float, expected: float) -> bool:
    """``value`` is pint's number to 11 significant figures: each canonical input is settled to 12
    (``units.settle``), so a product of three of them may differ from pint's in the 12th."""
    return math.isclose(value, expected, rel_tol=1e-11)


def _substance(iu_mass: Amount | None = None) -> Substance:
    return Substance("test-substance", "Test substance", "vitamin", "active", UNSOURCED, iu_mass=iu_mass)


def _pint_amount(substance: Substance, concentration: Amount, volume):  # type: ignore[no-untyped-def]
    """The amount as pint works it out, one quantity per step."""
    amount = Q_(concentration.value, concentration.unit) * volume
    if amount.check("[biological_activity]") and substance.iu_mass is not None:
        per_iu = Q_(substance.iu_mass.value, substance.iu_mass.unit) / Q_(1, "IU")
        return (amount * per_iu).to_reduced_units().to("mg")
    if amount.check("[mass]"):
        return amount.to("mg")
    return amount.to_reduced_units()


# ----------------------------------------------------------------------------- units.py helpers
@PROPERTY
@given(value=MAGNITUDES, unit=st.sampled_from([*VOLUMES, *MASS_CONCENTRATIONS, *AREAS, *DURATIONS]))
def test_canonical_converts_as_pint_does(value, unit):
    target = units.canonical_unit(unit)
    assert units.canonical(value, unit) == units.settle(Q_(value, unit).to(target).magnitude)


MASSES = ["mg", "g", "ug", "mcg", "kg"]
PER_BODY_MASS = ["mg/kg", "ug/kg", "g/kg"]
ACTIVITY_CONCENTRATIONS = ["IU/mL", "IU/L"]
COMPATIBLE = st.sampled_from([VOLUMES, MASS_CONCENTRATIONS, AREAS, DURATIONS, MASSES, PER_BODY_MASS,
                              ACTIVITY_CONCENTRATIONS]).flatmap(
    lambda group: st.tuples(st.sampled_from(group), st.sampled_from(group)))


@PROPERTY
@given(left=MAGNITUDES, right=MAGNITUDES, pair=COMPATIBLE, same=st.booleans())
def test_canonical_comparison_agrees_with_pint(left, right, pair, same):
    """Settled canonical numbers order two quantities as pint does, unless pint's own numbers
    differ only by float noise (beyond the 12th significant figure), where they compare equal."""
    left_unit, right_unit = pair
    if same:  # the same quantity written in two units: pint may see noise, meso sees equality
        right = Q_(left, left_unit).to(right_unit).magnitude
    a, b = Amount(left, left_unit).canonical, Amount(right, right_unit).canonical
    first, second = Q_(left, left_unit), Q_(right, right_unit)
    gap = abs((first - second).to(left_unit).magnitude) / max(left, first.to(left_unit).magnitude, 1e-300)
    if gap > 1e-11:
        assert (a > b) == (first > second)
        assert (a < b) == (first < second)
    else:
        assert a == b or (a > b) == (first > second)
    if same:
        assert a == b


def test_canonical_numbers_are_in_canonical_units():
    assert units.canonical(0.3, "g") == 300
    assert units.canonical(2, "L") == 2000
    assert units.canonical(1, "week") == 7
    assert units.canonical(1, "m**2") == 10000
    assert units.canonical(20, "g/L") == 20
    assert units.canonical(4500, "ug/kg") == 4.5
    assert units.canonical(0.1 + 0.2, "mL") == 0.3  # float noise settles


def test_comparing_different_dimensions_is_refused():
    with pytest.raises(units.UnitError, match="different kinds of quantity"):
        dosing.exceeds(Amount(1.0, "mL"), Amount(1.0, "mg"))
    with pytest.raises(units.UnitError, match="different kinds of quantity"):
        dosing.shorter(Amount(1.0, "day"), Amount(1.0, "mL"))


@PROPERTY
@given(value=st.one_of(MAGNITUDES, st.integers(min_value=0, max_value=10**6)),
       unit=st.sampled_from([*VOLUMES, *CONCENTRATIONS, *AREAS, *DURATIONS, "mg", "mg/kg"]))
def test_format_value_is_the_text_of_the_quantity(value, unit):
    quantity = Q_(value, unit)
    digits, spec = (6, "P") if quantity.check("[time]") else (4, "~P")
    expected = f"{format_number(float(value), digits)} {format(quantity.units, spec)}".strip()
    assert units.format_value(value, unit) == expected
    assert format_quantity(quantity) == expected
    assert format_quantity(Amount(value, unit)) == expected


# ----------------------------------------------------------------------------- amounts
@PROPERTY
@given(concentration=MAGNITUDES, volume=MAGNITUDES, concentration_unit=st.sampled_from(CONCENTRATIONS),
       volume_unit=st.sampled_from(VOLUMES), iu_mass=st.sampled_from([None, Amount(0.025, "µg"),
                                                                      Amount(0.67, "mg"), Amount(1, "mcg")]))
def test_amount_agrees_with_pint(concentration, volume, concentration_unit, volume_unit, iu_mass):
    substance = _substance(iu_mass)
    stock = Amount(concentration, concentration_unit)
    expected = _pint_amount(substance, stock, Q_(volume, volume_unit))
    value, unit = dosing.amount_in(substance, stock, Amount(volume, volume_unit).canonical)
    assert _agrees(value, expected.magnitude)
    assert unit == format(expected.units, "~C")
    amount = dosing.amount_of(substance, stock, Amount(volume, volume_unit))
    assert _agrees(amount.value, expected.magnitude) and amount.unit == format(expected.units, "~C")


@PROPERTY
@given(volumes=st.lists(st.tuples(MAGNITUDES, st.sampled_from(VOLUMES)), min_size=1, max_size=5),
       concentration=st.sampled_from(["20 mg/mL", "2 % w/v", "1.5 g/(100 mL)", "500 ug/mL", "150 USP/mL"]))
def test_session_totals_agree_with_pint(volumes, concentration):
    from mesocli.domain.engine import Item
    from mesocli.domain.model import Component

    stock = units.to_amount(parse_quantity(concentration, kind="concentration", what="test"))
    substance = _substance()

    catalogue = SimpleNamespace(substances={substance.id: substance}, dose_id=lambda sid: sid)
    items = [Item(substance.id, None, (Component(substance.id, "active", stock),),
                  volume=Amount(value, unit), syringe=number)
             for number, (value, unit) in enumerate(volumes, 1)]
    totals, unknown = dosing.session_amounts(catalogue, items)  # type: ignore[arg-type]
    expected = None
    for item in items:
        amount = _pint_amount(substance, stock, item.volume.quantity())
        expected = amount if expected is None else expected + amount.to(expected.units)
    assert unknown == set()
    value, unit = totals[substance.id]
    assert _agrees(value, expected.magnitude) and unit == format(expected.units, "~C")


# ----------------------------------------------------------------------------- limits
def _rule(dose_kind: str, amount: Amount | None, cap: Amount | None) -> Rule:
    return Rule(1, "dose_limit", "contraindicated", "A test limit.", UNSOURCED,
                dose_limit.Params(dose_kind, amount=amount, cap=cap), Scope("procedure"))


@PROPERTY
@given(per_kg=MAGNITUDES, cap=MAGNITUDES, weight=st.floats(min_value=0.5, max_value=500),
       cap_unit=st.sampled_from(["mg", "g", "ug"]))
def test_per_kg_limit_agrees_with_pint(per_kg, cap, weight, cap_unit):
    limit = dosing.mass_limit(_rule("per-kg", Amount(per_kg, "mg/kg"), Amount(cap, cap_unit)),
                              ResolvedPatient(weight_kg=weight), None)
    pint_cap = Q_(cap, cap_unit).to("mg")
    by_weight = (Q_(per_kg, "mg/kg") * Q_(weight, "kg")).to("mg")
    lower = min(by_weight, pint_cap)
    assert _agrees(limit.mg, lower.magnitude)
    assert format_quantity(lower) in limit.working and format_quantity(by_weight) in limit.working


@PROPERTY
@given(per_area=MAGNITUDES, area=MAGNITUDES, area_unit=st.sampled_from(AREAS),
       cap=st.one_of(st.none(), MAGNITUDES))
def test_per_area_limit_agrees_with_pint(per_area, area, area_unit, cap):
    treated = Amount(area, area_unit)
    limit = dosing.mass_limit(_rule("per-area", Amount(per_area, "mg/cm**2"),
                                    Amount(cap, "mg") if cap is not None else None),
                              ResolvedPatient(), treated)
    by_area = (Q_(per_area, "mg/cm**2") * treated.quantity()).to("mg")
    lower = by_area if cap is None else min(by_area, Q_(cap, "mg").to("mg"))
    assert _agrees(limit.mg, lower.magnitude)
    assert limit.working.startswith(f"{format_quantity(Q_(per_area, 'mg/cm**2'))} x {format_quantity(treated)} = "
                                    f"{format_quantity(by_area)}")


# ----------------------------------------------------------------------------- volumes
@PROPERTY
@given(target=MAGNITUDES, share=st.floats(min_value=0.01, max_value=100), stock=MAGNITUDES,
       units_pair=st.sampled_from([("mg/mL", "mg/mL"), ("mg/mL", "g/L"), ("ug/mL", "mg/mL"),
                                   ("USP/mL", "USP/mL")]))
def test_dilution_volume_agrees_with_pint(target, share, stock, units_pair):
    target_unit, stock_unit = units_pair
    volume = formulate._diluted_volume(Amount(target, target_unit), share, Amount(stock, stock_unit))
    expected = (Q_(target, target_unit) * Q_(share, "mL") / Q_(stock, stock_unit)).to("mL").magnitude
    assert _agrees(volume, expected)


@PROPERTY
@given(ml=st.floats(min_value=0, max_value=100))
def test_floor_volume_rounds_down_to_the_graduation(ml):
    floored = formulate._floor_volume(ml)
    hundredths = round(floored * 100)
    assert floored == hundredths / 100  # a whole number of graduations, as the decimal says it
    assert units.settle(floored) <= units.settle(ml)  # never more than the volume given
    assert ml - floored < 0.01  # and less than one graduation below it


@pytest.mark.parametrize(("ml", "expected"), [(0.07, 0.07), (0.1 + 0.2, 0.3), (0.6999999999999999, 0.7),
                                              (0.069, 0.06), (1.0 - 1e-9, 0.99), (2.5, 2.5), (0.004, 0.0)])
def test_floor_volume_keeps_a_volume_that_is_a_whole_number_of_graduations(ml, expected):
    """Float noise (0.1 + 0.2 is 0.30000000000000004) never loses or gains a graduation."""
    assert formulate._floor_volume(ml) == expected


@PROPERTY
@given(value=st.one_of(MAGNITUDES, st.integers(min_value=0, max_value=10**6)),
       unit=st.sampled_from([*VOLUMES, *CONCENTRATIONS, *AREAS, "mg"]))
def test_a_quantity_made_from_a_magnitude_is_the_quantity_pint_makes(value, unit):
    made = units.as_quantity(value, unit)
    expected = Q_(value, unit)
    assert made.quantity() == expected and made.quantity().units == expected.units
    assert made.canonical == units.settle(expected.to(made.canonical_unit).magnitude)
    assert format_quantity(made) == format_quantity(expected) and units.to_json(made) == units.to_json(expected)


@pytest.mark.parametrize(("raw", "kind"), [("3 mL", "volume"), ("2 % w/v", "concentration"),
                                           ("1.5 g/(100 mL)", "concentration"), ("90 cm^2", "area"),
                                           ("250 uL", "volume"), ("14 day", "time")])
def test_text_read_again_gives_an_equal_amount(raw, kind):
    first = parse_quantity(raw, kind=kind, what="test")
    again = parse_quantity(raw, kind=kind, what="test")
    assert type(again) is type(first) is Amount
    assert (again.value, again.unit, again.canonical, again.canonical_unit) == (
        first.value, first.unit, first.canonical, first.canonical_unit)


def test_text_refused_once_is_refused_again():
    for _ in range(2):
        with pytest.raises(units.UnitError, match="ambiguous"):
            parse_quantity("2 %", kind="concentration", what="test")


def test_a_quantity_object_read_again_gives_an_equal_quantity():
    given = {"value": 1.5, "unit": "mL"}
    first = parse_quantity(given, kind="volume", what="test")
    again = parse_quantity(dict(given), kind="volume", what="test")
    assert again == first and again.unit == first.unit == "mL" and again.canonical == 1.5


def test_a_quantity_object_value_is_a_number_never_a_bool():
    """1 and True are equal keys in Python; only the number is a valid value."""
    assert parse_quantity({"value": 1, "unit": "mL"}, kind="volume", what="test").value == 1
    with pytest.raises(units.UnitError, match="'value' must be a number"):
        parse_quantity({"value": True, "unit": "mL"}, kind="volume", what="test")
    with pytest.raises(units.UnitError, match="exactly 'value' and 'unit'"):
        parse_quantity({"value": 1, "unit": "mL", "note": "x"}, kind="volume", what="test")
