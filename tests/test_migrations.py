"""Schema migrations with a clinic's rows in the database, on SQLite and PostgreSQL.

Upgrading from every earlier revision keeps the clinic's substances and products; a downgrade
then upgrade round-trips; on SQLite, `meso db upgrade` keeps a byte-for-byte backup.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BACKENDS, dump_database
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from mesocli.catalogue import migrate
from mesocli.catalogue.db import SCHEMA_HEAD
from mesocli.catalogue.loader import write_catalogue
from mesocli.catalogue.models import Base
from mesocli.catalogue.source import CatalogueData, parse_documents, read_directory
from mesocli.config import data_dir
from mesocli.domain.model import Component, Product, Provenance, Source, Substance


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
)


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.sqlite'}"
    return request.getfixturevalue("postgres_database")()


def _populate_at(url: str, revision: str) -> None:
    """A database as meso at ``revision`` left it: the catalogue plus the clinic's rows. They are
    written at the head and the schema is then taken down to ``revision``: the rows meso at
    ``revision`` wrote, without what later revisions added (the patient vocabulary of 0005,
    substance.dose_as of 0006)."""
    engine = create_engine(url)
    try:
        migrate.migrate(engine)
        shipped = read_directory(data_dir())
        with Session(engine) as session, session.begin():
            write_catalogue(session, shipped)
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


def test_there_is_an_earlier_revision_to_upgrade_from():
    assert earlier_revisions() == ["0001", "0002", "0005"]


@pytest.mark.parametrize("revision", earlier_revisions())
def test_upgrade_from_each_earlier_revision_keeps_clinic_rows(empty_database, revision):
    _populate_at(empty_database, revision)
    before, after, _backup = migrate.upgrade_database(empty_database)
    assert (before, after) == (revision, SCHEMA_HEAD)
    substances, products = _clinic_rows(empty_database)
    assert substances == CLINIC.substances
    assert products == CLINIC.products


def test_downgrade_then_upgrade_round_trips(empty_database):
    """Down to every earlier revision and back: every catalogue row, the clinic's included, is kept."""
    _populate_at(empty_database, SCHEMA_HEAD)
    before = dump_database(empty_database)
    engine = create_engine(empty_database)
    try:
        for revision in reversed(earlier_revisions()):
            migrate.migrate(engine, revision, down=True)
            assert migrate.current_revision(engine) == revision
        migrate.migrate(engine)
        assert migrate.current_revision(engine) == SCHEMA_HEAD
    finally:
        engine.dispose()
    after = dump_database(empty_database)
    # Tables a revision adds come back empty from a downgrade below it (meso db upgrade reloads
    # the shipped rows): the patient vocabulary of revision 0005.
    for table in ("unrelated_term", "distinction"):
        assert before.pop(table) and after.pop(table) == []
    # A column a revision adds comes back NULL: substance.dose_as of revision 0006 (reloaded
    # the same way).
    column = [c.name for c in Base.metadata.tables["substance"].columns].index("dose_as")
    assert any(row[column] for row in before["substance"])
    assert not any(row[column] for row in after["substance"])
    for dump in (before, after):
        dump["substance"] = sorted((row[:column] + row[column + 1:] for row in dump["substance"]), key=repr)
    assert after == before
    assert _clinic_rows(empty_database) == (CLINIC.substances, CLINIC.products)


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
    from mesocli.catalogue.export import export_toml

    text = export_toml(CLINIC.substances, CLINIC.products, header="clinic")
    import tomllib

    parsed = parse_documents({"clinic.toml": tomllib.loads(text)}, local=True)
    assert (parsed.substances, parsed.products) == (CLINIC.substances, CLINIC.products)
