"""The FHIR code table in the catalogue database, on SQLite and PostgreSQL.

data/codes/fhir.toml is the reviewable source; `meso db build` writes every row with its
sources into the `fhir_code` table, the catalogue index holds them, and reading a Bundle maps
codings through the loaded catalogue (never the TOML file). A clinic extends the table with
`[[code]]` rows in `meso catalogue import`, strictly validated.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mesocli.config import data_dir, shipped_database
from mesocli.domain.model import FhirCode
from mesocli.storage.text import read_directory

SCT = "http://snomed.info/sct"
# Real SNOMED CT codes the shipped table does not map, with the meaning SNOMED CT gives them as
# public FHIR material shows it: 389145006 "Allergic asthma" (a GP asthma value-set code list;
# Dutch telemonitoring FHIR examples, "allergisch astma (aandoening)"), which a clinic maps to
# asthma; 59621000 "Essential hypertension (disorder)" (AU primary care and HL7 Austria FHIR
# examples, a FHIR validator's display check), which a clinic maps to hypertension.
CLINIC_CODE = "389145006"
CLINIC_DISPLAY = "Allergic asthma"
HYPERTENSION_CODE = "59621000"
HYPERTENSION_DISPLAY = "Essential hypertension (disorder)"
ASTHMA = "195967001"  # shipped: condition asthma


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _coded_condition(code: str, system: str = SCT) -> dict[str, Any]:
    """A Condition with a coding and no text: it maps through the code table or is refused."""
    return {"resourceType": "Condition", "subject": {"reference": "Patient/1"},
            "code": {"coding": [{"system": system, "code": code}]}}


def _triggers(outcome) -> set[str]:  # type: ignore[no-untyped-def]
    """The patient conditions a check's findings name (what the bundle's codings became)."""
    assert outcome.exit_code in (0, 1), outcome.stderr
    return {f["trigger"] for f in outcome.json()["findings"]} & {"asthma", "hypertension", "pregnancy"}


def _shipped_codes() -> list[FhirCode]:
    return read_directory(data_dir()).fhir_codes


# ----------------------------------------------------------------------------- the shipped table
def test_the_catalogue_holds_every_code_of_the_toml_with_its_sources(catalogue):
    """The loaded catalogue (the shipped SQLite file, and PostgreSQL after 'meso db upgrade')
    holds exactly the rows of data/codes/fhir.toml, in order, each with its evidence and sources."""
    shipped = _shipped_codes()
    assert list(catalogue.fhir_codes) == shipped
    assert [c.provenance.sources for c in catalogue.fhir_codes] == [c.provenance.sources for c in shipped]
    assert all(c.provenance.sources and c.provenance.evidence != "unsourced" for c in catalogue.fhir_codes)
    assert {c.kind for c in shipped} == {"allergy", "condition", "medication", "observation"}
    assert any(c.nothing for c in shipped) and any(c.history for c in shipped)
    assert not any(c.local for c in catalogue.fhir_codes)


def test_the_shipped_database_file_has_one_row_and_its_citations_per_code():
    """In the committed SQLite file: one fhir_code row per code of the TOML (a [[none]] row's
    codes one by one), and each row's sources as citations in the TOML's order."""
    import tomllib

    document = tomllib.loads((data_dir() / "codes" / "fhir.toml").read_text(encoding="utf-8"))
    expected = {("observation" if table == "observation" else row["kind"], row["system"], code):
                [(s.get("title"), s.get("url")) for s in row["sources"]]
                for table in ("code", "none", "observation") for row in document[table]
                for code in (row["codes"] if table == "none" else [row["code"]])}
    with sqlite3.connect(f"file:{shipped_database()}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT id, kind, system, code FROM fhir_code").fetchall()
        cited = {}
        for row_id, kind, system, code in rows:
            cited[(kind, system, code)] = connection.execute(
                "SELECT s.title, s.url FROM citation c JOIN source s ON s.id = c.source_id "
                "WHERE c.subject = ? ORDER BY c.position", (f"fhir-code:{row_id}",)).fetchall()
    assert len(rows) == len(expected) and cited == expected


# ----------------------------------------------------------------------------- read from the database
@pytest.fixture
def edited_catalogue(tmp_path) -> str:
    """A catalogue database built from data/ with the asthma code taken out of the code table
    and a clinic code for hypertension put in. Returns its URL."""
    from mesocli.storage.migrate import build_database

    source = tmp_path / "data"
    shutil.copytree(data_dir(), source, ignore=shutil.ignore_patterns("*.sqlite"))
    table = source / "codes" / "fhir.toml"
    text = table.read_text(encoding="utf-8")
    start = text.index(f'code = "{ASTHMA}"')
    start = text.rindex("[[code]]", 0, start)
    end = text.index("[[code]]", start + 1)
    text = text[:start] + text[end:] + textwrap.dedent(f'''
        [[code]]
        system = "{SCT}"
        code = "{HYPERTENSION_CODE}"
        display = "{HYPERTENSION_DISPLAY}"
        kind = "condition"
        term = "hypertension"
        evidence = "reference"
        sources = [{{title = "Test coding manual"}}]
        ''')
    table.write_text(text, encoding="utf-8")
    path = build_database(tmp_path / "edited.sqlite", source)
    return f"sqlite:///{path}"


def test_codings_map_through_the_catalogue_given(edited_catalogue):
    """A code taken out of the catalogue's table no longer maps (the entry is then read by its
    text, and with none it is refused); a code put in maps; the shipped catalogue is unchanged."""
    from mesocli.api import load_catalogue
    from mesocli.errors import InputError
    from mesocli.fhir_input import patient_from_fhir

    edited, shipped = load_catalogue(edited_catalogue), load_catalogue()
    assert patient_from_fhir(_bundle(_coded_condition(ASTHMA)), catalogue=shipped).conditions == ("asthma",)
    with pytest.raises(InputError, match=f"no mapping for {SCT}\\|{ASTHMA}"):
        patient_from_fhir(_bundle(_coded_condition(ASTHMA)), catalogue=edited)
    assert patient_from_fhir(_bundle(_coded_condition(HYPERTENSION_CODE)), catalogue=edited).conditions == (
        "hypertension",)
    with pytest.raises(InputError, match=f"no mapping for {SCT}\\|{HYPERTENSION_CODE}"):
        patient_from_fhir(_bundle(_coded_condition(HYPERTENSION_CODE)), catalogue=shipped)


def test_the_command_line_maps_through_the_configured_database(meso, edited_catalogue, tmp_path):
    """`meso check --patient` and `meso batch` use MESO_DATABASE_URL's code table, as the check does."""
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_bundle(_coded_condition(HYPERTENSION_CODE))), encoding="utf-8")
    env = {"MESO_DATABASE_URL": edited_catalogue}
    assert _triggers(meso("check", "--patient", str(path), "--json", env=env)) == {"hypertension"}
    shipped = meso("check", "--patient", str(path), "--json")
    assert shipped.exit_code == 2 and f"{SCT}|{HYPERTENSION_CODE}" in shipped.stderr
    line = json.dumps({"action": "check", "patient": _bundle(_coded_condition(ASTHMA))}) + "\n"
    [answer] = [json.loads(text) for text in meso("batch", "-", input=line, env=env).stdout.splitlines()]
    assert answer["kind"] == "error" and f"{SCT}|{ASTHMA}" in answer["message"]


