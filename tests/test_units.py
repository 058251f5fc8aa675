"""Tests for mesocli.units: the one place where text becomes a quantity.

Every accepted spelling must give the right magnitude in canonical units, every refused one a
:class:`UnitError` (exit code 2) whose message names the value and says why, and nothing else
may ever escape :func:`parse_quantity`.
"""

from __future__ import annotations

import math

import pint
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mesocli import units
from mesocli.errors import EXIT_INPUT, InputError, UnitError
from mesocli.units import (
    KINDS,
    Q_,
    Amount,
    clean_number,
    format_quantity,
    parse_quantity,
    to_json,
)

# Fast, hermetic property runs: no example database, no deadline (the registry is built
# lazily on first use, which would trip a per-example deadline).
PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

WHAT = "syringe 1 volume"


def _rejected(raw, kind: str, **kwargs) -> UnitError:
    """Parse ``raw`` expecting a refusal; return the error for message checks."""
    with pytest.raises(UnitError) as info:
        parse_quantity(raw, kind=kind, what=WHAT, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{WHAT}: "), message
    assert "\n" not in message
    return info.value


def _wanted_dims(kind: str) -> list[str]:
    kinds = units.CONCENTRATION_KINDS if kind == "concentration" else (kind,)
    return [KINDS[k] for k in kinds]


def _dims(quantity: Amount | pint.Quantity) -> str:
    if isinstance(quantity, Amount):
        quantity = quantity.quantity()
    dims = quantity.dimensionality
    return str(dims) if dims else ""


# --------------------------------------------------------------------------------------------
# Accepted forms
# --------------------------------------------------------------------------------------------

ACCEPTED = [
    # (raw, kind, canonical unit, magnitude in that unit)
    ("20 mg/mL", "concentration", "mg/mL", 20),
    ("0.5 mL", "volume", "mL", 0.5),
    ("25 cm**2", "area", "cm**2", 25),
    ("25 cm^2", "area", "cm**2", 25),
    ("25 cm\u00b2", "area", "cm**2", 25),
    ("70 kg", "mass", "kg", 70),
    ("100 mg", "mass", "mg", 100),
    ("4 mm", "length", "mm", 4),
    ("2 % w/v", "concentration", "mg/mL", 20),
    ("2% w/v", "concentration", "mg/mL", 20),
    ("2 %w/v", "concentration", "mg/mL", 20),
    ("2 % W/V", "concentration", "mg/mL", 20),
    ("1.5 g/(100 mL)", "concentration", "mg/mL", 15),
    ("1000 IU", "activity", "IU", 1000),
    ("1000 IU/mL", "concentration", "IU/mL", 1000),
    ("1000 IU/mL", "activity-concentration", "IU/mL", 1000),
    ("150 USP/mL", "concentration", "USP/mL", 150),
    ("150 USP/mL", "usp-concentration", "USP/mL", 150),
    ("20 mcg/mL", "concentration", "mg/mL", 0.02),
    ("20 \u00b5g/mL", "concentration", "mg/mL", 0.02),  # MICRO SIGN
    ("20 \u03bcg/mL", "concentration", "mg/mL", 0.02),  # GREEK SMALL LETTER MU
    ("4.5 mg/kg", "mass-per-body-mass", "mg/kg", 4.5),
    ("2 mg/cm**2", "mass-per-area", "mg/cm**2", 2),
    ("14 day", "time", "day", 14),
    ({"value": 20, "unit": "mg/mL"}, "concentration", "mg/mL", 20),
    ({"value": 0.5, "unit": " mL "}, "volume", "mL", 0.5),
    ("  0.5   mL  ", "volume", "mL", 0.5),
    (".5 mL", "volume", "mL", 0.5),
    ("5e-1 mL", "volume", "mL", 0.5),
    ("+2 mL", "volume", "mL", 2),
]


@pytest.mark.parametrize(("raw", "kind", "unit", "magnitude"), ACCEPTED, ids=[repr(c[0]) for c in ACCEPTED])
def test_accepted_forms_parse_to_the_right_magnitude(raw, kind, unit, magnitude):
    """Each documented spelling parses to the expected magnitude in its canonical unit."""
    quantity = parse_quantity(raw, kind=kind, what=WHAT)
    assert isinstance(quantity, Amount)
    assert _dims(quantity) in _wanted_dims(kind)
    assert quantity.quantity().to(unit).magnitude == pytest.approx(magnitude, rel=1e-12)
    if unit == units.canonical_unit(unit):
        assert quantity.canonical == pytest.approx(magnitude, rel=1e-12) and quantity.canonical_unit == unit


def test_percent_w_v_is_exactly_ten_mg_per_ml_per_percent():
    """'2 % w/v' becomes exactly 20 mg/mL (grams per 100 mL), written as such in JSON."""
    quantity = parse_quantity("2 % w/v", kind="concentration", what=WHAT)
    assert to_json(quantity) == {"value": 20, "unit": "mg/mL"}


def test_activity_concentration_is_accepted_as_a_concentration():
    """Kind 'concentration' accepts IU/mL and keeps its activity dimension (not a mass)."""
    quantity = parse_quantity("1000 IU/mL", kind="concentration", what=WHAT)
    assert _dims(quantity) == "[biological_activity] / [length] ** 3"
    assert quantity.canonical_unit == "IU/mL"
    with pytest.raises(UnitError, match="different kinds of quantity"):
        units.same_dimension(quantity, Amount(1, "mg/mL"))


def test_zero_is_accepted_only_with_allow_zero():
    """'0 mL' is refused by default and accepted as exactly zero with allow_zero=True."""
    error = _rejected("0 mL", "volume")
    assert "greater than zero" in str(error)
    assert parse_quantity("0 mL", kind="volume", what=WHAT, allow_zero=True) == Amount(0, "mL")


def test_allow_zero_still_refuses_negative_values():
    """allow_zero lets zero through but never a negative quantity."""
    error = _rejected("-1 mL", "volume", allow_zero=True)
    assert "greater than zero" in str(error) and "-1" in str(error)


def test_text_of_exactly_64_characters_is_accepted():
    """The 64-character limit is inclusive: padded text of exactly 64 characters parses."""
    raw = "2 mL".ljust(64)
    assert len(raw) == 64
    assert parse_quantity(raw, kind="volume", what=WHAT) == Amount(2, "mL")


# --------------------------------------------------------------------------------------------
# Refused values
# --------------------------------------------------------------------------------------------

REJECTED = [
    # (raw, kind, fragments the message must contain)
    ("2 mL", "concentration", ["'mL'", "not a concentration"]),
    ("70 kg", "volume", ["'kg'", "not a volume"]),
    ("2 mL", "mass-per-body-mass", ["not a dose per body mass"]),
    ("1000 IU", "mass", ["not a mass"]),
    ("-2 mL", "volume", ["greater than zero", "-2"]),
    ("0 mL", "volume", ["greater than zero", "0"]),
    ("0 mg/mL", "concentration", ["greater than zero"]),
    ("nan mL", "volume", ["nan", "not a finite number"]),
    ("NaN mL", "volume", ["nan", "not a finite number"]),
    ("inf mL", "volume", ["inf", "not a finite number"]),
    ("Infinity mL", "volume", ["inf", "not a finite number"]),
    ("1e309 mL", "volume", ["not a finite number"]),
    ("5 blorbs", "volume", ["unknown unit", "blorbs"]),
    ("1.5 g/100 mL", "concentration", ["ambiguous", "parentheses", "1.5 g/(100 mL)"]),
    ("1.5 g / 100 mL", "concentration", ["ambiguous", "parentheses"]),
    ("2 %", "concentration", ["ambiguous", "w/v", "2 % w/v", "20 mg/mL"]),
    ("2%", "concentration", ["ambiguous", "w/v"]),
    ("2 % w/w", "concentration", ["w/w", "not a mass per volume"]),
    ("2 % v/v", "concentration", ["v/v", "not a mass per volume"]),
    ("20", "volume", ["20", "has no unit"]),
    ("mL", "volume", ["cannot read", "mL"]),
    ("", "volume", ["cannot read"]),
    ("twenty mL", "volume", ["cannot read", "twenty mL"]),
    (20, "volume", ["20", "has no unit"]),
    (2.5, "volume", ["2.5", "has no unit"]),
    (True, "volume", ["True", "has no unit"]),
    ({"value": 20, "unit": "mg/mL", "extra": 1}, "concentration", ["exactly 'value' and 'unit'"]),
    ({"value": 20}, "concentration", ["exactly 'value' and 'unit'"]),
    ({"unit": "mg/mL"}, "concentration", ["exactly 'value' and 'unit'"]),
    ({"value": True, "unit": "mg/mL"}, "concentration", ["'value' must be a number"]),
    ({"value": "20", "unit": "mg/mL"}, "concentration", ["'value' must be a number"]),
    ({"value": 20, "unit": 5}, "concentration", ["'unit' must be text"]),
    ({"value": float("nan"), "unit": "mg/mL"}, "concentration", ["not a finite number"]),
    ({"value": -1, "unit": "mg/mL"}, "concentration", ["greater than zero"]),
    ({"value": 20, "unit": ""}, "concentration", ["has no unit"]),
    ("2 mL".ljust(65), "volume", ["longer than 64 characters"]),
    ("2 m\x07L", "volume", ["characters meso does not accept"]),
    ("2 mL\x00", "volume", ["characters meso does not accept"]),
    ("2 \x1b[31mmL", "volume", ["characters meso does not accept"]),
    ("2 mL;", "volume", ["characters meso does not accept"]),
    (None, "volume", ["expected a quantity", "NoneType"]),
    (["2 mL"], "volume", ["expected a quantity", "list"]),
    (b"2 mL", "volume", ["expected a quantity", "bytes"]),
]


@pytest.mark.parametrize(("raw", "kind", "fragments"), REJECTED, ids=[repr(c[0])[:40] for c in REJECTED])
def test_bad_values_raise_unit_error_naming_the_value_and_why(raw, kind, fragments):
    """Each bad value raises UnitError whose message starts with the 'what' label and says why."""
    error = _rejected(raw, kind)
    for fragment in fragments:
        assert fragment in str(error), (fragment, str(error))


def test_unit_error_is_an_input_error_with_exit_code_2():
    """UnitError is an InputError, so the CLI exits with code 2 for it."""
    with pytest.raises(InputError) as info:
        parse_quantity("5 blorbs", kind="volume", what=WHAT)
    assert type(info.value) is UnitError
    assert info.value.exit_code == EXIT_INPUT == 2


# --------------------------------------------------------------------------------------------
# Bugs found: each test states the right behaviour and fails until the source is fixed.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["20 mg/(mL", "20 mg)", "20 )"])
def test_unbalanced_parentheses_raise_unit_error(raw):
    """Unbalanced parentheses in the unit are a UnitError, not a tokenize.TokenError."""
    _rejected(raw, "concentration")


@pytest.mark.parametrize("raw", ["20 ()", "3 ^", "20 mg**"])
def test_dangling_operators_raise_unit_error(raw):
    """An empty group or a dangling operator in the unit is a UnitError, not an AssertionError."""
    _rejected(raw, "concentration")


def test_huge_integer_value_in_quantity_object_raises_unit_error():
    """{"value": 10**400, ...} (a valid JSON integer) is a UnitError, not an OverflowError."""
    error = _rejected({"value": 10**400, "unit": "mg/mL"}, "concentration")
    assert "finite" in str(error) or "range" in str(error)


@pytest.mark.parametrize("raw", ["1 mL*9**9999", "1 mL**9**9**6"])
def test_arithmetic_with_huge_integers_in_unit_raises_unit_error(raw):
    """Exponent towers in the unit text are a UnitError, not OverflowError/ValueError."""
    _rejected(raw, "volume")


@pytest.mark.parametrize(("raw", "kind"), [("20 2 mg/mL", "concentration"), ("20 mg/mL 2", "concentration"),
                                           ("0.5 mL 2", "volume")])
def test_a_second_number_in_the_text_is_refused(raw, kind):
    """'20 2 mg/mL' is refused rather than silently read as 40 mg/mL."""
    _rejected(raw, kind)


@pytest.mark.parametrize(("raw", "fragment"), [("4.5 rad", "unknown unit 'rad'"), ("4.5 mL/L", "dose per body mass"),
                                                ("4.5 dimensionless", "unknown unit 'dimensionless'")])
def test_dose_per_body_mass_refuses_dimensionless_units_that_are_not_mass_per_mass(raw, fragment):
    """A dose per body mass must be a mass over a mass; radians or mL/L are refused."""
    error = _rejected(raw, "mass-per-body-mass")
    assert fragment in str(error)


def test_quantity_object_unit_text_is_length_limited_like_plain_text():
    """The 'unit' of a quantity object obeys the same 64-character limit as quantity text."""
    error = _rejected({"value": 2, "unit": "x" * 65}, "volume")
    assert "longer than 64 characters" in str(error)


def test_error_messages_never_carry_control_characters():
    """A carriage return inside the unit text never reaches the one-line error message."""
    error = _rejected("1.5 g/\r100 mL", "concentration")
    assert all(ch.isprintable() for ch in str(error)), repr(str(error))


# --------------------------------------------------------------------------------------------
# International units
# --------------------------------------------------------------------------------------------


def test_activity_to_mass_uses_the_substance_factor():
    """1000 IU/mL at 0.025 µg per IU, 1 mL of it, is 25 µg (0.025 mg)."""
    from mesocli.domain import dosing
    from mesocli.domain.model import UNSOURCED, Substance

    substance = Substance("vitamin-d", "Vitamin D", "vitamin", "active", UNSOURCED, iu_mass=Amount(0.025, "ug"))
    amount = dosing.amount_of(substance, Amount(1000, "IU/mL"), Amount(1, "mL"))
    assert amount.unit == "mg" and amount.value == pytest.approx(0.025, rel=1e-12)


def test_iu_never_converts_to_mass_without_a_factor():
    """International units have their own dimension: IU -> mg raises DimensionalityError."""
    with pytest.raises(pint.DimensionalityError):
        Q_(1000, "IU").to("mg")
    parsed = parse_quantity("1000 IU", kind="activity", what=WHAT)
    assert parsed.canonical_unit == "IU" and not units.compatible(parsed.unit, "mg")


# --------------------------------------------------------------------------------------------
# JSON and text output
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "expected"), [
    (Q_(20, "mg/mL"), {"value": 20, "unit": "mg/mL"}),
    (Q_(0.5, "mL"), {"value": 0.5, "unit": "mL"}),
    (Q_(25, "cm**2"), {"value": 25, "unit": "cm**2"}),
    (Q_(1000, "IU/mL"), {"value": 1000, "unit": "IU/mL"}),
    (Q_(150, "USP/mL"), {"value": 150, "unit": "USP/mL"}),
    (Q_(1.23456789, "mg"), {"value": 1.23457, "unit": "mg"}),
    (Amount(20.0, "mg/mL"), {"value": 20, "unit": "mg/mL"}),
], ids=str)
def test_to_json_writes_value_and_unit(quantity, expected):
    """to_json gives {"value", "unit"} with a cleaned number and a pint-parsable unit."""
    document = to_json(quantity)
    assert document == expected
    assert type(document["value"]) is type(expected["value"])


