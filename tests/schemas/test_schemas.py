"""The JSON Schemas of the output contracts: valid themselves, shipped in the package, and
satisfied by what the real commands print (and violated by documents that break the contract)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mesocli import schemas
from mesocli.domain.engine import FINDING_KINDS, SEVERITY_RANK

ROOT = Path(__file__).resolve().parents[2]
DOSING = ("--volume", "2 mL", "--treatment-area", "25 cm^2")

# Patients and requests for `meso check`; together their findings cover every finding kind.
CHECKS = {
    "empty screen": ((), 0),
    "allergy screen": (("--allergy", "lidocaine"), 1),
    "minor on warfarin with g6pd deficiency": (
        ("--age", "16", "--medication", "warfarin", "--condition", "g6pd-deficiency"), 1),
    "allergy against a product": (("--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine"), 1),
    "ingredients for an indication": (
        ("--medication", "isotretinoin", "--condition", "bleeding-disorder", "--ingredient", "dutasteride",
         "--ingredient", "minoxidil", "--indication", "acne"), 0),
    "incompatible mix": (
        ("--ingredient", "deoxycholic-acid", "--ingredient", "lidocaine", "--treatment-area", "25 cm^2",
         "--indication", "submental-fat"), 1),
    "withdrawn and cosmetic-only products": (
        ("--ingredient", "buflomedil-injection", "--ingredient", "argireline-serum"), 1),
}


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schemas.load(name))


def problems(name: str, document: Any) -> list[str]:
    """Every way ``document`` breaks schema ``name``, as readable lines (empty when it is valid).

    Errors inside anyOf/oneOf branches are listed too, so a nullable quantity missing its unit
    reports the missing unit and not only "not valid under any of the given schemas".
    """
    found: list[str] = []
    pending = list(validator(name).iter_errors(document))
    while pending:
        error = pending.pop(0)
        found.append(f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}")
        pending.extend(error.context or ())
    return found


def build_json(meso, *args: str) -> tuple[int, dict[str, Any]]:
    outcome = meso("build", *args, "--json")
    return outcome.exit_code, outcome.json()


@pytest.fixture
def check_doc(meso) -> dict[str, Any]:
    """A real check document with findings and alternatives."""
    outcome = meso("check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine", "--json")
    doc = outcome.json()
    assert doc["findings"] and doc["alternatives"]
    return doc


@pytest.fixture
def recipe_doc(meso) -> dict[str, Any]:
    """A real, dosed hair-loss recipe document."""
    code, doc = build_json(meso, "--indication", "hair-loss", *DOSING)
    assert code == 0 and doc["status"] == "ok" and doc["syringes"]
    return doc


# ----------------------------------------------------------------------------- the files
@pytest.mark.parametrize("name", schemas.NAMES)
def test_each_schema_is_a_valid_draft_2020_12_schema_with_id_and_title(name):
    """Every schema passes the 2020-12 metaschema and names itself under the placeholder host."""
    schema = schemas.load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://meso.invalid/schemas/{name}.json"
    assert schema["title"] and schema["description"]
    assert "meso.invalid" in schema["description"]


def test_load_returns_a_fresh_dict_for_every_name():
    """load() gives each named schema, and mutating one result does not change the next."""
    for name in schemas.NAMES:
        first = schemas.load(name)
        first["title"] = "changed"
        assert schemas.load(name)["title"] != "changed"


def test_load_rejects_an_unknown_name():
    """An unknown schema name raises ValueError naming the choices."""
    with pytest.raises(ValueError, match="recipe, check, batch, error, list, show"):
        schemas.load("patient")


def test_schema_files_are_package_resources_and_nothing_else():
    """The package holds exactly one JSON file per name, readable through importlib.resources."""
    package = resources.files("mesocli.schemas")
    shipped = sorted(p.name for p in package.iterdir() if p.name.endswith(".json"))
    assert shipped == sorted(f"{name}.json" for name in schemas.NAMES)
    for name in schemas.NAMES:
        text = package.joinpath(f"{name}.json").read_text(encoding="utf-8")
        assert json.loads(text)["$id"].endswith(f"/{name}.json")


@pytest.mark.slow
def test_the_wheel_ships_the_schemas(tmp_path):
    """A wheel built from the source tree contains every schema file next to the loader."""
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mesocli/schemas/__init__.py" in names
    assert {f"mesocli/schemas/{n}.json" for n in schemas.NAMES} <= names


def test_batch_embeds_identical_copies_of_the_other_schemas():
    """batch.json bundles recipe, check and error unchanged, so it validates standalone and cannot drift."""
    bundled = schemas.load("batch")["$defs"]
    for name in ("recipe", "check", "error"):
        assert bundled[name] == schemas.load(name), f"batch.json's copy of {name}.json is out of date"


def test_finding_enums_match_the_engine():
    """The finding kind and severity enums are exactly the engine's, in both schemas that carry findings."""
    for name in ("check", "recipe"):
        finding = schemas.load(name)["$defs"]["finding"]["properties"]
        assert finding["kind"]["enum"] == list(FINDING_KINDS)
        assert set(finding["severity"]["enum"]) == set(SEVERITY_RANK)


