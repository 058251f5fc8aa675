"""Database faults: each is exit 3 with one line that says what to do, and changes no file.

Missing, truncated and random-bytes files, a database at a newer schema revision than this
meso knows, read-only locations, and a PostgreSQL URL with nothing listening. Cases that must
hold when the tests run as root use locations no permission can open (a path under a regular
file, SQLite's own read-only mode); only the true file-permission cases skip as root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mesocli import api, config
from mesocli.storage.db import SCHEMA_HEAD
from tests.conftest import skip_if_permissions_are_overridden

READERS = {
    "list": ("ingredients", "list"),
    "show": ("ingredients", "show", "lidocaine"),
    "search": ("ingredients", "search", "lido"),
    "check": ("check", "--allergy", "lidocaine", "-i", "lidocaine-2pct-sd"),
    "build": ("build", "--indication", "hair-loss"),
    "current": ("db", "current"),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(directory: Path) -> dict[str, str]:
    return {p.name: _sha256(p) for p in sorted(directory.iterdir()) if p.is_file()}


def assert_fault(code: int, stdout: str, stderr: str, *fragments: str, exit_code: int = 3) -> str:
    """Exit 3 (by default), one 'meso: error:' line holding each fragment, no traceback, nothing on stdout."""
    assert code == exit_code, (code, stderr[-2000:])
    assert "Traceback" not in stdout and "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr[-2000:]
    assert lines[0].startswith("meso: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert stdout == ""
    return lines[0]


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache(monkeypatch):
    monkeypatch.setattr(api, "_CACHE", {})


@pytest.fixture
def database(monkeypatch, tmp_path):
    """Point MESO_DATABASE_URL at ``tmp_path/db/<name>`` holding ``content``; returns the path."""

    def make(content: bytes | None, name: str = "clinic.sqlite") -> Path:
        folder = tmp_path / "db"
        folder.mkdir(exist_ok=True)
        path = folder / name
        if content is not None:
            path.write_bytes(content)
        monkeypatch.setenv(config.DATABASE_ENV, f"sqlite:///{path}")
        return path

    return make


def _shipped_bytes() -> bytes:
    return config.shipped_database().read_bytes()


def _at_revision(revision: str) -> bytes:
    """The shipped catalogue with its alembic_version set to ``revision``."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.sqlite"
        path.write_bytes(_shipped_bytes())
        connection = sqlite3.connect(path)
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        connection.commit()
        connection.close()
        return path.read_bytes()


FAULTS = {
    # name: (content of the file (None: no file), fragments of the message that say what to do)
    "missing": (None, ("no database at", "run 'meso db upgrade'")),
    "truncated-header": (lambda: _shipped_bytes()[:100], ("not a valid catalogue database", "restore it",
                                                          "meso db build")),
    "truncated-half": (lambda: _shipped_bytes()[: len(_shipped_bytes()) // 2],
                       ("not a valid catalogue database", "restore it")),
    "random-bytes": (lambda: os.urandom(64 * 1024), ("not a valid catalogue database", "restore it")),
    "newer-revision": (lambda: _at_revision("9999"), ("revision 9999", "upgrade meso")),
}


@pytest.mark.parametrize("command", list(READERS), ids=list(READERS))
@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_reading_a_faulty_database_is_exit_3_saying_what_to_do(meso, database, fault, command):
    """Every reading command on a missing, damaged or too-new database: exit 3, one line, file untouched."""
    content, fragments = FAULTS[fault]
    path = database(content() if callable(content) else content)
    before = _files(path.parent)
    outcome = meso(*READERS[command])
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, *fragments)
    assert _files(path.parent) == before  # nothing created, changed or left behind (journal, backup)


@pytest.mark.parametrize("fault", ["truncated-header", "truncated-half", "random-bytes"])
def test_upgrading_a_damaged_file_changes_nothing(meso, database, fault):
    """'meso db upgrade' on a damaged file refuses before writing anything, backup included."""
    path = database(FAULTS[fault][0]())
    before = _files(path.parent)
    outcome = meso("db", "upgrade")
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, "not a valid catalogue database", "restore it")
    assert _files(path.parent) == before


def test_upgrading_a_newer_database_asks_to_upgrade_meso_and_changes_nothing(meso, database):
    """A database made by a newer meso (revision 9999) is not migrated: exit 3, 'upgrade meso', no backup."""
    path = database(_at_revision("9999"))
    before = _files(path.parent)
    outcome = meso("db", "upgrade")
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, "9999", SCHEMA_HEAD, "upgrade meso")
    assert _files(path.parent) == before


def test_the_shipped_database_missing_is_exit_3(meso, monkeypatch, tmp_path):
    """With the shipped catalogue file gone, reading is exit 3 and says to reinstall or rebuild."""
    monkeypatch.setattr(config, "shipped_database", lambda: tmp_path / "ingredients.sqlite")
    outcome = meso("check", "--allergy", "lidocaine")
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, "not found", "reinstall meso",
                 "meso db build")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------- read-only places


@pytest.fixture
def a_file(tmp_path) -> Path:
    """A regular file: no directory can exist under it, whoever runs the tests."""
    path = tmp_path / "notes.txt"
    path.write_text("not a directory\n", encoding="utf-8")
    return path