ROUND_TRIP_UNITS = {"mg/mL": "concentration", "mL": "volume", "mg": "mass", "cm**2": "area",
                    "IU/mL": "concentration"}


@PROPERTY
@given(value=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False),
       unit=st.sampled_from(sorted(ROUND_TRIP_UNITS)))
def test_json_round_trips_through_parse_quantity(value, unit):
    """to_json output re-parses (object and text form) to the same quantity, to 6 figures."""
    if unit == "cm**2":
        value = min(value, 20000.0)  # larger areas are refused as implausible (tested below)
    quantity = Q_(value, unit)
    document = to_json(quantity)
    kind = ROUND_TRIP_UNITS[unit]
    back = parse_quantity(document, kind=kind, what=WHAT)
    assert back.unit == unit
    assert back.value == document["value"]
    assert back.value == pytest.approx(value, rel=5e-6)
    assert to_json(back) == document
    as_text = parse_quantity(f"{document['value']} {document['unit']}", kind=kind, what=WHAT)
    assert as_text == back


@pytest.mark.parametrize(("value", "expected"), [
    (20.0, 20),
    (1.23456789, 1.23457),
    (0.1 + 0.2, 0.3),
    (123456789.0, 123457000),
    (2.9999999, 3),
    (0.000123456789, 0.000123457),
    (-2.5, -2.5),
    (0, 0),
    (0.0, 0),
    (1e-7, 1e-7),
])
def test_clean_number_rounds_to_six_significant_figures(value, expected):
    """clean_number keeps 6 significant figures and returns an int for integral values."""
    result = clean_number(value)
    assert result == expected
    assert type(result) is type(expected)


