"""One reader of SQLite URLs: the snapshot identity, the snapshot cache and the engine agree
with SQLAlchemy on which file a URL names, without importing SQLAlchemy."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from mesocli import config


def _sqlalchemy_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    database = parsed.database
    return Path(database[5:] if database.startswith("file:") else database)


@pytest.mark.parametrize("url", [
    "sqlite:///clinic.sqlite", "sqlite:////var/lib/meso/clinic.sqlite", "sqlite://", "sqlite:///:memory:",
    "sqlite+pysqlite:///x.db?mode=ro", "sqlite:///file:x.db?mode=ro&uri=true", "sqlite:///a%20b.db",
    "sqlite://host/x.db", "postgresql+psycopg://u:p@host/db", "postgres://host/db", "mysql://h/d",
])
def test_known_shapes_name_the_file_sqlalchemy_names(url):
    """Relative and absolute paths, drivers, queries, %-escapes, file: URIs and other backends."""
    assert config.sqlite_path(url) == _sqlalchemy_file(url)


_segment = st.text(alphabet="abcXYZ019_-. %", min_size=1, max_size=8)


@given(driver=st.sampled_from(["sqlite", "sqlite+pysqlite"]), slashes=st.sampled_from(["///", "////"]),
       parts=st.lists(_segment, min_size=1, max_size=3), query=st.sampled_from(["", "?mode=ro", "?timeout=5&x=1"]))
def test_any_sqlite_file_url_names_the_file_sqlalchemy_names(driver, slashes, parts, query):
    """For generated sqlite URLs the light reader and SQLAlchemy agree on the file."""
    url = f"{driver}:{slashes}{'/'.join(parts)}{query}"
    try:
        expected = _sqlalchemy_file(url)
    except Exception:  # a URL SQLAlchemy itself cannot read is not a case to compare
        return
    assert config.sqlite_path(url) == expected


def test_the_engine_and_the_snapshot_use_the_same_reader():
    """catalogue.db.sqlite_file and catalogue.cache.sqlite_path give config.sqlite_path's answer."""
    from mesocli.storage import db, snapshot

    for url in ("sqlite:///a.db", "sqlite+pysqlite:///b.db?mode=ro", "postgresql://h/d", "sqlite://"):
        assert db.sqlite_file(url) == snapshot.sqlite_path(url) == config.sqlite_path(url)
    assert snapshot.sqlite_path(None) == config.shipped_database()
