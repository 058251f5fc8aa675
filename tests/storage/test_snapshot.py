"""The catalogue snapshot kept in meso's cache directory: fast, never stale, never in the way."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mesocli import config


def _snapshots(home: Path) -> list[Path]:
    return sorted((home / "cache").glob("catalogue-*.pickle"))


def _run(code: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k != config.DATABASE_ENV}
    environ[config.HOME_ENV] = str(home)
    return environ


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A private copy of the shipped catalogue, so tests may change it."""
    target = tmp_path / "catalogue.sqlite"
    shutil.copyfile(config.shipped_database(), target)
    return target


LOAD_AND_REPORT = (
    "import sys\n"
    "from mesocli.api import load_catalogue\n"
    "cat = load_catalogue()\n"
    "print(len(cat.substances), 'sqlalchemy' in sys.modules)\n"
)


def test_a_second_load_does_not_import_sqlalchemy(env: dict[str, str], home: Path) -> None:
    """The first process reads the database and writes a snapshot; the next reads only the snapshot."""
    first = _run(LOAD_AND_REPORT, env)
    assert first.endswith("True")
    assert len(_snapshots(home)) == 1
    second = _run(LOAD_AND_REPORT, env)
    assert second.split()[0] == first.split()[0]
    assert second.endswith("False")


def test_a_cold_check_uses_the_snapshot_and_prints_the_same_document(env: dict[str, str]) -> None:
    """``meso check --json`` gives the same bytes with and without a snapshot, and skips SQLAlchemy."""
    code = (
        "import sys\n"
        "from mesocli.cli.app import run\n"
        "code = run(['check', '--allergy', 'lidocaine', '--ingredient', 'hyaluronic-acid', '--json'])\n"
        "sys.stderr.write('HEAVY=' + ','.join(m for m in ('sqlalchemy', 'alembic', 'pint', 'rich')"
        " if m in sys.modules))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(first.stdout)["kind"] == "check"
    assert second.stdout == first.stdout
    assert second.stderr.split("HEAVY=")[1].strip() == ""


def test_a_changed_database_is_read_again(env: dict[str, str], home: Path, database: Path) -> None:
    """A snapshot is never served for a database file that changed since it was taken."""
    import sqlite3

    env = {**env, config.DATABASE_ENV: f"sqlite:///{database}"}
    code = (
        "from mesocli.api import load_catalogue\n"
        "print(load_catalogue().substances['lidocaine'].name)\n"
    )
    assert _run(code, env) == "Lidocaine"
    assert len(_snapshots(home)) == 1
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE substance SET name = 'Lidocaine (renamed)' WHERE id = 'lidocaine'")
    connection.close()
    assert _run(code, env) == "Lidocaine (renamed)"
    assert _run(code, env) == "Lidocaine (renamed)"


def test_the_snapshot_key_changes_with_the_file(database: Path) -> None:
    """Same size, different content and time: a different key."""
    from mesocli.storage import snapshot

    before = snapshot.key(database)
    stat_before = database.stat()
    data = bytearray(database.read_bytes())
    database.write_bytes(bytes(data))
    os.utime(database, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns + 1_000_000))
    after = snapshot.key(database)
    assert before is not None and after is not None and before != after


def test_a_corrupt_snapshot_is_ignored_and_replaced(env: dict[str, str], home: Path) -> None:
    """Garbage in the cache file costs one database read, then a good snapshot replaces it."""
    _run(LOAD_AND_REPORT, env)
    [snapshot] = _snapshots(home)
    snapshot.write_bytes(b"this is not a pickle")
    assert _run(LOAD_AND_REPORT, env).endswith("True")
    assert snapshot.read_bytes() != b"this is not a pickle"
    assert _run(LOAD_AND_REPORT, env).endswith("False")


def test_a_truncated_snapshot_is_ignored(env: dict[str, str], home: Path) -> None:
    _run(LOAD_AND_REPORT, env)
    [snapshot] = _snapshots(home)
    snapshot.write_bytes(snapshot.read_bytes()[:1000])
    assert _run(LOAD_AND_REPORT, env).split()[0] == _run(LOAD_AND_REPORT, env).split()[0]


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0, reason="root ignores permissions")
def test_an_unwritable_cache_directory_still_works(env: dict[str, str], home: Path) -> None:
    """When the cache cannot be written, meso reads the database every time."""
    home.mkdir(parents=True)
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert _run(LOAD_AND_REPORT, env).endswith("True")
        assert _run(LOAD_AND_REPORT, env).endswith("True")
    finally:
        home.chmod(stat.S_IRWXU)


def test_a_cache_path_that_is_a_file_still_works(env: dict[str, str], home: Path) -> None:
    """A cache directory that cannot be created (a file is in the way) is not an error."""
    home.mkdir(parents=True)
    (home / "cache").write_text("in the way")
    assert _run(LOAD_AND_REPORT, env).endswith("True")
    assert _run(LOAD_AND_REPORT, env).endswith("True")


