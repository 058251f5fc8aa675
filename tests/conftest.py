"""Shared fixtures: the catalogue on each database backend, a CLI runner that goes through
meso's real entry point (so exit codes and error translation are tested too), and isolated
environments.

PostgreSQL: the tests that take the ``catalogue`` or ``backend`` fixture run against SQLite and
against the server named by ``MESO_TEST_POSTGRES_URL`` (``.ci/run`` starts one). Without a
reachable server those PostgreSQL cases skip and say why, unless ``MESO_TEST_REQUIRE_POSTGRES``
is set (as in CI), where they fail instead.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mesocli.cli.app import run


@dataclass
class Outcome:
    """What one ``meso`` invocation did."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test runs against the shipped catalogue with its own MESO_HOME and no colour."""
    monkeypatch.delenv("MESO_DATABASE_URL", raising=False)
    monkeypatch.setenv("MESO_HOME", str(tmp_path_factory.mktemp("meso-home")))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def meso():
    """Call ``meso ARGS...`` in-process; returns an :class:`Outcome`."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Outcome:
        with runner.isolation(input=input, env=env) as (out, err, _mixed):
            code = run(list(args))
            sys.stdout.flush()
            sys.stderr.flush()
            stdout = out.getvalue().decode("utf-8")
            stderr = err.getvalue().decode("utf-8")
        return Outcome(code, stdout, stderr)

    return invoke


POSTGRES_ENV = "MESO_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "MESO_TEST_REQUIRE_POSTGRES"
BACKENDS = ("sqlite", "postgresql")


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_POSTGRES_ENV):
        pytest.fail(f"PostgreSQL is required here ({REQUIRE_POSTGRES_ENV} is set) but {reason}")
    pytest.skip(f"PostgreSQL case skipped: {reason}; run .ci/run, or set {POSTGRES_ENV}")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a reachable PostgreSQL server's maintenance database."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        _postgres_unavailable(f"{POSTGRES_ENV} is not set")
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not reachable"
        _postgres_unavailable(f"no server answers at {url} ({exc.__class__.__name__})")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_database(postgres_server):
    """Make empty PostgreSQL databases: ``postgres_database()`` returns the URL of a new one.
    They are dropped at the end of the session."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def create() -> str:
        name = f"meso_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(postgres_server).set(database=name).render_as_string(hide_password=False)

    yield create
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_catalogue_url(postgres_database) -> str:
    """A PostgreSQL database holding the shipped catalogue, made by 'meso db upgrade'."""
    from mesocli.storage.migrate import upgrade_database

    url = postgres_database()
    upgrade_database(url)
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def catalogue(request):
    """The shipped catalogue, loaded once per backend: the SQLite file, and the same catalogue
    loaded into PostgreSQL by 'meso db upgrade'."""
    from mesocli.api import load_catalogue

    if request.param == "sqlite":
        return load_catalogue()
    return load_catalogue(request.getfixturevalue("postgres_catalogue_url"))


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch) -> str:
    """Run the test's ``meso`` commands on each backend; returns the backend's name."""
    if request.param == "postgresql":
        monkeypatch.setenv("MESO_DATABASE_URL", request.getfixturevalue("postgres_catalogue_url"))
    return request.param


@pytest.fixture(scope="session")
def _upgraded_sqlite_template(tmp_path_factory) -> str:
    from mesocli.storage.migrate import upgrade_database

    path = tmp_path_factory.mktemp("template") / "clinic.sqlite"
    upgrade_database(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(params=BACKENDS)
def clinic_database(request, tmp_path, monkeypatch) -> str:
    """A writable catalogue database of the clinic's own, on each backend, holding the shipped
    catalogue; ``MESO_DATABASE_URL`` points at it. Returns its URL."""
    if request.param == "sqlite":
        import shutil

        path = tmp_path / "clinic.sqlite"
        shutil.copyfile(request.getfixturevalue("_upgraded_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        server = request.getfixturevalue("postgres_server")
        template = make_url(request.getfixturevalue("postgres_catalogue_url")).database
        request.getfixturevalue("postgres_database")  # drops what it made at the end
        name = f"meso_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        admin.dispose()
        url = make_url(server).set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            engine = create_engine(server, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()

        request.addfinalizer(drop)
    monkeypatch.setenv("MESO_DATABASE_URL", url)
    return url


def dump_database(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every catalogue table, sorted: two equal dumps mean equal databases."""
    from sqlalchemy import create_engine, select

    from mesocli.storage.models import Base

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def skip_if_permissions_are_overridden(folder: Path) -> None:
    """Skip the test when this process reads a mode-000 file anyway (root, or CAP_DAC_OVERRIDE):
    there, file permissions cannot make the case it tests."""
    probe = folder / "permission-probe"
    probe.write_text("x", encoding="utf-8")
    probe.chmod(0)
    try:
        probe.read_text(encoding="utf-8")
    except PermissionError:
        return
    finally:
        probe.chmod(0o600)
        probe.unlink()
    pytest.skip("running as root (or with CAP_DAC_OVERRIDE): file permissions do not apply")
