"""Tests for the input parsers: patient and recipe documents, and reading files or stdin.

Each parser either returns its typed result or raises :class:`InputError` with one clear,
one-line message that names the offending input; nothing else may escape.
"""

from __future__ import annotations

import io
import json
import os
import sys
import types

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mesocli.cli import io as cli_io
from mesocli.cli.io import read_document, read_text
from mesocli.domain.patient import MAX_TERMS, Patient, merge, patient_from_mapping
from mesocli.domain.recipe import (
    MAX_COMPONENTS,
    MAX_SYRINGES,
    ComponentInput,
    RecipeInput,
    SubstanceInput,
    SyringeInput,
    recipe_from_mapping,
)
from mesocli.errors import EXIT_INPUT, InputError

PROPERTY = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
json_like = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=16,
)


def _input_error(function, *args, **kwargs) -> InputError:
    """Call ``function`` expecting an InputError with a one-line message; return it."""
    with pytest.raises(InputError) as info:
        function(*args, **kwargs)
    assert info.value.exit_code == EXIT_INPUT
    assert "\n" not in str(info.value)
    return info.value


# ============================================================================================
# patient_from_mapping
# ============================================================================================


def test_patient_accepts_every_documented_field():
    """allergies, conditions, medications, age and weight are read into a Patient."""
    patient = patient_from_mapping({
        "allergies": ["lidocaine", "sulfites"],
        "conditions": ["pregnancy"],
        "medications": ["warfarin"],
        "age": 40,
        "weight": "70 kg",
    })
    assert patient == Patient(allergies=("lidocaine", "sulfites"), conditions=("pregnancy",),
                              medications=("warfarin",), age=40, weight="70 kg")
    assert isinstance(patient.allergies, tuple)
    assert not patient.is_empty


def test_patient_weight_may_be_a_quantity_object():
    """A {"value", "unit"} weight is kept as given, to be parsed with the units module later."""
    patient = patient_from_mapping({"weight": {"value": 70, "unit": "kg"}})
    assert patient.weight == {"value": 70, "unit": "kg"}


def test_empty_patient_mapping_is_an_empty_patient():
    """An empty object is a patient with nothing to check."""
    patient = patient_from_mapping({})
    assert patient == Patient()
    assert patient.is_empty
    assert patient.age is None and patient.weight is None


def test_patient_null_lists_mean_none():
    """A null list field means no entries."""
    patient = patient_from_mapping({"allergies": None, "conditions": None, "medications": None})
    assert patient == Patient()


@pytest.mark.parametrize(("age", "expected"), [(0, 0), (130, 130), (40.0, 40)])
def test_patient_age_bounds_and_integral_floats(age, expected):
    """Ages 0 and 130 are accepted; an integral float such as 40.0 becomes the int 40."""
    patient = patient_from_mapping({"age": age})
    assert patient.age == expected
    assert type(patient.age) is int


def test_patient_accepts_exactly_the_maximum_number_of_entries():
    """A list of exactly 100 entries is accepted."""
    patient = patient_from_mapping({"allergies": [f"a{i}" for i in range(MAX_TERMS)]})
    assert len(patient.allergies) == MAX_TERMS == 100


def test_patient_unknown_fields_are_named():
    """Unknown fields are refused and the message names each of them and the accepted ones."""
    error = _input_error(patient_from_mapping, {"allergies": [], "alergies": ["x"], "height": 170})
    message = str(error)
    assert message.startswith("patient: ")
    assert "'alergies'" in message and "'height'" in message
    assert "allergies, conditions, medications, age, weight" in message


def test_patient_message_uses_the_what_label():
    """The 'what' label (e.g. the file given) starts the message."""
    error = _input_error(patient_from_mapping, {"bogus": 1}, what="--patient p.json")
    assert str(error).startswith("--patient p.json: ")