@PROPERTY
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_clean_number_invariants(value):
    """clean_number equals 6-significant-figure rounding, is int exactly when integral, and is idempotent."""
    result = clean_number(value)
    assert result == float(f"{value:.6g}")
    if isinstance(result, int):
        assert abs(result) < 1e15
    else:
        assert isinstance(result, float)
        assert not (result.is_integer() and abs(result) < 1e15)
    assert clean_number(result) == result


@pytest.mark.parametrize(("quantity", "text"), [
    (Q_(20, "mg/mL"), "20 mg/mL"),
    (Q_(20.0, "mg/mL"), "20 mg/mL"),
    (Q_(0.5, "mL"), "0.5 mL"),
    (Amount(20.0, "mg/mL"), "20 mg/mL"),
])
def test_format_quantity_is_plain_human_text(quantity, text):
    """format_quantity writes the number without noise followed by the short unit."""
    assert format_quantity(quantity) == text


# --------------------------------------------------------------------------------------------
# One registry
# --------------------------------------------------------------------------------------------


def test_registry_is_created_once():
    """registry() always returns the same process-wide registry."""
    assert units.registry() is units.registry()


def test_parsed_and_built_quantities_interoperate():
    """Amounts from parse_quantity are pint quantities of the one registry at the edge: they add
    and compare with Q_."""
    parsed = parse_quantity("20 mg/mL", kind="concentration", what=WHAT).quantity()
    built = Q_(1, "g/L")
    total = parsed + built
    assert total.to("mg/mL").magnitude == pytest.approx(21)
    assert parsed > built
    assert parsed == Q_(0.02, "g/mL")
    assert parsed == Amount(20, "mg/mL").quantity()
    volume = parse_quantity("0.5 mL", kind="volume", what=WHAT).quantity()
    assert (parsed * volume).to("mg").magnitude == pytest.approx(10)


