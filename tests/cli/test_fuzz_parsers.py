"""Property tests for what tests/test_units.py and tests/cli/test_parsers.py leave open.

Those files already fuzz ``parse_quantity``, ``patient_from_mapping``, ``recipe_from_mapping``
and ``read_document`` on their own. Here the parsed values go on through the catalogue, as the
CLI sends them: a patient is resolved (names and weight), a recipe becomes checked items (names,
volumes, concentrations, protocol). Whatever comes in, the answer is a valid value or one of
meso's own input errors (exit 2, a one-line message), never another exception.
"""

from __future__ import annotations

import math
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.cli.io import read_document
from mesocli.domain.engine import items_from_recipe, resolve_patient
from mesocli.domain.patient import merge, patient_from_mapping
from mesocli.domain.recipe import recipe_from_mapping
from mesocli.errors import EXIT_INPUT, InputError, MesoError, UnitError
from mesocli.units import KINDS, parse_quantity

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40))
json_like = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=10,
)

# Unicode that looks like, or hides inside, the names meso knows.
_LOOK_ALIKES = ["\u0456", "\u0430", "\u043e", "\u200b", "\u202e", "\u00a0", "\ufeff", "\x1b", "\x00", "\n",
                "\u2010", "\u2212", "\uff4c", "\ufb01", "%", "_", "'", '"', ";", "--", "\\"]


def _assert_input_error(exc: BaseException) -> None:
    """meso's own error for bad input: exit 2, and a message that fits on one line."""
    assert isinstance(exc, MesoError), repr(exc)
    event(f"refused: {type(exc).__name__}")
    assert isinstance(exc, InputError) and exc.exit_code == EXIT_INPUT, repr(exc)
    assert exc.message and "\n" not in exc.message and "\r" not in exc.message, repr(exc.message)


