"""One request model: command-line options, patient and recipe files and batch lines are read
and validated by the same code, and every input document refuses keys it does not know."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli.domain.patient import PATIENT_FIELDS, Patient, patient_from_mapping
from mesocli.domain.recipe import (
    COMPONENT_KEYS,
    PROTOCOL_KEYS,
    RECIPE_KEYS,
    SUBSTANCE_KEYS,
    SYRINGE_KEYS,
    recipe_from_mapping,
)
from mesocli.domain.request import ALIASES, FIELDS, Request, request_from_mapping
from mesocli.errors import InputError
from mesocli.strictjson import likely_key

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])
HAND_RECIPE = {"components": [{"id": "lidocaine-1pct-sd", "volume": "1 mL"},
                              {"substances": [{"id": "biotin", "concentration": "0.5 mg/mL"}], "volume": "1 mL"}],
               "protocol": {"points": 20, "sessions": {"min": 1, "max": 4}, "interval": {"min": "14 day"}}}


def _error(function, *args, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        function(*args, **kwargs)
    return caught.value.message


# ------------------------------------------------------------------------------- one model
_names = st.lists(st.sampled_from(["lidocaine", "biotin", "pregnancy", "warfarin", "parabens"]), max_size=3)


@PROPERTY
@given(allergies=_names, conditions=_names, age=st.none() | st.integers(0, 130),
       weight=st.none() | st.sampled_from(["70 kg", "55.5 kg"]), max_products=st.integers(1, 6),
       fail_on=st.sampled_from(["caution", "contraindicated"]), spelled_as_option=st.booleans())
def test_a_batch_line_and_the_options_make_the_same_request(allergies, conditions, age, weight, max_products,
                                                           fail_on, spelled_as_option):
    """The same check asked as a batch line (either spelling of each field) or as gathered options is one Request."""
    fields: dict[str, Any] = {"allergies": allergies, "conditions": conditions, "age": age, "weight": weight,
                              "max_products": max_products, "fail_on": fail_on, "ingredients": ["biotin"]}
    fields = {k: v for k, v in fields.items() if v is not None and v != []}
    if spelled_as_option:
        option = {v: k for k, v in ALIASES.items()}
        line = {"id": 7, "action": "check", **{option.get(k, k): v for k, v in fields.items()}}
    else:
        line = {"id": 7, "action": "check", **fields}
    from_line = request_from_mapping(line)
    from_options = request_from_mapping(fields, action="check")
    assert from_line == from_options
    assert from_line.patient == Patient(allergies=tuple(allergies), conditions=tuple(conditions), age=age,
                                        weight=weight)
    assert (from_line.max_products, from_line.fail_on, from_line.ingredients) == (max_products, fail_on, ("biotin",))


def test_a_patient_document_and_the_fields_beside_it_merge_the_same_way_everywhere():
    """Lists add to the patient document's, scalars override it, whether the document is a mapping or a Patient."""
    document = {"allergies": ["lidocaine"], "age": 40, "weight": "60 kg"}
    beside = {"allergies": ["biotin"], "age": 41}
    expected = Patient(allergies=("lidocaine", "biotin"), age=41, weight="60 kg")
    assert request_from_mapping({"action": "check", "patient": document, **beside}).patient == expected
    built = request_from_mapping({"patient": patient_from_mapping(document), "indication": "hair-loss", **beside},
                                 action="build")
    assert built.patient == expected


@pytest.mark.parametrize(("fields", "needle"), [
    ({"max_products": 0}, "must be at least 1"),
    ({"max_products": True}, "must be a whole number"),
    ({"max_products": "3"}, "must be a whole number"),
    ({"fail_on": "info"}, "must be one of caution, contraindicated"),
    ({"ingredients": "biotin"}, "must be a list of names"),
    ({"ingredients": [3]}, "every entry must be a name"),
    ({"indication": 5}, "must be text"),
    ({"ingredients": ["biotin"], "recipe": HAND_RECIPE}, "not both"),
    ({"allergies": ["x"], "allergy": ["y"]}, "given twice"),
    ({"volume": "2 mL"}, "unknown field(s) 'volume'"),
])
def test_one_validation_refuses_bad_check_fields(fields, needle):
    """Each bad field is refused by the one model, with the field named as the input spelled it."""
    assert needle in _error(request_from_mapping, {"action": "check", **fields})


def test_messages_name_options_on_the_command_line(meso):
    """The command line's messages name its options, a batch line's name its fields."""
    from mesocli.domain.request import option_name

    assert "--max-products must be at least 1" in _error(request_from_mapping, {"max_products": 0}, action="check",
                                                         name=option_name)
    outcome = meso("check", "--fail-on", "info")
    assert outcome.exit_code == 2 and "--fail-on must be one of caution, contraindicated" in outcome.stderr
    line = meso("batch", "-", input='{"action": "check", "fail_on": "info"}\n')
    assert line.exit_code == 2 and "'fail_on' must be one of caution, contraindicated" in line.json()["message"]