@pytest.mark.parametrize(("data", "fragments"), [
    ({"allergies": "lidocaine"}, ["allergies", "list of names"]),
    ({"conditions": {"pregnancy": True}}, ["conditions", "list of names"]),
    ({"medications": 5}, ["medications", "list of names"]),
    ({"allergies": ["lidocaine", 5]}, ["allergies", "every entry must be a name"]),
    ({"medications": [None]}, ["medications", "every entry must be a name"]),
    ({"conditions": [["nested"]]}, ["conditions", "every entry must be a name"]),
    ({"age": "40"}, ["age", "whole number of years"]),
    ({"age": -1}, ["age", "-1", "0 to 130"]),
    ({"age": 131}, ["age", "131", "0 to 130"]),
    ({"age": 40.5}, ["age", "40.5", "whole number"]),
    ({"age": True}, ["age", "whole number of years"]),
    ({"age": float("nan")}, ["age", "whole number of years"]),
    ({"age": float("inf")}, ["age", "whole number of years"]),
    ({"age": [40]}, ["age", "whole number of years"]),
    ({"weight": 70}, ["weight", "70 kg"]),
    ({"weight": ["70 kg"]}, ["weight", "70 kg"]),
    ({"allergies": ["a"] * (MAX_TERMS + 1)}, ["allergies", "more than 100 entries"]),
    ({"medications": ["m"] * (MAX_TERMS + 1)}, ["medications", "more than 100 entries"]),
], ids=lambda v: repr(v)[:40] if isinstance(v, dict) else "")
def test_patient_wrong_types_are_refused(data, fragments):
    """Wrong types, out-of-range ages and too many entries raise InputError naming the field and why."""
    error = _input_error(patient_from_mapping, data)
    for fragment in fragments:
        assert fragment in str(error), (fragment, str(error))


@pytest.mark.parametrize("data", [[], "allergies", None, 5, ["allergies"]], ids=repr)
def test_patient_must_be_an_object(data):
    """A patient document that is not an object is refused, listing the expected fields."""
    error = _input_error(patient_from_mapping, data)
    assert "expected an object" in str(error)


def test_patient_huge_integer_age_is_an_input_error():
    """A huge integer age (valid JSON) is an InputError, not an OverflowError."""
    error = _input_error(patient_from_mapping, {"age": 10**400})
    assert "age" in str(error)


def test_merge_adds_lists_and_overrides_scalars():
    """merge() appends command-line lists after the file's and replaces age and weight."""
    base = patient_from_mapping({"allergies": ["lidocaine"], "conditions": ["pregnancy"],
                                 "medications": ["warfarin"], "age": 40, "weight": "70 kg"})
    merged = merge(base, allergies=["sulfites"], conditions=["keloids"], medications=["aspirin"],
                   age=50, weight="80 kg")
    assert merged == Patient(allergies=("lidocaine", "sulfites"), conditions=("pregnancy", "keloids"),
                             medications=("warfarin", "aspirin"), age=50, weight="80 kg")
    assert base.allergies == ("lidocaine",) and base.age == 40  # the file's patient is unchanged


def test_merge_without_options_keeps_the_file_values():
    """merge() with no options gives back an equal patient (scalars are kept when not given)."""
    base = patient_from_mapping({"allergies": ["lidocaine"], "age": 40, "weight": "70 kg"})
    assert merge(base) == base


def test_merge_validates_the_result():
    """merge() checks the merged patient: a bad age or too many entries is an InputError."""
    base = patient_from_mapping({"allergies": ["a"] * MAX_TERMS})
    assert "0 to 130" in str(_input_error(merge, base, age=200))
    assert "more than 100 entries" in str(_input_error(merge, base, allergies=["one more"]))


patient_like = st.fixed_dictionaries({}, optional={
    "allergies": st.one_of(st.lists(st.text(max_size=10), max_size=5), json_like),
    "conditions": st.one_of(st.lists(st.text(max_size=10), max_size=5), json_like),
    "medications": st.one_of(st.lists(st.text(max_size=10), max_size=5), json_like),
    "age": st.one_of(st.integers(min_value=-5, max_value=140), st.floats(), json_like),
    "weight": st.one_of(st.just("70 kg"), json_like),
    "extra": json_like,
})


