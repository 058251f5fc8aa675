"""Attacks on the caches under MESO_HOME: planted pickles, links, truncated files, held locks,
and databases that change behind a snapshot.

Nothing is unpickled unless this user wrote it and no one else can write it; no link is
followed when writing; a broken cache is rebuilt; a held lock is waited for only so long; and
every way a SQLite database changes gives a new snapshot key.
"""

from __future__ import annotations

import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli.storage import snapshot

PARSE = ("from mesocli.units import parse_quantity; "
         "print(parse_quantity('20 mg/mL', kind='concentration', what='c').in_unit('g/L'))")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class _Planted:
    """A pickle that, when loaded, creates the file it names: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _parse_in(home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MESO_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", PARSE], env=env, text=True, capture_output=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def pint_cache_names(tmp_path_factory) -> list[str]:
    """The names of the files pint writes into its cache folder."""
    home = tmp_path_factory.mktemp("pint-names")
    assert _parse_in(home).returncode == 0
    names = sorted(p.name for p in (home / "cache" / "pint").iterdir() if p.suffix == ".pickle")
    assert names
    return names


def _plant(home: Path, names: list[str], marker: Path) -> Path:
    folder = home / "cache" / "pint"
    folder.mkdir(parents=True, mode=0o700)
    os.chmod(home / "cache", 0o700)
    payload = pickle.dumps(_Planted(marker))
    for name in names:
        (folder / name).write_bytes(payload)
        os.chmod(folder / name, 0o600)
    return folder


def test_control_a_planted_pickle_of_our_own_would_run(tmp_path, pint_cache_names):
    """Control: pint really unpickles its cache (so the refusals below are what protects)."""
    marker = tmp_path / "ran"
    _plant(tmp_path / "home", pint_cache_names, marker)
    _parse_in(tmp_path / "home")
    assert marker.exists()


WEAKNESSES = ["file-group-writable", "file-world-writable", "folder-group-writable", "folder-world-writable",
              "parent-world-writable", "file-is-link", "file-owned-by-another-user", "folder-owned-by-another-user",
              "folder-is-link"]


@pytest.mark.parametrize("weakness", WEAKNESSES)
def test_a_pickle_someone_else_could_write_is_never_unpickled(tmp_path, pint_cache_names, weakness):
    """A pint cache another user could have written (by mode, owner or link) is ignored; units
    still parse."""
    if "another-user" in weakness and not IS_ROOT:
        pytest.skip("changing a file's owner needs root")
    marker = tmp_path / "ran"
    home = tmp_path / "home"
    folder = _plant(home, pint_cache_names, marker)
    first = folder / pint_cache_names[0]
    if weakness == "file-group-writable":
        for name in pint_cache_names:
            os.chmod(folder / name, 0o620)
    elif weakness == "file-world-writable":
        os.chmod(first, 0o606)
    elif weakness == "folder-group-writable":
        os.chmod(folder, 0o770)
    elif weakness == "folder-world-writable":
        os.chmod(folder, 0o777)
    elif weakness == "parent-world-writable":
        os.chmod(home / "cache", 0o777)
    elif weakness == "file-is-link":
        elsewhere = tmp_path / "elsewhere.pickle"
        first.rename(elsewhere)
        first.symlink_to(elsewhere)
    elif weakness == "file-owned-by-another-user":
        for name in pint_cache_names:
            os.chown(folder / name, 12345, 12345)
    elif weakness == "folder-owned-by-another-user":
        os.chown(folder, 12345, 12345)
    elif weakness == "folder-is-link":
        real = tmp_path / "real-pint"
        folder.rename(real)
        folder.symlink_to(real, target_is_directory=True)
    done = _parse_in(home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "20.0"
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["empty", "ten-bytes", "half", "garbage", "json-garbage"])
def test_a_truncated_or_corrupt_pint_cache_is_rebuilt(tmp_path, damage):
    """A damaged pint cache never stops meso: the registry is built, the cache written afresh."""
    home = tmp_path / "home"
    assert _parse_in(home).returncode == 0
    folder = home / "cache" / "pint"
    for path in folder.iterdir():
        if path.name == ".lock":
            continue
        data = path.read_bytes()
        if damage == "empty":
            path.write_bytes(b"")
        elif damage == "ten-bytes":
            path.write_bytes(data[:10])
        elif damage == "half":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "garbage" and path.suffix == ".pickle":
            path.write_bytes(os.urandom(len(data)))
        elif damage == "json-garbage" and path.suffix == ".json":
            path.write_bytes(b"{not json")
    for _ in range(2):  # the first run rebuilds, the second reads what it wrote
        done = _parse_in(home)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "20.0"
    assert all(p.stat().st_size > 0 for p in folder.iterdir() if p.suffix == ".pickle")


def test_a_lock_held_forever_is_waited_for_only_so_long(tmp_path):
    """With the pint cache lock held by a process that never lets go, meso still runs (without
    the cache) instead of hanging."""
    fcntl = pytest.importorskip("fcntl")
    folder = tmp_path / "cache" / "pint"
    folder.mkdir(parents=True, mode=0o700)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = _parse_in(tmp_path, timeout=300)  # would never end without the bound
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "20.0"


def test_the_lock_file_is_never_followed_through_a_link(tmp_path):
    """A link planted as the lock file is not opened (nor created through): the file it points
    at stays untouched."""
    folder = tmp_path / "cache" / "pint"
    folder.mkdir(parents=True, mode=0o700)
    target = tmp_path / "victim"
    (folder / ".lock").symlink_to(target)
    done = _parse_in(tmp_path)
    assert done.returncode == 0, done.stderr
    assert not target.exists()


def test_pint_never_writes_through_a_planted_link(tmp_path, pint_cache_names):
    """Links planted under a cache file's names are not written through."""
    folder = tmp_path / "cache" / "pint"
    folder.mkdir(parents=True, mode=0o700)
    victims = []
    for name in pint_cache_names:
        victim = tmp_path / f"victim-{name}"
        victim.write_bytes(b"precious")
        (folder / name).symlink_to(victim)
        victims.append(victim)
    done = _parse_in(tmp_path)
    assert done.returncode == 0, done.stderr
    assert all(v.read_bytes() == b"precious" for v in victims)


