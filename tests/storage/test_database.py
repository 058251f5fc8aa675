"""The catalogue database: built from data/, shipped read-only, relocatable, migrated by Alembic,
and every database fault reported as exit 3 with one line and no traceback."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import api, config
from mesocli.storage import db as catalogue_db
from mesocli.storage import migrate as catalogue_migrate

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "data" / "ingredients.sqlite"


# --------------------------------------------------------------------------- helpers and fixtures


def dump_sqlite(path: Path) -> dict[str, object]:
    """The logical content of a SQLite file: its schema and every table's rows, sorted."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        schema = sorted(
            connection.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).fetchall(),
            key=repr,
        )
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master "
                "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        content: dict[str, object] = {"__schema__": schema}
        for table in tables:
            rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
            content[table] = sorted(rows, key=repr)
        return content
    finally:
        connection.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def assert_one_line_error(outcome, code: int, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    """The outcome failed with ``code``, one 'meso: error:' stderr line containing each fragment."""
    assert outcome.exit_code == code, (outcome.exit_code, outcome.stderr)
    assert "Traceback" not in outcome.stderr
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith("meso: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache(monkeypatch):
    """Each test reads its database afresh instead of a catalogue another test cached."""
    monkeypatch.setattr(api, "_CACHE", {})


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory) -> Path:
    """A catalogue database freshly built from data/ by the same code as 'meso db build'."""
    return catalogue_migrate.build_database(tmp_path_factory.mktemp("build") / "ingredients.sqlite")


@pytest.fixture
def use_database(monkeypatch):
    """Point MESO_DATABASE_URL at a path; returns the URL."""

    def point(path: Path) -> str:
        url = sqlite_url(path)
        monkeypatch.setenv("MESO_DATABASE_URL", url)
        return url

    return point


@pytest.fixture(scope="module")
def upgraded_template(tmp_path_factory) -> Path:
    """A SQLite catalogue made once by the code behind 'meso db upgrade'."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    before, after, backup = catalogue_migrate.upgrade_database(sqlite_url(path))
    assert (before, after, backup) == (None, catalogue_db.SCHEMA_HEAD, None)
    return path


@pytest.fixture
def upgraded_db(tmp_path, use_database, upgraded_template) -> Path:
    """A private copy of an upgraded SQLite catalogue, selected through MESO_DATABASE_URL."""
    path = tmp_path / "clinic.sqlite"
    path.write_bytes(upgraded_template.read_bytes())
    use_database(path)
    return path


# --------------------------------------------------------------------------- source of truth


def test_layout_has_package_database_and_migrations():
    """The repository has mesocli/, data/ingredients.sqlite and an Alembic migrations/ tree."""
    assert (REPO / "mesocli" / "__main__.py").is_file()
    assert SHIPPED.is_file()
    assert (REPO / "migrations" / "env.py").is_file()
    assert (REPO / "migrations" / "versions" / "0001_catalogue_schema.py").is_file()
    assert config.shipped_database().resolve() == SHIPPED.resolve()
    assert config.migrations_dir().resolve() == (REPO / "migrations").resolve()


def test_committed_database_equals_a_fresh_build(fresh_build):
    """The committed data/ingredients.sqlite has the same schema and rows as a fresh build from data/."""
    fresh, committed = dump_sqlite(fresh_build), dump_sqlite(SHIPPED)
    assert sorted(fresh) == sorted(committed)
    differing = [table for table in fresh if fresh[table] != committed[table]]
    assert differing == [], f"rebuild with 'meso db build': tables differ: {differing}"


def test_dump_helper_notices_a_changed_row(fresh_build, tmp_path):
    """The comparison helper detects a single changed value (so the equality test can fail)."""
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(fresh_build.read_bytes())
    connection = sqlite3.connect(copy)
    connection.execute("UPDATE substance SET name = 'Lidocaine (edited)' WHERE id = 'lidocaine'")
    connection.commit()
    connection.close()
    before, after = dump_sqlite(fresh_build), dump_sqlite(copy)
    assert [t for t in before if before[t] != after[t]] == ["substance"]


def test_fresh_build_holds_the_whole_catalogue(fresh_build):
    """A fresh build has rows in every catalogue table and is at the head revision."""
    content = dump_sqlite(fresh_build)
    assert content["alembic_version"] == [(catalogue_migrate.head_revision(),)]
    empty = [t for t, rows in content.items() if t != "__schema__" and not rows]
    assert empty == ["catalogue_import"]  # the log of clinic imports starts empty


def test_meso_db_build_writes_the_requested_file(meso, tmp_path):
    """'meso db build --output X' writes a catalogue to X (and leaves the shipped file alone)."""
    before = sha256(SHIPPED)
    target = tmp_path / "out" / "built.sqlite"
    outcome = meso("db", "build", "--output", str(target))
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.strip() == f"built {target.resolve()}"
    assert dump_sqlite(target) == dump_sqlite(SHIPPED)
    assert sha256(SHIPPED) == before
    assert [p.name for p in target.parent.iterdir()] == ["built.sqlite"]


@pytest.mark.parametrize("path", [SHIPPED, None], ids=["committed", "fresh"])
def test_database_is_in_rollback_journal_mode(path, fresh_build):
    """The committed file and a fresh build use the rollback journal ('delete'), never WAL."""
    path = path or fresh_build
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        connection.close()
    header = path.read_bytes()[:20]
    assert header[:16] == b"SQLite format 3\x00"
    assert header[18:20] == b"\x01\x01"  # file format read/write versions: 1 = legacy, 2 = WAL


def test_no_wal_or_journal_files_are_committed():
    """No -wal, -shm or -journal file sits next to the shipped database."""
    leftovers = [
        p.name for p in SHIPPED.parent.iterdir() if p.name.startswith("ingredients.sqlite") and p != SHIPPED
    ]
    assert leftovers == []


# --------------------------------------------------------------------------- read-only


def test_shipped_database_is_opened_read_only():
    """An INSERT through the engine meso reads the shipped catalogue with fails, and the file is unchanged."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    before = sha256(SHIPPED)
    engine = catalogue_db.open_engine(None)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            try:
                with pytest.raises(OperationalError, match="readonly"):
                    connection.execute(text("INSERT INTO condition (id, name) VALUES ('x-test', 'X')"))
            finally:
                transaction.rollback()
    finally:
        engine.dispose()
    assert sha256(SHIPPED) == before


def test_readonly_engine_refuses_writes_to_any_file(fresh_build, tmp_path):
    """readonly_sqlite_engine cannot write (INSERT, DELETE, PRAGMA journal_mode=WAL) to a file."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    path = tmp_path / "copy.sqlite"
    path.write_bytes(fresh_build.read_bytes())
    before = sha256(path)
    engine = catalogue_db.readonly_sqlite_engine(path)
    try:
        for statement in (
            "INSERT INTO condition (id, name) VALUES ('x-test', 'X')",
            "DELETE FROM substance",
            "PRAGMA journal_mode=WAL",
        ):
            with engine.connect() as connection, pytest.raises(OperationalError, match="readonly"):
                connection.execute(text(statement))
                connection.commit()
    finally:
        engine.dispose()
    assert sha256(path) == before


def test_reading_commands_leave_the_shipped_file_unchanged(meso):
    """Listing, showing and searching the shipped catalogue never modify its file."""
    before = (sha256(SHIPPED), SHIPPED.stat().st_mtime_ns)
    for args in (
        ("ingredients", "list"),
        ("ingredients", "show", "lidocaine"),
        ("ingredients", "search", "lido"),
        ("db", "current"),
    ):
        assert meso(*args).exit_code == 0, args
    assert (sha256(SHIPPED), SHIPPED.stat().st_mtime_ns) == before


# --------------------------------------------------------------------------- MESO_DATABASE_URL


def test_db_path_defaults_to_the_shipped_file(meso):
    """Without MESO_DATABASE_URL, 'meso db path' shows the shipped, read-only file."""
    outcome = meso("db", "path", "--json")
    assert outcome.exit_code == 0
    doc = outcome.json()
    assert doc["kind"] == "db-path"
    assert Path(doc["location"]).resolve() == SHIPPED.resolve()
    assert doc["shipped"] is True and doc["read_only"] is True


def test_db_upgrade_creates_a_database_at_the_url(meso, tmp_path, use_database):
    """'meso db upgrade' creates the SQLite catalogue MESO_DATABASE_URL names (at the head revision, no backup)."""
    path = tmp_path / "new.sqlite"
    url = use_database(path)
    outcome = meso("db", "upgrade")
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.splitlines() == [f"{url}: empty -> {catalogue_db.SCHEMA_HEAD}"]
    assert path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.sqlite"], (
        "no backup of a file that did not exist"
    )
    content, shipped = dump_sqlite(path), dump_sqlite(SHIPPED)
    assert content == shipped


def test_db_current_and_path_report_the_url(meso, upgraded_db):
    """'meso db current' says the head revision and 'meso db path' shows the URL in use."""
    current = meso("db", "current")
    assert current.exit_code == 0
    head = catalogue_db.SCHEMA_HEAD
    assert current.stdout.strip() == f"{head} (head: {head})"
    doc = meso("db", "current", "--json").json()
    assert (doc["revision"], doc["head"]) == (head, head)
    assert doc["location"] == sqlite_url(upgraded_db)
    path = meso("db", "path")
    assert path.stdout.strip() == sqlite_url(upgraded_db)
    path_doc = meso("db", "path", "--json").json()
    assert (path_doc["shipped"], path_doc["read_only"]) == (False, False)


def test_commands_read_from_the_url_database(meso, upgraded_db):
    """Commands read the catalogue at MESO_DATABASE_URL, not the shipped file."""
    connection = sqlite3.connect(upgraded_db)
    connection.execute(
        "UPDATE substance SET name = 'Lidocaine (clinic copy)', "
        "search_text = search_text || char(10) || 'clinic-copy' WHERE id = 'lidocaine'"
    )
    connection.commit()
    connection.close()
    outcome = meso("ingredients", "show", "lidocaine", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.json()["name"] == "Lidocaine (clinic copy)"
    hits = meso("ingredients", "search", "clinic copy", "--json").json()["items"]
    assert [h["id"] for h in hits] == ["lidocaine"]


def test_db_upgrade_without_a_url_is_a_usage_error(meso):
    """'meso db upgrade' without MESO_DATABASE_URL refuses (exit 2): the shipped file is read-only."""
    before = sha256(SHIPPED)
    outcome = meso("db", "upgrade")
    assert_one_line_error(outcome, 2, "MESO_DATABASE_URL", "meso db build")
    assert sha256(SHIPPED) == before


def test_db_upgrade_backs_up_an_existing_sqlite_file(meso, upgraded_db):
    """Upgrading an existing SQLite file first backs it up to <name>.<stamp>.bak beside it
    (SQLite's online backup: the same content, not necessarily the same bytes)."""
    original = dump_sqlite(upgraded_db)
    outcome = meso("db", "upgrade")
    assert outcome.exit_code == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == f"{sqlite_url(upgraded_db)}: {catalogue_db.SCHEMA_HEAD} -> {catalogue_db.SCHEMA_HEAD}"
    backups = sorted(upgraded_db.parent.glob("clinic.sqlite.*.bak"))
    assert len(backups) == 1
    assert lines[1] == f"backup: {backups[0]}"
    assert dump_sqlite(backups[0]) == original
    assert dump_sqlite(upgraded_db) == dump_sqlite(SHIPPED)


def test_db_upgrade_restores_edited_shipped_rows(meso, upgraded_db):
    """Upgrading again replaces edited shipped rows with the catalogue's own."""
    connection = sqlite3.connect(upgraded_db)
    connection.execute("DELETE FROM rule")
    connection.commit()
    connection.close()
    assert meso("db", "upgrade").exit_code == 0
    assert dump_sqlite(upgraded_db)["rule"] == dump_sqlite(SHIPPED)["rule"]


# --------------------------------------------------------------------------- migrations


def test_schema_head_matches_alembic_head():
    """The revision meso's code expects is Alembic's head, and every known revision exists."""
    from alembic.script import ScriptDirectory

    assert catalogue_migrate.head_revision() == catalogue_db.SCHEMA_HEAD
    script = ScriptDirectory.from_config(catalogue_migrate.alembic_config())
    assert set(catalogue_db.KNOWN_REVISIONS) == {rev.revision for rev in script.walk_revisions()}
    assert len(script.get_heads()) == 1


def _schema_differences(engine) -> list:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mesocli.storage.models import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrations_from_blank_create_the_model_schema(tmp_path):
    """Upgrading an empty SQLite file to head creates exactly the tables the models define."""
    from sqlalchemy import create_engine, inspect

    from mesocli.storage.models import Base

    engine = create_engine(sqlite_url(tmp_path / "blank.sqlite"))
    try:
        catalogue_migrate.migrate(engine)
        assert catalogue_migrate.current_revision(engine) == catalogue_db.SCHEMA_HEAD
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
        assert _schema_differences(engine) == []
    finally:
        engine.dispose()


def test_schema_comparison_notices_a_missing_table(tmp_path):
    """The model comparison reports a difference when the database lacks a table (so it can fail)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlite_url(tmp_path / "blank.sqlite"))
    try:
        catalogue_migrate.migrate(engine)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE formulation_default"))
        differences = _schema_differences(engine)
        assert [d[0] for d in differences] == ["add_table"]
        assert differences[0][1].name == "formulation_default"
    finally:
        engine.dispose()


def test_downgrade_to_base_then_upgrade_again(tmp_path):
    """Downgrading to base drops every catalogue table; upgrading again rebuilds the same schema."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(sqlite_url(tmp_path / "cycle.sqlite"))
    try:
        catalogue_migrate.migrate(engine)
        catalogue_migrate.migrate(engine, "base", down=True)
        assert catalogue_migrate.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        catalogue_migrate.migrate(engine)
        assert catalogue_migrate.current_revision(engine) == catalogue_db.SCHEMA_HEAD
        assert _schema_differences(engine) == []
    finally:
        engine.dispose()


def test_shipped_database_schema_matches_the_models():
    """The committed database's schema has no differences from the models."""
    engine = catalogue_db.open_engine(None)
    try:
        assert _schema_differences(engine) == []
        assert catalogue_migrate.current_revision(engine) == catalogue_db.SCHEMA_HEAD
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- database faults (exit 3)


def test_empty_file_has_no_schema(meso, tmp_path, use_database):
    """An empty SQLite file is exit 3: no catalogue schema, run 'meso db upgrade'."""
    path = tmp_path / "empty.sqlite"
    path.touch()
    use_database(path)
    outcome = meso("ingredients", "list")
    assert_one_line_error(outcome, 3, "no catalogue schema; run 'meso db upgrade'", str(path))
    assert outcome.stdout == ""


def test_database_error_with_json_writes_an_error_document(meso, tmp_path, use_database):
    """With --json, a database fault also writes the error document (code 3) to stdout."""
    path = tmp_path / "empty.sqlite"
    path.touch()
    use_database(path)
    outcome = meso("ingredients", "list", "--json")
    assert outcome.exit_code == 3
    doc = outcome.json()
    assert doc["schema_version"] == 1 and doc["kind"] == "error" and doc["code"] == 3
    assert "no catalogue schema" in doc["message"]


def test_missing_sqlite_file_is_reported(meso, tmp_path, use_database):
    """A MESO_DATABASE_URL naming a file that does not exist is exit 3 with advice to upgrade."""
    use_database(tmp_path / "missing.sqlite")
    assert_one_line_error(meso("ingredients", "list"), 3, "run 'meso db upgrade'", "missing.sqlite")


def test_reading_a_missing_sqlite_file_does_not_create_it(meso, tmp_path, use_database):
    """A read command against a missing SQLite file reports it without creating the file."""
    path = tmp_path / "missing.sqlite"
    use_database(path)
    assert meso("ingredients", "list").exit_code == 3
    assert not path.exists()


def test_random_bytes_file_is_not_a_database(meso, tmp_path, use_database):
    """A file of random bytes is exit 3: not a valid catalogue database."""
    path = tmp_path / "noise.sqlite"
    path.write_bytes(os.urandom(8192))
    use_database(path)
    assert_one_line_error(meso("ingredients", "list"), 3, "not a valid catalogue database")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(min_size=1, max_size=4096))
def test_any_non_database_file_is_exit_3(meso, monkeypatch, content):
    """Whatever bytes a non-SQLite file holds, reading it is exit 3 with one line and no traceback."""
    monkeypatch.setattr(api, "_CACHE", {})
    if content.startswith(b"SQLite format 3"):
        content = b"x" + content
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bad.sqlite"
        path.write_bytes(content)
        monkeypatch.setenv("MESO_DATABASE_URL", sqlite_url(path))
        outcome = meso("ingredients", "show", "lidocaine")
        assert_one_line_error(outcome, 3)
        assert path.read_bytes() == content


def test_unknown_future_revision_asks_to_upgrade_meso(meso, upgraded_db):
    """A database at a revision this meso does not know (9999) is exit 3 asking to upgrade meso."""
    connection = sqlite3.connect(upgraded_db)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()
    for args in (("ingredients", "list"), ("db", "current"), ("ingredients", "search", "lido")):
        api._CACHE.clear()
        assert_one_line_error(meso(*args), 3, "9999", "upgrade meso")


def test_empty_alembic_version_table_has_no_schema(meso, upgraded_db):
    """A database whose alembic_version table is empty is exit 3: run 'meso db upgrade'."""
    connection = sqlite3.connect(upgraded_db)
    connection.execute("DELETE FROM alembic_version")
    connection.commit()
    connection.close()
    assert_one_line_error(meso("ingredients", "list"), 3, "run 'meso db upgrade'")


def test_missing_shipped_database_is_exit_3(meso, monkeypatch, tmp_path):
    """When the shipped database file is missing, reading commands fail with exit 3 'not found'."""
    missing = tmp_path / "gone" / "ingredients.sqlite"
    monkeypatch.setattr(config, "shipped_database", lambda: missing)
    outcome = meso("ingredients", "list")
    assert_one_line_error(outcome, 3, "not found", str(missing))
    assert not missing.exists()
    assert_one_line_error(meso("ingredients", "search", "lido"), 3, "not found")


@pytest.mark.parametrize("url", ["not a url", "nosuchdialect://x/y"])
def test_unusable_database_url_is_exit_3(meso, monkeypatch, url):
    """A MESO_DATABASE_URL that is not a usable URL is exit 3 naming the variable."""
    monkeypatch.setenv("MESO_DATABASE_URL", url)
    assert_one_line_error(meso("ingredients", "list"), 3, "MESO_DATABASE_URL")
