"""meso's own reader of unit text agrees with pint, and refuses what it refused before.

Unit text is read by a small evaluator over a table of unit facts that pint works out once
(``mesocli.units``). The reference here is the way meso read quantities before: the same checks
of the text, then pint's expression parser and pint's dimension check. For random texts built
from the accepted words and grammar (and texts pint reads in its own odd ways), the evaluator
gives the same canonical number, the same unit text and the same refusal, message for message.
The pint reference lives only in this test.
"""

from __future__ import annotations

import math
import pickle
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mesocli import units
from mesocli.errors import UnitError
from mesocli.units import ALL_UNIT_WORDS, KINDS, Amount, parse_quantity, settle

PROPERTY = settings(max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
KIND_LIST = sorted(KINDS)


def _pint_reference(raw: object, kind: str) -> tuple[str, object]:
    """How meso read ``raw`` as a quantity of ``kind`` with pint's expression parser:
    ``("ok", (value, unit text, canonical number))`` or ``("error", message)``."""
    ureg = units.registry()
    what = "x"
    try:
        example = units.EXAMPLES.get(kind, "2 mL")
        value, text = units._split(raw, what, example)
        units._check_value(value, what, False)
        if not text:
            raise UnitError(f"{what}: {units.format_number(value)} has no unit; write it with one, e.g. '{example}'")
        if not units._UNIT_CHARS_RE.match(text):
            raise UnitError(f"{what}: unit {units._printable(text[:30])!r} contains characters meso does not accept")
        percent = units._is_percent(text)
        if percent:
            quantity = ureg.Quantity(value * 10.0, "mg/mL") if (percent.group(1) or "").lower() == "w/v" else None
            if quantity is None:
                return "error", "percent"  # the percent refusals are the new code's own, unchanged
        else:
            if units._AMBIGUOUS_RE.search(text):
                return "error", "ambiguous"
            units._check_grammar(text, what)
            units._check_words(text, None, what)
            try:
                unit = ureg.parse_expression(text.replace("^", "**"))
            except Exception:
                raise UnitError(f"{what}: unknown unit {units._printable(text[:30])!r}") from None
            if not math.isfinite(float(unit.magnitude)) or unit.magnitude <= 0:
                raise UnitError(f"{what}: unit {text[:30]!r} has no usable scale")
            quantity = value * unit
            if not math.isfinite(float(quantity.magnitude)):
                raise UnitError(f"{what}: value out of range")
        dims = str(quantity.dimensionality) if quantity.dimensionality else ""
        wanted = [KINDS[k] for k in (units.CONCENTRATION_KINDS if kind == "concentration" else (kind,))]
        if kind == "mass-per-body-mass" and dims == "":
            names = quantity.units._units
            if not all(str(ureg.get_dimensionality(n)) == "[mass]" for n in names) or len(names) != 2:
                dims = "not a mass per mass"
        shown = format(quantity.units, "~C") or "dimensionless"
        if dims not in wanted:
            return "error", f"kind: '{shown}'"
        if not percent:
            units._check_words(text, kind, what)
        target = units.CANONICAL[dims]
        number = settle(float(quantity.to(target).magnitude))
        bound = units.PLAUSIBLE_MAXIMUM.get(kind)
        if bound is not None and number > bound[0]:
            return "error", "implausible"
        return "ok", (float(quantity.magnitude), shown, number)
    except UnitError as error:
        return "error", str(error)


def _meso(raw: object, kind: str) -> tuple[str, object]:
    try:
        amount = parse_quantity(raw, kind=kind, what="x")
    except UnitError as error:
        message = str(error)
        kind_error = re.match(r"x: ('.*') is not ", message)
        if kind_error:
            return "error", "kind: " + kind_error.group(1)
        if "ambiguous (pint reads" in message:
            return "error", "ambiguous"
        if "more than" in message:
            return "error", "implausible"
        if "%" in message and "w/v" in message:
            return "error", "percent"
        return "error", message
    return "ok", (amount.value, amount.unit, amount.canonical)


def _same(raw: object, kind: str) -> None:
    expected, got = _pint_reference(raw, kind), _meso(raw, kind)
    if expected[0] == "ok" and got[0] == "ok":
        value, text, number = got[1]  # type: ignore[misc]
        assert (value, text) == expected[1][:2], (raw, kind)  # type: ignore[index]
        assert number == expected[1][2], (raw, kind)  # type: ignore[index]
    else:
        assert got == expected, (raw, kind)


# Texts built from the accepted words and grammar.
WORDS = sorted(ALL_UNIT_WORDS)
word = st.sampled_from(WORDS)
exponent = st.sampled_from(["", "", "", "**2", "^2", "**3", "^3", "²", "³", " ** 2", "^ 3", "**0", "**1", "²³"])
term = st.builds(lambda w, e: w + e, word, exponent)
divisor = st.sampled_from(["100 mL", "2.5 mL", "1 L", "10 dL", "100 mL*kg", "1000 uL"])


@st.composite
def unit_texts(draw) -> str:
    text = draw(term)
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["/", "*", " / ", " * ", " ", "/", "."]))
        operand = draw(st.one_of(term, term.map(lambda t: f"({t})"), divisor.map(lambda d: f"({d})")))
        if op.strip() == "" and operand.startswith("(") and operand[1].isdigit():
            op = "/"
        text = text + op + operand
    if draw(st.booleans()):
        text = f"({text})" + draw(st.sampled_from(["", "**2", "²", "/mL"]))
    return text


