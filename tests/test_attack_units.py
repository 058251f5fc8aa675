"""Attacks on the unit grammar: every symbol is read exactly as written, or refused.

A unit pint would read differently from the clinical spelling (``ML`` is a megalitre, ``Mg`` a
megagram), a dimensionless factor (percent, ppm, turn, radian) that scales a dose unseen, a
prefix with no clinical meaning for the dimension, or trailing text must never become a number.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli.errors import UnitError
from mesocli.units import ALL_UNIT_WORDS, UNIT_WORDS, parse_quantity

PROPERTY = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# The clinical spelling of each kind, and the symbols a case slip turns into another unit.
GOOD = {
    "concentration": "mg/mL",
    "volume": "mL",
    "mass": "kg",
    "area": "cm**2",
    "mass-per-area": "mg/cm**2",
    "mass-per-body-mass": "mg/kg",
    "length": "mm",
    "time": "day",
}
FACTORS = ["percent", "ppm", "ppb", "turn", "radian", "rad", "degree", "dimensionless", "dozen", "gross",
           "pi", "count", "bit", "cycle", "revolution", "steradian", "sr", "permille", "ppt", "mol", "kat"]


def _refused(raw, kind: str) -> UnitError:
    with pytest.raises(UnitError) as info:
        parse_quantity(raw, kind=kind, what="value")
    assert str(info.value).startswith("value: ")
    return info.value


@pytest.mark.parametrize("raw", ["20 mg/ML", "20 mg/Ml", "20 Mg/mL", "20 MG/ML", "20 mG/mL", "20 MG/mL",
                                 "20 mg/mL ", "20 mg/ul", "20 mg/UL", "20 mg/Dl", "20 Ug/mL", "20 MCG/mL"])
def test_case_slips_are_refused_not_reinterpreted(raw):
    """A unit symbol in the wrong case is refused, never read as another prefix (mL is not ML)."""
    if raw.strip() == "20 mg/mL":
        assert parse_quantity(raw, kind="concentration", what="value").in_unit("mg/mL") == 20
        return
    error = _refused(raw, "concentration")
    assert "case-sensitive" in str(error) or "unknown unit" in str(error)


@pytest.mark.parametrize(("raw", "kind"), [("10 KG", "mass"), ("10 Kg", "mass"), ("2 ML", "volume"),
                                           ("2 Ml", "volume"), ("4 MM", "length"), ("4 Mm", "length"),
                                           ("25 CM**2", "area"), ("25 Cm^2", "area"), ("14 DAY", "time"),
                                           ("4.5 mg/KG", "mass-per-body-mass"), ("1000 iu/mL", "concentration"),
                                           ("150 usp/mL", "concentration")])
def test_case_slips_in_every_kind_are_refused(raw, kind):
    """Every kind refuses a symbol in the wrong case, naming the spelling it expected."""
    assert "case-sensitive" in str(_refused(raw, kind))


@pytest.mark.parametrize("factor", FACTORS)
@pytest.mark.parametrize("kind", sorted(GOOD))
@pytest.mark.parametrize("join", ["*", " ", "/"])
def test_dimensionless_factors_are_refused_in_every_kind(kind, factor, join):
    """percent, ppm, turns, radians and the like never multiply or divide a quantity of any kind."""
    _refused(f"20 {GOOD[kind]}{join}{factor}", kind)
    _refused(f"20 {factor}{join}{GOOD[kind]}" if join != "/" else f"20 {factor}*{GOOD[kind]}", kind)


@pytest.mark.parametrize("raw", ["20 mg/mL please", "20 mg/mL x", "20 mg/mL of lidocaine", "20 mg/mL mL",
                                 "20 mg/mL ok", "20 mg/mL e", "20 mg/mL inch"])
def test_trailing_text_is_refused(raw):
    """Words after the unit are refused, never read as a further unit."""
    _refused(raw, "concentration")


@pytest.mark.parametrize(("raw", "kind"), [
    ("20 kg/mL", "concentration"), ("20 Mg/L", "concentration"), ("20 mg/kL", "concentration"),
    ("20 mg/ML", "concentration"), ("20 ng/mL", "concentration"), ("20 mg/nL", "concentration"),
    ("2 kL", "volume"), ("2 ML", "volume"), ("2 nL", "volume"), ("2 GL", "volume"),
    ("70 Mg", "mass"), ("70 Gg", "mass"), ("70 t", "mass"), ("70 tonne", "mass"), ("70 ng", "mass"),
    ("25 km**2", "area"), ("25 nm**2", "area"), ("25 hectare", "area"), ("25 acre", "area"),
    ("4 km", "length"), ("4 nm", "length"), ("4 inch", "length"),
    ("14 ms", "time"), ("14 ks", "time"), ("14 Ms", "time"), ("14 fortnight", "time"),
    ("4.5 mg/Mg", "mass-per-body-mass"), ("4.5 kg/kg", "mass-per-body-mass"), ("4.5 mg/mg", "mass-per-body-mass"),
    ("2 kg/cm**2", "mass-per-area"), ("2 mg/km**2", "mass-per-area"),
])
def test_prefixes_without_clinical_sense_for_the_dimension_are_refused(raw, kind):
    """A prefix no clinic would write for that dimension (kilolitres, megagrams, kg per mL) is refused."""
    _refused(raw, kind)


@pytest.mark.parametrize(("raw", "kind", "unit", "value"), [
    ("20 mg/mL", "concentration", "mg/mL", 20), ("20 mg/ml", "concentration", "mg/mL", 20),
    ("2 g/L", "concentration", "mg/mL", 2), ("500 ug/mL", "concentration", "mg/mL", 0.5),
    ("500 mcg/mL", "concentration", "mg/mL", 0.5), ("500 µg/mL", "concentration", "mg/mL", 0.5),
    ("1.5 g/(100 mL)", "concentration", "mg/mL", 15), ("2 % w/v", "concentration", "mg/mL", 20),
    ("70 kg", "mass", "kg", 70), ("70000 g", "mass", "kg", 70), ("300 mg", "mass", "mg", 300),
    ("2 mL", "volume", "mL", 2), ("0.002 L", "volume", "mL", 2), ("2 cm**3", "volume", "mL", 2),
    ("25 cm^2", "area", "cm**2", 25), ("25 cm²", "area", "cm**2", 25), ("100 mm**2", "area", "cm**2", 1),
    ("4 mm", "length", "mm", 4), ("14 day", "time", "day", 14), ("2 week", "time", "day", 14),
    ("4.5 mg/kg", "mass-per-body-mass", "mg/kg", 4.5), ("2 mg/cm**2", "mass-per-area", "mg/cm**2", 2),
])
def test_clinical_spellings_still_parse_to_the_right_magnitude(raw, kind, unit, value):
    """The spellings clinics write keep their exact meaning."""
    assert parse_quantity(raw, kind=kind, what="value").in_unit(unit) == pytest.approx(value)


# ---------------------------------------------------------------------------------------- properties
words = st.text(alphabet=st.characters(categories=("Lu", "Ll"), max_codepoint=0x3FF), min_size=1, max_size=8)


@PROPERTY
@given(kind=st.sampled_from(sorted(GOOD)), word=words, join=st.sampled_from(["*", " ", "/", ""]))
def test_any_word_outside_the_kinds_symbols_is_refused(kind, word, join):
    """A quantity whose unit text holds any word that is not one of the kind's symbols is refused."""
    raw = f"20 {GOOD[kind]}{join}{word}"
    tokens = [word] if join else [GOOD[kind] + word]
    if all(token in UNIT_WORDS[kind] for token in tokens):
        return
    _refused(raw, kind)