# ---------------------------------------------------------------------- real check output
@pytest.mark.parametrize("args,exit_code", CHECKS.values(), ids=CHECKS.keys())
def test_real_check_documents_validate(meso, args, exit_code):
    """`meso check --json` output for each patient satisfies check.json."""
    outcome = meso("check", *args, "--json")
    assert outcome.exit_code == exit_code
    assert problems("check", outcome.json()) == []


def test_check_of_a_recipe_file_validates(meso, tmp_path):
    """Checking a built recipe (with an out-of-protocol session plan) gives a valid check document."""
    _, recipe = build_json(meso, "--indication", "hair-loss", *DOSING)
    recipe["protocol"]["sessions"]["max"] = 50
    recipe["protocol"]["interval"]["min"] = {"value": 1, "unit": "d"}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    outcome = meso("check", "--condition", "pregnancy", "--recipe", str(path), "--json")
    doc = outcome.json()
    assert outcome.exit_code == 1 and doc["status"] == "contraindicated"
    assert {"protocol", "dose", "condition"} <= {f["kind"] for f in doc["findings"]}
    assert problems("check", doc) == []


def test_real_findings_use_every_kind_in_the_schema(meso, tmp_path):
    """Across the sample patients real output uses every finding kind the schema allows, no other."""
    _, recipe = build_json(meso, "--indication", "hair-loss", *DOSING)
    recipe["protocol"]["sessions"]["max"] = 50
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    # A biotin product carries the standing advisory (the built hair-loss recipe need not dose biotin).
    runs = [args for args, _ in CHECKS.values()] + [("--recipe", str(path)), ("--ingredient", "biotin-0-5mg-ml")]
    seen = {f["kind"] for args in runs for f in meso("check", *args, "--json").json()["findings"]}
    assert seen == set(schemas.load("check")["$defs"]["finding"]["properties"]["kind"]["enum"])


# --------------------------------------------------------------------- real recipe output
def test_every_indication_builds_a_valid_recipe_document(meso, catalogue):
    """`meso build --json` for every indication satisfies recipe.json, with exit code matching status."""
    failures = {}
    for indication in catalogue.indications:
        code, doc = build_json(meso, "--indication", indication, *DOSING)
        assert doc["indication"] == indication
        assert code == (0 if doc["status"] == "ok" else 1)
        if found := problems("recipe", doc):
            failures[indication] = found
    assert failures == {}
    assert len(catalogue.indications) >= 10


def test_a_refused_recipe_validates_and_has_no_syringes(meso):
    """A pregnancy refusal is a valid recipe document with status refused, reasons and no syringes."""
    code, doc = build_json(meso, "--indication", "hair-loss", "--condition", "pregnancy", *DOSING)
    assert code == 1
    assert doc["status"] == "refused" and doc["syringes"] == [] and doc["reasons"]
    assert problems("recipe", doc) == []


# ---------------------------------------------------------------------- real error output
@pytest.mark.parametrize("args,exit_code", [
    (("check", "--allergy", "nonsense"), 2),
    (("check", "--age", "notanint"), 2),
    (("build",), 2),
    (("build", "--indication", "acne", "--volume", "2 L"), 2),
], ids=["unknown allergy", "bad option value", "missing option", "volume too large"])
def test_error_documents_validate(meso, args, exit_code):
    """With --json a failure prints one error document on stdout whose code is the exit code."""
    outcome = meso(*args, "--json")
    assert outcome.exit_code == exit_code
    doc = outcome.json()
    assert doc["kind"] == "error" and doc["code"] == exit_code
    assert problems("error", doc) == []


def test_database_error_document_validates(meso, tmp_path):
    """An unreachable catalogue gives exit 3 and a valid error document with code 3."""
    url = f"sqlite:///{tmp_path / 'missing' / 'meso.db'}"
    outcome = meso("check", "--json", env={"MESO_DATABASE_URL": url})
    assert outcome.exit_code == 3
    doc = outcome.json()
    assert doc["code"] == 3 and problems("error", doc) == []