@PROPERTY
@given(st.one_of(json_like, patient_like))
@example({"age": 10**400})
def test_any_json_gives_a_patient_or_input_error(data):
    """Arbitrary JSON-like input gives a valid Patient or raises InputError, nothing else."""
    try:
        patient = patient_from_mapping(data)
    except InputError as exc:
        assert str(exc).startswith("patient")
        return
    for name in ("allergies", "conditions", "medications"):
        value = getattr(patient, name)
        assert isinstance(value, tuple) and len(value) <= MAX_TERMS
        assert all(isinstance(item, str) for item in value)
    assert patient.age is None or (type(patient.age) is int and 0 <= patient.age <= 130)


# ============================================================================================
# recipe_from_mapping
# ============================================================================================


def test_recipe_hand_written_syringes_shape():
    """{"syringes": [{"components": [{"id", "volume"}]}]} is one syringe with one product."""
    recipe = recipe_from_mapping({"syringes": [{"components": [{"id": "x", "volume": "1 mL"}]}]})
    assert recipe == RecipeInput(syringes=(SyringeInput((ComponentInput(product="x", volume="1 mL"),)),))


def test_recipe_bare_components_is_one_syringe():
    """A bare {"components": [...]} is read as a single syringe."""
    recipe = recipe_from_mapping({"components": [{"id": "x", "volume": "1 mL"}, {"id": "y"}]})
    assert recipe.syringes == (SyringeInput((ComponentInput(product="x", volume="1 mL"),
                                             ComponentInput(product="y", volume=None))),)


def test_recipe_substances_component():
    """A component with 'substances' is a hand mix of those substances at their concentrations."""
    recipe = recipe_from_mapping({"components": [
        {"substances": [{"id": "a", "concentration": "20 mg/mL"}, {"id": "b"}], "volume": "1 mL"},
    ]})
    component = recipe.syringes[0].components[0]
    assert component == ComponentInput(
        product=None,
        substances=(SubstanceInput("a", "20 mg/mL"), SubstanceInput("b", None)),
        volume="1 mL",
    )


def test_recipe_build_output_component_is_read_as_the_product():
    """A component with both 'id' and 'substances' (build output) is the product; the substances
    only describe it (kept to be checked against the catalogue), and must still be well formed."""
    recipe = recipe_from_mapping({"kind": "recipe", "status": "ok", "syringes": [{"components": [
        {"id": "p", "substances": [{"id": "a", "concentration": "20 mg/mL"}], "volume": "2 mL"},
        {"id": "q", "substances": []},
    ]}]})
    assert recipe.syringes[0].components == (
        ComponentInput(product="p", substances=(), volume="2 mL", described=("a",)),
        ComponentInput(product="q", substances=(), volume=None))
    for broken in ("not even a list", [5], [{"name": "no id"}], [{"id": "a", "Concentration": "1 mg/mL"}]):
        with pytest.raises(InputError):
            recipe_from_mapping({"components": [{"id": "q", "substances": broken}]})


def test_recipe_protocol_fields():
    """Protocol ranges are read conservatively: sessions {min,max} -> max, interval {min,max} -> min."""
    recipe = recipe_from_mapping({
        "components": [{"id": "x"}],
        "indication": "cellulite",
        "area": "thighs",
        "treatment_area": "100 cm**2",
        "protocol": {"sessions": {"min": 3, "max": 5}, "interval": {"min": "7 day", "max": "14 day"},
                     "points": 10, "volume_per_point": "0.05 mL"},
    })
    assert recipe.sessions == 5
    assert recipe.interval == "7 day"
    assert recipe.points == 10
    assert recipe.volume_per_point == "0.05 mL"
    assert recipe.indication == "cellulite"
    assert recipe.area == "thighs"
    assert recipe.treatment_area == "100 cm**2"


