"""The command-line contract of ``meso check``: JSON document, exit codes, inputs (patient and
recipe files, stdin), human report, and how every invalid input is refused (exit 2, one line on
stderr, the error document on stdout with --json, never a traceback)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

# Every command here runs on the shipped SQLite file and on PostgreSQL (see conftest.backend).
pytestmark = pytest.mark.usefixtures("backend")

FINDING_KINDS = {
    "allergy",
    "condition",
    "medication",
    "age",
    "fit",
    "regulatory",
    "incompatibility",
    "dose",
    "vehicle",
    "protocol",
    "sex",
    "advisory",
    "evidence",
}
SEVERITIES = {"info", "caution", "contraindicated"}
STATUSES = {"ok", "caution", "contraindicated"}
RANK = {"info": 1, "caution": 2, "contraindicated": 3}


# ------------------------------------------------------------------------------ helpers
def assert_no_traceback(outcome) -> None:  # type: ignore[no-untyped-def]
    text = outcome.stdout + outcome.stderr
    assert "Traceback" not in text and 'File "' not in text, text[-2000:]


def assert_check_document(doc: dict[str, Any], catalogue) -> None:  # type: ignore[no-untyped-def]
    """Every key and value domain the check contract promises."""
    assert doc["schema_version"] == 1
    assert doc["kind"] == "check"
    assert doc["status"] in STATUSES
    assert isinstance(doc["findings"], list)
    assert isinstance(doc["alternatives"], list)
    known = set(catalogue.products) | set(catalogue.substances)
    for f in doc["findings"]:
        assert {"severity", "kind", "subject", "trigger", "message", "sources"} <= set(f), f
        assert f["severity"] in SEVERITIES, f
        assert f["kind"] in FINDING_KINDS, f
        assert f["subject"] == "procedure" or f["subject"] in known, f
        assert isinstance(f["trigger"], str) and f["trigger"], f
        assert isinstance(f["message"], str) and f["message"].strip(), f
        assert isinstance(f["sources"], list) and f["sources"], f
        assert all(isinstance(s, str) and s.strip() for s in f["sources"]), f
    for alternative in doc["alternatives"]:
        assert {"for", "use"} <= set(alternative), alternative
        assert alternative["for"] in known
        assert isinstance(alternative["use"], list)
        assert all(u in known for u in alternative["use"]), alternative
    worst = max((RANK[f["severity"]] for f in doc["findings"]), default=0)
    assert doc["status"] == {3: "contraindicated", 2: "caution"}.get(worst, "ok")
    # Unknown is never "ok": the verdict says when something could not be assessed, and names it.
    unassessed = [f for f in doc["findings"] if f.get("unassessed")]
    assert doc["fully_assessed"] is (not unassessed)
    assert doc["verdict"].startswith("Verdict: ")
    if doc["screened"]:
        return
    assert ("Not everything could be assessed" in doc["verdict"]) is bool(unassessed), doc["verdict"]
    for f in unassessed:
        assert f["unassessed"] in doc["verdict"], (f, doc["verdict"])
    assert not (unassessed and "Verdict: OK" in doc["verdict"]), doc["verdict"]


def assert_input_error(outcome, *needles: str, as_json: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Exit 2, one line on stderr naming the problem; with --json the error document."""
    assert_no_traceback(outcome)
    assert outcome.exit_code == 2, (outcome.exit_code, outcome.stdout[:500], outcome.stderr)
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    if as_json:
        doc = json.loads(outcome.stdout)
        assert doc["schema_version"] == 1
        assert doc["kind"] == "error"
        assert doc["code"] == 2
        assert isinstance(doc["message"], str)
        for needle in needles:
            assert needle in doc["message"], (needle, doc["message"])


def findings(doc: dict[str, Any], **match: Any) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if all(f.get(k) == v for k, v in match.items())]