@PROPERTY
@given(kind=st.sampled_from(sorted(GOOD)), word=st.sampled_from(sorted(ALL_UNIT_WORDS)))
def test_any_case_change_of_a_symbol_is_refused_or_is_the_same_symbol(kind, word):
    """Changing the case of any accepted symbol either gives another accepted spelling of the same
    unit or is refused: never a different scale."""
    for variant in {word.upper(), word.lower(), word.swapcase(), word.capitalize()} - {word}:
        raw = f"3 {variant}"
        try:
            quantity = parse_quantity(raw, kind=kind, what="value")
        except UnitError:
            continue
        original = parse_quantity(f"3 {word}", kind=kind, what="value")
        assert quantity.in_unit(original.unit) == pytest.approx(original.value), (word, variant)


@PROPERTY
@given(kind=st.sampled_from(sorted(GOOD)), factor=st.sampled_from(FACTORS),
       power=st.sampled_from(["", "**2", "^-1", "**-1"]))
def test_dimensionless_factors_with_powers_are_refused(kind, factor, power):
    """Raised to any power, a dimensionless factor is still refused."""
    _refused(f"20 {GOOD[kind]}*{factor}{power}", kind)


# ---------------------------------------------------------------------------------------- the CLI
@pytest.mark.parametrize("concentration", ["20 mg/ML", "20 Mg/mL", "20 mg/mL*percent", "20 mg/mL ppm",
                                           "20 mg/mL turn"])
def test_a_check_with_a_misread_concentration_is_refused(meso, concentration):
    """`meso check` refuses a recipe whose concentration pint would read at another scale (exit 2)."""
    text = json.dumps({"components": [{"substances": [{"id": "lidocaine", "concentration": concentration}],
                                       "volume": "50 mL"}]})
    outcome = meso("check", "--recipe", "-", "--weight", "70 kg", "--json", input=text)
    assert outcome.exit_code == 2, outcome.stdout
    assert json.loads(outcome.stdout)["kind"] == "error"