def test_the_fhir_reader_no_longer_opens_the_toml_file(monkeypatch):
    """Reading a Bundle works with data/codes/fhir.toml unreadable: the table comes from the catalogue."""
    import mesocli.fhir_input as fhir_input
    from mesocli.api import load_catalogue

    source = Path(fhir_input.__file__).read_text(encoding="utf-8")
    assert "tomllib" not in source and "fhir.toml\")" not in source
    catalogue = load_catalogue()
    original = Path.read_text

    def refuse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name == "fhir.toml":
            raise AssertionError("the code table was read from the TOML file")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    assert fhir_input.patient_from_fhir(_bundle(_coded_condition(ASTHMA)), catalogue=catalogue).conditions == (
        "asthma",)


# ----------------------------------------------------------------------------- clinic imports
CODE_FILE = textwrap.dedent(f'''\
    [[code]]
    system = "{SCT}"
    code = "{CLINIC_CODE}"
    display = "{CLINIC_DISPLAY}"
    kind = "condition"
    term = "asthma"
    evidence = "reference"
    sources = [{{title = "Clinic coding manual, 2026 edition"}}]
    ''')


def _write(tmp_path: Path, text: str, name: str = "codes.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _read_bundle(meso, tmp_path: Path, *resources: dict[str, Any]):  # type: ignore[no-untyped-def]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_bundle(*resources)), encoding="utf-8")
    return meso("check", "--patient", str(path), "--json")


def test_an_imported_code_maps_a_bundle(meso, clinic_database, tmp_path):
    """Before the import the coded entry is refused (no mapping, no text); after it, it maps to the
    imported term; the row is local, cited, exported, logged and counted; removing it undoes it."""
    before = _read_bundle(meso, tmp_path, _coded_condition(CLINIC_CODE))
    assert before.exit_code == 2 and f"{SCT}|{CLINIC_CODE}" in before.stderr

    imported = meso("catalogue", "import", _write(tmp_path, CODE_FILE), "--json")
    assert imported.exit_code == 0, imported.stderr
    doc = imported.json()
    assert (doc["substances"], doc["products"], doc["codes"], doc["replaced"]) == (
        [], [], [f"condition {SCT}|{CLINIC_CODE}"], [])

    after = _read_bundle(meso, tmp_path, _coded_condition(CLINIC_CODE))
    assert _triggers(after) == {"asthma"}
    assert after.json()["catalogue"]["clinic_rows"] == 1

    from mesocli.api import load_catalogue

    [local] = [c for c in load_catalogue(clinic_database, refresh=True).fhir_codes if c.local]
    assert (local.term, local.provenance.evidence, [s.title for s in local.provenance.sources]) == (
        "asthma", "reference", ["Clinic coding manual, 2026 edition"])
    exported = meso("catalogue", "export")
    assert exported.stdout.count("[[code]]") == 1 and f'code = "{CLINIC_CODE}"' in exported.stdout
    [entry] = meso("catalogue", "log", "--json").json()["items"]
    assert (entry["codes"], entry["substances"], entry["products"]) == (1, 0, 0)

    removed = meso("catalogue", "remove", f"{SCT}|{CLINIC_CODE}", "--json")
    assert removed.exit_code == 0, removed.stderr
    again = _read_bundle(meso, tmp_path, _coded_condition(CLINIC_CODE))
    assert again.exit_code == 2


def test_an_exported_code_imports_back_unchanged(meso, clinic_database, tmp_path):
    """`meso catalogue export` writes the clinic's codes as an import file that gives the same rows."""
    from mesocli.api import load_catalogue

    assert meso("catalogue", "import", _write(tmp_path, CODE_FILE)).exit_code == 0
    first = [c for c in load_catalogue(clinic_database, refresh=True).fhir_codes if c.local]
    exported = meso("catalogue", "export").stdout
    assert meso("catalogue", "remove", f"{SCT}|{CLINIC_CODE}").exit_code == 0
    assert meso("catalogue", "import", _write(tmp_path, exported, "exported.toml")).exit_code == 0
    assert [c for c in load_catalogue(clinic_database, refresh=True).fhir_codes if c.local] == first


# The same clinic file for essential hypertension, first mapped to the broader cardiovascular
# disease (hypertension is one of them), then replaced by the exact term.
HYPERTENSION_FILE = (CODE_FILE.replace(CLINIC_CODE, HYPERTENSION_CODE).replace(CLINIC_DISPLAY, HYPERTENSION_DISPLAY)
                     .replace('term = "asthma"', 'term = "cardiovascular-disease"'))


def test_a_code_imported_before_is_replaced_only_when_asked(meso, clinic_database, tmp_path):
    assert meso("catalogue", "import", _write(tmp_path, HYPERTENSION_FILE)).exit_code == 0
    assert _triggers(_read_bundle(meso, tmp_path, _coded_condition(HYPERTENSION_CODE))) == set()
    exact = HYPERTENSION_FILE.replace('term = "cardiovascular-disease"', 'term = "hypertension"')
    changed = _write(tmp_path, exact, "changed.toml")
    refused = meso("catalogue", "import", changed)
    assert refused.exit_code == 2 and "was imported before; use --replace" in refused.stderr
    replaced = meso("catalogue", "import", "--replace", changed, "--json")
    assert replaced.exit_code == 0, replaced.stderr
    assert replaced.json()["replaced"] == [f"condition {SCT}|{HYPERTENSION_CODE}"]
    assert _triggers(_read_bundle(meso, tmp_path, _coded_condition(HYPERTENSION_CODE))) == {"hypertension"}


def test_imported_codes_survive_db_upgrade(meso, clinic_database, tmp_path):
    assert meso("catalogue", "import", _write(tmp_path, CODE_FILE)).exit_code == 0
    assert meso("db", "upgrade").exit_code == 0
    assert _triggers(_read_bundle(meso, tmp_path, _coded_condition(CLINIC_CODE))) == {"asthma"}


REFUSED_IMPORTS = {
    "a shipped code": (CODE_FILE.replace(CLINIC_CODE, ASTHMA),
                       f"FHIR code {SCT}|{ASTHMA} (condition) is in the shipped code table, which maps it to "
                       "'asthma'; a clinic adds codes, it cannot remap a shipped one"),
    "a shipped absent-or-unknown code": (CODE_FILE.replace(CLINIC_CODE, "160245001"),
                                         "which says it records nothing"),
    "an unknown system": (CODE_FILE.replace(SCT, "https://clinic.example/codes"), "not a code system meso knows"),
    "a term the catalogue lacks": (CODE_FILE.replace('term = "asthma"', 'term = "asthmaa"'),
                                   "term 'asthmaa' is not a condition in the catalogue"),
    "a term of another kind": (CODE_FILE.replace('kind = "condition"', 'kind = "medication"'),
                               "term 'asthma' is not a medication or medication class"),
    "no source": (CODE_FILE.replace('sources = [{title = "Clinic coding manual, 2026 edition"}]', "sources = []"),
                  "needs at least one source"),
    "unsourced": (CODE_FILE.replace('evidence = "reference"', 'evidence = "unsourced"')
                  .replace('sources = [{title = "Clinic coding manual, 2026 edition"}]', "sources = []"),
                  "'unsourced' is not accepted"),
    "an unknown field": (CODE_FILE + 'colour = "red"\n', "unknown field(s): colour"),
    "the same code twice": (CODE_FILE + "\n" + CODE_FILE, "is mapped twice for condition"),
    "an absent-or-unknown row": (f'[[none]]\nsystem = "{SCT}"\ncodes = ["1"]\nkind = "allergy"\n'
                                 'evidence = "reference"\nsources = [{title = "t"}]\n', "[[none]] cannot be imported"),
    "an observation row": ('[[observation]]\nsystem = "http://loinc.org"\ncode = "1-1"\ndisplay = "x"\n'
                           'reads = "body-weight"\nevidence = "reference"\nsources = [{title = "t"}]\n',
                           "[[observation]] cannot be imported"),
    "a control character": (CODE_FILE.replace(CLINIC_DISPLAY, "Allergic\u202easthma"), "U+202E"),
}


@pytest.mark.parametrize("case", list(REFUSED_IMPORTS))
def test_a_bad_code_import_is_refused_and_changes_nothing(meso, clinic_database, tmp_path, case):
    """Each bad [[code]] file is refused with exit 2 naming the problem; the database is unchanged."""
    from tests.conftest import dump_database

    text, message = REFUSED_IMPORTS[case]
    before = dump_database(clinic_database)
    outcome = meso("catalogue", "import", _write(tmp_path, text))
    assert outcome.exit_code == 2, outcome.stdout
    assert message in outcome.stderr
    assert dump_database(clinic_database) == before


def test_shipped_codes_cannot_be_removed(meso, clinic_database):
    outcome = meso("catalogue", "remove", f"{SCT}|{ASTHMA}")
    assert outcome.exit_code == 2 and "is in the shipped code table" in outcome.stderr
    unknown = meso("catalogue", "remove", f"{SCT}|{CLINIC_CODE}")
    assert unknown.exit_code == 2 and "no clinic FHIR code" in unknown.stderr


def test_thrombophilia_is_coded_as_a_tendency_to_clot_not_a_history_of_clots():
    """SNOMED CT 234467004 'Thrombophilia' maps to the thrombophilia condition (its own tranexamic
    acid rule), never to thrombosis-history; a coded deep vein thrombosis still maps to the history."""
    from mesocli.api import load_catalogue
    from mesocli.fhir_input import patient_from_fhir

    shipped = load_catalogue()
    [row] = [c for c in _shipped_codes() if c.system == SCT and c.code == "234467004"]
    assert row.term == "thrombophilia" and not row.history
    assert patient_from_fhir(_bundle(_coded_condition("234467004")), catalogue=shipped).conditions == (
        "thrombophilia",)
    assert patient_from_fhir(_bundle(_coded_condition("128053003")), catalogue=shipped).conditions == (
        "thrombosis-history",)