# --------------------------------------------------------------------------------------------
# Properties: parse_quantity returns a quantity of the right kind or raises UnitError
# --------------------------------------------------------------------------------------------

_TOKENS = ["mg", "mL", "g", "kg", "IU", "USP", "cm", "mm", "day", "L", "%", "w/v", "w/w", "/", "*", "**",
           "^", "(", ")", "2", "100", "1e3", " ", "\u00b2", "\u00b5", "0", ".", "e", "-", "+", "_",
           "\u00b0", "\u00b3", "nan", "inf"]
_NUMBERS = ["20", "0.5", "1e2", "3", ".5", "0", "1e-3", "-1", "1e309", "nan", ""]
quantity_like_text = st.builds(lambda n, sep, u: n + sep + u, st.sampled_from(_NUMBERS),
                               st.sampled_from(["", " "]),
                               st.lists(st.sampled_from(_TOKENS), max_size=8).map("".join))
any_text = st.one_of(st.text(max_size=80), quantity_like_text)
kinds = st.sampled_from(sorted(KINDS))


def _quantity_or_unit_error(raw, kind: str) -> None:
    try:
        quantity = parse_quantity(raw, kind=kind, what="x")
    except UnitError as exc:
        assert str(exc).startswith("x: ")
        return
    assert isinstance(quantity, Amount)
    assert _dims(quantity) in _wanted_dims(kind)
    assert math.isfinite(quantity.value) and math.isfinite(quantity.canonical)
    assert quantity.value > 0 and quantity.canonical > 0