values = st.sampled_from([1, 2, 0.5, 20, 1.5, 0.015, 3.25, 150, 70, 1000, 1e-3, 12.5])


@PROPERTY
@given(value=values, text=unit_texts(), kind=st.sampled_from(KIND_LIST))
@example(value=1.5, text="g/(100 mL)", kind="concentration")
@example(value=2, text="% w/v", kind="concentration")
@example(value=25, text="cm^2", kind="area")
@example(value=154, text="lb", kind="mass")
@example(value=1, text="mm*cm", kind="area")
@example(value=14, text="days", kind="time")
@example(value=4.5, text="mg/kg*kg/kg", kind="mass-per-body-mass")
def test_the_reader_agrees_with_pint_on_the_grammar(value, text, kind):
    """For texts of accepted words and grammar, the same value, unit text and canonical number
    as pint's expression parser gives, or the same refusal."""
    _same(f"{value} {text}", kind)
    _same({"value": value, "unit": text}, kind)


ODD = ["mg.mL", "mg. mL", ".mg/mL", "mg/mL.", "mg mL", "mg  /  mL", "mg\t/mL", "mg/\tmL", "(mg)/mL", "mg/(mL)",
       "mg/((100 mL))", "mg/(100 mL*kg)", "mg/(100 mL)**2", "mg/(1.5 mL)", "mg/( 100 mL)", "mg/(100  mL)",
       "mg/(100\tmL)", "cm²³", "cm**2²", "cm²²", "(cm)²", "cm ²", "cm^ 2", "cm** 2", "cm **2", "mg//mL", "mg*/mL",
       "mg**mL", "mg/*mL", "mg(mL)", "(mg)(mL)", "mg (mL)", "mg/mL (kg)", "cm*cm", "mg/kg*kg/kg",
       "mg/mL/mL*mL", "mg/mL**1", "cm**0*cm**2", "cm³/cm", "mL/(100 mL)", "²", "mg²/mL", "((mg))/mL",
       "mg/(100 mL) kg/kg", "mg /(100 mL)", "mg/(100. mL)", "mg/(100.5 mL)", "mg/(0 mL)", "mg/(00 mL)",
       "µg/mL", "μg/mL", "mcg*ug/mL/ug", "cm ^2", "cm**2.mL", "cm**2.", "cm**1.*cm", "cm².", "cm^2.cm^0.",
       "mg/mL**1.", "cm².³", "cm**2mL", "mg(/mL)", "mg/(mL/)", "mg/mL)(", ")mg(", "mg...mL", "mg/(100 mL)(100 mL)",
       "cm²cm", "(cm)(cm)", "cm(cm)", "mg/(9 mL)**9", "mg/(99999999999 mL)**9", "g/mL\n", "mg/\nmL",
       "mg/(100\nmL)", "mg\u00a0/mL", "mg/mL²", "USP/mL", "IU/mL", "IU", "mg/cm²", "l", "week", "months", "µL",
       "uL/mL*mg/uL", "kg*g/mg", "mg**2/kg**2", "lb/kg*mg/kg", "h", "min*d/h", "m**2", "um*m", "a", "a/d",
       "mg/a", "dimensionless", "mg/mg"]