def test_the_snapshot_is_private(env: dict[str, str], home: Path) -> None:
    """The cache directory is created 0700 and the snapshot written 0600."""
    if not hasattr(os, "getuid"):
        pytest.skip("POSIX permissions")
    _run(LOAD_AND_REPORT, env)
    [snapshot] = _snapshots(home)
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "cache").stat().st_mode) & 0o077 == 0


def test_a_snapshot_others_can_write_is_not_trusted(env: dict[str, str], home: Path) -> None:
    if not hasattr(os, "getuid"):
        pytest.skip("POSIX permissions")
    _run(LOAD_AND_REPORT, env)
    [snapshot] = _snapshots(home)
    snapshot.chmod(0o666)
    assert _run(LOAD_AND_REPORT, env).endswith("True")


def test_refresh_reads_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_catalogue(refresh=True)`` reads the database even with a snapshot at hand."""
    from mesocli import api

    first = api.load_catalogue()
    calls: list[object] = []
    real = api._read
    monkeypatch.setattr(api, "_read", lambda url: calls.append(url) or real(url))
    assert api.load_catalogue() is first
    fresh = api.load_catalogue(refresh=True)
    assert calls == [None]
    assert fresh is not first and sorted(fresh.substances) == sorted(first.substances)


def test_server_databases_are_never_snapshotted() -> None:
    from mesocli.storage import snapshot

    assert snapshot.sqlite_path("postgresql+psycopg://meso@localhost/meso") is None
    assert snapshot.sqlite_path("sqlite:///:memory:") is None
    assert snapshot.sqlite_path(None) == config.shipped_database()


def test_a_pickled_catalogue_keeps_its_index_and_answers_alike(catalogue) -> None:
    """The snapshot carries the catalogue index: a catalogue read back gives the same check."""
    import pickle

    from mesocli import api
    from mesocli.domain.patient import Patient

    copy = pickle.loads(pickle.dumps(catalogue))
    assert sorted(copy.products) == sorted(catalogue.products)
    assert copy.rules_by_trigger.keys() == catalogue.rules_by_trigger.keys()
    assert copy.products_by_role == catalogue.products_by_role
    patient = Patient(allergies=["lidocaine"], conditions=["pregnancy"])
    assert (api.check(patient, ingredients=["lidocaine"], catalogue=copy)
            == api.check(patient, ingredients=["lidocaine"], catalogue=catalogue))


def test_a_snapshot_that_cannot_be_written_is_not_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           database: Path) -> None:
    """Any failure to write the snapshot (here: no permission) leaves the catalogue loaded as usual."""
    import tempfile as tempfile_module

    from mesocli import api

    def refuse(*args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile_module, "mkstemp", refuse)
    monkeypatch.setenv(config.HOME_ENV, str(tmp_path / "unwritable-home"))
    cat = api.load_catalogue(f"sqlite:///{database}", refresh=True)
    assert "lidocaine" in cat.substances
    assert not list((tmp_path / "unwritable-home").rglob("catalogue-*"))


def test_catalogue_objects_read_back_from_a_snapshot_equal_the_originals() -> None:
    """Every kind of catalogue object comes back from pickling field for field (the snapshot's
    quicker way of setting fields must not lose or shift one)."""
    import dataclasses
    import pickle

    from mesocli import api
    from mesocli.domain import model

    catalogue = api.load_catalogue()
    objects = [*catalogue.substances.values(), *catalogue.products.values(), *catalogue.groups.values(),
               *catalogue.crosses, *catalogue.conditions.values(), *catalogue.medications.values(),
               *catalogue.indications.values(), *catalogue.protocols, *catalogue.rules, *catalogue.defaults.values()]
    kinds = {type(o) for o in objects}
    assert {model.Substance, model.Product, model.AllergenGroup, model.Rule, model.Protocol} <= kinds
    for original in objects:
        copy = pickle.loads(pickle.dumps(original))
        assert copy == original
        for field in dataclasses.fields(original):
            assert getattr(copy, field.name) == getattr(original, field.name)
    assert pickle.loads(pickle.dumps(catalogue)).products == catalogue.products


def test_a_snapshot_of_another_shape_is_read_afresh(env: dict[str, str], home: Path) -> None:
    """A snapshot pickled by a meso whose catalogue had another shape costs one database read,
    then a snapshot of this shape replaces it."""
    _run(LOAD_AND_REPORT, env)
    [snapshot] = _snapshots(home)
    _run(RESHAPE.format(path=str(snapshot)), env)
    assert _run(LOAD_AND_REPORT, env).endswith("True")
    assert _run(LOAD_AND_REPORT, env).endswith("False")


# Re-pickle a snapshot as a catalogue of the previous shape would have been written.
RESHAPE = """
import pickle
from mesocli.domain.catalogue import Catalogue
path = {path!r}
with open(path, "rb") as handle:
    key, catalogue = pickle.load(handle)
Catalogue.SNAPSHOT_SHAPE -= 1
with open(path, "wb") as handle:
    pickle.dump((key, catalogue), handle)
"""