# ---------------------------------------------------------------------------- catalogue snapshot
def _identity(tmp_path: Path) -> tuple:
    database = tmp_path / "db.sqlite"
    if not database.exists():
        sqlite3.connect(database).close()
    identity = snapshot.key(database)
    assert identity is not None
    return identity


def _store_marker_snapshot(identity, marker: Path) -> Path:
    target = snapshot._file_for(identity)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.write_bytes(pickle.dumps((identity, _Planted(marker))))
    os.chmod(target, 0o600)
    return target


def test_control_a_snapshot_of_our_own_is_unpickled(tmp_path):
    """Control: a private snapshot of ours is read (the refusals below are what protects)."""
    marker = tmp_path / "ran"
    _store_marker_snapshot(_identity(tmp_path), marker)
    snapshot.load(_identity(tmp_path))
    assert marker.exists()


@pytest.mark.parametrize("weakness", ["file-group-writable", "file-world-writable", "dir-group-writable",
                                      "dir-world-writable", "file-is-link", "dir-is-link",
                                      "file-owned-by-another-user", "dir-owned-by-another-user"])
def test_a_snapshot_someone_else_could_write_is_never_unpickled(tmp_path, weakness):
    """A snapshot file or folder another user could write, or a link, is never unpickled."""
    if "another-user" in weakness and not IS_ROOT:
        pytest.skip("changing a file's owner needs root")
    marker = tmp_path / "ran"
    identity = _identity(tmp_path)
    target = _store_marker_snapshot(identity, marker)
    folder = target.parent
    if weakness == "file-group-writable":
        os.chmod(target, 0o620)
    elif weakness == "file-world-writable":
        os.chmod(target, 0o602)
    elif weakness == "dir-group-writable":
        os.chmod(folder, 0o770)
    elif weakness == "dir-world-writable":
        os.chmod(folder, 0o777)
    elif weakness == "file-is-link":
        elsewhere = tmp_path / "elsewhere.pickle"
        target.rename(elsewhere)
        target.symlink_to(elsewhere)
    elif weakness == "dir-is-link":
        real = tmp_path / "real-cache"
        folder.rename(real)
        folder.symlink_to(real, target_is_directory=True)
    elif weakness == "file-owned-by-another-user":
        os.chown(target, 12345, 12345)
    elif weakness == "dir-owned-by-another-user":
        os.chown(folder, 12345, 12345)
    assert snapshot.load(identity) is None
    assert not marker.exists()


def test_storing_a_snapshot_replaces_a_planted_link_instead_of_writing_through_it(tmp_path):
    """A link at the snapshot's name is replaced by the snapshot; the file it pointed at is
    untouched."""
    identity = _identity(tmp_path)
    target = snapshot._file_for(identity)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target.symlink_to(victim)
    assert snapshot.store(identity, {"a": 1})
    assert victim.read_bytes() == b"precious"
    assert not target.is_symlink()


def test_no_snapshot_is_written_into_a_folder_others_can_write(tmp_path):
    """A cache folder that is group- or world-writable is not written into."""
    identity = _identity(tmp_path)
    folder = snapshot.cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o777)
    assert snapshot.store(identity, {"a": 1}) is False
    assert not snapshot._file_for(identity).exists()