def test_recipe_protocol_plain_values_pass_through():
    """Protocol sessions and interval given as plain values are kept as they are."""
    recipe = recipe_from_mapping({"components": [{"id": "x"}],
                                  "protocol": {"sessions": 4, "interval": "10 day"}})
    assert (recipe.sessions, recipe.interval) == (4, "10 day")


def test_recipe_without_protocol_has_no_protocol_values():
    """Without a protocol, every protocol value is None."""
    recipe = recipe_from_mapping({"components": [{"id": "x"}]})
    assert (recipe.points, recipe.volume_per_point, recipe.sessions, recipe.interval) == (None,) * 4
    assert (recipe.indication, recipe.area, recipe.treatment_area) == (None, None, None)


def test_recipe_accepts_the_maximum_sizes():
    """Exactly 50 syringes of 50 components each are accepted."""
    syringe = {"components": [{"id": "x"}] * MAX_COMPONENTS}
    recipe = recipe_from_mapping({"syringes": [syringe] * MAX_SYRINGES})
    assert len(recipe.syringes) == MAX_SYRINGES == 50
    assert all(len(s.components) == MAX_COMPONENTS == 50 for s in recipe.syringes)


RECIPE_REFUSALS = [
    pytest.param([], ["recipe: ", "expected a JSON object"], id="list"),
    pytest.param("recipe", ["recipe: ", "expected a JSON object"], id="text"),
    pytest.param(None, ["recipe: ", "expected a JSON object"], id="null"),
    pytest.param({"kind": "check", "components": [{"id": "x"}]}, ["kind 'check'", "not a recipe"],
                 id="kind-check"),
    pytest.param({"status": "refused", "components": [{"id": "x"}]}, ["refused"], id="status-refused"),
    pytest.param({}, ["needs 'syringes'", "'components'"], id="neither-syringes-nor-components"),
    pytest.param({"syringes": []}, ["'syringes' must be a non-empty list"], id="empty-syringes"),
    pytest.param({"syringes": {"components": []}}, ["'syringes' must be a non-empty list"],
                 id="syringes-not-a-list"),
    pytest.param({"syringes": [{}]}, ["recipe syringe 1: ", "'components' list"],
                 id="syringe-without-components"),
    pytest.param({"syringes": [{"components": {"id": "x"}}]}, ["recipe syringe 1: ", "'components' list"],
                 id="components-not-a-list"),
    pytest.param({"syringes": ["x"]}, ["recipe syringe 1: ", "'components' list"],
                 id="syringe-not-an-object"),
    pytest.param({"syringes": [{"components": []}]}, ["recipe syringe 1: ", "has no components"],
                 id="empty-components"),
    pytest.param({"components": []}, ["recipe syringe 1: ", "has no components"], id="bare-empty-components"),
    pytest.param({"components": "x"}, ["recipe syringe 1: ", "'components' list"], id="bare-components-text"),
    pytest.param({"components": [{"volume": "1 mL"}]},
                 ["recipe syringe 1 component 1: ", "'id'", "'substances'"],
                 id="component-without-id-or-substances"),
    pytest.param({"components": ["x"]}, ["recipe syringe 1 component 1: ", "expected an object"],
                 id="component-not-an-object"),
    pytest.param({"components": [{"id": 5}]}, ["component 1: ", "'id' must be text"], id="id-number"),
    pytest.param({"components": [{"id": None}]}, ["component 1: ", "'id' must be text"], id="id-null"),
    pytest.param({"components": [{"substances": []}]},
                 ["component 1: ", "'substances' must be a non-empty list"],
                 id="empty-substances"),
    pytest.param({"components": [{"substances": "a"}]},
                 ["component 1: ", "'substances' must be a non-empty list"],
                 id="substances-text"),
    pytest.param({"components": [{"substances": [{"concentration": "1 mg/mL"}]}]}, ["substance 1: ", "'id'"],
                 id="substance-without-id"),
    pytest.param({"components": [{"substances": [{"id": "a"}, {"id": 7}]}]}, ["substance 2: ", "'id'"],
                 id="substance-id-number"),
    pytest.param({"syringes": [{"components": [{"id": "x"}]}, {"components": [{"id": "y"}, {}]}]},
                 ["recipe syringe 2 component 2: "], id="fault-located-in-syringe-2"),
    pytest.param({"syringes": [{"components": [{"id": "x"}]}] * (MAX_SYRINGES + 1)},
                 ["more than 50 syringes"],
                 id="51-syringes"),
    pytest.param({"components": [{"id": "x"}] * (MAX_COMPONENTS + 1)}, ["more than 50 components"],
                 id="51-components"),
    pytest.param({"components": [{"id": "x"}], "protocol": ["sessions"]}, ["'protocol' must be an object"],
                 id="protocol-list"),
    pytest.param({"components": [{"id": "x"}], "indication": 5}, ["'indication' must be text"],
                 id="indication-number"),
    pytest.param({"components": [{"id": "x"}], "area": ["thighs"]}, ["'area' must be text"], id="area-list"),
]


