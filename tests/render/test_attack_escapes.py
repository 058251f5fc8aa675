"""Attacks through text: no control or invisible character from any text reaches a terminal raw,
and a missing volume is said, never a silent pass of the dose limits.

JSON (``--json``, NDJSON, batch lines) writes DEL, C1 controls, bidirectional overrides and
isolates, line and paragraph separators and every other invisible format character as
``\\uXXXX`` (the JSON parses to the same value); CSV and Markdown cells and the lines meso
echoes (imported ids, file names, locations, the batch error line) show them escaped.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import re
import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import api
from mesocli.cli import io as cli_io
from mesocli.domain.patient import Patient
from mesocli.render import documents
from mesocli.render.jsontext import INVISIBLE, compact, printable, shown

# What must never reach a terminal raw: C0 controls but newline and tab (carriage return
# included), DEL, C1 controls and every invisible format character.
RAW = re.compile(f"[\x00-\x08\x0b-\x1f{INVISIBLE}]")
HOSTILE_CHARS = ["\x1b", "\x07", "\r", "\x7f", "\x85", "\x9b", "\xad", "\u061c", "\u200b", "\u200e", "\u2028",
                 "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\u2060", "\ufeff", "\ufff9", "\U000e0041",
                 "\U000e007f", "\U0001d173"]
# Text that is mostly ordinary, with the characters above (and some harmless non-ASCII) mixed in.
hostile = st.text(alphabet=st.sampled_from(HOSTILE_CHARS + list("ab -_.é≤µ\n\t\"\\")), min_size=1, max_size=20)
PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _no_raw(*texts: str) -> None:
    for text in texts:
        found = RAW.search(text)
        assert found is None, (found.group(), text)


# ------------------------------------------------------------------------------- the escape itself
def test_every_invisible_character_is_covered():
    """Every character Unicode calls a control (but C0, which JSON escapes itself), a format
    character or a line/paragraph separator is in the set escaped, and nothing else is."""
    every = [chr(c) for c in range(0x7F, sys.maxunicode + 1)]
    wanted = {ch for ch in every if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")}
    covered = set(re.findall(f"[{INVISIBLE}]", "".join(every)))
    assert wanted <= covered
    assert {unicodedata.category(ch) for ch in covered - wanted} <= {"Cn"}  # unassigned in this Unicode only


@settings(max_examples=300, deadline=None, database=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text() | hostile,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text() | hostile, inner, max_size=3),
                    max_leaves=10))
def test_printable_json_parses_to_the_same_value_and_holds_nothing_raw(value):
    """For any JSON value: the escaped text parses back to the value, and holds no character a
    terminal would act on (lone surrogates, which no terminal receives, are left to the writer)."""
    text = json.dumps(value, ensure_ascii=False)
    escaped = printable(text)
    assert json.loads(escaped) == value
    assert RAW.search(escaped) is None
    if RAW.search(text) is None:
        assert escaped == text  # nothing to escape: the text is unchanged


@given(hostile)
def test_shown_text_is_visible_and_keeps_ordinary_characters(text):
    assert RAW.search(shown(text)) is None
    assert shown("plain ≤ µg é") == "plain ≤ µg é"


@PROPERTY
@given(value=hostile, ndjson=st.booleans())
def test_write_json_escapes_in_both_layouts(value, ndjson, monkeypatch):
    monkeypatch.setattr(cli_io.OutputState, "ndjson", ndjson)
    out = io.StringIO()
    cli_io.write_json({"name": value, value: [value]}, out)
    _no_raw(out.getvalue())
    assert json.loads(out.getvalue()) == {"name": value, value: [value]}


# ------------------------------------------------------------------------------- names in a catalogue
@pytest.fixture(scope="module")
def shipped():
    return api.load_catalogue()


def _hostile_catalogue(cat, name: str):
    """The catalogue with ``name`` in every substance's and product's name and aliases (as an
    import that slipped through the import's own checks would leave them)."""
    cat = copy.copy(cat)
    cat.substances = {k: dataclasses.replace(v, name=f"{v.name} {name}", aliases=(*v.aliases, name))
                      for k, v in cat.substances.items()}
    cat.products = {k: dataclasses.replace(v, name=f"{v.name} {name}", aliases=(*v.aliases, name))
                    for k, v in cat.products.items()}
    return cat


@PROPERTY
@given(name=hostile)
def test_names_and_aliases_never_reach_an_output_raw(shipped, name, monkeypatch):
    """A check of products and substances whose names and aliases hold such characters, in
    every format: JSON, NDJSON, a batch line, CSV, Markdown and the table for people."""
    from mesocli.render.check_view import patient_line, render_check
    from mesocli.render.human import Printer
    from mesocli.render.tabular import check_markdown, findings_csv

    cat = _hostile_catalogue(shipped, name)
    result = api.check(Patient(allergies=("lidocaine",)), ingredients=["lidocaine-2pct-sd", "caffeine"],
                       catalogue=cat)
    assert result.findings
    outputs = []
    for ndjson in (False, True):
        monkeypatch.setattr(cli_io.OutputState, "ndjson", ndjson)
        out = io.StringIO()
        cli_io.write_json(documents.check_document(result, cat), out)
        cli_io.write_json(documents.ingredient_detail(cat, "product", "lidocaine-2pct-sd"), out)
        outputs.append(out.getvalue())
    outputs.append(compact(documents.check_document(result, cat)))
    csv_out, table_out = io.StringIO(), io.StringIO()
    findings_csv(result.findings, csv_out)
    render_check(Printer(table_out, colour=False, width=100), cat, result, patient_line(result))
    csv_text = csv_out.getvalue()
    assert csv_text.count("\r") == csv_text.count("\r\n")  # a carriage return only ends a CSV row
    outputs += [csv_text.replace("\r\n", "\n"), check_markdown(result, cat), table_out.getvalue()]
    _no_raw(*outputs)
    document = documents.check_document(result, cat)
    assert json.loads(compact(documents.check_document(result, cat))) == json.loads(json.dumps(document))


# ------------------------------------------------------------------------------- recipes, batch, file names
@PROPERTY
@given(text=hostile, fmt=st.sampled_from(["json", "csv", "table", "markdown"]))
def test_recipe_fields_never_reach_the_terminal_raw(meso, tmp_path_factory, text, fmt):
    """A recipe whose fields hold such characters (an id, a volume, a key) gives escaped output
    and errors in every format, never a traceback."""
    folder = tmp_path_factory.mktemp("recipe")
    recipe = {"syringes": [{"components": [{"id": f"lidocaine-2pct-sd{text}", "volume": "2 mL"},
                                           {"substances": [{"id": "caffeine", "concentration": f"20 mg/mL{text}"}],
                                            "volume": "1 mL"}]}]}
    for document in (recipe, {"syringes": [{"components": [{"id": "caffeine", "volume": "1 mL", text: 1}]}]}):
        path = folder / "recipe.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        outcome = meso("check", "--recipe", str(path), "--allergy", f"lido{text}", "--format", fmt)
        assert "Traceback" not in outcome.stderr
        _no_raw(outcome.stdout, outcome.stderr)


@PROPERTY
@given(text=hostile)
def test_batch_lines_and_errors_never_carry_such_characters_raw(meso, tmp_path_factory, text):
    """Batch ids, allergy names and refused requests come back escaped, on stdout and stderr."""
    folder = tmp_path_factory.mktemp("batch")
    lines = [{"id": text, "action": "check", "ingredients": ["caffeine"], "allergies": [text]},
             {"id": f"b{text}", "action": "check", "ingredients": [f"caffeine{text}"]},
             {"id": "c", "action": "build", "indication": text}]
    path = folder / "requests.ndjson"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    outcome = meso("batch", str(path))
    assert "Traceback" not in outcome.stderr
    _no_raw(outcome.stdout, outcome.stderr)
    answers = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert [a["id"] for a in answers] == [text, f"b{text}", "c"]  # the same ids once parsed


@pytest.mark.parametrize("char", ["\x1b", "\x85", "\u202e", "\u2028", "\u200b", "\ufeff", "\U000e0041"])
def test_file_names_are_shown_escaped(meso, tmp_path, char):
    """A file name holding such a character appears escaped in every message that names it."""
    path = tmp_path / f"recipe{char}.json"
    path.write_text("{not json", encoding="utf-8")
    for fmt in ("table", "json"):
        outcome = meso("check", "--recipe", str(path), "--format", fmt)
        assert outcome.exit_code == 2
        _no_raw(outcome.stdout, outcome.stderr)
    batch = tmp_path / f"batch{char}.ndjson"
    batch.write_text('{"id": "x", "action": "frobnicate"}\n', encoding="utf-8")
    outcome = meso("batch", str(batch))
    assert "line 1" in outcome.stderr
    _no_raw(outcome.stdout, outcome.stderr)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_import_report_shows_the_file_name_escaped(meso, tmp_path, backend, request, monkeypatch):
    """`meso catalogue import` echoes the file name and the ids it imported: escaped."""
    request.getfixturevalue("_upgraded_sqlite_template")
    import shutil

    database = tmp_path / "clinic.sqlite"
    shutil.copyfile(request.getfixturevalue("_upgraded_sqlite_template"), database)
    monkeypatch.setenv("MESO_DATABASE_URL", f"sqlite:///{database}")
    source = tmp_path / "clinic\u202e\x1b[2J.toml"
    source.write_text(IMPORT, encoding="utf-8")
    printed = {}
    for fmt in ("table", "json"):
        outcome = meso("catalogue", "import", str(source), "--replace", "--format", fmt)
        assert outcome.exit_code == 0, outcome.stderr
        _no_raw(outcome.stdout, outcome.stderr)
        printed[fmt] = outcome.stdout
    assert "clinic\\u202e\\x1b[2J.toml" in printed["table"] and "+ clinic-peptide-e (local)" in printed["table"]
    assert json.loads(printed["json"])["file"] == "clinic\u202e\x1b[2J.toml"  # the same name once parsed


IMPORT = """
[[substance]]
id = "clinic-peptide-e"
name = "Peptide E"
class = "peptide"
evidence = "vendor"
sources = [{title = "Supplier data sheet"}]
"""


# ------------------------------------------------------------------------------- missing volumes
def _dose(result):
    return [f for f in result.findings if f.kind == "dose"]


def test_a_check_without_volume_names_the_limits_it_could_not_apply(shipped):
    """Lidocaine without a volume: one info finding naming its limit, not a silent pass."""
    result = api.check(Patient(weight="70 kg"), ingredients=["lidocaine-2pct-sd"], catalogue=shipped)
    [finding] = _dose(result)
    assert (finding.severity, finding.trigger, finding.subject) == ("info", "lidocaine", "lidocaine-2pct-sd")
    assert "no volume given" in finding.message and "could not be applied" in finding.message
    assert "4.5 mg/kg up to 300 mg per session" in finding.message
    assert finding.sources and finding.evidence != "unsourced"


def test_one_finding_per_substance_whatever_the_number_of_items_and_limits(shipped):
    """Two lidocaine products and lidocaine alone: still one finding for lidocaine; procaine's two
    per-session limits in one finding that says which is which."""
    result = api.check(Patient(), ingredients=["lidocaine-2pct-sd", "lidocaine-1pct-sd", "lidocaine",
                                               "novocain-1pct-ampul"], catalogue=shipped)
    triggers = [f.trigger for f in _dose(result)]
    assert sorted(triggers) == ["lidocaine", "procaine"]
    [procaine] = [f for f in _dose(result) if f.trigger == "procaine"]
    assert "limits (" in procaine.message and "caution above" in procaine.message


def test_a_screen_says_nothing_about_doses(shipped):
    result = api.check(Patient(allergies=("lidocaine",)), catalogue=shipped)
    assert result.screened and not _dose(result)


def test_with_a_volume_the_limit_is_checked_instead(shipped):
    recipe = {"components": [{"id": "lidocaine-2pct-sd", "volume": "20 mL"}]}
    result = api.check(Patient(weight="60 kg"), recipe=recipe, catalogue=shipped)
    [finding] = _dose(result)
    assert finding.severity == "contraindicated" and "no volume given" not in finding.message


def test_a_volume_for_some_items_only_is_a_caution(shipped):
    """The amount with a volume is checked; the rest is said to be missing (a caution, since
    the total is too low)."""
    recipe = {"syringes": [{"components": [{"id": "lidocaine-1pct-sd", "volume": "1 mL"}]},
                           {"components": [{"id": "lidocaine-2pct-sd"}]}]}
    result = api.check(Patient(weight="70 kg"), recipe=recipe, catalogue=shipped)
    [finding] = _dose(result)
    assert finding.severity == "caution" and "no volume given for lidocaine-2pct-sd" in finding.message


def test_an_unknown_concentration_still_says_so(shipped):
    """A volume but no concentration: the existing 'cannot be worked out' finding, unchanged."""
    recipe = {"components": [{"substances": [{"id": "lidocaine"}], "volume": "5 mL"}]}
    result = api.check(Patient(weight="70 kg"), recipe=recipe, catalogue=shipped)
    messages = [f.message for f in _dose(result)]
    assert any("cannot be worked out (concentration unknown)" in m for m in messages), messages
    assert not any("no volume given" in m for m in messages)