def test_python_api_validates_max_products_with_the_same_rule(catalogue):
    """api.check and api.build refuse the product limits the request model refuses."""
    from mesocli import api

    for bad in (0, -1, True):
        with pytest.raises(InputError):
            api.check(Patient(), ingredients=["biotin"], max_products=bad, catalogue=catalogue)
        with pytest.raises(InputError):
            api.build("hair-loss", max_products=bad, catalogue=catalogue)


def test_the_exit_code_of_an_answer_is_decided_by_the_request(catalogue):
    """A check's exit code follows its fail_on; a build's follows its status."""
    from mesocli import api

    caution = request_from_mapping({"medications": ["warfarin"], "ingredients": ["dexpanthenol"],
                                    "fail_on": "caution"}, action="check")
    lenient = request_from_mapping({"medications": ["warfarin"], "ingredients": ["dexpanthenol"]}, action="check")
    result = api.answer(caution, catalogue)
    assert result.status == "caution"
    assert caution.exit_code(result) == 1
    assert lenient.exit_code(api.answer(lenient, catalogue)) == 0
    refused = request_from_mapping({"indication": "hair-loss", "conditions": ["pregnancy"]}, action="build")
    assert refused.exit_code(api.answer(refused, catalogue)) == 1


def test_cli_and_batch_give_the_same_document(meso):
    """meso check --json and a batch line with the same fields give the same check document."""
    single = meso("check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine", "--json")
    line = meso("batch", "-", input=json.dumps({"id": "x", "action": "check", "allergies": ["lidocaine"],
                                                "ingredients": ["restylane-vital-lidocaine"]}) + "\n")
    assert single.exit_code == line.exit_code == 1
    assert {"id": "x", **single.json()} == line.json()


# ------------------------------------------------------------------------------- strict documents
def _case_variants(key: str) -> list[str]:
    return sorted({key.upper(), key.capitalize(), key.title(), key.replace("_", "-"), f" {key}"} - {key})


@pytest.mark.parametrize("key", sorted(PATIENT_FIELDS))
def test_a_patient_key_in_another_case_is_refused_naming_the_intended_one(key):
    """'Allergies', 'AGE', ' weight' ... are refused, and the message names the key that was meant."""
    for variant in _case_variants(key):
        message = _error(patient_from_mapping, {variant: None})
        assert repr(variant) in message and f"did you mean {key!r}" in message, message


@pytest.mark.parametrize(("where", "known"), [
    ((), RECIPE_KEYS), (("protocol",), PROTOCOL_KEYS), (("components", 0), COMPONENT_KEYS),
    (("components", 1, "substances", 0), SUBSTANCE_KEYS),
])
def test_a_recipe_key_in_another_case_is_refused_naming_the_intended_one(where, known):
    """A misspelled key at any level of a recipe ('Volume') is refused with the key meant ('volume')."""
    for key in sorted(known):
        for variant in _case_variants(key):
            document = copy.deepcopy(HAND_RECIPE)
            node = document
            for step in where:
                node = node[step]
            node[variant] = "x"
            message = _error(recipe_from_mapping, document)
            assert repr(variant) in message and f"did you mean {key!r}" in message, message


_LEVELS = [(), ("protocol",), ("protocol", "sessions"), ("components", 0), ("components", 1),
           ("components", 1, "substances", 0)]
_KNOWN_AT = {(): RECIPE_KEYS, ("protocol",): PROTOCOL_KEYS, ("protocol", "sessions"): {"min", "max"},
             ("components", 0): COMPONENT_KEYS, ("components", 1): COMPONENT_KEYS,
             ("components", 1, "substances", 0): SUBSTANCE_KEYS}


@PROPERTY
@given(level=st.sampled_from(_LEVELS), key=st.text(min_size=1, max_size=20),
       value=st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2))
def test_any_unknown_key_anywhere_in_a_recipe_is_refused(level, key, value):
    """No key a recipe does not define is ever ignored: the document is refused and the key named."""
    if key in _KNOWN_AT[level]:
        return
    document = copy.deepcopy(HAND_RECIPE)
    node = document
    for step in level:
        node = node[step]
    node[key] = value
    message = _error(recipe_from_mapping, document)
    assert "unknown field(s)" in message
    shown = repr(key[:40]).encode("ascii", "backslashreplace").decode("ascii")
    assert shown in message