@PROPERTY
@given(raw=any_text, kind=kinds)
@example(raw="20 mg/(mL", kind="concentration")
def test_any_text_gives_a_quantity_of_the_kind_or_unit_error(raw, kind):
    """Arbitrary text (unicode included) gives a finite positive quantity of the kind, or UnitError."""
    _quantity_or_unit_error(raw, kind)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=80))
json_like = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=12,
)
quantity_objects = st.fixed_dictionaries(
    {"value": st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), st.text(max_size=5)),
     "unit": st.one_of(st.sampled_from(["mg/mL", "mL", "kg", "cm**2", "IU/mL", "%", "% w/v", ""]),
                       st.text(max_size=20), st.integers())},
    optional={"extra": st.none()},
)


@PROPERTY
@given(raw=st.one_of(json_like, quantity_objects), kind=kinds)
@example(raw={"value": 10**400, "unit": "mg/mL"}, kind="concentration")
def test_any_json_value_gives_a_quantity_of_the_kind_or_unit_error(raw, kind):
    """Arbitrary JSON-like values parse to a finite positive quantity of the kind, or raise UnitError."""
    _quantity_or_unit_error(raw, kind)


@pytest.mark.parametrize(("raw", "kind"), [("1e300 cm**2", "area"), ("2.5 m**2", "area"), ("20001 cm**2", "area"),
                                           ("1e300 day", "time"), ("11 year", "time"), ("3651 day", "time")])