@pytest.mark.parametrize("text", ODD)
@pytest.mark.parametrize("kind", ["concentration", "area", "mass-per-body-mass", "time", "volume", "mass"])
def test_the_reader_agrees_with_pint_on_odd_texts(text, kind):
    """Texts pint reads in its own ways (a '.' is passed over, a space multiplies, '²³' is the
    exponent 23, '/(0 mL)' divides by zero) are read, or refused, as before."""
    _same({"value": 2, "unit": text}, kind)
    if "\n" not in text:
        _same(f"2 {text}", kind)


@PROPERTY
@given(text=st.text(alphabet="mgLlkcuµ²³/*^(). 0123456789d", max_size=14), kind=st.sampled_from(KIND_LIST))
def test_the_reader_agrees_with_pint_on_any_text_of_its_characters(text, kind):
    """Any text of the characters unit text is made of is read, or refused, as before."""
    _same({"value": 3, "unit": text}, kind)


@pytest.mark.parametrize("text", ["mg/mL", "d", "cm**2", "µg", "mg/cm**2", "mg/kg", "USP/mL", "IU/mL", "mm", "mL",
                                  "a", "week", "lb", "g/L", "mcg/mL", "cm*mm", "1/d"])
def test_an_amount_knows_its_canonical_number_from_the_start(text):
    """An amount holds its canonical number and unit from the moment it is made, as pint
    converts it, and keeps them through a pickle (the catalogue snapshot)."""
    ureg = units.registry()
    quantity = ureg.Quantity(2.5, text)
    target = units.CANONICAL.get(str(quantity.dimensionality) if quantity.dimensionality else "")
    if target is None:
        with pytest.raises(UnitError, match="not a quantity meso computes with"):
            Amount(2.5, text)
        return
    amount = Amount(2.5, text)
    assert amount.canonical_unit == target
    assert amount.canonical == settle(float(quantity.to(target).magnitude))
    again = pickle.loads(pickle.dumps(amount))
    assert (again, again.canonical, again.canonical_unit) == (amount, amount.canonical, amount.canonical_unit)


@pytest.mark.parametrize("text", ["mg/mL", "d", "cm**2", "µg", "mg/cm**2", "mg/kg", "USP/mL", "mL", "a", "week",
                                  "cm*mm", "g/mL", "mcg/mL", "kg*mg/mL", "mg/d/kg", "1/mL", "mg**2/mL", "day",
                                  "min*d/h"])
def test_units_are_written_as_pint_writes_them(text):
    """Unit text for output ("~C" for JSON, "~P" for people, names for durations) is the text
    pint's formatter writes."""
    ureg = units.registry()
    unit = ureg.parse_expression(text).units
    _, read = units._read(text)
    assert units._format_units(read, "C") == format(unit, "~C")
    assert units._format_units(read, "~P") == format(unit, "~P")
    assert units._format_units(read, "P") == format(unit, "P")


def test_the_unit_table_is_a_closed_list():
    """The table pint fills holds the accepted words and their symbols, and nothing is added to
    it by reading: reading unit text remembers nothing."""
    table = units._words()
    size, texts = len(table), len(units._TEXTS)
    for text in ["mg/mL", "g/(100 mL)", "mg/dL", "mg/mL*mL/mL", "mcg*ug/mL/ug"]:
        units._read(text)
        parse_quantity({"value": 1, "unit": text}, kind="concentration", what="x")
    assert (len(table), len(units._TEXTS)) == (size, texts)
    assert set(ALL_UNIT_WORDS) <= set(table)