# ---------------------------------------------------------------- documents that break it
def test_check_document_without_findings_is_rejected(check_doc):
    """A check document that lacks the required findings key fails."""
    del check_doc["findings"]
    assert any("'findings' is a required property" in p for p in problems("check", check_doc))


def test_finding_with_an_unknown_kind_is_rejected(check_doc, recipe_doc):
    """A finding whose kind is not one of the documented kinds fails, in check and recipe documents."""
    check_doc["findings"][0]["kind"] = "bogus"
    assert any(p.startswith("findings/0/kind:") for p in problems("check", check_doc))
    recipe_doc["findings"] = [copy.deepcopy(check_doc["findings"][0])]
    assert any(p.startswith("findings/0/kind:") for p in problems("recipe", recipe_doc))


def test_refused_recipe_with_syringes_is_rejected(recipe_doc):
    """Status refused with a non-empty syringes list fails; the same syringes with status ok pass."""
    assert problems("recipe", recipe_doc) == []
    recipe_doc["status"] = "refused"
    assert any(p.startswith("syringes:") for p in problems("recipe", recipe_doc))


@pytest.mark.parametrize("path", [
    ("syringes", 0, "total_volume"),
    ("syringes", 0, "components", 0, "volume"),
    ("syringes", 0, "components", 0, "substances", 0, "amount"),
    ("protocol", "interval", "min"),
])
def test_quantity_without_unit_is_rejected(recipe_doc, path):
    """A quantity that has a value but no unit fails wherever it appears in a recipe."""
    node = recipe_doc
    for key in path:
        node = node[key]
    assert node is not None and "unit" in node
    del node["unit"]
    assert any("'unit' is a required property" in p for p in problems("recipe", recipe_doc))


def test_wrong_envelope_and_bad_values_are_rejected(check_doc, recipe_doc):
    """Another schema_version, the wrong kind, an unknown status or role, and a bad error code all fail."""
    assert problems("check", {**check_doc, "schema_version": 2})
    assert problems("check", {**check_doc, "kind": "recipe"})
    assert problems("check", {**check_doc, "status": "refused"})
    assert problems("recipe", {**recipe_doc, "status": "caution"})
    assert problems("recipe", {**recipe_doc, "area": 3})
    recipe_doc["syringes"][0]["components"][0]["substances"][0]["role"] = "filler"
    assert problems("recipe", recipe_doc)
    error = {"schema_version": 1, "kind": "error", "code": 2, "message": "bad", "meso_version": "0.1.0",
             "catalogue": None}
    assert problems("error", error) == []
    for broken in ({**error, "code": 0}, {**error, "code": 256}, {**error, "code": "2"},
                   {k: v for k, v in error.items() if k != "message"}, {**error, "line": 0}):
        assert problems("error", broken), broken


def test_protocol_is_either_empty_or_complete(recipe_doc):
    """The protocol may be {} (none recorded) but a partial protocol fails."""
    assert problems("recipe", {**recipe_doc, "protocol": {}}) == []
    partial = {"technique": recipe_doc["protocol"]["technique"]}
    assert problems("recipe", {**recipe_doc, "protocol": partial})


def test_added_keys_are_allowed_everywhere(check_doc, recipe_doc):
    """Contracts may grow: unknown keys at the top, in findings and in quantities still validate."""
    check_doc["new_top_level"] = True
    check_doc["findings"][0]["new_finding_key"] = [1]
    assert problems("check", check_doc) == []
    recipe_doc["syringes"][0]["total_volume"]["precision"] = 2
    recipe_doc["protocol"]["new_protocol_key"] = "x"
    assert problems("recipe", recipe_doc) == []


# ----------------------------------------------------------------------------- batch lines
def test_hand_made_batch_lines_validate(check_doc, recipe_doc):
    """A check line, a recipe line and an error line (with id null and a line number) all validate."""
    lines = [
        {"id": "a", **check_doc},
        {"id": "b", **recipe_doc},
        {"id": None, "schema_version": 1, "kind": "error", "code": 2, "message": "not valid JSON", "line": 3,
         "meso_version": "0.1.0", "catalogue": check_doc["catalogue"]},
    ]
    for line in lines:
        assert problems("batch", line) == [], line["kind"]


