"""``--format csv``: catalogue listings and check findings as RFC 4180 CSV that a spreadsheet
opens safely, with the same columns and values as the JSON."""

from __future__ import annotations

import csv
import io
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from mesocli.domain.engine import Finding
from mesocli.render.tabular import FINDING_COLUMNS, cell, findings_csv, write_csv

# Every command here runs on the shipped SQLite file and on PostgreSQL (see conftest.backend).
pytestmark = pytest.mark.usefixtures("backend")

REPO = Path(__file__).resolve().parents[2]
LISTINGS = [
    ("ingredients", "list"),
    ("ingredients", "search", "lido"),
    ("products", "list"),
    ("indications", "list"),
    ("allergens", "list"),
    ("conditions", "list"),
    ("medications", "list"),
]
IDS = [" ".join(a) for a in LISTINGS]
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def expected_cell(value) -> str:  # type: ignore[no-untyped-def]
    """What a JSON value becomes in a CSV cell, spelled out independently of the writer."""
    if value is None:
        text = ""
    elif value is True or value is False:
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        return str(value)
    elif isinstance(value, list):
        text = "; ".join(str(v) for v in value)
    else:
        text = value
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not NUMBER.fullmatch(text):
        text = "'" + text
    return text


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# --------------------------------------------------------------------------- listings


@pytest.mark.parametrize("args", LISTINGS, ids=IDS)
def test_csv_rows_match_the_json_items(meso, args):
    """The CSV has a header of the JSON item keys (in order) and one row per item with its values."""
    items = meso(*args, "--json").json()["items"]
    outcome = meso(*args, "--format", "csv")
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stderr == ""
    rows = parse(outcome.stdout)
    header, body = rows[0], rows[1:]
    assert items and all(list(item) == header for item in items)
    assert body == [[expected_cell(item[key]) for key in header] for item in items]


@pytest.mark.parametrize("args", LISTINGS, ids=IDS)
def test_csv_uses_crlf_line_ends(meso, args):
    """Records end with CRLF (RFC 4180), the last one too, and no bare LF is left."""
    stdout = meso(*args, "--format", "csv").stdout
    assert stdout.endswith("\r\n")
    assert "\n" not in stdout.replace("\r\n", "")
    assert stdout.count("\r\n") == len(parse(stdout))


@pytest.mark.parametrize("args", LISTINGS, ids=IDS)
def test_json_flag_and_format_json_give_the_same_bytes(meso, args):
    """--json and --format json (and --format=json) are the same contract, byte for byte."""
    flag = meso(*args, "--json")
    assert flag.exit_code == 0
    assert meso(*args, "--format", "json").stdout == flag.stdout
    assert meso(*args, "--format=json").stdout == flag.stdout


@pytest.mark.parametrize("args", LISTINGS, ids=IDS)
def test_format_table_is_the_default(meso, args):
    """--format table prints what the command prints with no --format."""
    assert meso(*args, "--format", "table").stdout == meso(*args).stdout


def test_json_flag_wins_over_format(meso):
    """--json with --format csv writes JSON, as on meso check."""
    assert meso("conditions", "list", "--json", "--format", "csv").stdout == meso("conditions", "list", "--json").stdout


@pytest.mark.parametrize("args", LISTINGS, ids=IDS)
def test_unknown_format_is_a_usage_error(meso, args):
    """An unknown --format is exit 2 with one error line naming the formats; nothing on stdout."""
    outcome = meso(*args, "--format", "xml")
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    assert outcome.stderr == "meso: error: --format must be table, json, csv or markdown, not 'xml'\n"


def test_an_empty_listing_is_just_the_header(meso):
    """A search that matches nothing still writes the header row."""
    assert meso("ingredients", "search", "zzzzqqq", "--json").json()["items"] == []
    outcome = meso("ingredients", "search", "zzzzqqq", "--format", "csv")
    assert outcome.exit_code == 0
    assert outcome.stdout == "type,id,name,class,matched,rank\r\n"


def test_fields_with_commas_and_quotes_round_trip(meso):
    """Names with commas are quoted so that a CSV reader gets them back whole."""
    items = meso("products", "list", "--json").json()["items"]
    tricky = [i["name"] for i in items if "," in i["name"]]
    assert tricky  # the shipped catalogue has such names
    names = [row[1] for row in parse(meso("products", "list", "--format", "csv").stdout)[1:]]
    assert names == [i["name"] for i in items]