@pytest.mark.parametrize(("data", "fragments"), RECIPE_REFUSALS)
def test_recipe_refusals_name_the_place_and_why(data, fragments):
    """Malformed recipes raise InputError naming the syringe/component at fault and what is wrong."""
    error = _input_error(recipe_from_mapping, data)
    for fragment in fragments:
        assert fragment in str(error), (fragment, str(error))


def test_recipe_message_uses_the_what_label():
    """The 'what' label (e.g. the file given) starts the message."""
    error = _input_error(recipe_from_mapping, {"syringes": [{"components": []}]}, what="r.json")
    assert str(error).startswith("r.json syringe 1: ")


recipe_like = st.fixed_dictionaries({}, optional={
    "kind": st.one_of(st.just("recipe"), json_like),
    "status": st.one_of(st.sampled_from(["ok", "refused"]), json_like),
    "syringes": st.one_of(json_like, st.lists(st.fixed_dictionaries({}, optional={"components": json_like}),
                                              max_size=3)),
    "components": st.one_of(json_like, st.lists(st.fixed_dictionaries({}, optional={
        "id": json_like, "volume": json_like,
        "substances": st.one_of(json_like, st.lists(st.fixed_dictionaries({}, optional={
            "id": st.one_of(st.text(max_size=5), json_like), "concentration": json_like}), max_size=3)),
    }), max_size=3)),
    "protocol": st.one_of(json_like, st.fixed_dictionaries({}, optional={
        "sessions": json_like, "interval": json_like, "points": json_like})),
    "indication": json_like,
    "area": json_like,
})


@PROPERTY
@given(st.one_of(json_like, recipe_like))
def test_any_json_gives_a_recipe_or_input_error(data):
    """Arbitrary JSON-like input gives a well-formed RecipeInput or raises InputError, nothing else."""
    try:
        recipe = recipe_from_mapping(data)
    except InputError as exc:
        assert str(exc).startswith("recipe")
        return
    assert isinstance(recipe, RecipeInput)
    assert 1 <= len(recipe.syringes) <= MAX_SYRINGES
    for syringe in recipe.syringes:
        assert 1 <= len(syringe.components) <= MAX_COMPONENTS
        for component in syringe.components:
            if component.product is not None:
                assert isinstance(component.product, str) and component.substances == ()
            else:
                assert component.substances
                assert all(isinstance(s.id, str) for s in component.substances)
    assert recipe.indication is None or isinstance(recipe.indication, str)
    assert recipe.area is None or isinstance(recipe.area, str)


# ============================================================================================
# read_text / read_document
# ============================================================================================

WHAT = "--recipe"


def _write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return str(path)


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))


def _read_error(source: str) -> str:
    """read_document expecting an InputError; returns its message (which names the input)."""
    error = _input_error(read_document, source, WHAT)
    message = str(error)
    assert message.startswith(f"{WHAT}: "), message
    return message


def test_reads_a_json_file(tmp_path):
    """A .json file is parsed as JSON."""
    path = _write(tmp_path, "r.json", '{"components": [{"id": "x"}], "n": 1.5}')
    assert read_document(path, WHAT) == {"components": [{"id": "x"}], "n": 1.5}