@PROPERTY
@given(key=st.text(min_size=1, max_size=20), value=st.none() | st.integers() | st.text(max_size=5))
def test_any_unknown_key_in_a_patient_or_a_batch_request_is_refused(key, value):
    """A patient document and a batch request refuse every key they do not define. A patient
    document with a ``resourceType`` is a FHIR document, read (and here refused) as one."""
    if key == "resourceType":
        assert "Bundle" in _error(patient_from_mapping, {"allergies": [], key: value})
    elif key not in PATIENT_FIELDS:
        assert "unknown field(s)" in _error(patient_from_mapping, {"allergies": [], key: value})
    if key not in FIELDS["check"] and key not in ALIASES and key != "id":
        assert "unknown field(s)" in _error(request_from_mapping, {"action": "check", key: value})


def test_a_recipe_with_both_syringes_and_components_is_ambiguous_and_refused(meso, tmp_path):
    """A document holding both shapes is refused (exit 2) rather than one of them silently dropped."""
    document = {"syringes": [{"components": [{"id": "biotin-0-5mg-ml"}]}],
                "components": [{"id": "restylane-vital-lidocaine"}]}
    assert "not both" in _error(recipe_from_mapping, document)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    outcome = meso("check", "--allergy", "lidocaine", "--recipe", str(path))
    assert outcome.exit_code == 2
    assert "give 'syringes' or 'components', not both" in outcome.stderr