@pytest.fixture
def local_rows_database(tmp_path):
    """A copy of the shipped catalogue where one product and one substance are rows a clinic added."""
    path = tmp_path / "clinic.sqlite"
    shutil.copyfile(REPO / "data" / "ingredients.sqlite", path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE product SET is_local = 1 WHERE id = 'aqualyx'")
        db.execute("UPDATE substance SET is_local = 1 WHERE id = 'lidocaine'")
    db.close()
    return f"sqlite:///{path}"


@pytest.mark.parametrize(("noun", "local_id"), [("products", "aqualyx"), ("ingredients", "lidocaine")])
def test_local_column_marks_rows_a_clinic_added(meso, local_rows_database, noun, local_id):
    """JSON and CSV both carry 'local': true for the clinic's rows and false for the shipped ones."""
    env = {"MESO_DATABASE_URL": local_rows_database}
    items = meso(noun, "list", "--json", env=env).json()["items"]
    assert {i["id"] for i in items if i["local"] is True} == {local_id}
    rows = parse(meso(noun, "list", "--format", "csv", env=env).stdout)
    column = rows[0].index("local")
    assert {row[0]: row[column] for row in rows[1:]} == {i["id"]: "true" if i["id"] == local_id else "false"
                                                        for i in items}


# --------------------------------------------------------------------------- check findings


def test_check_findings_csv_matches_the_json(meso):
    """meso check --format csv has the findings' columns and one row per finding, in the JSON's order."""
    args = ("check", "--allergy", "lidocaine", "--condition", "pregnancy",
            "--ingredient", "restylane-vital-lidocaine")
    findings = meso(*args, "--json").json()["findings"]
    outcome = meso(*args, "--format", "csv")
    assert outcome.exit_code == 1
    rows = parse(outcome.stdout)
    assert rows[0] == list(FINDING_COLUMNS)
    assert len(findings) >= 2
    assert rows[1:] == [[expected_cell(f[k]) for k in FINDING_COLUMNS] for f in findings]
    assert outcome.stdout.endswith("\r\n")


def test_findings_csv_joins_sources_and_defuses_formulas():
    """Findings CSV joins sources with '; ' and quotes text a spreadsheet would run as a formula."""
    finding = Finding(severity="caution", kind="dose", subject="lidocaine", trigger="-amount",
                      message='=HYPERLINK("http://example.invalid","open")', sources=("label A", "@reference B"),
                      evidence="label", advice="+see label")
    out = io.StringIO()
    findings_csv([finding], out)
    assert parse(out.getvalue()) == [
        list(FINDING_COLUMNS),
        ["caution", "dose", "lidocaine", "'-amount", '\'=HYPERLINK("http://example.invalid","open")',
         "'+see label", "label", "label A; @reference B"],
    ]


# --------------------------------------------------------------------------- cells


@pytest.mark.parametrize(("value", "text"), [
    ("=1+2", "'=1+2"),
    ("+cmd", "'+cmd"),
    ("-x", "'-x"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "\\x0d=1"),  # a carriage return is written visibly, so the cell no longer starts a formula
    ("a\x1b[2J\x85\u202eb", "a\\x1b[2J\\x85\\u202eb"),  # nothing a terminal would act on stays raw
    ("-inf", "'-inf"),
    ("- 1", "'- 1"),
    ("-5", "-5"),
    ("+2.5", "+2.5"),
    ("-1e3", "-1e3"),
    ("-.5", "-.5"),
    ("a=b", "a=b"),
    ("", ""),
    (None, ""),
    (True, "true"),
    (False, "false"),
    (-3, "-3"),
    (0.25, "0.25"),
    (["=a", "b"], "'=a; b"),
    (["a", "=b"], "a; =b"),
    ([], ""),
])
def test_cell(value, text):
    """Cells: empty for unknown, true/false, '; '-joined lists, and a leading ' on formula-like text."""
    assert cell(value) == text


def test_write_csv_quotes_what_needs_quoting():
    """Commas, quotes and line breaks inside a value are quoted per RFC 4180."""
    out = io.StringIO()
    write_csv(["a", "b"], [['x, y', 'say "hi"'], ["line\nbreak", 1]], out)
    assert out.getvalue() == 'a,b\r\n"x, y","say ""hi"""\r\n"line\nbreak",1\r\n'
