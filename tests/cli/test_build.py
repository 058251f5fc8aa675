"""The ``meso build`` command-line contract: formats, exit codes, files, refusals, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mesocli.units import parse_quantity

# Every command here runs on the shipped SQLite file and on PostgreSQL (see conftest.backend).
pytestmark = pytest.mark.usefixtures("backend")

SEVERITIES = {"info", "caution", "contraindicated"}
PROTOCOL_KEYS = {"technique", "depth", "sessions", "interval"}


def run(meso, *args: str, input: str | None = None):
    out = meso("build", *args, input=input)
    assert "Traceback" not in out.stdout and "Traceback" not in out.stderr, out.stderr
    return out


def assert_q(value: Any, kind: str, where: str, *, nullable: bool = False) -> None:
    if value is None:
        assert nullable, f"{where} is null"
        return
    assert isinstance(value, dict) and set(value) == {"value", "unit"}, (where, value)
    assert isinstance(value["value"], int | float) and not isinstance(value["value"], bool), (where, value)
    assert isinstance(value["unit"], str) and value["unit"], (where, value)
    parse_quantity(value, kind=kind, what=where, allow_zero=True)


def walk_quantities(node: Any, path: str = "$"):
    """Every {"value", "unit"} object anywhere in a document."""
    if isinstance(node, dict):
        if set(node) == {"value", "unit"}:
            yield path, node
            return
        for key, value in node.items():
            yield from walk_quantities(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_quantities(value, f"{path}[{index}]")


def assert_recipe_contract(doc: dict[str, Any]) -> None:
    for key in ("schema_version", "kind", "status", "indication", "area", "syringes", "protocol", "findings",
                "excluded", "reasons"):
        assert key in doc, key
    assert doc["schema_version"] == 1
    assert doc["kind"] == "recipe"
    assert doc["status"] in ("ok", "refused")
    assert isinstance(doc["indication"], str)
    assert doc["area"] is None or isinstance(doc["area"], str)
    assert isinstance(doc["syringes"], list)
    for n, syringe in enumerate(doc["syringes"], 1):
        assert isinstance(syringe["components"], list) and syringe["components"]
        assert_q(syringe["total_volume"], "volume", f"syringe {n} total_volume")
        for c in syringe["components"]:
            for key in ("id", "name", "reason"):
                assert isinstance(c[key], str) and c[key], (key, c)
            assert_q(c["volume"], "volume", f"{c['id']} volume")
            assert isinstance(c["substances"], list) and c["substances"]
            for s in c["substances"]:
                assert isinstance(s["id"], str) and isinstance(s["name"], str)
                assert s["role"] in ("active", "excipient", "vehicle"), s
                assert_q(s["concentration"], "concentration", f"{s['id']} concentration", nullable=True)
                assert_q(s["amount"], "mass", f"{s['id']} amount", nullable=True)
    protocol = doc["protocol"]
    assert set(protocol) >= PROTOCOL_KEYS
    assert isinstance(protocol["technique"], str)
    assert set(protocol["depth"]) >= {"min", "max"}
    assert_q(protocol["depth"]["min"], "length", "depth min", nullable=True)
    assert_q(protocol["depth"]["max"], "length", "depth max", nullable=True)
    assert set(protocol["sessions"]) >= {"min", "max"}
    for key in ("min", "max"):
        value = protocol["sessions"][key]
        assert value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)
        assert_q(protocol["interval"][key], "time", f"interval {key}", nullable=True)
    assert isinstance(doc["findings"], list)
    for f in doc["findings"]:
        for key in ("severity", "kind", "subject", "trigger", "message", "sources", "evidence"):
            assert key in f, (key, f)
        assert f["severity"] in SEVERITIES
        assert isinstance(f["sources"], list)
    for e in doc["excluded"]:
        assert set(e) == {"id", "reason", "trigger"} and all(isinstance(v, str) and v for v in e.values())
    assert isinstance(doc["reasons"], list) and all(isinstance(r, str) for r in doc["reasons"])
    for where, q in walk_quantities(doc):
        assert isinstance(q["value"], int | float) and isinstance(q["unit"], str), where
        from mesocli.units import Q_

        Q_(q["value"], q["unit"])  # pint reads every unit meso writes


# ----------------------------------------------------------------------------- human table
def test_human_output(meso):
    out = run(meso, "--indication", "hair-loss")
    assert out.exit_code == 0, out.stderr
    assert "Syringe 1" in out.stdout
    assert "Technique" in out.stdout
    assert "decision support" in out.stdout
    assert "nappage" in out.stdout
    assert "Use the mixed cocktail within" in out.stdout
    assert "CAUTION" in out.stdout  # cautions stay visible, exit is still 0
    assert out.stderr == ""


def test_human_output_lists_exclusions_with_triggers(meso):
    out = run(meso, "--indication", "hair-loss", "--allergy", "amide-local-anaesthetics")
    assert out.exit_code == 0
    assert "Excluded" in out.stdout
    assert "lidocaine-1pct-sd" in out.stdout and "[trigger: amide-local-anaesthetics]" in out.stdout
    assert "anaesthetic" in out.stdout.lower()


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_protocol_depth_ceiling_is_printed(meso, fmt):
    out = run(meso, "--indication", "skin-rejuvenation", "--format", fmt)
    assert "Depth" in out.stdout and "4 mm" in out.stdout


def test_explain_shows_the_arithmetic(meso):
    plain = run(meso, "--indication", "hair-loss")
    out = run(meso, "--indication", "hair-loss", "--explain")
    assert out.exit_code == 0
    assert "Arithmetic" in out.stdout and "Arithmetic" not in plain.stdout
    assert "10 mg/mL x" in out.stdout
    assert "=" in out.stdout


def test_explain_shows_caps_and_rule(meso):
    out = run(meso, "--indication", "submental-fat", "--volume", "10 mL", "--treatment-area", "25 cm^2", "--explain")
    assert out.exit_code == 0
    assert "2 mg/cm² x 25 cm² = 50 mg" in out.stdout
    assert "10 mg/mL x 5 mL = 50 mg" in out.stdout
    assert "dose cap" in out.stdout


# ----------------------------------------------------------------------------- json contract
@pytest.mark.parametrize("args", [
    ("--indication", "hair-loss"),
    ("--indication", "hair-loss", "--format", "json"),
    ("--indication", "skin-rejuvenation", "--allergy", "lidocaine"),
    ("--indication", "submental-fat", "--volume", "10 mL", "--treatment-area", "25 cm^2", "--weight", "60 kg"),
    ("--indication", "cellulite", "--volume", "3 mL"),
    ("--indication", "hyperpigmentation", "--volume", "2 mL", "--age", "40"),
])
def test_json_contract(meso, args):
    flag = () if "--format" in args else ("--json",)
    out = run(meso, *args, *flag)
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert_recipe_contract(doc)
    assert doc["status"] == "ok" and doc["syringes"]


def test_json_depth_min_unknown_is_null_not_invented(meso):
    doc = run(meso, "--indication", "skin-rejuvenation", "--json").json()
    assert doc["protocol"]["depth"]["min"] is None
    assert doc["protocol"]["depth"]["max"] == {"value": 4, "unit": "mm"}


def test_json_nappage_depth_is_null_when_no_source_gives_one(meso):
    doc = run(meso, "--indication", "hair-loss", "--json").json()
    assert doc["protocol"]["technique"] == "nappage"
    assert doc["protocol"]["depth"] == {"min": None, "max": None}


def test_json_is_the_only_thing_on_stdout(meso):
    out = run(meso, "--indication", "hair-loss", "--json")
    json.loads(out.stdout)
    assert out.stderr == ""


def test_json_recipe_checks_clean_through_the_cli(meso, tmp_path):
    out = run(meso, "--indication", "hair-loss", "--weight", "70 kg", "--allergy", "parabens", "--json")
    recipe = tmp_path / "recipe.json"
    recipe.write_text(out.stdout, encoding="utf-8")
    checked = meso("check", "--allergy", "parabens", "--weight", "70 kg", "--recipe", str(recipe), "--json")
    assert checked.exit_code == 0, checked.stdout
    assert not [f for f in checked.json()["findings"] if f["severity"] == "contraindicated"]
    # A finding in the recipe has the same shape as one from meso check.
    built_keys = {k for f in out.json()["findings"] for k in f}
    check_keys = {k for f in checked.json()["findings"] for k in f}
    assert {"severity", "kind", "subject", "trigger", "message", "sources", "evidence"} <= built_keys & check_keys


# ----------------------------------------------------------------------------- markdown and files
def test_markdown_recipe_card(meso):
    out = run(meso, "--indication", "hair-loss", "--format", "markdown", "--age", "40", "--weight", "70 kg")
    assert out.exit_code == 0
    text = out.stdout
    assert text.startswith("# ")
    for heading in ("## Syringe 1", "## Protocol", "## Sources", "## Findings"):
        assert f"\n{heading}" in text, heading
    assert "age 40" in text and "70 kg" in text  # patient summary
    assert "decision support" in text


@pytest.mark.parametrize("fmt, check", [
    ("json", lambda text: json.loads(text)["kind"] == "recipe"),
    ("markdown", lambda text: text.startswith("# ")),
    ("table", lambda text: "Syringe 1" in text),
])
def test_output_file(meso, tmp_path, fmt, check):
    target = tmp_path / f"card.{fmt}"
    out = run(meso, "--indication", "hair-loss", "--format", fmt, "-o", str(target))
    assert out.exit_code == 0
    assert out.stdout == ""
    assert target.exists()
    text = target.read_text(encoding="utf-8")
    assert check(text)
    assert text == run(meso, "--indication", "hair-loss", "--format", fmt).stdout


def test_output_file_when_refused(meso, tmp_path):
    target = tmp_path / "refused.json"
    out = run(meso, "--indication", "hair-loss", "--condition", "pregnancy", "--json", "--output", str(target))
    assert out.exit_code == 1
    assert out.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["status"] == "refused"


def test_output_file_in_a_missing_directory_is_exit_2(meso, tmp_path):
    out = run(meso, "--indication", "hair-loss", "-o", str(tmp_path / "nope" / "card.md"))
    assert out.exit_code == 2
    assert "--output" in out.stderr


# ----------------------------------------------------------------------------- refusal
def test_refusal_json(meso):
    out = run(meso, "--indication", "hair-loss", "--condition", "pregnancy", "--json")
    assert out.exit_code == 1
    doc = out.json()
    assert_recipe_contract(doc)
    assert doc["status"] == "refused"
    assert doc["syringes"] == []
    assert doc["reasons"] and any("pregnan" in r.lower() for r in doc["reasons"])
    assert any(f["severity"] == "contraindicated" and f["trigger"] == "pregnancy" for f in doc["findings"])


def test_refusal_human(meso):
    out = run(meso, "--indication", "hair-loss", "--condition", "pregnancy")
    assert out.exit_code == 1
    assert "REFUSED" in out.stdout
    assert "Syringe" not in out.stdout
    assert "Product" not in out.stdout  # no syringe table header
    assert "pregnan" in out.stdout.lower()
    assert "decision support" in out.stdout


def test_refusal_markdown(meso):
    out = run(meso, "--indication", "hair-loss", "--condition", "pregnancy", "--format", "markdown")
    assert out.exit_code == 1
    assert "## Refused" in out.stdout and "## Syringe" not in out.stdout and "## Protocol" not in out.stdout


def test_refusal_when_every_candidate_is_excluded(meso):
    out = run(meso, "--indication", "dark-circles", "--allergy", "lidocaine", "--allergy", "polynucleotides",
              "--volume", "1 mL", "--json")
    assert out.exit_code == 1
    doc = out.json()
    assert doc["status"] == "refused" and doc["syringes"] == []
    assert "teosyal-redensity-ii" in {e["id"] for e in doc["excluded"]}


# ----------------------------------------------------------------------------- patients
def test_patient_file_json_and_toml_and_stdin(meso, tmp_path):
    as_json = tmp_path / "p.json"
    as_json.write_text(json.dumps({"allergies": ["lidocaine"], "age": 40, "weight": "70 kg"}), encoding="utf-8")
    as_toml = tmp_path / "p.toml"
    as_toml.write_text('allergies = ["lidocaine"]\nage = 40\nweight = "70 kg"\n', encoding="utf-8")
    docs = [
        run(meso, "--indication", "skin-rejuvenation", "--patient", str(as_json), "--json").json(),
        run(meso, "--indication", "skin-rejuvenation", "--patient", str(as_toml), "--json").json(),
        run(meso, "--indication", "skin-rejuvenation", "--patient", "-", "--json",
            input=as_json.read_text(encoding="utf-8")).json(),
        run(meso, "--indication", "skin-rejuvenation", "--allergy", "lidocaine", "--age", "40", "--weight", "70 kg",
            "--json").json(),
    ]
    for doc in docs:
        assert doc["status"] == "ok"
        assert "lidocaine" not in {s["id"] for sy in doc["syringes"] for c in sy["components"] for s in c["substances"]}
    assert docs[0] == docs[1] == docs[2] == docs[3]


@pytest.mark.parametrize("args", [
    ("--allergy", "lidocain"),
    ("--condition", "no-such-condition"),
    ("--weight", "70"),
    ("--weight", "70 mL"),
    ("--age", "200"),
    ("--patient", "/no/such/file.json"),
    ("--treatment-area", "25 cm"),
])
def test_bad_patient_or_area_input_is_exit_2(meso, args):
    out = run(meso, "--indication", "hair-loss", *args)
    assert out.exit_code == 2
    assert out.stderr.startswith("meso: error:") or "Error" in out.stderr


# ----------------------------------------------------------------------------- input errors
def test_no_volume_where_protocol_has_none_plans_one_syringe(meso):
    out = run(meso, "--indication", "hyperpigmentation")
    assert out.exit_code == 0
    assert "formula for one standard syringe" in out.stdout
    assert "Largest session volume" in out.stdout
    doc = run(meso, "--indication", "hyperpigmentation", "--json").json()
    assert doc["plan"]["basis"] == "one-syringe"
    assert doc["plan"]["max_session_volume"]["unit"] == "mL"


@pytest.mark.parametrize("volume", ["4 kg", "-1 mL", "abc", "0 mL", "2", "nan mL", "101 mL", "2 % w/v"])
def test_bad_volume_is_exit_2(meso, volume):
    out = run(meso, "--indication", "hair-loss", "--volume", volume)
    assert out.exit_code == 2, (volume, out.stdout)
    assert "--volume" in out.stderr
    assert out.stdout == ""


def test_unknown_indication_suggests(meso):
    out = run(meso, "--indication", "hair-los")
    assert out.exit_code == 2
    assert "hair-loss" in out.stderr and "did you mean" in out.stderr


def test_unknown_area_suggests(meso):
    out = run(meso, "--indication", "hair-loss", "--area", "scalpp")
    assert out.exit_code == 2
    assert "scalp" in out.stderr


@pytest.mark.parametrize("args", [
    ("--format", "xml"),
    ("--max-products", "0"),
    ("--max-products", "two"),
])
def test_bad_options_are_exit_2(meso, args):
    out = run(meso, "--indication", "hair-loss", *args)
    assert out.exit_code == 2


def test_indication_is_required(meso):
    out = run(meso)
    assert out.exit_code == 2
    assert "--indication" in out.stderr


# ----------------------------------------------------------------------------- help examples
def _help_examples() -> list[list[str]]:
    import shlex

    from typer.testing import CliRunner

    from mesocli.cli.app import app

    text = CliRunner().invoke(app, ["build", "--help"]).output
    return [shlex.split(line.strip())[2:] for line in text.splitlines() if line.strip().startswith("meso build ")]


def test_help_lists_examples():
    """``meso build --help`` shows at least three runnable examples, the main job first."""
    examples = _help_examples()
    assert len(examples) >= 3
    assert examples[0] == ["--indication", "hair-loss"]


@pytest.mark.parametrize("args", _help_examples(), ids=lambda a: " ".join(a)[:40])
def test_help_examples_run(meso, tmp_path, monkeypatch, args):
    """Every example printed by ``meso build --help`` runs without a usage or input error."""
    monkeypatch.chdir(tmp_path)
    out = run(meso, *args)
    assert out.exit_code in (0, 1), out.stderr


# ----------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("fmt", ["json", "table", "markdown"])
def test_byte_identical_runs(meso, fmt):
    args = ("--indication", "skin-rejuvenation", "--allergy", "parabens", "--medication", "warfarin",
            "--weight", "72 kg", "--explain", "--format", fmt)
    first = run(meso, *args)
    second = run(meso, *args)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout


def test_byte_identical_across_processes(tmp_path):
    """Set iteration order changes with the hash seed; the output must not."""
    args = [sys.executable, "-m", "mesocli", "build", "--indication", "hair-loss", "--allergy", "parabens",
            "--allergy", "soy", "--weight", "70 kg", "--json"]
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "NO_COLOR": "1", "MESO_HOME": str(tmp_path / seed)}
        env.pop("MESO_DATABASE_URL", None)
        done = subprocess.run(args, capture_output=True, env=env, timeout=120, cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