def test_broken_batch_lines_are_rejected(check_doc, recipe_doc):
    """Lines without an id, an error line without its line number, or a broken inner document fail."""
    error_line = {"id": "c", "schema_version": 1, "kind": "error", "code": 2, "message": "m", "line": 1,
                  "meso_version": "0.1.0", "catalogue": None}
    assert problems("batch", error_line) == []
    no_findings = {"id": "a", **check_doc}
    del no_findings["findings"]
    for broken in (check_doc, recipe_doc, {**check_doc, "id": ["a"]},
                   {k: v for k, v in error_line.items() if k != "line"}, {**error_line, "line": 0},
                   no_findings, {"id": "b", **recipe_doc, "kind": "plan"}):
        assert problems("batch", broken), broken


def test_real_batch_output_validates(meso):
    """Every line `meso batch` writes for string-id requests, good and bad, satisfies batch.json."""
    requests = [
        {"id": "check", "action": "check", "allergies": ["lidocaine"]},
        {"id": "build", "action": "build", "indication": "hair-loss", "volume": "2 mL"},
        {"id": "refused", "action": "build", "indication": "hair-loss", "conditions": ["pregnancy"]},
        {"id": "unknown", "action": "check", "allergies": ["nonsense"]},
        {"action": "check"},
    ]
    text = "\n".join(json.dumps(r) for r in requests) + "\nnot json\n"
    outcome = meso("batch", "-", input=text)
    lines = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["check", "recipe", "recipe", "error", "check", "error"]
    assert [line["id"] for line in lines] == ["check", "build", "refused", "unknown", None, None]
    assert lines[-1]["line"] == 6
    for line in lines:
        assert problems("batch", line) == [], line


# ------------------------------------------------------------------------- list and show documents
LISTS = [("ingredients", "list"), ("products", "list"), ("indications", "list"), ("allergens", "list"),
         ("conditions", "list"), ("medications", "list"), ("ingredients", "search", "vitamin")]


@pytest.mark.parametrize("args", LISTS, ids=[" ".join(a) for a in LISTS])
def test_real_list_documents_validate(meso, args):
    """Every list command's --json document satisfies list.json, items included."""
    outcome = meso(*args, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    doc = outcome.json()
    assert doc["items"]
    assert problems("list", doc) == []


def test_every_show_document_of_the_catalogue_validates(meso, catalogue):
    """The show document of every substance, product, indication and allergen group satisfies show.json."""
    shown = ([("ingredients", "show", s) for s in sorted(catalogue.substances)]
             + [("products", "show", p) for p in sorted(catalogue.products)]
             + [("indications", "show", i) for i in sorted(catalogue.indications)]
             + [("allergens", "show", g) for g in sorted(catalogue.groups)])
    failures = {}
    for args in shown:
        outcome = meso(*args, "--json")
        assert outcome.exit_code == 0, (args, outcome.stderr)
        if found := problems("show", outcome.json()):
            failures[" ".join(args)] = found
    assert failures == {}


def test_list_and_show_schemas_reject_broken_documents(meso):
    """A list item missing its id or with a wrongly typed field, and a show document missing its
    evidence or of an unknown kind, fail their schemas."""
    listing = meso("products", "list", "--json").json()
    del listing["items"][0]["id"]
    assert problems("list", listing)
    listing = meso("medications", "list", "--json").json()
    listing["items"][0]["type"] = "drug"
    assert problems("list", listing)
    detail = meso("ingredients", "show", "lidocaine", "--json").json()
    assert problems("show", {k: v for k, v in detail.items() if k != "evidence"})
    assert problems("show", {**detail, "kind": "recipe"})


# ------------------------------------------------------------------------- provenance
def test_every_schema_requires_the_meso_version_and_the_catalogue_identity():
    """recipe, check, error, list and show each require meso_version and catalogue; only an error
    may have a null catalogue (it failed before any catalogue was read)."""
    for name in ("recipe", "check", "error", "list", "show"):
        schema = schemas.load(name)
        assert {"meso_version", "catalogue"} <= set(schema["required"]), name
    good = {"schema_revision": "0002", "content_sha256": "a" * 64, "clinic_rows": 0}
    error = {"schema_version": 1, "kind": "error", "code": 3, "message": "no database", "meso_version": "1"}
    assert problems("error", {**error, "catalogue": None}) == []
    assert problems("error", {**error, "catalogue": good}) == []
    assert problems("error", {**error, "catalogue": {**good, "content_sha256": "not hex"}})
    assert problems("error", {**error, "catalogue": {**good, "clinic_rows": -1}})