def test_a_misspelled_recipe_key_fails_the_check_with_exit_2(meso, tmp_path):
    """{"Volume": ...} in a recipe is exit 2 naming 'volume', never an ok check without the volume."""
    document = {"components": [{"id": "lidocaine-1pct-sd", "Volume": "50 mL"}]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    outcome = meso("check", "--weight", "70 kg", "--recipe", str(path), "--json")
    assert outcome.exit_code == 2
    assert "'Volume' (did you mean 'volume'?)" in outcome.stderr
    assert outcome.json()["kind"] == "error"


def test_a_misspelled_batch_field_gives_an_error_line_naming_the_field_meant(meso):
    """A batch line with "Allergies" is an error document naming 'allergies'; the next line is still answered."""
    text = (json.dumps({"id": 1, "action": "check", "Allergies": ["lidocaine"]}) + "\n"
            + json.dumps({"id": 2, "action": "check", "allergies": ["lidocaine"]}) + "\n")
    outcome = meso("batch", "-", input=text)
    first, second = (json.loads(line) for line in outcome.stdout.splitlines())
    assert first["kind"] == "error" and first["code"] == 2 and first["id"] == 1
    assert "'Allergies' (did you mean 'allergies'?)" in first["message"]
    assert second["kind"] == "check"


def test_a_recipe_written_by_build_is_read_back_without_complaint(meso, tmp_path):
    """Every key meso build --json writes is a key a recipe document may hold."""
    built = meso("build", "--indication", "hair-loss", "--volume", "2 mL", "--treatment-area", "25 cm^2", "--json")
    assert built.exit_code == 0
    recipe = recipe_from_mapping(built.json())
    assert recipe.syringes and recipe.indication == "hair-loss"


@pytest.mark.parametrize(("typed", "meant"), [("Volume", "volume"), ("alergies", "allergies"),
                                              ("max-product", "max_products"), ("treatment area", "treatment_area")])
def test_likely_key_finds_the_key_meant(typed, meant):
    """Case, separators and small typing slips lead to the key that was meant."""
    assert likely_key(typed, {"volume", "allergies", "max_products", "treatment_area", "area"}) == meant


def test_request_is_immutable():
    """A request cannot be changed after validation."""
    request = Request("check")
    with pytest.raises(AttributeError):
        request.fail_on = "caution"  # type: ignore[misc]


@pytest.mark.parametrize("key", sorted(SYRINGE_KEYS))
def test_a_syringe_key_in_another_case_is_refused_naming_the_intended_one(key):
    """In the syringes shape a misspelled syringe key ('Components') is refused with the key meant."""
    for variant in _case_variants(key):
        document = {"syringes": [{"components": [{"id": "biotin-0-5mg-ml"}], variant: 1}]}
        message = _error(recipe_from_mapping, document)
        assert "syringe 1" in message and f"did you mean {key!r}" in message, message


def test_the_default_product_limit_is_the_engines_and_the_help_says_it(meso):
    """Options, batch lines and the Python API all default to the engine's limit, which --help names."""
    import inspect

    from mesocli import api
    from mesocli.domain.engine import DEFAULT_MAX_PRODUCTS

    assert request_from_mapping({}, action="check").max_products == DEFAULT_MAX_PRODUCTS
    assert request_from_mapping({"action": "check"}).max_products == DEFAULT_MAX_PRODUCTS
    for function in (api.check, api.build):
        assert inspect.signature(function).parameters["max_products"].default == DEFAULT_MAX_PRODUCTS
    for command in ("check", "build"):
        assert f"(default {DEFAULT_MAX_PRODUCTS})" in " ".join(meso(command, "--help").stdout.split())


def test_the_default_fail_on_is_the_request_models(meso):
    """An unset --fail-on and a batch line without fail_on both fail on contraindicated only."""
    from mesocli.domain.request import DEFAULT_FAIL_ON

    assert DEFAULT_FAIL_ON == "contraindicated"
    assert request_from_mapping({}, action="check").fail_on == DEFAULT_FAIL_ON
    caution_only = ("--medication", "warfarin", "--ingredient", "dexpanthenol")
    outcome = meso("check", *caution_only, "--json")
    assert outcome.json()["status"] == "caution" and outcome.exit_code == 0
    assert meso("check", *caution_only, "--fail-on", "caution").exit_code == 1
    assert "(default contraindicated)" in " ".join(meso("check", "--help").stdout.split())


def test_a_product_listed_with_a_substance_it_does_not_hold_is_refused(meso, tmp_path, catalogue):
    """{"id": a product, "substances": [one it does not contain]} is ambiguous: exit 2 naming the
    substance, never a check of the product alone that would miss an allergy to it."""
    document = {"components": [{"id": "biotin-0-5mg-ml", "substances": [{"id": "biotin"}, {"id": "lidocaine"}]}]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    outcome = meso("check", "--allergy", "lidocaine", "--recipe", str(path))
    assert outcome.exit_code == 2
    assert "product biotin-0-5mg-ml does not contain lidocaine" in outcome.stderr
    document["components"][0]["substances"] = [{"id": "biotin"}]  # a true description is fine
    path.write_text(json.dumps(document), encoding="utf-8")
    assert meso("check", "--allergy", "lidocaine", "--recipe", str(path)).exit_code == 0
    from mesocli import api

    with pytest.raises(InputError, match="does not contain lidocaine"):
        api.check(recipe={"components": [{"id": "biotin-0-5mg-ml", "substances": [{"id": "Lidocaine"}]}]},
                  catalogue=catalogue)


def test_every_built_recipe_reads_back_with_its_own_description(meso, catalogue):
    """The substances meso build --json lists for each product are the product's own: every
    built recipe is checked again without complaint."""
    from mesocli import api

    for indication in sorted(catalogue.indications):
        built = meso("build", "--indication", indication, "--volume", "2 mL", "--treatment-area", "25 cm^2", "--json")
        document = built.json()
        if document["status"] != "ok":
            continue
        assert any(c.get("substances") for s in document["syringes"] for c in s["components"])
        api.check(recipe=document, catalogue=catalogue)  # raises if a description were foreign


_PATIENT_TERMS = {"allergies": ["lidocaine", "parabens", "hyaluronic-acid", "biotin"],
                  "conditions": ["pregnancy", "asthma", "bleeding-disorder"],
                  "medications": ["warfarin", "isotretinoin"]}
_OPTION = {"allergies": "--allergy", "conditions": "--condition", "medications": "--medication"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_check_asked_by_options_or_by_a_batch_line_gives_the_same_document(meso, data):
    """Options and a batch line with the same patient, ingredients and limits give one document and one exit code."""
    fields: dict[str, Any] = {key: data.draw(st.lists(st.sampled_from(terms), max_size=2, unique=True), label=key)
                              for key, terms in _PATIENT_TERMS.items()}
    fields["ingredients"] = data.draw(st.lists(st.sampled_from(
        ["restylane-vital-lidocaine", "biotin-0-5mg-ml", "dexpanthenol", "ha-nonxl-booster"]), max_size=3,
        unique=True), label="ingredients")
    age = data.draw(st.none() | st.integers(10, 90), label="age")
    fail_on = data.draw(st.sampled_from(["caution", "contraindicated"]), label="fail_on")
    args = [arg for key, option in _OPTION.items() for term in fields[key] for arg in (option, term)]
    args += [arg for name in fields["ingredients"] for arg in ("--ingredient", name)]
    args += ["--fail-on", fail_on] + (["--age", str(age)] if age is not None else [])
    line = {"id": "q", "action": "check", **{k: v for k, v in fields.items() if v}, "fail_on": fail_on}
    if age is not None:
        line["age"] = age
    single = meso("check", *args, "--json")
    batched = meso("batch", "-", input=json.dumps(line) + "\n")
    assert single.exit_code == batched.exit_code
    assert {"id": "q", **single.json()} == batched.json()
