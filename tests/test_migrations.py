"""Schema migrations with a clinic's rows in the database, on SQLite and PostgreSQL.

Upgrading from every earlier revision keeps the clinic's substances and products and loads the
FHIR code table; a downgrade then upgrade round-trips (the code table, which the earlier
revisions lack, excepted); on SQLite, `meso db upgrade` keeps a byte-for-byte backup.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BACKENDS, dump_database
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from mesocli.config import data_dir
from mesocli.domain.model import Component, FhirCode, Product, Provenance, Source, Substance
from mesocli.storage import migrate
from mesocli.storage.db import SCHEMA_HEAD
from mesocli.storage.models import Base
from mesocli.storage.text import CatalogueData, parse_documents, read_directory
from mesocli.storage.writer import write_catalogue


def earlier_revisions() -> list[str]:
    """Every revision before the head that has a catalogue schema, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [r.revision for r in script.walk_revisions()]  # newest first
    return [r for r in reversed(revisions) if r != SCHEMA_HEAD]


CLINIC = CatalogueData(
    substances=[Substance(id="clinic-peptide-x", name="Peptide X", cls="peptide", role="active",
                          aliases=("px peptide",), local=True,
                          provenance=Provenance("vendor", (Source("Peptide X data sheet", None),)))],
    products=[Product(id="clinic-ha-vial", name="Clinic HA vial", aliases=("house HA",), local=True,
                      components=(Component("hyaluronic-acid", "active"), Component("clinic-peptide-x", "active")),
                      provenance=Provenance("vendor", (Source(None, "https://clinic.example/ha"),)))],
    fhir_codes=[FhirCode(kind="condition", system="http://snomed.info/sct", code="999000001",
                         display="Clinic code for asthma", term="asthma", local=True,
                         provenance=Provenance("reference", (Source("Clinic coding manual", None),)))],
)


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite'}"
    return request.getfixturevalue("postgres_database")()


def _has_codes(engine) -> bool:  # type: ignore[no-untyped-def]
    """Whether the schema has the FHIR code table (revision 0003 on)."""
    from sqlalchemy import inspect

    return inspect(engine).has_table("fhir_code")


def _populate_at(url: str, revision: str) -> None:
    """A database as meso at ``revision`` left it: the catalogue plus the clinic's rows (its FHIR
    codes included), written at the head (today's writer writes today's columns) and migrated
    down to ``revision`` (a downgrade below 0003 removes the code table, below 0007
    substance.dose_as)."""
    engine = create_engine(url)
    try:
        migrate.migrate(engine)
        with Session(engine) as session, session.begin():
            write_catalogue(session, read_directory(data_dir()))
            write_catalogue(session, CLINIC)
        if revision != SCHEMA_HEAD:
            migrate.migrate(engine, revision, down=True)
            assert migrate.current_revision(engine) == revision
    finally:
        engine.dispose()


def _clinic_rows(url: str) -> tuple[list[Substance], list[Product]]:
    from mesocli.api import load_catalogue

    cat = load_catalogue(url, refresh=True)
    return ([s for s in cat.substances.values() if s.local], [p for p in cat.products.values() if p.local])


def _codes(url: str) -> tuple[list[FhirCode], list[FhirCode]]:
    """The shipped and the clinic's FHIR codes, as the catalogue at ``url`` holds them."""
    from mesocli.api import load_catalogue

    cat = load_catalogue(url, refresh=True)
    return [c for c in cat.fhir_codes if not c.local], [c for c in cat.fhir_codes if c.local]


def test_there_is_an_earlier_revision_to_upgrade_from():
    assert earlier_revisions() == ["0001", "0002", "0003", "0004", "0005", "0006", "0007"]