def test_reads_a_toml_file_by_extension(tmp_path):
    """A .toml file (any case of the extension) is parsed as TOML."""
    text = 'allergies = ["lidocaine"]\nage = 40\n'
    assert read_document(_write(tmp_path, "p.toml", text), WHAT) == {"allergies": ["lidocaine"], "age": 40}
    assert read_document(_write(tmp_path, "P.TOML", text), WHAT) == {"allergies": ["lidocaine"], "age": 40}


@pytest.mark.parametrize(("content", "expected"), [
    ('{"age": 40}', {"age": 40}),
    ("age = 40\n", {"age": 40}),
])
def test_unknown_extension_tries_json_then_toml(tmp_path, content, expected):
    """A file with another extension is read as JSON if it is JSON, else as TOML."""
    assert read_document(_write(tmp_path, "patient.txt", content), WHAT) == expected


def test_toml_content_in_a_json_file_is_a_json_error(tmp_path):
    """A .json file is only ever JSON: TOML content in it is reported as invalid JSON."""
    message = _read_error(_write(tmp_path, "p.json", "age = 40\n"))
    assert "not valid JSON" in message and "p.json" in message


def test_utf8_bom_is_accepted(tmp_path):
    """A UTF-8 byte-order mark at the start of a file is ignored."""
    path = _write(tmp_path, "r.json", b'\xef\xbb\xbf{"age": 40}')
    assert read_document(path, WHAT) == {"age": 40}


@pytest.mark.parametrize(("data", "expected"), [
    (b'{"age": 40}', {"age": 40}),
    (b"age = 40\n", {"age": 40}),
])
def test_dash_reads_stdin(monkeypatch, data, expected):
    """'-' reads standard input, JSON or TOML."""
    _stdin(monkeypatch, data)
    assert read_document("-", WHAT) == expected


def test_read_text_returns_the_decoded_text(tmp_path, monkeypatch):
    """read_text returns the file's or stdin's text decoded as UTF-8."""
    text = "caf\u00e9 20 \u00b5g/mL\n"
    assert read_text(_write(tmp_path, "t.txt", text), WHAT) == text
    _stdin(monkeypatch, "\u00b5g".encode())
    assert read_text("-", WHAT) == "\u00b5g"


def test_stdin_errors_name_standard_input(monkeypatch):
    """Errors reading stdin name 'standard input'."""
    _stdin(monkeypatch, b"   \n")
    assert _read_error("-") == f"{WHAT}: standard input is empty"
    _stdin(monkeypatch, b"{not json = ")
    message = _read_error("-")
    assert "standard input" in message and "neither valid JSON" in message and "nor TOML" in message


def test_missing_file(tmp_path):
    """A missing file is an InputError naming the path."""
    path = str(tmp_path / "nope.json")
    assert _read_error(path) == f"{WHAT}: {path}: no such file"


def test_directory(tmp_path):
    """A directory is an InputError saying it is not a file."""
    assert _read_error(str(tmp_path)) == f"{WHAT}: {tmp_path} is a directory, not a file"


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  "], ids=["empty", "whitespace"])
def test_empty_or_whitespace_file(tmp_path, content):
    """An empty or whitespace-only file is an InputError saying it is empty."""
    path = _write(tmp_path, "r.json", content)
    assert _read_error(path) == f"{WHAT}: {path} is empty"


def test_binary_file(tmp_path):
    """A file containing NUL bytes is refused as binary."""
    path = _write(tmp_path, "r.json", b'{"a": "\x00"}')
    assert _read_error(path) == f"{WHAT}: {path} is binary, not text"


def test_invalid_utf8_file(tmp_path):
    """A file that is not valid UTF-8 is refused."""
    path = _write(tmp_path, "r.json", b'{"a": "caf\xe9"}')
    assert _read_error(path) == f"{WHAT}: {path} is not UTF-8 text"