def write(tmp_path, name: str, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------------ JSON contract
CONTRACT_RUNS = {
    "screen-allergy": ["--allergy", "lidocaine"],
    "screen-pregnancy-warfarin-minor": [
        "--condition",
        "pregnancy",
        "--medication",
        "warfarin",
        "--age",
        "16",
    ],
    "direct-many-findings": [
        "--allergy",
        "sulfites",
        "--condition",
        "heart-block",
        "--age",
        "17",
        "--ingredient",
        "lidocaine-1pct-epinephrine",
        "--ingredient",
        "thiamine-100mg-ml",
        "--ingredient",
        "ha-nonxl-booster",
        "--ingredient",
        "vitamin-a-oily",
        "--indication",
        "hair-loss",
        "--area",
        "scalp",
    ],
    "direct-regulatory": ["--ingredient", "buflomedil-injection", "--ingredient", "argireline-serum"],
    "nothing-at-all": ["--ingredient", "biotin-0-5mg-ml"],
}


@pytest.mark.parametrize("args", list(CONTRACT_RUNS.values()), ids=list(CONTRACT_RUNS))
def test_json_contract_keys_and_value_domains(meso, catalogue, args) -> None:
    outcome = meso("check", *args, "--json")
    assert_no_traceback(outcome)
    assert outcome.exit_code in (0, 1)
    doc = outcome.json()
    assert_check_document(doc, catalogue)
    assert outcome.exit_code == (1 if doc["status"] == "contraindicated" else 0)
    assert outcome.stderr == ""


def test_json_contract_with_a_recipe(meso, catalogue, tmp_path) -> None:
    recipe = {
        "syringes": [
            {
                "components": [
                    {"id": "lidocaine-2pct-sd", "volume": "20 mL"},
                    {"substances": [{"id": "ascorbic-acid", "concentration": "30 mg/mL"}], "volume": "1 mL"},
                    {"id": "ha-nonxl-booster", "volume": "1 mL"},
                ]
            },
            {"components": [{"id": "deoxycholic-acid-10mg-ml", "volume": "6 mL"}]},
        ],
        "protocol": {"sessions": 8, "interval": "14 day", "points": 60, "volume_per_point": "0.3 mL"},
    }
    outcome = meso(
        "check",
        "--recipe",
        write(tmp_path, "r.json", json.dumps(recipe)),
        "--weight",
        "60 kg",
        "--treatment-area",
        "25 cm^2",
        "--indication",
        "submental-fat",
        "--json",
    )
    doc = outcome.json()
    assert_check_document(doc, catalogue)
    kinds = {f["kind"] for f in doc["findings"]}
    assert {"dose", "protocol", "incompatibility", "fit"} <= kinds
    assert findings(doc, kind="dose", subject="lidocaine-2pct-sd", severity="contraindicated")
    assert findings(doc, kind="incompatibility", subject="ascorbic-acid", trigger="ha-nonxl-booster")
    assert outcome.exit_code == 1


def test_every_finding_kind_can_be_produced_through_the_cli(meso, catalogue, tmp_path) -> None:
    """One run per kind; together they cover the whole kind vocabulary of the contract."""
    recipe = write(
        tmp_path,
        "dca.json",
        json.dumps(
            {
                "components": [{"id": "deoxycholic-acid-10mg-ml", "volume": "8 mL"}],
                "protocol": {"sessions": 9},
            }
        ),
    )
    runs = {
        "allergy": ["--allergy", "lidocaine", "--ingredient", "lidocaine-1pct-sd"],
        "condition": ["--condition", "pregnancy", "--ingredient", "biotin-0-5mg-ml"],
        "medication": ["--medication", "warfarin", "--ingredient", "biotin-0-5mg-ml"],
        "age": ["--age", "16", "--ingredient", "biotin-0-5mg-ml"],
        "fit": ["--indication", "hair-loss", "--ingredient", "ha-nonxl-booster"],
        "regulatory": ["--ingredient", "buflomedil-injection"],
        "incompatibility": ["--ingredient", "ascorbic-acid-500mg-ml", "--ingredient", "ha-nonxl-booster"],
        "dose": ["--recipe", recipe, "--treatment-area", "25 cm^2"],
        "vehicle": ["--ingredient", "vitamin-a-oily"],
        "protocol": ["--recipe", recipe, "--treatment-area", "25 cm^2"],
        "sex": ["--sex", "female", "--ingredient", "dutasteride-0-01pct"],
        "advisory": ["--ingredient", "biotin-0-5mg-ml"],
        "evidence": ["--ingredient", "centella-extract-injection"],
    }
    assert set(runs) == FINDING_KINDS
    for kind, args in runs.items():
        doc = meso("check", *args, "--json").json()
        assert_check_document(doc, catalogue)
        assert findings(doc, kind=kind), (kind, doc["findings"])


def test_alternatives_in_the_json_document(meso, catalogue) -> None:
    doc = meso("check", "--allergy", "lidocaine", "--json").json()
    alternatives = {a["for"]: a["use"] for a in doc["alternatives"]}
    assert "procaine-injection" in alternatives["lidocaine-1pct-sd"]
    assert doc["status"] == "contraindicated"
    avoided = {f["subject"] for f in doc["findings"] if f["severity"] == "contraindicated"}
    assert {"lidocaine-1pct-sd", "restylane-vital-lidocaine", "mepivacaine"} <= avoided
    assert "procaine-injection" not in avoided
    for use in alternatives.values():
        assert not set(use) & avoided


# ------------------------------------------------------------------------------ exit codes
def test_exit_0_when_nothing_is_found(meso) -> None:
    outcome = meso("check", "--ingredient", "biotin-0-5mg-ml", "--json")
    assert outcome.exit_code == 0
    assert outcome.json()["status"] == "ok"


def test_exit_1_on_a_contraindication(meso) -> None:
    outcome = meso("check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine", "--json")
    assert outcome.exit_code == 1
    assert outcome.json()["status"] == "contraindicated"
    assert meso("check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine").exit_code == 1


def test_caution_only_exits_0_by_default_and_1_with_fail_on_caution(meso) -> None:
    args = ("check", "--allergy", "fish", "--ingredient", "pdrn-injection", "--json")
    default = meso(*args)
    assert default.json()["status"] == "caution"
    assert default.exit_code == 0
    assert meso(*args, "--fail-on", "caution").exit_code == 1
    assert meso(*args, "--fail-on", "contraindicated").exit_code == 0


def test_info_only_does_not_fail_even_with_fail_on_caution(meso) -> None:
    outcome = meso(
        "check",
        "--indication",
        "hair-loss",
        "--ingredient",
        "minoxidil-0-5pct",
        "--age",
        "40",
        "--allergy",
        "lidocaine",
        "--fail-on",
        "caution",
        "--json",
    )
    doc = outcome.json()
    assert {f["severity"] for f in doc["findings"]} <= {"info", "caution"}
    expected = 1 if findings(doc, severity="caution") else 0
    assert outcome.exit_code == expected
    info_only = meso(
        "check",
        "--indication",
        "hair-loss",
        "--ingredient",
        "biotin-0-5mg-ml",
        "--fail-on",
        "caution",
        "--json",
    )
    assert {f["severity"] for f in info_only.json()["findings"]} == {"info"}
    assert info_only.exit_code == 0


def test_fail_on_must_be_caution_or_contraindicated(meso) -> None:
    assert_input_error(meso("check", "--fail-on", "info", "--json"), "--fail-on", "info")


def test_exit_3_when_the_database_is_unavailable(meso, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MESO_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'nothing.sqlite'}")
    outcome = meso("check", "--allergy", "lidocaine", "--json")
    assert_no_traceback(outcome)
    assert outcome.exit_code == 3
    doc = outcome.json()
    assert (doc["schema_version"], doc["kind"], doc["code"]) == (1, "error", 3)
    assert len(outcome.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ patient input
PATIENT = {
    "allergies": ["amide local anaesthetics"],
    "conditions": ["g6pd"],
    "medications": ["coumadin"],
    "age": 45,
    "weight": "70 kg",
}
PATIENT_TOML = """\
allergies = ["amide local anaesthetics"]
conditions = ["g6pd"]
medications = ["coumadin"]
age = 45
weight = "70 kg"
"""


def _assert_patient_applied(doc: dict[str, Any]) -> None:
    assert findings(doc, kind="allergy", subject="restylane-vital-lidocaine", severity="contraindicated")
    assert findings(
        doc,
        kind="medication",
        subject="restylane-vital-lidocaine",
        trigger="warfarin",
        severity="contraindicated",
    )
    assert findings(doc, kind="condition", subject="ascorbic-acid-500mg-ml", trigger="g6pd-deficiency")
    assert not findings(doc, kind="age")  # age 45 is given


@pytest.mark.parametrize("source", ["json-file", "toml-file", "json-stdin", "toml-stdin", "json-file-no-ext"])
def test_patient_file_json_toml_and_stdin(meso, tmp_path, source) -> None:
    text = PATIENT_TOML if "toml" in source else json.dumps(PATIENT)
    base = [
        "check",
        "--ingredient",
        "restylane-vital-lidocaine",
        "--ingredient",
        "ascorbic-acid-500mg-ml",
        "--json",
    ]
    if source.endswith("stdin"):
        outcome = meso(*base, "--patient", "-", input=text)
    else:
        name = {"json-file": "p.json", "toml-file": "p.toml", "json-file-no-ext": "patient"}[source]
        outcome = meso(*base, "--patient", write(tmp_path, name, text))
    assert_no_traceback(outcome)
    assert outcome.exit_code == 1, outcome.stderr
    _assert_patient_applied(outcome.json())


def test_patient_file_and_options_add_up(meso, tmp_path) -> None:
    path = write(tmp_path, "p.json", json.dumps({"allergies": ["sulfites"], "age": 40}))
    doc = meso(
        "check",
        "--patient",
        path,
        "--allergy",
        "parabens",
        "--age",
        "16",
        "--json",
        "--ingredient",
        "lidocaine-1pct-epinephrine-md",
    ).json()
    assert findings(doc, kind="allergy", trigger="sulfites")
    assert findings(doc, kind="allergy", trigger="parabens")
    assert findings(doc, kind="age", subject="procedure")  # the option overrides the file's age


@pytest.mark.parametrize(
    "text, needle",
    [
        ('{"allergies": ["lidocaine"], "smoker": true}', "smoker"),
        ('{"allergies": "lidocaine"}', "allergies"),
        ('{"age": "sixteen"}', "age"),
        ('{"age": 16.5}', "age"),
        ('{"age": 200}', "age"),
        ('{"weight": 70}', "weight"),
        ('{"weight": "70 mL"}', "weight"),
        ('{"allergies": ["lidocane"]}', "lidocane"),
        ("[1, 2, 3]", "patient"),
        ('{"allergies": [', "--patient"),
    ],
)
def test_invalid_patient_documents_are_refused(meso, text, needle) -> None:
    assert_input_error(meso("check", "--patient", "-", "--json", input=text), needle)


def test_missing_patient_file(meso, tmp_path) -> None:
    missing = str(tmp_path / "nobody.json")
    assert_input_error(meso("check", "--patient", missing, "--json"), "nobody.json")


# ------------------------------------------------------------------------------ recipe input
HAND_SHAPE = {
    "syringes": [
        {
            "components": [
                {"id": "deoxycholic-acid-10mg-ml", "volume": "2 mL"},
                {"substances": [{"id": "lidocaine", "concentration": "10 mg/mL"}], "volume": "1 mL"},
            ]
        }
    ]
}
BARE_SHAPE = {"components": HAND_SHAPE["syringes"][0]["components"]}


def _assert_recipe_applied(doc: dict[str, Any]) -> None:
    assert doc["checked"] == ["deoxycholic-acid-10mg-ml", "lidocaine"]
    assert findings(
        doc,
        kind="incompatibility",
        subject="deoxycholic-acid-10mg-ml",
        trigger="lidocaine",
        severity="contraindicated",
    )


@pytest.mark.parametrize("shape", ["hand", "bare"])
@pytest.mark.parametrize("source", ["file", "stdin"])
def test_recipe_from_file_and_stdin_in_both_shapes(meso, tmp_path, shape, source, catalogue) -> None:
    text = json.dumps(HAND_SHAPE if shape == "hand" else BARE_SHAPE)
    if source == "stdin":
        outcome = meso("check", "--recipe", "-", "--json", input=text)
    else:
        outcome = meso("check", "--recipe", write(tmp_path, "recipe.json", text), "--json")
    assert_no_traceback(outcome)
    assert outcome.exit_code == 1
    doc = outcome.json()
    assert_check_document(doc, catalogue)
    _assert_recipe_applied(doc)


def test_recipe_in_the_shape_meso_build_writes(meso, tmp_path) -> None:
    """Descriptive keys (name, purpose, substances beside an id, amounts) are ignored; the
    protocol's {min, max} objects are read."""
    built = {
        "schema_version": 1,
        "kind": "recipe",
        "status": "ok",
        "indication": "submental-fat",
        "area": "submental",
        "syringes": [
            {
                "components": [
                    {
                        "id": "deoxycholic-acid-10mg-ml",
                        "name": "Deoxycholic acid injection 10 mg/mL",
                        "volume": {"value": 4, "unit": "mL"},
                        "purpose": "active",
                        "reason": "principal",
                        "substances": [
                            {
                                "id": "deoxycholic-acid",
                                "role": "active",
                                "concentration": {"value": 10, "unit": "mg/mL"},
                                "amount": {"value": 40, "unit": "mg"},
                            }
                        ],
                    }
                ],
                "total_volume": {"value": 4, "unit": "mL"},
                "points": 20,
                "volume_per_point": {"value": 0.2, "unit": "mL"},
            }
        ],
        "protocol": {
            "sessions": {"min": None, "max": 8},
            "interval": {"min": {"value": 21, "unit": "d"}, "max": None},
            "volume_per_point": {"value": 0.2, "unit": "mL"},
            "points": 20,
        },
        "findings": [],
    }
    outcome = meso(
        "check",
        "--recipe",
        write(tmp_path, "built.json", json.dumps(built)),
        "--treatment-area",
        "25 cm^2",
        "--json",
    )
    doc = outcome.json()
    assert doc["checked"] == ["deoxycholic-acid-10mg-ml"]
    assert findings(doc, kind="fit", subject="deoxycholic-acid-10mg-ml", trigger="submental-fat")
    assert findings(doc, kind="protocol", subject="deoxycholic-acid-10mg-ml", severity="contraindicated")
    assert findings(doc, kind="protocol", subject="procedure", trigger="sessions")
    assert findings(doc, kind="protocol", subject="procedure", trigger="interval")
    assert not findings(doc, kind="dose")  # 40 mg on 25 cm2, 20 points of 0.2 mL: within the label


def test_recipe_written_by_meso_build_round_trips(meso) -> None:
    built = meso("build", "--indication", "hair-loss", "--json")
    assert built.exit_code == 0, built.stderr
    outcome = meso("check", "--recipe", "-", "--json", input=built.stdout)
    assert_no_traceback(outcome)
    assert outcome.exit_code == 0, outcome.stdout[:2000]
    ids = [c["id"] for s in built.json()["syringes"] for c in s["components"]]
    assert outcome.json()["checked"] == list(dict.fromkeys(ids))


def test_patient_and_recipe_cannot_both_read_stdin(meso) -> None:
    assert_input_error(
        meso("check", "--patient", "-", "--recipe", "-", "--json", input="{}"), "standard input"
    )


def test_ingredients_and_recipe_are_exclusive(meso, tmp_path) -> None:
    path = write(tmp_path, "r.json", json.dumps(BARE_SHAPE))
    assert_input_error(meso("check", "--recipe", path, "--ingredient", "biotin", "--json"), "recipe")


@pytest.mark.parametrize(
    "text",
    [
        "{",
        '{"components": [',
        "{'components': []}",
        '{"components": [{"id": "biotin-0-5mg-ml",}]}',
    ],
)
def test_malformed_json_recipe_file(meso, tmp_path, text) -> None:
    path = write(tmp_path, "bad.json", text)
    assert_input_error(meso("check", "--recipe", path, "--json"), "bad.json", "JSON")


@pytest.mark.parametrize(
    "text, needle",
    [
        ("{", "--recipe"),
        ("", "empty"),
        ('"just text"', "recipe"),
        ("[]", "recipe"),
        ('{"syringes": []}', "syringes"),
        ('{"components": []}', "components"),
        ('{"recipe": {}}', "recipe"),
        ('{"kind": "check", "components": [{"id": "biotin-0-5mg-ml"}]}', "check"),
        ('{"status": "refused", "syringes": []}', "refused"),
        ('{"components": [{"volume": "1 mL"}]}', "component 1"),
        ('{"components": [{"id": 7}]}', "id"),
        ('{"components": [{"id": "biotin-0-5mg-ml", "volume": NaN}]}', "NaN"),
        (
            '{"components": [{"id": "biotin-0-5mg-ml", "volume": "1 mL"}], "protocol": {"sessions": 0}}',
            "sessions",
        ),
        (
            '{"components": [{"id": "biotin-0-5mg-ml", "volume": "1 mL"}], "protocol": {"points": "5"}}',
            "points",
        ),
        (
            '{"components": [{"id": "biotin-0-5mg-ml", "volume": "1 mL"}],'
            ' "protocol": {"interval": "14 kg"}}',
            "interval",
        ),
    ],
)
def test_malformed_recipes_on_stdin(meso, text, needle) -> None:
    assert_input_error(meso("check", "--recipe", "-", "--json", input=text), needle)


# ------------------------------------------------------------------------------ human output
def _section(text: str, heading: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(heading))
    end = next((j for j in range(start + 1, len(lines)) if not lines[j].strip()), len(lines))
    return "\n".join(lines[start:end])


def test_human_screen_for_a_lidocaine_allergy(meso) -> None:
    outcome = meso("check", "--allergy", "lidocaine")
    assert_no_traceback(outcome)
    assert outcome.exit_code == 1
    text = outcome.stdout
    avoid = _section(text, "Avoid")
    for subject in ("lidocaine-1pct-sd", "restylane-vital-lidocaine", "mepivacaine"):
        assert subject in avoid
    assert "procaine-injection" not in avoid
    alternatives = _section(text, "Alternatives")
    assert "procaine-injection" in alternatives
    assert "lidocaine-1pct-sd" in alternatives
    verdicts = [line for line in text.splitlines() if "Verdict:" in line]
    assert len(verdicts) == 1
    assert "decision support" in text
    assert outcome.stderr == ""


def test_human_screen_has_a_caution_section(meso) -> None:
    text = meso("check", "--allergy", "parabens").stdout
    avoid = _section(text, "Avoid")
    assert "lidocaine-2pct-md-methylparaben" in avoid
    caution = _section(text, "Use with caution")
    assert "procaine-injection" in caution
    assert "Verdict:" in text and "decision support" in text


def test_human_check_gives_what_why_instead_and_source(meso, catalogue) -> None:
    outcome = meso("check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine")
    text = outcome.stdout
    doc = meso(
        "check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine", "--json"
    ).json()
    [finding] = findings(doc, kind="allergy")
    assert "restylane-vital-lidocaine" in text
    assert finding["message"] in text  # why
    assert finding["advice"] in text  # what to do instead
    # the source, by title or URL
    source = finding["sources"][0]
    url = re.search(r"<(\S+)>", source)
    assert (url and url.group(1) in text) or source in text
    assert "Verdict:" in text and "decision support" in text


def test_human_ok_verdict(meso) -> None:
    outcome = meso("check", "--ingredient", "biotin-0-5mg-ml")
    assert outcome.exit_code == 0
    verdict = [line for line in outcome.stdout.splitlines() if "Verdict:" in line]
    assert len(verdict) == 1 and "OK" in verdict[0].upper()
    assert "decision support" in outcome.stdout


# ------------------------------------------------------------------------------ names
@pytest.mark.parametrize(
    "args, term, suggestion",
    [
        (["--allergy", "lidocane"], "lidocane", "lidocaine"),
        (["--allergy", "parabenz"], "parabenz", "parabens"),
        (["--condition", "pregnnancy"], "pregnnancy", "pregnancy"),
        (["--medication", "warfrin"], "warfrin", "warfarin"),
        (["--medication", "anticoagulent"], "anticoagulent", "anticoagulant"),
        (["--ingredient", "lidocaine-2pct-sdx"], "lidocaine-2pct-sdx", "lidocaine-2pct-sd"),
        (["--ingredient", "biotin", "--indication", "hair-los"], "hair-los", "hair-loss"),
        (["--ingredient", "biotin", "--area", "scalpp"], "scalpp", "scalp"),
    ],
)
def test_unknown_terms_exit_2_with_a_suggestion(meso, args, term, suggestion) -> None:
    assert_input_error(meso("check", *args, "--json"), term, suggestion)
    human = meso("check", *args)
    assert_input_error(human, term, suggestion, as_json=False)
    assert human.stdout == ""


@pytest.mark.parametrize(
    "component, term, suggestion",
    [
        ({"id": "profilo"}, "profilo", "profhilo"),
        ({"substances": [{"id": "lidocane"}]}, "lidocane", "lidocaine"),
    ],
)
def test_unknown_terms_in_a_recipe(meso, component, term, suggestion) -> None:
    text = json.dumps({"components": [component]})
    assert_input_error(meso("check", "--recipe", "-", "--json", input=text), term, suggestion)


@pytest.mark.parametrize(
    "args",
    [
        ["--allergy", "LIDOCAINE", "--ingredient", "RESTYLANE-VITAL-LIDOCAINE"],
        ["--allergy", "  Amide LA ", "--ingredient", "restylane skinboosters vital lidocaine"],
        ["--allergy", "lignocaine", "--ingredient", "restylane_vital_lidocaine"],
    ],
)
def test_names_resolve_by_id_name_alias_case_insensitively(meso, args) -> None:
    doc = meso("check", *args, "--json").json()
    assert findings(doc, kind="allergy", subject="restylane-vital-lidocaine", severity="contraindicated")


def test_empty_allergy_is_refused(meso) -> None:
    assert_input_error(meso("check", "--allergy", "", "--json"), "allergy")


# ------------------------------------------------------------------------------ units
@pytest.mark.parametrize(
    "weight, needles",
    [
        ("70 mL", ("weight", "mL")),
        ("-5 kg", ("weight", "-5")),
        ("nan kg", ("weight", "nan")),
        ("1e309 kg", ("weight", "finite")),
        ("inf kg", ("weight", "finite")),
        ("70 blorbs", ("weight", "blorbs")),
        ("70", ("weight", "unit")),
        ("0 kg", ("weight", "0")),
        ("seventy kg", ("weight", "seventy")),
        ("5000 kg", ("weight", "5000")),
    ],
)
def test_bad_weight_exits_2_naming_the_value(meso, weight, needles) -> None:
    assert_input_error(
        meso("check", "--weight", weight, "--ingredient", "lidocaine-1pct-sd", "--json"), *needles
    )


@pytest.mark.parametrize(
    "area, needles",
    [
        ("25 kg", ("treatment area", "kg")),
        ("25 cm", ("treatment area", "cm")),
        ("-25 cm^2", ("treatment area", "-25")),
        ("nan cm^2", ("treatment area", "nan")),
        ("25 blorbs", ("treatment area", "blorbs")),
    ],
)
def test_bad_treatment_area_exits_2(meso, area, needles) -> None:
    outcome = meso("check", "--treatment-area", area, "--ingredient", "deoxycholic-acid-10mg-ml", "--json")
    assert_input_error(outcome, *needles)


@pytest.mark.parametrize(
    "component, needles",
    [
        ({"id": "lidocaine-2pct-sd", "volume": "0 mL"}, ("volume", "0")),
        ({"id": "lidocaine-2pct-sd", "volume": "-1 mL"}, ("volume", "-1")),
        ({"id": "lidocaine-2pct-sd", "volume": "2 mg"}, ("volume", "mg")),
        ({"id": "lidocaine-2pct-sd", "volume": "nan mL"}, ("volume", "nan")),
        ({"id": "lidocaine-2pct-sd", "volume": "1e999 mL"}, ("volume", "finite")),
        ({"id": "lidocaine-2pct-sd", "volume": "2 blorbs"}, ("volume", "blorbs")),
        ({"id": "lidocaine-2pct-sd", "volume": 2}, ("volume", "unit")),
        (
            {"substances": [{"id": "lidocaine", "concentration": "1.5 g/100 mL"}], "volume": "1 mL"},
            ("concentration", "g/100 mL"),
        ),
        (
            {"substances": [{"id": "lidocaine", "concentration": "2 %"}], "volume": "1 mL"},
            ("concentration", "%"),
        ),
        (
            {"substances": [{"id": "lidocaine", "concentration": "2 % v/v"}], "volume": "1 mL"},
            ("concentration", "v/v"),
        ),
        (
            {"substances": [{"id": "lidocaine", "concentration": "20 mg"}], "volume": "1 mL"},
            ("concentration", "mg"),
        ),
        (
            {"substances": [{"id": "lidocaine", "concentration": "0 mg/mL"}], "volume": "1 mL"},
            ("concentration", "0"),
        ),
    ],
)
def test_bad_recipe_quantities_exit_2_naming_the_value(meso, component, needles) -> None:
    text = json.dumps({"components": [component]})
    assert_input_error(meso("check", "--recipe", "-", "--json", input=text), *needles)


@pytest.mark.parametrize(
    "concentration", ["2 % w/v", "20 mg/mL", "2 g/(100 mL)", {"value": 20, "unit": "mg/mL"}, "0.02 g/mL"]
)
def test_equivalent_concentrations_give_the_same_dose(meso, concentration) -> None:
    text = json.dumps(
        {
            "components": [
                {"substances": [{"id": "lidocaine", "concentration": concentration}], "volume": "20 mL"}
            ]
        }
    )
    doc = meso("check", "--recipe", "-", "--weight", "60 kg", "--json", input=text).json()
    [dose] = findings(doc, kind="dose", subject="lidocaine")
    assert "400 mg" in dose["message"] and "270 mg" in dose["message"]


@pytest.mark.parametrize("unit", ["IU/mL", "USP/mL"])
def test_activity_units_for_a_mass_dosed_substance_are_refused(meso, unit) -> None:
    text = json.dumps(
        {
            "components": [
                {"substances": [{"id": "lidocaine", "concentration": f"1000 {unit}"}], "volume": "1 mL"}
            ]
        }
    )
    outcome = meso("check", "--recipe", "-", "--weight", "60 kg", "--json", input=text)
    assert_input_error(outcome, "lidocaine", "concentration")


def test_mixed_activity_and_mass_amounts_of_one_substance_are_refused(meso) -> None:
    text = json.dumps(
        {
            "components": [
                {"substances": [{"id": "biotin", "concentration": "1000 IU/mL"}], "volume": "1 mL"},
                {"id": "biotin-0-5mg-ml", "volume": "1 mL"},
            ]
        }
    )
    assert_input_error(meso("check", "--recipe", "-", "--json", input=text), "biotin")


# ------------------------------------------------------------------------------ nothing is ignored
@pytest.mark.parametrize(
    "args, needle",
    [
        pytest.param(["--recipe", "NULL_FILE"], "recipe", id="recipe-file-null"),
        pytest.param(["--recipe", ""], "recipe", id="recipe-empty-path"),
        pytest.param(["--patient", ""], "patient", id="patient-empty-path"),
        pytest.param(
            ["--ingredient", "biotin-0-5mg-ml", "--indication", ""], "indication", id="indication-empty"
        ),
        pytest.param(["--ingredient", "deoxycholic-acid-10mg-ml", "--area", ""], "area", id="area-empty"),
    ],
)
def test_empty_or_null_inputs_are_refused_not_ignored(meso, tmp_path, args, needle) -> None:
    args = [write(tmp_path, "null.json", "null") if a == "NULL_FILE" else a for a in args]
    assert_input_error(meso("check", *args, "--json"), needle)


# ------------------------------------------------------------------------------ no traceback
ODD_INPUTS = [
    ["--allergy", "\x00\x1b[31m"],
    ["--allergy", "x" * 10_000],
    ["--ingredient", "🙂"],
    ["--age", "abc"],
    ["--age", "-1"],
    ["--age", "131"],
    ["--max-products", "0", "--ingredient", "biotin"],
    ["--max-products", "-3"],
    ["--weight", "1e-400 kg"],
    ["--weight", "70 kg/m"],
    ["--weight", "70 % w/v"],
    ["--treatment-area", "1e309 cm^2", "--ingredient", "deoxycholic-acid-10mg-ml"],
    ["--recipe", "/nonexistent/dir/recipe.json"],
    ["--no-such-option"],
]


@pytest.mark.parametrize("args", ODD_INPUTS, ids=[str(i) for i in range(len(ODD_INPUTS))])
def test_odd_inputs_exit_2_without_a_traceback(meso, args) -> None:
    outcome = meso("check", *args, "--json")
    assert_no_traceback(outcome)
    assert outcome.exit_code == 2, (args, outcome.stdout[:300], outcome.stderr)
    assert outcome.json()["kind"] == "error"
    assert outcome.stderr.strip()


def test_unknown_output_format_exits_2(meso) -> None:
    outcome = meso("check", "--format", "xml")
    assert_no_traceback(outcome)
    assert outcome.exit_code == 2 and "xml" in outcome.stderr


def test_huge_amounts_do_not_crash(meso) -> None:
    text = json.dumps(
        {
            "components": [
                {"substances": [{"id": "lidocaine", "concentration": "1e300 mg/mL"}], "volume": "1e300 mL"}
            ]
        }
    )
    outcome = meso("check", "--recipe", "-", "--weight", "60 kg", "--json", input=text)
    assert_no_traceback(outcome)
    assert outcome.exit_code in (1, 2)


def test_allergy_words_around_a_name_are_ignored(meso):
    """'paraben allergy' and 'allergic to lidocaine' resolve to the parabens group and to lidocaine."""
    out = meso("check", "--allergy", "paraben allergy", "--allergy", "allergic to lidocaine",
               "--ingredient", "lidocaine-2pct-md-methylparaben", "--json")
    triggers = {f["trigger"] for f in out.json()["findings"] if f["kind"] == "allergy"}
    assert out.exit_code == 1
    assert {"parabens", "lidocaine"} <= triggers


@pytest.mark.parametrize(("option", "name", "content", "expected"), [
    ("--patient", "p.json", '{"alergies": ["lidocaine"]}', "--patient {path}: unknown field(s) 'alergies'"),
    ("--patient", "p.json", '{"allergies": "lidocaine"}', "--patient {path} allergies: expected a list of names"),
    ("--recipe", "r.json", '{"syringes": []}', "--recipe {path}: 'syringes' must be a non-empty list"),
    ("--recipe", "r.json", '{"components": [{"id": 3}]}', "--recipe {path} syringe 1 component 1: 'id' must be text"),
])
def test_errors_inside_a_file_name_the_file(meso, tmp_path, option, name, content, expected) -> None:
    """A mistake in a patient or recipe file's content names that file, as read errors do."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    outcome = meso("check", option, str(path))
    assert outcome.exit_code == 2
    assert outcome.stderr.startswith("meso: error: " + expected.format(path=path)), outcome.stderr
    piped = meso("check", option, "-", input=content)
    assert piped.stderr.startswith("meso: error: " + expected.format(path="standard input")), piped.stderr


def test_protocol_counts_up_to_their_limits_are_checked_not_refused(meso, tmp_path) -> None:
    """10,000 points and 1,000 sessions are still read (the limits catch typing errors only)."""
    recipe = {"components": [{"id": "biotin-0-5mg-ml", "volume": "1 mL"}],
              "protocol": {"points": 10_000, "sessions": 1_000}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    assert meso("check", "--recipe", str(path), "--json").exit_code in (0, 1)
    recipe["protocol"]["points"] = 10_001
    path.write_text(json.dumps(recipe), encoding="utf-8")
    refused = meso("check", "--recipe", str(path))
    assert refused.exit_code == 2 and "points: 10001 is more than 10,000" in refused.stderr


# ------------------------------------------------------------------------------ unknown is never ok
def test_unknown_strength_is_never_ok_in_text_or_json(meso, catalogue) -> None:
    """A product of unknown strength used to read 'OK ... (no findings)'."""
    text = meso("check", "--ingredient", "organic-silicium").stdout
    assert "Verdict: OK" not in text and "no findings" not in text
    assert "Not everything could be assessed" in text and "strength of" in text
    doc = meso("check", "--ingredient", "organic-silicium", "--json").json()
    assert_check_document(doc, catalogue)
    assert doc["status"] == "caution" and doc["fully_assessed"] is False
    markdown = meso("check", "--ingredient", "organic-silicium", "--format", "markdown").stdout
    assert "Not everything could be assessed" in markdown


def test_only_info_unknowns_are_not_fully_assessed_rather_than_ok(meso, catalogue) -> None:
    doc = meso("check", "--ingredient", "levocarnitine-100mg-ml", "--json").json()
    assert_check_document(doc, catalogue)
    assert doc["status"] == "ok" and doc["fully_assessed"] is False
    assert doc["verdict"].startswith("Verdict: NOT FULLY ASSESSED")
    assert "levocarnitine-100mg-ml: market status unknown" in doc["verdict"]


def test_a_fully_known_item_is_ok_and_fully_assessed(meso, catalogue) -> None:
    doc = meso("check", "--ingredient", "thiamine-100mg-ml", "--json").json()
    assert_check_document(doc, catalogue)
    assert doc["status"] == "ok" and doc["fully_assessed"] is True
    assert doc["verdict"] == "Verdict: OK. No contraindication or caution found (no findings)."


def test_a_clinic_product_of_unknown_strength_from_an_import(meso, clinic_database, tmp_path) -> None:
    """A clinic's own product without a concentration, vehicle or status is checked as unknown on each."""
    rows = tmp_path / "clinic.toml"
    rows.write_text(
        '[[product]]\nid = "clinic-house-cocktail"\nname = "House cocktail"\nevidence = "vendor"\n'
        'sources = [{title = "House cocktail data sheet"}]\n\n'
        '[[product.component]]\nsubstance = "caffeine"\nrole = "active"\n',
        encoding="utf-8")
    imported = meso("catalogue", "import", str(rows))
    assert imported.exit_code == 0, imported.stderr
    doc = meso("check", "--ingredient", "clinic-house-cocktail", "--json").json()
    unknown = {f["unassessed"] for f in doc["findings"] if f.get("unassessed")}
    assert {"strength of Caffeine", "vehicle", "market status"} <= unknown, doc["findings"]
    assert doc["status"] == "caution" and doc["fully_assessed"] is False
    for what in ("strength of Caffeine", "vehicle", "market status"):
        assert what in doc["verdict"]