@pytest.mark.parametrize("revision", earlier_revisions())
def test_upgrade_from_each_earlier_revision_keeps_clinic_rows(empty_database, revision):
    """The clinic's rows stay, and the FHIR code table (new in 0003) is loaded with every row of
    data/codes/fhir.toml and its sources."""
    _populate_at(empty_database, revision)
    before, after, _backup = migrate.upgrade_database(empty_database)
    assert (before, after) == (revision, SCHEMA_HEAD)
    substances, products = _clinic_rows(empty_database)
    assert substances == CLINIC.substances
    assert products == CLINIC.products
    shipped, clinic = _codes(empty_database)
    assert shipped == read_directory(data_dir()).fhir_codes
    assert clinic == (CLINIC.fhir_codes if revision >= "0003" else [])


def test_upgrade_at_head_keeps_the_clinic_codes(empty_database):
    """`meso db upgrade` of a database already at the head reloads the shipped codes and keeps
    the clinic's imported ones."""
    _populate_at(empty_database, SCHEMA_HEAD)
    migrate.upgrade_database(empty_database)
    shipped, clinic = _codes(empty_database)
    assert shipped == read_directory(data_dir()).fhir_codes
    assert clinic == CLINIC.fhir_codes


def _without_codes(dump: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A dump without the FHIR code table, its citations and the sources only they cite."""
    citations = [row for row in dump["citation"] if not row[0].startswith("fhir-code:")]
    cited = {row[2] for row in citations}
    rest = {name: rows for name, rows in dump.items() if name not in ("fhir_code", "citation", "source")}
    return {**rest, "citation": citations, "source": [row for row in dump["source"] if row[0] in cited]}


VOCABULARY_TABLES = ("condition", "medication_class", "medication")
VOCABULARY_SUBJECTS = ("condition:", "medication-class:", "medication:")


def _without_vocabulary_sources(dump: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A dump as a schema before revision 0008 holds it: conditions, medication classes and
    medications without their grade (NULL), their citations and the sources only they cite."""
    out = dict(dump)
    for table in VOCABULARY_TABLES:
        column = [c.name for c in Base.metadata.tables[table].columns].index("evidence")
        out[table] = [(*row[:column], None, *row[column + 1:]) for row in dump[table]]
    out["citation"] = [row for row in dump["citation"] if not row[0].startswith(VOCABULARY_SUBJECTS)]
    cited = {row[2] for row in out["citation"]}
    out["source"] = [row for row in dump["source"] if row[0] in cited]
    return out


def _cited_sources(dump: dict[str, list[tuple]]) -> list[str]:
    """The sources some citation cites, without their row numbers (PostgreSQL numbers rows
    written again afresh)."""
    cited = {row[2] for row in dump["citation"]}
    return sorted(repr(row[1:]) for row in dump["source"] if row[0] in cited)


def test_downgrade_then_upgrade_round_trips(empty_database):
    """Down to every earlier revision and back: every catalogue row, the clinic's included, is kept,
    but for what the older schemas cannot hold: the sources' own grades are unknown (NULL) and the
    protocols with no sourced technique are gone and the dose limits forget their area until
    'meso db upgrade' writes the catalogue again; the patient vocabulary comes back empty until
    then; and the FHIR codes, whose table the revisions before 0003 lack, are removed with their
    citations (no citation or source is left behind) and loaded again by 'meso db upgrade'."""
    _populate_at(empty_database, SCHEMA_HEAD)
    graded = dump_database(empty_database)
    technique = [c.name for c in Base.metadata.tables["protocol"].columns].index("technique")
    area = [c.name for c in Base.metadata.tables["rule"].columns].index("area_id")
    before = {**graded, "source": sorted(((*row[:-1], None) for row in graded["source"]), key=repr),
              "protocol": [row for row in graded["protocol"] if row[technique] is not None],
              "rule": sorted(((*row[:area], None, *row[area + 1:]) for row in graded["rule"]), key=repr)}
    assert before["protocol"] != graded["protocol"], "the catalogue has protocols without a technique"
    assert before["fhir_code"] and any(row[0].startswith("fhir-code:") for row in before["citation"])
    engine = create_engine(empty_database)
    try:
        for revision in reversed(earlier_revisions()):
            migrate.migrate(engine, revision, down=True)
            assert migrate.current_revision(engine) == revision
            assert _has_codes(engine) == (revision >= "0003")
        migrate.migrate(engine)
        assert migrate.current_revision(engine) == SCHEMA_HEAD
    finally:
        engine.dispose()
    after = dump_database(empty_database)
    # Tables a revision adds come back empty from a downgrade below it (meso db upgrade reloads
    # the shipped rows): the patient vocabulary of revision 0004, the FHIR codes of 0003.
    for table in ("unrelated_term", "distinction"):
        assert before.pop(table) and after.pop(table) == []
    # A column a revision adds comes back NULL: substance.dose_as of revision 0007 (reloaded by
    # 'meso db upgrade' like the rest).
    column = [c.name for c in Base.metadata.tables["substance"].columns].index("dose_as")
    assert any(row[column] for row in before["substance"])
    assert not any(row[column] for row in after["substance"])
    for dump in (before, after):
        dump["substance"] = sorted((row[:column] + row[column + 1:] for row in dump["substance"]), key=repr)
    # The grades of conditions, medication classes and medications (revision 0008) come back
    # NULL and their citations are gone, with the sources only they cite, until 'meso db upgrade'.
    before = _without_vocabulary_sources(before)
    for table in VOCABULARY_TABLES:
        column = [c.name for c in Base.metadata.tables[table].columns].index("evidence")
        assert all(row[column] is None for row in after[table]), table
    assert not any(row[0].startswith(VOCABULARY_SUBJECTS) for row in after["citation"])
    assert after["fhir_code"] == []
    assert after == {**_without_codes(before), "fhir_code": []}
    assert _clinic_rows(empty_database) == (CLINIC.substances, CLINIC.products)
    migrate.upgrade_database(empty_database)
    assert _codes(empty_database) == (read_directory(data_dir()).fhir_codes, [])
    after = dump_database(empty_database)  # rows written again: PostgreSQL numbers them afresh
    # Every cited source is back, graded, but for the clinic's codes, gone with their sources.
    lost = set(_cited_sources(graded)) - set(_cited_sources(after))
    assert set(_cited_sources(after)) <= set(_cited_sources(graded))
    assert lost == {repr((s.title, s.url, s.grade)) for c in CLINIC.fhir_codes for s in c.provenance.sources}
    assert sorted(map(repr, (row[1:] for row in after["protocol"]))) == \
        sorted(map(repr, (row[1:] for row in graded["protocol"])))
    assert sorted(map(repr, (row[1:] for row in after["rule"]))) == \
        sorted(map(repr, (row[1:] for row in graded["rule"])))


def test_sqlite_upgrade_keeps_a_complete_backup(tmp_path):
    """The backup made before an upgrade holds exactly the database as it was, and passes
    SQLite's integrity check (it is made with the online backup API, not a file copy)."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    url = f"sqlite:///{path}"
    _populate_at(url, earlier_revisions()[-1])

    def rows(database) -> dict[str, list[tuple]]:
        with sqlite3.connect(database) as connection:
            tables = [t for (t,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: sorted(map(repr, connection.execute(f'SELECT * FROM "{t}"'))) for t in tables}

    original = rows(path)
    _before, _after, backup = migrate.upgrade_database(url)
    assert backup is not None and Path(backup).parent == tmp_path
    assert rows(backup) == original
    with sqlite3.connect(backup) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert rows(path) != original


def test_clinic_fixture_rows_are_valid_import_rows():
    """The rows this module plants are ones 'meso catalogue import' itself would accept."""
    from mesocli.storage.export import export_toml

    text = export_toml(CLINIC.substances, CLINIC.products, header="clinic", codes=CLINIC.fhir_codes)
    import tomllib

    parsed = parse_documents({"clinic.toml": tomllib.loads(text)}, local=True)
    assert (parsed.substances, parsed.products, parsed.fhir_codes) == (CLINIC.substances, CLINIC.products,
                                                                       CLINIC.fhir_codes)