def test_implausible_areas_and_durations_are_refused(raw, kind):
    """A treatment area beyond a whole adult skin, or an interval beyond ten years, is a typing error."""
    with pytest.raises(UnitError, match="is more than"):
        parse_quantity(raw, kind=kind, what="value")


@pytest.mark.parametrize(("raw", "kind"), [("20000 cm**2", "area"), ("1.5 m**2", "area"), ("3650 day", "time"),
                                           ("52 week", "time")])
def test_plausible_areas_and_durations_pass(raw, kind):
    assert parse_quantity(raw, kind=kind, what="value").value > 0


# --------------------------------------------------------------------------------------------
# mass_in_kg: a weight in kg is its own number; every answer and every error is pint's
# --------------------------------------------------------------------------------------------

def _via_pint(raw) -> float | str:
    try:
        return units.settle(float(parse_quantity(raw, kind="mass", what="weight").quantity().to("kg").magnitude))
    except UnitError as exc:
        return str(exc)


def _via_mass_in_kg(raw) -> float | str:
    try:
        return units.mass_in_kg(raw, what="weight")
    except UnitError as exc:
        return str(exc)


_weights = st.one_of(
    st.builds(lambda n, sep, u, pad: pad + n + sep + u + pad,
              st.one_of(st.sampled_from(_NUMBERS), st.floats(allow_nan=True).map(repr),
                        st.integers(-10, 10**6).map(str)),
              st.sampled_from(["", " ", "  "]), st.sampled_from(["kg", "g", "lb", "mg", "KG", "kg/m", "", "kgs"]),
              st.sampled_from(["", " ", "\t"])),
    quantity_objects, any_text)


@PROPERTY
@given(raw=_weights)
@example(raw="70 kg")
@example(raw="0 kg")
@example(raw="-3 kg")
@example(raw="1e309 kg")
@example(raw={"value": 70, "unit": "kg"})
@example(raw={"value": 10**400, "unit": "kg"})
def test_a_weight_in_kg_reads_as_pint_reads_it(raw):
    """mass_in_kg gives what pint gives for any weight, in kg or not: the same number, or the same
    error message."""
    mine = _via_mass_in_kg(raw)
    assert (units.settle(mine) if isinstance(mine, float) else mine) == _via_pint(raw)