def test_db_build_under_a_regular_file_is_exit_3(meso, a_file):
    """'meso db build -o' into a place that cannot be a directory: exit 3, choose another location."""
    outcome = meso("db", "build", "-o", str(a_file / "sub" / "ingredients.sqlite"))
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, str(a_file), "not a directory",
                 "choose a writable location with --output")
    assert a_file.read_text(encoding="utf-8") == "not a directory\n"


def test_db_upgrade_under_a_regular_file_is_exit_3(meso, monkeypatch, a_file):
    """'meso db upgrade' for a database under a regular file: exit 3, point MESO_DATABASE_URL elsewhere."""
    monkeypatch.setenv(config.DATABASE_ENV, f"sqlite:///{a_file / 'clinic.sqlite'}")
    outcome = meso("db", "upgrade")
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, str(a_file), "not a directory",
                 "set MESO_DATABASE_URL to a file in a writable directory")
    assert a_file.read_text(encoding="utf-8") == "not a directory\n"


def test_db_upgrade_in_a_missing_directory_is_exit_3(meso, monkeypatch, tmp_path):
    """A database path whose directory does not exist is not created silently: exit 3, saying so."""
    monkeypatch.setenv(config.DATABASE_ENV, f"sqlite:///{tmp_path / 'absent' / 'clinic.sqlite'}")
    outcome = meso("db", "upgrade")
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, "does not exist", "writable directory")
    assert not (tmp_path / "absent").exists()


def test_db_upgrade_of_a_directory_is_exit_3(meso, monkeypatch, tmp_path):
    """MESO_DATABASE_URL naming a directory: exit 3, name a database file in it."""
    monkeypatch.setenv(config.DATABASE_ENV, f"sqlite:///{tmp_path}")
    outcome = meso("db", "upgrade")
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, "is a directory", "database file in it")


@pytest.fixture
def read_only_url(tmp_path) -> tuple[Path, str]:
    """A catalogue copy opened through SQLite's read-only mode: read-only even for root."""
    path = tmp_path / "ro" / "clinic.sqlite"
    path.parent.mkdir()
    shutil.copyfile(config.shipped_database(), path)
    return path, f"sqlite:///file:{path}?mode=ro&uri=true"


def test_a_read_only_database_can_still_be_read(meso, monkeypatch, read_only_url):
    """Reading needs no write access: every reading command works on a read-only database."""
    path, url = read_only_url
    monkeypatch.setenv(config.DATABASE_ENV, url)
    before = _files(path.parent)
    for args in READERS.values():
        api._CACHE.clear()
        outcome = meso(*args)
        assert outcome.exit_code in (0, 1), (args, outcome.stderr)
        assert outcome.stderr == "" and outcome.stdout
    assert _files(path.parent) == before


def test_upgrading_a_read_only_database_is_exit_3(meso, monkeypatch, read_only_url):
    """'meso db upgrade' on a read-only database: exit 3, make it writable or use a writable copy."""
    path, url = read_only_url
    monkeypatch.setenv(config.DATABASE_ENV, url)
    before = _files(path.parent)
    outcome = meso("db", "upgrade")
    assert_fault(outcome.exit_code, outcome.stdout, outcome.stderr, "read-only", "writable")
    assert _files(path.parent) == before


def test_a_database_in_a_directory_without_write_permission(meso, monkeypatch, tmp_path):
    """In a directory meso may not write to: reading works, upgrading is exit 3 saying what to do."""
    skip_if_permissions_are_overridden(tmp_path)
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "clinic.sqlite"
    shutil.copyfile(config.shipped_database(), path)
    path.chmod(0o444)
    folder.chmod(0o555)
    monkeypatch.setenv(config.DATABASE_ENV, f"sqlite:///{path}")
    try:
        before = _files(folder)
        outcome = meso("ingredients", "show", "lidocaine")
        assert outcome.exit_code == 0, outcome.stderr
        upgrade = meso("db", "upgrade")
        assert_fault(upgrade.exit_code, upgrade.stdout, upgrade.stderr, "read-only", "writable")
        build = meso("db", "build", "-o", str(folder / "new.sqlite"))
        assert_fault(build.exit_code, build.stdout, build.stderr, "choose a writable location")
        assert _files(folder) == before
    finally:
        folder.chmod(0o755)


# --------------------------------------------------------------------------------------------- PostgreSQL


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("args", [("ingredients", "list"), ("check", "--allergy", "lidocaine"),
                                  ("db", "current"), ("db", "upgrade")],
                         ids=["list", "check", "current", "upgrade"])
def test_postgresql_with_nothing_listening_is_exit_3_quickly(tmp_path, args):
    """A PostgreSQL URL with no server: exit 3 with what to do; the 5-second timeout guards against a hang."""
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is part of the test extra")
    url = f"postgresql+psycopg://meso@127.0.0.1:{_free_port()}/meso"
    env = dict(os.environ, **{config.DATABASE_ENV: url})
    done = subprocess.run([sys.executable, "-m", "mesocli", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=5)
    line = assert_fault(done.returncode, done.stdout, done.stderr, "cannot connect",
                        "check that the server is running", config.DATABASE_ENV)
    assert "127.0.0.1" in line