def test_file_larger_than_the_limit(tmp_path, monkeypatch):
    """A file larger than MAX_INPUT_BYTES is refused; one of exactly the limit is read."""
    monkeypatch.setattr(cli_io, "MAX_INPUT_BYTES", 16)
    exact = _write(tmp_path, "exact.json", '{"a": "' + "x" * 7 + '"}')
    assert os.path.getsize(exact) == 16
    assert read_document(exact, WHAT) == {"a": "x" * 7}
    too_big = _write(tmp_path, "big.json", '{"a": "' + "x" * 8 + '"}')
    message = _read_error(too_big)
    assert "big.json" in message and "is larger than" in message


def test_stdin_larger_than_the_limit(monkeypatch):
    """Standard input larger than MAX_INPUT_BYTES is refused."""
    monkeypatch.setattr(cli_io, "MAX_INPUT_BYTES", 8)
    _stdin(monkeypatch, b'{"a": 12345}')
    assert "standard input is larger than" in _read_error("-")


def test_malformed_json_reports_line_and_column(tmp_path):
    """Malformed JSON in a .json file is reported with its line and column."""
    path = _write(tmp_path, "r.json", '{"a": 1,\n  "b": }')
    message = _read_error(path)
    assert message.startswith(f"{WHAT}: {path} is not valid JSON (line 2, column 8: ")


def test_malformed_toml(tmp_path):
    """Malformed TOML in a .toml file is reported as invalid TOML with its position."""
    path = _write(tmp_path, "p.toml", "age = = 40\n")
    message = _read_error(path)
    assert message.startswith(f"{WHAT}: {path} is not valid TOML (")
    assert "line 1" in message


def test_neither_json_nor_toml(tmp_path):
    """A file with another extension that is neither JSON nor TOML says so."""
    path = _write(tmp_path, "r.dat", "{oops")
    message = _read_error(path)
    assert "neither valid JSON" in message and "nor TOML" in message and "line 1" in message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_constants_are_refused(tmp_path, constant):
    """NaN, Infinity and -Infinity are not numbers meso accepts in JSON."""
    path = _write(tmp_path, "r.json", f'{{"age": {constant}}}')
    with pytest.raises(InputError) as info:
        read_document(path, WHAT)
    assert constant.lstrip("-") in str(info.value)
    assert "not a valid number" in str(info.value)


def test_json_nan_message_names_the_input(tmp_path):
    """The NaN error names the input like every other read error ('--recipe: r.json ...')."""
    path = _write(tmp_path, "r.json", '{"age": NaN}')
    message = _read_error(path)
    assert path in message


@pytest.mark.parametrize(("name", "content"), [
    ("deep.json", "[" * 100000),
    ("deep.txt", "[" * 100000),
    ("deep.json", '{"a":' * 100000),
    ("deep.toml", "a = " + "[" * 100000),
])
def test_deeply_nested_documents_are_input_errors(tmp_path, name, content):
    """Deeply nested JSON or TOML is an InputError, not a RecursionError."""
    path = _write(tmp_path, name, content)
    assert _read_error(path) == f"{WHAT}: {path} is nested too deeply"


def test_unreadable_file(tmp_path):
    """A file without read permission is an InputError saying permission is denied."""
    path = _write(tmp_path, "secret.json", '{"age": 40}')
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): a mode-000 file is still readable")
        assert _read_error(path) == f"{WHAT}: {path}: permission denied"
    finally:
        os.chmod(path, 0o600)


@PROPERTY
@given(st.binary(max_size=200))
def test_any_bytes_on_stdin_give_a_document_or_input_error(data):
    """Arbitrary bytes on stdin give a parsed document or an InputError, nothing else."""
    saved = sys.stdin
    sys.stdin = types.SimpleNamespace(buffer=io.BytesIO(data))
    try:
        try:
            document = read_document("-", WHAT)
        except InputError as exc:
            assert "\n" not in str(exc)
            return
        json.dumps(document, default=str)  # a plain tree of dicts, lists and scalars
    finally:
        sys.stdin = saved