@st.composite
def names(draw, known: list[str]) -> str:
    """A known name, as is or disguised, or any text at all."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.sampled_from(known))
    if choice == 1:
        name = draw(st.sampled_from(known))
        at = draw(st.integers(0, len(name)))
        return name[:at] + draw(st.sampled_from(_LOOK_ALIKES)) + name[at:]
    if choice == 2:
        return draw(st.sampled_from(known)).upper()
    return draw(st.text(max_size=30))


def _known(catalogue) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {
        "allergies": sorted([*catalogue.substances, *catalogue.groups]),
        "conditions": sorted(catalogue.conditions),
        "medications": sorted([*catalogue.medications, *catalogue.medication_classes]),
        "products": sorted(catalogue.products),
        "substances": sorted(catalogue.substances),
    }


_weights = st.one_of(
    st.sampled_from(["70 kg", "154 lb", "70000 g", "0.4 kg", "600 kg", "70 KG", "70 mL", "\u09ea kg", "1e309 kg",
                     "nan kg", "-70 kg", "70", "70 kg/100 mL"]),
    st.fixed_dictionaries({"value": st.one_of(st.floats(), st.integers(), st.text(max_size=4)),
                           "unit": st.sampled_from(["kg", "g", "lb", "mL", ""])}),
    json_like,
)


# --------------------------------------------------------------------------------------------- patient


@PROPERTY
@given(data=st.data())
def test_any_patient_resolves_against_the_catalogue_or_is_an_input_error(catalogue, data):
    """A fuzzed patient document resolves to catalogue ids and a plausible weight, or raises an input error."""
    known = _known(catalogue)
    document = data.draw(st.one_of(
        st.fixed_dictionaries({}, optional={
            "allergies": st.lists(names(known["allergies"]), max_size=4),
            "conditions": st.lists(names(known["conditions"]), max_size=3),
            "medications": st.lists(names(known["medications"]), max_size=3),
            "age": st.one_of(st.integers(-5, 140), st.floats(), json_like),
            "weight": _weights,
        }),
        json_like,
    ), label="patient")
    try:
        resolved = resolve_patient(catalogue, patient_from_mapping(document))
    except Exception as exc:
        _assert_input_error(exc)
        return
    event("accepted")
    for kind, entry in resolved.allergies:
        assert entry in (catalogue.groups if kind == "group" else catalogue.substances), (kind, entry)
    assert set(resolved.conditions) <= set(catalogue.conditions)
    assert set(resolved.medications) <= set(catalogue.medications)
    assert set(resolved.medication_classes) <= set(catalogue.medication_classes)
    assert resolved.age is None or (type(resolved.age) is int and 0 <= resolved.age <= 130)
    assert resolved.weight_kg is None or (math.isfinite(resolved.weight_kg) and 0.5 <= resolved.weight_kg <= 500)


@PROPERTY
@given(data=st.data())
def test_command_line_options_on_top_of_a_patient_file_resolve_or_are_input_errors(catalogue, data):
    """Options merged over a patient file (as 'meso check --patient F --allergy A --weight W' does)."""
    known = _known(catalogue)
    base = data.draw(st.one_of(st.just({}), st.fixed_dictionaries({"allergies": st.lists(
        names(known["allergies"]), max_size=2)})), label="file")
    allergy = data.draw(st.lists(names(known["allergies"]), max_size=2), label="--allergy")
    age = data.draw(st.one_of(st.none(), st.integers(-10**30, 10**30)), label="--age")
    weight = data.draw(st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["70 kg", "nan kg"])),
                       label="--weight")
    try:
        patient = merge(patient_from_mapping(base), allergies=allergy, age=age, weight=weight)
        resolved = resolve_patient(catalogue, patient)
    except Exception as exc:
        _assert_input_error(exc)
        return
    event("accepted")
    assert len(resolved.allergies) <= len(patient.allergies)
    assert resolved.age == patient.age


# --------------------------------------------------------------------------------------------- recipe

_GOOD_VOLUMES = st.sampled_from(["2 mL", "0.5 mL", "1 mL", "0.2 mL", {"value": 1, "unit": "mL"}])
_volumes = st.one_of(
    _GOOD_VOLUMES, _GOOD_VOLUMES, _GOOD_VOLUMES,
    st.sampled_from(["2 kg", "-1 mL", "0 mL", "nan mL", "1e309 mL", "1e300 mL", "1.5 g/100 mL", "2 zorkmids",
                     "\u09ea mL", "2", "", "5 L", "1e-300 mL"]),
    st.fixed_dictionaries({"value": st.one_of(st.floats(), st.integers(), st.booleans()),
                           "unit": st.sampled_from(["mL", "L", "uL", "kg", "", "mL**2"])}),
    json_like,
)
_GOOD_CONCENTRATIONS = st.sampled_from(["20 mg/mL", "2 % w/v", "1.5 g/(100 mL)", "5 mg/mL", "1000 IU/mL",
                                        {"value": 10, "unit": "mg/mL"}])
_concentrations = st.one_of(
    _GOOD_CONCENTRATIONS, _GOOD_CONCENTRATIONS, _GOOD_CONCENTRATIONS,
    st.sampled_from(["1 %", "1.5 g/100 mL", "150 USP/mL", "0 mg/mL", "inf mg/mL", "20 mg", "1e309 mg/mL"]),
    st.fixed_dictionaries({"value": st.one_of(st.floats(), st.integers()),
                           "unit": st.sampled_from(["mg/mL", "g/L", "IU/mL", "%", "mg"])}),
    json_like,
)


@st.composite
def recipes(draw, catalogue):  # type: ignore[no-untyped-def]
    """Recipe documents in the contract's shape with fuzzed names, amounts and protocol.

    Documents of any other shape are fuzzed in test_parsers.py; here they would only hide the
    later steps behind the first refusal.
    """
    known = _known(catalogue)
    some_product = st.sampled_from(known["products"])
    product = st.fixed_dictionaries({"id": st.one_of(some_product, some_product, names(known["products"]),
                                                     json_like)},
                                    optional={"volume": _volumes})
    mix = st.fixed_dictionaries({"substances": st.lists(st.fixed_dictionaries(
        {"id": st.one_of(st.sampled_from(known["substances"]), names(known["substances"]))},
        optional={"concentration": _concentrations}), min_size=1, max_size=3)},
        optional={"volume": _volumes})
    components = st.lists(st.one_of(product, mix), min_size=1, max_size=3)
    protocol = st.fixed_dictionaries({}, optional={
        "points": st.one_of(st.integers(-2, 10**25), json_like),
        "sessions": st.one_of(st.integers(-2, 10**25), st.fixed_dictionaries({"max": st.integers(-2, 50)}),
                              json_like),
        "interval": st.one_of(st.sampled_from(["14 day", "2 week", "14 kg", "-1 day", "1e300 day"]), json_like),
        "volume_per_point": st.one_of(st.sampled_from(["0.05 mL", "0 mL", "5 g"]), _volumes),
    })
    document = draw(st.fixed_dictionaries(
        {"syringes": st.lists(st.fixed_dictionaries({"components": components}), min_size=1, max_size=2)},
        optional={"protocol": protocol,
                  "treatment_area": st.one_of(st.sampled_from(["25 cm^2", "25 mL", "1e309 cm^2", "-4 cm**2"]),
                                              json_like)}))
    return document


@PROPERTY
@given(data=st.data())
def test_any_recipe_becomes_items_or_is_an_input_error(catalogue, data):
    """A fuzzed recipe document becomes catalogue items with positive finite volumes, or an input error."""
    document = data.draw(recipes(catalogue), label="recipe")
    try:
        items = items_from_recipe(catalogue, recipe_from_mapping(document))
    except Exception as exc:
        _assert_input_error(exc)
        return
    event("accepted")
    assert items
    for item in items:
        assert item.subject in catalogue.products or item.subject in catalogue.substances
        assert all(component.substance in catalogue.substances for component in item.components)
        if item.volume is not None:
            millilitres = item.volume.in_unit("mL")
            assert math.isfinite(millilitres) and millilitres > 0
        for component in item.components:
            if component.concentration is not None:
                assert math.isfinite(component.concentration.value) and component.concentration.value > 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_checking_any_recipe_gives_a_result_or_an_input_error(catalogue, data):
    """The whole check of a fuzzed recipe (protocol and treatment area included) never fails otherwise."""
    document = data.draw(recipes(catalogue), label="recipe")
    try:
        result = api.check(recipe=document, catalogue=catalogue)
    except Exception as exc:
        _assert_input_error(exc)
        return
    event("accepted")
    assert result.status in ("ok", "caution", "contraindicated")
    assert result.subjects and all(s in catalogue.products or s in catalogue.substances for s in result.subjects)
    assert (result.status == "contraindicated") == bool(result.at_or_above("contraindicated"))


# --------------------------------------------------------------------------------------------- units


_FOREIGN_DIGITS = [ch for ch in map(chr, range(0x660, 0x1D800)) if unicodedata.category(ch) == "Nd"
                   and not "0" <= ch <= "9"]


@PROPERTY
@given(digit=st.sampled_from(_FOREIGN_DIGITS), kind=st.sampled_from(sorted(KINDS)),
       unit=st.sampled_from(["mL", "kg", "mg/mL", "cm**2", "day"]))
def test_digits_of_other_scripts_are_never_read_as_numbers(digit, kind, unit):
    """'৪ mL' (Bengali four, which looks like 8) is refused, whatever the kind: only ASCII digits count."""
    for text in (f"{digit} {unit}", f"1{digit} {unit}", f"{digit}.5 {unit}"):
        try:
            parse_quantity(text, kind=kind, what="x")
        except UnitError as exc:
            _assert_input_error(exc)
        else:
            raise AssertionError(f"{text!r} was read as a number")


@PROPERTY
@given(mantissa=st.integers(1, 9), exponent=st.integers(309, 10**6), kind=st.sampled_from(sorted(KINDS)))
def test_numbers_beyond_float_range_are_refused_naming_the_number(mantissa, exponent, kind):
    """'1e309 mL' and the like are refused as out of range, naming the number as written."""
    text = f"{mantissa}e{exponent}"
    try:
        parse_quantity(f"{text} mL", kind=kind, what="x")
    except UnitError as exc:
        _assert_input_error(exc)
        assert text in exc.message
    else:
        raise AssertionError(f"{text} was accepted")


# --------------------------------------------------------------------------------------------- documents


@PROPERTY
@given(text=st.one_of(st.text(max_size=200), st.builds(lambda a, b: a + b, st.sampled_from(
    ['{"allergies": ["a"], "allergies": ', 'allergies = [', '{"age": NaN', "[[[[", 'x = 1\nx = 2']),
    st.text(max_size=20))), suffix=st.sampled_from([".json", ".toml", ".txt", ""]))
def test_any_file_text_gives_a_document_or_an_input_error(text, suffix):
    """Any text in a file of any extension reads as a document or raises an input error naming the file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_text(text, encoding="utf-8", newline="")
        try:
            read_document(str(path), "--patient")
        except Exception as exc:
            _assert_input_error(exc)
            assert exc.message.startswith(f"--patient: {path}")  # type: ignore[attr-defined]