@pytest.mark.parametrize("cut", [0, 1, 10, 100, -1])
def test_a_truncated_snapshot_is_rebuilt(meso, clinic_database, cut):
    """A truncated snapshot is read as no snapshot: the database is read and the command works."""
    if not clinic_database.startswith("sqlite"):
        pytest.skip("only SQLite catalogues are snapshotted")
    assert meso("ingredients", "list", "--json").exit_code == 0
    snapshots = list(snapshot.cache_dir().glob("catalogue-*.pickle"))
    assert snapshots
    for pickled in snapshots:
        data = pickled.read_bytes()
        pickled.write_bytes(data[:cut] if cut >= 0 else data[: len(data) // 2])
    from mesocli import api

    api._CACHE.clear()
    outcome = meso("ingredients", "list", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert "lidocaine" in outcome.stdout


# ---------------------------------------------------------------------------- the snapshot key
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mode=st.sampled_from(["wal", "delete", "truncate", "persist"]),
       steps=st.lists(st.sampled_from(["insert", "update", "delete-row", "checkpoint", "same-size-update"]),
                      min_size=1, max_size=12))
def test_every_commit_gives_a_new_key(tmp_path_factory, mode, steps):
    """Whatever the journal mode and however small the change (one byte, same size, same
    second), each commit that changes the database gives a key never seen before."""
    folder = tmp_path_factory.mktemp("keys")
    database = folder / "db.sqlite"
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute(f"PRAGMA journal_mode={mode}")
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    writer.execute("INSERT INTO t (v) VALUES ('a')")
    seen = {snapshot.key(database)}
    for number, step in enumerate(steps):
        if step == "insert":
            writer.execute("INSERT INTO t (v) VALUES (?)", (f"row {number}",))
        elif step == "update":
            writer.execute("UPDATE t SET v = ? WHERE id = 1", (f"value {number}",))
        elif step == "same-size-update":
            writer.execute("UPDATE t SET v = ? WHERE id = 1", (f"s{number:03d}",))  # same length each time
        elif step == "delete-row":
            writer.execute("INSERT INTO t (v) VALUES ('x')")
            writer.execute("DELETE FROM t WHERE v = 'x'")
        else:
            writer.execute("PRAGMA wal_checkpoint(TRUNCATE)" if mode == "wal" else "PRAGMA user_version = "
                           f"{number + 1}")
            writer.execute("UPDATE t SET v = ? WHERE id = 1", (f"after {number}",))
        identity = snapshot.key(database)
        assert identity is not None and identity not in seen, (mode, steps, number)
        seen.add(identity)
    writer.close()


def test_replacing_the_file_with_one_of_the_same_size_and_times_gives_a_new_key(tmp_path):
    """A database swapped for another file, with its size and modification time copied, is a new key."""
    database = tmp_path / "db.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (v TEXT)")
        connection.execute("INSERT INTO t VALUES ('a')")
    before = snapshot.key(database)
    other = tmp_path / "other.sqlite"
    shutil.copyfile(database, other)
    with sqlite3.connect(other) as connection:
        connection.execute("UPDATE t SET v = 'b'")
    info = database.stat()
    os.utime(other, ns=(info.st_atime_ns, info.st_mtime_ns))
    os.replace(other, database)
    assert snapshot.key(database) != before


def test_an_import_by_another_process_into_a_wal_database_is_seen(meso, clinic_database, tmp_path):
    """With the clinic database in WAL mode and a snapshot cached, an import made by another
    process is seen by the next command (no stale snapshot)."""
    if not clinic_database.startswith("sqlite"):
        pytest.skip("only SQLite catalogues are snapshotted")
    path = clinic_database[len("sqlite:///"):]
    keeper = sqlite3.connect(path)  # an open connection keeps the WAL from being checkpointed away
    keeper.execute("PRAGMA journal_mode=WAL")
    keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()
    assert "clinic-peptide-w" not in meso("ingredients", "list", "--json").stdout
    clinic_file = tmp_path / "clinic.toml"
    clinic_file.write_text(textwrap.dedent('''\
        [[substance]]
        id = "clinic-peptide-w"
        name = "Peptide W"
        class = "peptide"
        evidence = "vendor"
        sources = [{title = "Peptide W supplier data sheet"}]
        '''), encoding="utf-8")
    env = {**os.environ, "MESO_DATABASE_URL": clinic_database}
    done = subprocess.run([sys.executable, "-m", "mesocli", "catalogue", "import", str(clinic_file)], env=env,
                          text=True, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert Path(path + "-wal").exists(), sorted(os.listdir(Path(path).parent))
    listed = subprocess.run([sys.executable, "-m", "mesocli", "ingredients", "list", "--json"], env=env,
                            text=True, capture_output=True, timeout=300, check=False)
    assert "clinic-peptide-w" in listed.stdout
    assert "clinic-peptide-w" in meso("ingredients", "list", "--json").stdout  # this process too
    keeper.close()