@pytest.mark.parametrize("weight", ["10 kg turn", "70 KG", "70 Kg", "70 kg*percent", "70 kg rad", "70 Mg"])
def test_a_misread_weight_is_refused(meso, weight):
    """A weight with a factor, a case slip or a megagram prefix is refused (exit 2)."""
    outcome = meso("check", "--ingredient", "lidocaine", "--weight", weight, "--json")
    assert outcome.exit_code == 2, outcome.stdout
    assert "weight" in outcome.stderr


# ---------------------------------------------------------------------------------------- epinephrine
# Lidocaine's with-epinephrine limit (7 mg/kg, 500 mg) is that of lidocaine with epinephrine
# 1:200,000 (0.005 mg/mL) or 1:100,000 (0.010 mg/mL); the catalogue sets 1:200,000 as the
# strength below which a syringe counts as plain (limit 4.5 mg/kg, 300 mg).
def _lidocaine_dose_findings(meso, epinephrine: str, lidocaine_ml: float = 20, other_ml: float = 0) -> list:
    components = [{"substances": [{"id": "lidocaine", "concentration": "20 mg/mL"},
                                  {"id": "epinephrine", "concentration": epinephrine}],
                   "volume": f"{lidocaine_ml} mL"}]
    if other_ml:
        components.append({"substances": [{"id": "hyaluronic-acid", "concentration": "10 mg/mL"}],
                           "volume": f"{other_ml} mL"})
    text = json.dumps({"components": components})
    outcome = meso("check", "--recipe", "-", "--weight", "70 kg", "--json", input=text)
    assert outcome.exit_code in (0, 1), outcome.stderr
    return [f for f in json.loads(outcome.stdout)["findings"] if f["kind"] == "dose" and "Lidocaine" in f["message"]]


@pytest.mark.parametrize("trace", ["1e-9 mg/mL", "0.000001 mg/mL", "0.001 mg/mL", "0.0049 mg/mL", "4.9 ug/mL",
                                   "4 mcg/mL", "0.00499 g/L"])
def test_a_trace_of_epinephrine_keeps_the_plain_lidocaine_limit(meso, trace):
    """400 mg of lidocaine for 70 kg is over the plain limit (300 mg); a trace of epinephrine
    below 1:200,000 does not switch it to the with-epinephrine limit (490 mg)."""
    [finding] = _lidocaine_dose_findings(meso, trace)
    assert finding["severity"] == "contraindicated" and "300 mg" in finding["message"]


@pytest.mark.parametrize("strength", ["0.005 mg/mL", "5 ug/mL", "0.01 mg/mL", "10 mcg/mL", "0.02 mg/mL"])
def test_a_marketed_epinephrine_strength_gives_the_with_epinephrine_limit(meso, strength):
    """At 1:200,000 or stronger, 400 mg of lidocaine for 70 kg is within the with-epinephrine limit
    (490 mg), near it: a caution, never the plain limit's contraindication."""
    findings = _lidocaine_dose_findings(meso, strength)
    assert [(f["severity"], "near the limit 490 mg" in f["message"]) for f in findings] == [("caution", True)]


def test_epinephrine_diluted_below_the_threshold_in_the_syringe_counts_as_plain(meso):
    """Epinephrine 1:100,000 diluted 1 in 3 by another component of the syringe is below
    1:200,000: the plain limit applies to the lidocaine."""
    assert [f["severity"] for f in _lidocaine_dose_findings(meso, "0.01 mg/mL", lidocaine_ml=20)] == ["caution"]
    [finding] = _lidocaine_dose_findings(meso, "0.01 mg/mL", lidocaine_ml=20, other_ml=40)
    assert "300 mg" in finding["message"]


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(concentration=st.floats(min_value=0, max_value=0.05, allow_nan=False))
def test_only_epinephrine_at_or_above_the_threshold_counts(concentration):
    """below_minimum leaves epinephrine out exactly when its strength in the syringe is below
    0.005 mg/mL."""
    from mesocli.api import load_catalogue
    from mesocli.domain.dosing import below_minimum, companion_minimum
    from mesocli.domain.model import Component
    from mesocli.units import Amount

    catalogue = load_catalogue()
    assert companion_minimum(catalogue, "epinephrine") == 0.005
    parts = [([Component("lidocaine", "active", Amount(20, "mg/mL")),
               Component("epinephrine", "active", Amount(concentration, "mg/mL"))], 10.0)]
    assert ("epinephrine" in below_minimum(catalogue, parts)) == (concentration < 0.005 * (1 - 1e-9))


def test_the_threshold_is_sourced_catalogue_data():
    """The threshold is a formulation default with a label source, not a number in code."""
    from mesocli.api import load_catalogue
    from mesocli.domain.dosing import COMPANION_MINIMUM

    default = load_catalogue().default(COMPANION_MINIMUM + "epinephrine")
    assert default is not None and default.value == "0.005 mg/mL"
    assert default.provenance.evidence == "label" and default.provenance.sources
