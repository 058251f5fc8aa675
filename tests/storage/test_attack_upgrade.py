"""Attacks on `meso db upgrade`'s backup: a writer busy at the same time, a WAL holding the latest
commits, a full disk, a lock that is never released, a directory that cannot be written.

The backup is made with SQLite's online backup API under the write lock, so it is always a
complete, consistent database; a backup that fails is removed and the message names the cause.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mesocli.storage import migrate


@pytest.fixture
def clinic_file(clinic_database) -> Path:
    if not clinic_database.startswith("sqlite"):
        pytest.skip("the backup is made for SQLite files")
    return Path(clinic_database[len("sqlite:///"):])


def _backups(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.bak"))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def _marker_rows(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT file_name FROM catalogue_import ORDER BY id").fetchall()


def _add_marker(connection: sqlite3.Connection, name: str) -> None:
    connection.execute("INSERT INTO catalogue_import (imported_at, file_name, sha256, substances, products, "
                       "replaced) VALUES ('2026-01-01T00:00:00+00:00', ?, '0', 0, 0, 0)", (name,))


def test_the_backup_holds_commits_still_in_the_wal(meso, clinic_file):
    """A commit that sits only in the -wal file (not yet checkpointed) is in the backup."""
    keeper = sqlite3.connect(clinic_file, isolation_level=None)
    keeper.execute("PRAGMA journal_mode=WAL")
    keeper.execute("PRAGMA wal_autocheckpoint=0")
    _add_marker(keeper, "only-in-the-wal")
    assert Path(f"{clinic_file}-wal").stat().st_size > 0
    outcome = meso("db", "upgrade")
    assert outcome.exit_code == 0, outcome.stderr
    [backup] = _backups(clinic_file.parent)
    assert ("only-in-the-wal",) in _marker_rows(backup)
    with sqlite3.connect(backup) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    keeper.close()


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_a_writer_in_the_middle_of_a_transaction_is_waited_for(meso, clinic_file, mode):
    """While another connection is half-way through a write, the backup waits for it, then
    holds its complete commit: never a half-written file."""
    with sqlite3.connect(clinic_file) as connection:
        connection.execute(f"PRAGMA journal_mode={mode}")
    writer = sqlite3.connect(clinic_file, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    for index in range(200):
        _add_marker(writer, f"half-way {index}")

    def finish() -> None:
        time.sleep(1.0)
        writer.execute("COMMIT")

    finisher = threading.Thread(target=finish)
    finisher.start()
    outcome = meso("db", "upgrade")
    finisher.join()
    writer.close()
    assert outcome.exit_code == 0, outcome.stderr
    [backup] = _backups(clinic_file.parent)
    assert len([r for r in _marker_rows(backup) if r[0].startswith("half-way")]) == 200
    with sqlite3.connect(backup) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_lock_never_released_ends_with_a_message_naming_it(meso, clinic_file, monkeypatch):
    """A writer that never finishes makes the backup give up after BACKUP_WAIT: exit 3, the
    message says the database is locked by another writer, and nothing is left behind."""
    monkeypatch.setattr(migrate, "BACKUP_WAIT", 0.3)
    writer = sqlite3.connect(clinic_file, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    before = clinic_file.read_bytes()
    outcome = meso("db", "upgrade")
    writer.execute("ROLLBACK")
    writer.close()
    assert outcome.exit_code == 3
    assert "locked by another writer" in outcome.stderr and "Traceback" not in outcome.stderr
    assert _backups(clinic_file.parent) == [] and _leftovers(clinic_file.parent) == []
    assert clinic_file.read_bytes() == before


class _FailingConnection:
    """A sqlite3 connection whose backup fails with ``error`` after writing part of the copy."""

    def __init__(self, real: sqlite3.Connection, error: BaseException) -> None:
        self.real, self.error = real, error

    def backup(self, target, **kwargs):
        target.execute("CREATE TABLE partial (x)")  # something was written
        raise self.error

    def __getattr__(self, name):
        return getattr(self.real, name)


FAILURES = [
    (sqlite3.OperationalError("database or disk is full"), "disk full"),
    (OSError(errno.ENOSPC, "No space left on device"), "disk full"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "disk full"),
    (sqlite3.OperationalError("database is locked"), "locked by another writer"),
    (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "permission denied"),
    (sqlite3.DatabaseError("database disk image is malformed"), "damaged"),
]


@pytest.mark.parametrize(("error", "cause"), FAILURES, ids=[c for _, c in FAILURES])
def test_a_failed_backup_is_removed_and_the_message_names_the_cause(meso, clinic_file, monkeypatch, error, cause):
    """Whatever stops the backup, no backup or temporary file is left, the database is
    unchanged, and the one-line message (exit 3) names the real cause."""
    real_connect = sqlite3.connect
    made = []

    def connect(database, *args, **kwargs):
        connection = real_connect(database, *args, **kwargs)
        made.append(database)
        if len(made) == 2:  # the reading connection (the first holds the write lock)
            return _FailingConnection(connection, error)
        return connection

    monkeypatch.setattr(migrate.sqlite3, "connect", connect)
    before = clinic_file.read_bytes()
    outcome = meso("db", "upgrade")
    monkeypatch.undo()
    assert outcome.exit_code == 3
    assert cause in outcome.stderr and "Traceback" not in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert _backups(clinic_file.parent) == [] and _leftovers(clinic_file.parent) == []
    assert clinic_file.read_bytes() == before


@pytest.mark.parametrize(("error", "cause"), [(OSError(errno.ENOSPC, "No space left"), "disk full"),
                                              (PermissionError(errno.EACCES, "Permission denied"),
                                               "permission denied")])
def test_a_failed_rename_removes_the_finished_copy(meso, clinic_file, monkeypatch, error, cause):
    """A backup that cannot be renamed into place is removed too."""
    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(migrate.os, "replace", failing)
    outcome = meso("db", "upgrade")
    monkeypatch.undo()
    assert outcome.exit_code == 3 and cause in outcome.stderr
    assert _backups(clinic_file.parent) == [] and _leftovers(clinic_file.parent) == []


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "x"), OSError(errno.EDQUOT, "x"),
                                   sqlite3.OperationalError("database or disk is full")])
def test_backup_failure_says_disk_full_for_every_spelling_of_it(error):
    """Each way a full disk shows up is reported as 'disk full'."""
    assert migrate.backup_failure(error) == "disk full"
