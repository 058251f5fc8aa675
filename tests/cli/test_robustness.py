"""A corpus of bad input, each case run through meso's real command line.

Every case must end with exit 2 and exactly one ``meso: error:`` line on stderr that names the
problem, with no traceback anywhere, and must leave every database as it was: the shipped
catalogue file, and a writable copy selected through ``MESO_DATABASE_URL`` for the cases whose
text reaches SQL. A handful of cases, the huge and binary files among them, also run as a real
``python -m mesocli`` process, so that nothing escapes at the process level either.

Huge inputs are generated at test time; none is committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mesocli import config
from tests.conftest import skip_if_permissions_are_overridden

DIR = object()  # a files entry that makes a directory instead of a file
MB = 1024 * 1024
RECIPE = {"components": [{"id": "lidocaine-2pct-sd", "volume": "2 mL"}]}


def _recipe_with(**component: object) -> str:
    return json.dumps({"components": [{"id": "lidocaine-2pct-sd", "volume": "2 mL", **component}]})


def _mix(concentration: object) -> str:
    return json.dumps({"components": [{"substances": [{"id": "lidocaine", "concentration": concentration}],
                                       "volume": "1 mL"}]})


def _huge_text() -> bytes:
    """About 5 MB of printable text that is no document at all."""
    rng = random.Random(20240601)
    return "".join(rng.choice("abcdefghij {}[]:,\"\n") for _ in range(5 * MB)).encode()


def _huge_binary() -> bytes:
    """5 MB of random bytes (a NUL near the start, as any binary file has)."""
    return b"\x89PNG\r\n\x1a\n\x00" + random.Random(7).randbytes(5 * MB)


def _huge_patient() -> bytes:
    """A well-formed JSON patient of about 7 MB: far more allergies than meso accepts."""
    return json.dumps({"allergies": ["lidocaine"] * 600_000}).encode()


def _huge_batch_line() -> bytes:
    request = {"id": 1, "action": "check", "allergies": ["a" * (3 * MB)]}
    return (json.dumps(request) + "\n").encode()


@dataclass(frozen=True)
class Case:
    """One bad input: the arguments ({d} is the case's own directory) and what the message names."""

    id: str
    args: tuple[str, ...]
    needles: tuple[str, ...]
    files: dict[str, object] = field(default_factory=dict)  # name -> str | bytes | DIR | () -> bytes
    stdin: str | None = None
    copy: bool = False  # read from a writable copy of the catalogue (MESO_DATABASE_URL)
    code: int = 2


def _case(name: str, *args: str, needles: tuple[str, ...] | str, **kw: object) -> Case:
    return Case(name, args, (needles,) if isinstance(needles, str) else needles, **kw)  # type: ignore[arg-type]


CORPUS: list[Case] = [
    # ---------------------------------------------------------------- malformed documents
    _case("patient-json-malformed", "check", "--patient", "{d}/p.json", needles=("p.json", "not valid JSON"),
          files={"p.json": '{"allergies": ['}),
    _case("patient-json-trailing-comma", "check", "--patient", "{d}/p.json", needles=("p.json", "not valid JSON"),
          files={"p.json": '{"allergies": ["lidocaine"],}'}),
    _case("patient-toml-malformed", "check", "--patient", "{d}/p.toml", needles=("p.toml", "not valid TOML"),
          files={"p.toml": "allergies = ["}),
    _case("patient-toml-duplicate-table", "check", "--patient", "{d}/p.toml", needles=("p.toml", "TOML"),
          files={"p.toml": 'allergies = ["lidocaine"]\n[allergies]\n'}),
    _case("patient-yaml-is-neither", "check", "--patient", "{d}/p.yaml", needles=("p.yaml", "neither valid JSON"),
          files={"p.yaml": "allergies: [lidocaine]\n"}),
    _case("patient-json-nan-constant", "check", "--patient", "{d}/p.json", needles="NaN",
          files={"p.json": '{"age": NaN}'}),
    _case("patient-json-duplicate-key", "check", "--patient", "{d}/p.json", needles=("allergies", "twice"),
          files={"p.json": '{"allergies": ["lidocaine"], "allergies": []}'}),
    _case("patient-json-not-utf8", "check", "--patient", "{d}/p.json", needles=("p.json", "not UTF-8"),
          files={"p.json": b'{"allergies": ["caf\xe9"]}'}),
    _case("patient-stdin-malformed", "check", "--patient", "-", needles=("standard input", "neither valid JSON"),
          stdin="{allergies"),
    _case("recipe-json-malformed", "check", "--recipe", "{d}/r.json", needles=("r.json", "not valid JSON"),
          files={"r.json": '{"components": [{"id": "lidocaine-2pct-sd"'}),
    _case("recipe-toml-malformed", "check", "--recipe", "{d}/r.toml", needles=("r.toml", "not valid TOML"),
          files={"r.toml": "components = ["}),
    _case("recipe-json-duplicate-key", "check", "--recipe", "{d}/r.json", needles=("components", "twice"),
          files={"r.json": '{"components": [{"id": "lidocaine-2pct-sd"}], "components": []}'}),
    _case("recipe-json-deeply-nested", "check", "--recipe", "{d}/r.json", needles=("r.json", "nested too deeply"),
          files={"r.json": "[" * 100_000 + "]" * 100_000}),
    _case("batch-malformed-line", "batch", "{d}/b.ndjson", needles=("line 1", "not valid JSON"),
          files={"b.ndjson": "{bad\n"}),
    _case("batch-bad-second-line", "batch", "{d}/b.ndjson", needles=("line 2", "must be a JSON object"),
          files={"b.ndjson": '{"id": 1, "action": "check"}\n[1, 2]\n'}),
    _case("batch-nan-constant", "batch", "-", needles=("line 1", "NaN"),
          stdin='{"id": "a", "action": "check", "age": NaN}\n'),
    _case("batch-duplicate-key", "batch", "-", needles=("allergies", "twice"),
          stdin='{"id": "a", "action": "check", "allergies": ["lidocaine"], "allergies": []}\n'),
    # ---------------------------------------------------------------- wrong types
    _case("patient-allergies-is-text", "check", "--patient", "{d}/p.json", needles=("allergies", "list of names"),
          files={"p.json": '{"allergies": "lidocaine"}'}),
    _case("patient-allergy-entry-is-number", "check", "--patient", "{d}/p.toml", needles=("allergies", "name"),
          files={"p.toml": "allergies = [1, 2]"}),
    _case("patient-age-is-text", "check", "--patient", "{d}/p.toml", needles="age",
          files={"p.toml": 'age = "forty"'}),
    _case("patient-age-is-a-date", "check", "--patient", "{d}/p.toml", needles="age",
          files={"p.toml": "age = 1979-05-27"}),
    _case("patient-age-out-of-range", "check", "--patient", "{d}/p.json", needles=("age", "-1"),
          files={"p.json": '{"age": -1}'}),
    _case("patient-is-a-list", "check", "--patient", "{d}/p.json", needles=("patient", "expected an object"),
          files={"p.json": '["lidocaine"]'}),
    _case("patient-unknown-field", "check", "--patient", "{d}/p.json", needles=("unknown field", "allergy"),
          files={"p.json": '{"allergy": ["lidocaine"]}'}),
    _case("recipe-is-a-list", "check", "--recipe", "{d}/r.json", needles=("--recipe", "expected a JSON object"),
          files={"r.json": "[1, 2]"}),
    _case("recipe-syringes-is-text", "check", "--recipe", "{d}/r.json", needles="'syringes' must be",
          files={"r.json": '{"syringes": "one"}'}),
    _case("recipe-component-id-is-number", "check", "--recipe", "{d}/r.json", needles="'id' must be text",
          files={"r.json": '{"components": [{"id": 5}]}'}),
    _case("recipe-volume-is-a-list", "check", "--recipe", "{d}/r.json", needles=("volume", "got list"),
          files={"r.json": _recipe_with(volume=[2, "mL"])}),
    _case("recipe-protocol-points-fractional", "check", "--recipe", "{d}/r.json", needles="points",
          files={"r.json": json.dumps({**RECIPE, "protocol": {"points": 2.5}})}),
    _case("patient-json-number-with-5000-digits", "check", "--patient", "{d}/p.json",
          needles=("p.json", "thousands of digits"), files={"p.json": '{"age": ' + "9" * 5000 + "}"}),
    _case("recipe-protocol-points-absurd", "check", "--recipe", "{d}/r.json",
          needles=("points", "more than 10,000"),
          files={"r.json": json.dumps({**RECIPE, "protocol": {"points": 10**18}})}),
    _case("recipe-protocol-sessions-absurd", "check", "--recipe", "{d}/r.json",
          needles=("sessions", "more than 1,000"),
          files={"r.json": json.dumps({**RECIPE, "protocol": {"sessions": 50_000}})}),
    _case("batch-action-is-number", "batch", "-", needles="'action'", stdin='{"id": 1, "action": 5}\n'),
    _case("option-age-is-text", "check", "--age", "forty", needles=("--age", "valid int")),
    _case("option-max-products-is-text", "build", "--indication", "hair-loss", "--max-products", "two",
          needles="--max-products"),
    _case("option-unknown", "check", "--allergies", "lidocaine", needles="--allergies"),
    # ---------------------------------------------------------------- empty, binary, huge
    _case("patient-empty-file", "check", "--patient", "{d}/p.json", needles=("p.json", "empty"),
          files={"p.json": b""}),
    _case("recipe-whitespace-file", "check", "--recipe", "{d}/r.json", needles=("r.json", "empty"),
          files={"r.json": " \n\t\r\n"}),
    _case("patient-empty-stdin", "check", "--patient", "-", needles=("standard input", "empty"), stdin=""),
    _case("batch-empty-file", "batch", "{d}/b.ndjson", needles=("b.ndjson", "no requests"),
          files={"b.ndjson": b""}),
    _case("batch-blank-stdin", "batch", "-", needles=("standard input", "no requests"), stdin="\n\n  \n"),
    _case("patient-binary", "check", "--patient", "{d}/p.json", needles=("p.json", "binary"),
          files={"p.json": b"\x00\x01\x02\xff" * 256}),
    _case("recipe-huge-binary", "check", "--recipe", "{d}/r.json", needles=("r.json", "binary"),
          files={"r.json": _huge_binary}),
    _case("batch-huge-binary", "batch", "{d}/b.ndjson", needles=("b.ndjson", "binary"),
          files={"b.ndjson": _huge_binary}),
    _case("patient-huge-text", "check", "--patient", "{d}/p.json", needles=("p.json", "1 MiB) limit"),
          files={"p.json": _huge_text}),
    _case("patient-huge-document", "check", "--patient", "{d}/p.json", needles=("p.json", "1 MiB) limit"),
          files={"p.json": _huge_patient}),
    _case("batch-huge-line", "batch", "{d}/b.ndjson", needles=("line 1", "longer than"),
          files={"b.ndjson": _huge_batch_line}),
    # ---------------------------------------------------------------- not a readable file
    _case("patient-is-a-directory", "check", "--patient", "{d}/folder", needles=("folder", "directory"),
          files={"folder": DIR}),
    _case("recipe-is-a-directory", "check", "--recipe", "{d}/folder", needles=("folder", "directory"),
          files={"folder": DIR}),
    _case("batch-is-a-directory", "batch", "{d}/folder", needles=("folder", "directory"), files={"folder": DIR}),
    _case("patient-missing", "check", "--patient", "{d}/absent.json", needles=("absent.json", "no such file")),
    _case("recipe-missing", "check", "--recipe", "{d}/absent.json", needles=("absent.json", "no such file")),
    _case("batch-missing", "batch", "{d}/absent.ndjson", needles=("absent.ndjson", "no such file")),
    _case("patient-path-under-a-file", "check", "--patient", "{d}/p.json/inner.json",
          needles=("inner.json", "cannot read"), files={"p.json": "{}"}),
    _case("patient-empty-path", "check", "--patient", "", needles=("--patient", "no file name")),
    _case("db-build-source-missing", "db", "build", "--source", "{d}/nowhere", "-o", "{d}/out.sqlite",
          needles=("--source", "nowhere", "does not exist")),
    _case("db-build-source-is-a-file", "db", "build", "--source", "{d}/p.json", "-o", "{d}/out.sqlite",
          needles=("--source", "not a directory"), files={"p.json": "{}"}),
    _case("db-build-source-has-bad-toml", "db", "build", "--source", "{d}/src", "-o", "{d}/out.sqlite",
          needles=("substances.toml", "invalid TOML"), files={"src": DIR, "src/substances.toml": "x = ["}),
    _case("db-build-output-is-a-directory", "db", "build", "-o", "{d}/folder",
          needles=("--output", "folder", "directory"), files={"folder": DIR}),
    # ---------------------------------------------------------------- quantities
    _case("volume-wrong-dimension", "build", "--indication", "hair-loss", "--volume", "2 kg",
          needles=("--volume", "kg", "not a volume")),
    _case("weight-wrong-dimension", "check", "--weight", "70 mL", needles=("weight", "mL", "not a mass")),
    _case("treatment-area-wrong-dimension", "check", "-i", "lidocaine", "--treatment-area", "25 mL",
          needles=("treatment area", "not an area")),
    _case("volume-negative", "build", "--indication", "hair-loss", "--volume", "-1 mL",
          needles=("--volume", "greater than zero", "-1")),
    _case("weight-zero", "check", "--weight", "0 kg", needles=("weight", "greater than zero")),
    _case("volume-nan", "build", "--indication", "hair-loss", "--volume", "NaN mL", needles=("--volume", "nan")),
    _case("treatment-area-infinite", "check", "-i", "lidocaine", "--treatment-area", "inf cm^2",
          needles=("treatment area", "inf", "not a finite")),
    _case("weight-1e309", "check", "--weight", "1e309 kg", needles=("weight", "1e309", "out of range")),
    _case("weight-implausible", "check", "--weight", "1e300 kg", needles=("weight", "0.5-500 kg")),
    _case("volume-unknown-unit", "build", "--indication", "hair-loss", "--volume", "2 zorkmids",
          needles=("--volume", "unknown unit", "zorkmids")),
    _case("weight-unit-wrong-case", "check", "--weight", "70 KG", needles=("weight", "unknown unit", "KG")),
    _case("volume-without-unit", "build", "--indication", "hair-loss", "--volume", "2",
          needles=("--volume", "no unit")),
    _case("volume-ambiguous-divisor", "build", "--indication", "hair-loss", "--volume", "1.5 g/100 mL",
          needles=("--volume", "ambiguous", "g/(100 mL)")),
    _case("volume-look-alike-digit", "build", "--indication", "hair-loss", "--volume", "\u09ea mL",
          needles=("--volume", "cannot read")),
    _case("volume-over-session-limit", "build", "--indication", "hair-loss", "--volume", "250 mL",
          needles=("--volume", "100 mL")),
    _case("recipe-concentration-ambiguous", "check", "--recipe", "{d}/r.json",
          needles=("concentration", "ambiguous"), files={"r.json": _mix("1.5 g/100 mL")}),
    _case("recipe-concentration-bare-percent", "check", "--recipe", "{d}/r.json",
          needles=("concentration", "bare '%'"), files={"r.json": _mix("1 %")}),
    _case("recipe-concentration-zero", "check", "--recipe", "{d}/r.json",
          needles=("concentration", "greater than zero"), files={"r.json": _mix("0 mg/mL")}),
    _case("recipe-volume-wrong-dimension", "check", "--recipe", "{d}/r.json", needles=("volume", "not a volume"),
          files={"r.json": _recipe_with(volume="2 kg")}),
    _case("recipe-volume-1e400", "check", "--recipe", "{d}/r.json", needles=("volume", "not a finite"),
          files={"r.json": '{"components": [{"id": "lidocaine-2pct-sd", "volume": {"value": 1e400, "unit": "mL"}}]}'}),
    _case("recipe-volume-negative-object", "check", "--recipe", "{d}/r.json",
          needles=("volume", "greater than zero"), files={"r.json": _recipe_with(volume={"value": -2, "unit": "mL"})}),
    _case("patient-weight-nan-toml", "check", "--patient", "{d}/p.toml", needles=("weight", "nan"),
          files={"p.toml": 'weight = {value = nan, unit = "kg"}'}),
    _case("batch-volume-ambiguous", "batch", "-", needles=("line 1", "ambiguous"),
          stdin='{"id": "a", "action": "build", "indication": "hair-loss", "volume": "1.5 g/100 mL"}\n'),
    # ---------------------------------------------------------------- names
    _case("allergy-cyrillic-i", "check", "--allergy", "l\u0456docaine", needles=("unknown allergy", "lidocaine"),
          copy=True),
    _case("ingredient-zero-width-space", "check", "-i", "lido\u200bcaine", needles="unknown ingredient", copy=True),
    _case("allergy-right-to-left-override", "check", "--allergy", "\u202elidocaine", needles="unknown allergy"),
    _case("condition-escape-character", "check", "--condition", "preg\x1b[31mnancy", needles="unknown condition"),
    _case("medication-newline-inside", "check", "--medication", "warf\narin", needles=("unknown medication",
                                                                                        "warfarin")),
    _case("ingredient-bell-character", "ingredients", "show", "\x07", needles="unknown ingredient", copy=True),
    _case("allergy-empty", "check", "--allergy", "", needles=("allergy", "empty")),
    _case("allergy-very-long", "check", "--allergy", "x" * 5000, needles=("allergy", "longer than 200")),
    _case("indication-very-long", "build", "--indication", "h" * 300, needles=("indication", "longer than 200")),
    _case("ingredient-very-long-in-recipe", "check", "--recipe", "{d}/r.json", needles="longer than 200",
          files={"r.json": json.dumps({"components": [{"id": "p" * 10_000}]})}),
    _case("search-very-long", "ingredients", "search", "x" * 5000, needles=("search text", "longer than 200"),
          copy=True),
    _case("show-sql-or-true", "ingredients", "show", "lidocaine' OR '1'='1",
          needles=("unknown ingredient", "OR '1'='1"), copy=True),
    _case("show-sql-drop-table", "ingredients", "show", "x'); DROP TABLE substances; --",
          needles=("unknown ingredient", "DROP TABLE"), copy=True),
    _case("allergy-sql-wildcard", "check", "--allergy", "%", needles="unknown allergy '%'", copy=True),
    _case("medication-sql-underscore", "check", "--medication", "_", needles="unknown medication '_'", copy=True),
    _case("indication-sql-comment", "build", "--indication", "hair-loss'--", needles="unknown indication",
          copy=True),
    # ---------------------------------------------------------------- the JSON error contract
    _case("json-missing-patient", "check", "--json", "--patient", "{d}/absent.json",
          needles=("absent.json", "no such file")),
    _case("json-bad-option-value", "check", "--json", "--age", "old", needles="--age"),
]

# Cases also run as a real process: huge and binary files, stdin, a usage error, SQL text.
SUBPROCESS_CASES = ("patient-huge-text", "recipe-huge-binary", "batch-huge-binary", "batch-huge-line",
                    "patient-huge-document", "patient-binary", "patient-json-malformed", "batch-blank-stdin",
                    "option-age-is-text", "show-sql-drop-table", "volume-ambiguous-divisor", "weight-1e309")

BY_ID = {case.id: case for case in CORPUS}
assert len(BY_ID) == len(CORPUS), "case ids must be unique"
assert set(SUBPROCESS_CASES) <= set(BY_ID)


# --------------------------------------------------------------------------------------------- helpers


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(directory: Path) -> dict[str, str]:
    """Every file in ``directory`` with its hash: a database change, a journal or a backup shows up."""
    return {p.name: _sha256(p) for p in sorted(directory.iterdir()) if p.is_file()}


def _prepare(case: Case, directory: Path) -> list[str]:
    for name, content in case.files.items():
        path = directory / name
        if content is DIR:
            path.mkdir(parents=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content() if callable(content) else content
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)  # type: ignore[union-attr]
    return [arg.replace("{d}", str(directory)) for arg in case.args]


def assert_refused(case: Case, code: int, stdout: str, stderr: str) -> None:
    """Exit code, one 'meso: error:' line naming the problem, no traceback, no stray output."""
    assert code == case.code, (code, stderr[-2000:])
    assert "Traceback" not in stdout and "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr[-2000:]
    line = lines[0]
    assert line.startswith("meso: error: "), line
    for needle in case.needles:
        assert needle in line, (needle, line)
    assert not any(ord(ch) < 32 for ch in line), repr(line)  # no raw control characters reach the terminal
    assert len(line) < 1000, "the message is a line, not an echo of the input"
    if case.args[0] == "batch":
        # Batch answers on stdout in JSON: an error document per bad line, or one for the whole input.
        assert '"kind":"error"' in stdout.replace(" ", ""), stdout[:2000]
        assert case.needles[-1] in stdout
    elif "--json" in case.args:
        document = json.loads(stdout)
        assert document["kind"] == "error" and document["code"] == case.code
        assert document["message"] in line
    else:
        assert stdout == ""


@pytest.fixture(scope="module")
def shipped() -> Path:
    return config.shipped_database()


@pytest.fixture(scope="module")
def catalogue_copy(tmp_path_factory, shipped) -> Path:
    """A writable copy of the shipped catalogue, alone in its directory."""
    path = tmp_path_factory.mktemp("copy") / "clinic.sqlite"
    shutil.copyfile(shipped, path)
    return path


def _databases(case: Case, shipped: Path, copy: Path) -> dict[str, dict[str, str]]:
    state = {"shipped": _snapshot(shipped.parent)}
    if case.copy:
        state["copy"] = _snapshot(copy.parent)
    return state


# --------------------------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_bad_input_is_refused_in_one_line(meso, monkeypatch, tmp_path, shipped, catalogue_copy, case):
    """Each bad input: exit 2, one line naming the problem, no traceback, every database unchanged."""
    from mesocli import api

    monkeypatch.setattr(api, "_CACHE", {})
    if case.copy:
        monkeypatch.setenv(config.DATABASE_ENV, f"sqlite:///{catalogue_copy}")
    args = _prepare(case, tmp_path)
    before = _databases(case, shipped, catalogue_copy)
    outcome = meso(*args, input=case.stdin)
    assert_refused(case, outcome.exit_code, outcome.stdout, outcome.stderr)
    assert _databases(case, shipped, catalogue_copy) == before
    assert not (tmp_path / "out.sqlite").exists()


@pytest.mark.slow
@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_in_a_real_process(tmp_path, shipped, catalogue_copy, case_id):
    """The same cases as a real ``python -m mesocli`` process: nothing escapes as a traceback."""
    case = BY_ID[case_id]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if case.copy:
        env[config.DATABASE_ENV] = f"sqlite:///{catalogue_copy}"
    args = _prepare(case, tmp_path)
    before = _databases(case, shipped, catalogue_copy)
    done = subprocess.run([sys.executable, "-m", "mesocli", *args], input=(case.stdin or "").encode(),
                          capture_output=True, env=env, cwd=tmp_path, timeout=120)
    assert_refused(case, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8"))
    assert _databases(case, shipped, catalogue_copy) == before


# --------------------------------------------------------------------------------------------- beside the corpus


@pytest.mark.parametrize("text", ["%", "0.9%", "'; DROP TABLE substances; --", "\"", "\\", "lido%", "a_b"],
                         ids=["percent", "percent-in-a-name", "drop-table", "double-quote", "backslash",
                              "trailing-percent", "underscore"])
def test_search_treats_sql_metacharacters_as_plain_text(meso, monkeypatch, catalogue_copy, text):
    """SQL wildcards and quotes in search text match only themselves, and the database is untouched."""
    from mesocli import api
    from mesocli.domain.catalogue import normalise

    monkeypatch.setattr(api, "_CACHE", {})
    monkeypatch.setenv(config.DATABASE_ENV, f"sqlite:///{catalogue_copy}")
    before = _snapshot(catalogue_copy.parent)
    outcome = meso("ingredients", "search", text, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert "Traceback" not in outcome.stderr
    hits = outcome.json()["items"]
    key = normalise(text)
    for hit in hits:
        assert key in hit["matched"], (text, hit)
    assert _snapshot(catalogue_copy.parent) == before


def test_sql_wildcards_are_not_wildcards(meso):
    """'%' finds only names that hold a percent sign; 'l%o' (a LIKE pattern for 'lido...') finds nothing."""
    percent = meso("ingredients", "search", "%", "--json").json()["items"]
    assert percent and all("%" in hit["matched"] for hit in percent)
    assert meso("ingredients", "search", "l%o", "--json").json()["items"] == []
    assert meso("ingredients", "search", "lido", "--json").json()["items"]


def test_unreadable_patient_file(meso, tmp_path):
    """A patient file without read permission: exit 2, one line naming the file and 'permission denied'."""
    skip_if_permissions_are_overridden(tmp_path)
    path = tmp_path / "locked.json"
    path.write_text('{"allergies": ["lidocaine"]}', encoding="utf-8")
    path.chmod(0)
    try:
        outcome = meso("check", "--patient", str(path))
    finally:
        path.chmod(0o600)
    case = Case("unreadable", ("check",), ("locked.json", "permission denied"))
    assert_refused(case, outcome.exit_code, outcome.stdout, outcome.stderr)
