"""The same catalogue on PostgreSQL as on SQLite: loaded by 'meso db upgrade', read back
identically, and searched with the same results."""

from __future__ import annotations

import pytest

from mesocli import api


def _parts(cat):
    return (cat.substances, cat.products, cat.groups, cat.crosses, cat.conditions, cat.medication_classes,
            cat.medications, cat.areas, cat.indications, cat.protocols, cat.rules, cat.defaults, cat.fhir_codes,
            cat.revision)


def test_postgres_holds_the_shipped_catalogue_exactly(postgres_catalogue_url):
    shipped = api.load_catalogue()
    on_postgres = api.load_catalogue(postgres_catalogue_url)
    assert on_postgres.location.startswith("postgresql+psycopg://")
    assert _parts(on_postgres) == _parts(shipped)


SEARCHES = ["lido", "LIDOCAINE", "hyaluronic", "vit", "50%", "a_b", "it's", "x'; DROP TABLE product;--", "\\",
            "biotine", "é"]


@pytest.mark.parametrize("text", SEARCHES)
def test_search_gives_the_same_results_on_both(postgres_catalogue_url, text):
    shipped = api.search(text, limit=50)
    on_postgres = api.search(text, limit=50, url=postgres_catalogue_url)
    assert on_postgres == shipped


def test_meso_db_upgrade_on_postgres_reports_the_revision(meso, postgres_database):
    from mesocli.storage.db import SCHEMA_HEAD

    url = postgres_database()
    outcome = meso("db", "upgrade", env={"MESO_DATABASE_URL": url})
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.splitlines()[0].endswith(f": empty -> {SCHEMA_HEAD}")
    assert "backup" not in outcome.stdout  # backups are for SQLite files; PostgreSQL has its own tools
    again = meso("db", "upgrade", env={"MESO_DATABASE_URL": url})
    assert again.stdout.splitlines()[0].endswith(f": {SCHEMA_HEAD} -> {SCHEMA_HEAD}")
    current = meso("db", "current", "--json", env={"MESO_DATABASE_URL": url})
    assert current.json()["revision"] == SCHEMA_HEAD


@pytest.mark.parametrize("text", ["\x00", "lido\x00caine", "a\x07b", "\ud800"])
def test_control_characters_in_search_are_input_errors_on_both(postgres_catalogue_url, text):
    """PostgreSQL cannot hold a NUL in text: such search text is refused before any SQL, on both."""
    from mesocli.errors import InputError

    for url in (None, postgres_catalogue_url):
        with pytest.raises(InputError, match="control or invalid characters"):
            api.search(text, url=url)
