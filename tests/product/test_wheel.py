"""A non-editable install works from any directory: the wheel carries the catalogue database and
the migrations, and its console script, ``python -m mesocli`` and ``meso db upgrade`` run from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mesocli.storage.db import SCHEMA_HEAD

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
REQUIRED_MEMBERS = (
    "mesocli/__init__.py",
    "mesocli/__main__.py",
    "mesocli/data/ingredients.sqlite",
    "mesocli/data/substances.toml",
    "mesocli/migrations/env.py",
    "mesocli/migrations/script.py.mako",
    "mesocli/migrations/versions/0001_catalogue_schema.py",
    "mesocli/migrations/versions/0002_catalogue_import_log.py",
)


def _run(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _clean_env(**extra: str) -> dict[str, str]:
    """The test environment without MESO_DATABASE_URL or anything pointing Python at the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MESO_DATABASE_URL", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from the checkout (isolated build; without isolation only if that fails offline)."""
    outdir = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(REPO)]
    result = _run(command, cwd=outdir, env=_clean_env())
    if result.returncode != 0:
        result = _run([*command, "--no-isolation"], cwd=outdir, env=_clean_env())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = list(outdir.glob("meso-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel) -> Path:
    """A clean venv outside the checkout with the wheel (and its dependencies from the index) installed."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    result = _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent, env=_clean_env())
    assert result.returncode == 0, result.stderr
    pip = _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            str(wheel),
        ],
        cwd=venv.parent,
        env=_clean_env(),
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return venv


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A working directory that is neither the checkout nor the venv."""
    directory = tmp_path / "somewhere-else"
    directory.mkdir()
    return directory


def test_wheel_carries_database_and_migrations(wheel):
    """The wheel contains the catalogue database, its source text and the Alembic migrations."""
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in REQUIRED_MEMBERS if name not in names]
    assert missing == []


def test_wheel_database_is_the_committed_one(wheel):
    """The database inside the wheel is byte-for-byte the committed data/ingredients.sqlite."""
    with zipfile.ZipFile(wheel) as archive:
        assert (
            archive.read("mesocli/data/ingredients.sqlite")
            == (REPO / "data" / "ingredients.sqlite").read_bytes()
        )


def test_wheel_declares_console_script_and_dependencies(wheel):
    """The wheel declares the 'meso' console script and its runtime dependencies."""
    with zipfile.ZipFile(wheel) as archive:
        entry_points = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        assert "meso = mesocli.cli.app:main" in archive.read(entry_points).decode()
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip().lower()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line
        ]
    for package in ("typer", "rich", "sqlalchemy", "alembic", "pint", "platformdirs"):
        assert any(r.startswith(package) for r in requires), package


def test_installed_package_is_not_the_checkout(installed, elsewhere):
    """The venv imports mesocli from its own site-packages, with the data inside the package."""
    code = (
        "import mesocli, mesocli.config as c; print(mesocli.__file__); print(c.shipped_database()); "
        "print(c.migrations_dir())"
    )
    result = _run([str(installed / "bin" / "python"), "-c", code], cwd=elsewhere, env=_clean_env())
    assert result.returncode == 0, result.stderr
    module, database, migrations = result.stdout.splitlines()
    for path in (module, database, migrations):
        assert Path(path).resolve().is_relative_to(installed.resolve()), path
        assert not Path(path).resolve().is_relative_to(REPO.resolve()), path
    assert Path(database).is_file()
    assert (Path(migrations) / "versions" / "0001_catalogue_schema.py").is_file()


def test_installed_meso_lists_ingredients(installed, elsewhere):
    """The installed 'meso ingredients list' works from another directory with the shipped catalogue."""
    result = _run(
        [str(installed / "bin" / "meso"), "ingredients", "list"], cwd=elsewhere, env=_clean_env(NO_COLOR="1")
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Ingredients (")
    assert any(line.split()[0] == "lidocaine" for line in lines[3:])
    assert "Traceback" not in result.stderr


def test_installed_meso_builds_a_recipe(installed, elsewhere):
    """The installed 'meso build --indication hair-loss --json' writes an ok recipe."""
    result = _run(
        [str(installed / "bin" / "meso"), "build", "--indication", "hair-loss", "--json"],
        cwd=elsewhere,
        env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["schema_version"], doc["kind"], doc["status"], doc["indication"]) == (
        1,
        "recipe",
        "ok",
        "hair-loss",
    )
    assert doc["syringes"] and doc["syringes"][0]["components"]


def test_installed_python_dash_m_version(installed, elsewhere):
    """'python -m mesocli --version' from the venv prints the version."""
    result = _run(
        [str(installed / "bin" / "python"), "-m", "mesocli", "--version"], cwd=elsewhere, env=_clean_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "meso 0.1.0\n"


def test_installed_meso_db_upgrade_runs_packaged_migrations(installed, elsewhere, tmp_path):
    """'meso db upgrade' from the wheel creates a database with its packaged migrations, then reads it."""
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    env = _clean_env(MESO_DATABASE_URL=url, NO_COLOR="1")
    meso = str(installed / "bin" / "meso")
    upgrade = _run([meso, "db", "upgrade"], cwd=elsewhere, env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.splitlines()[0] == f"{url}: empty -> {SCHEMA_HEAD}"
    assert (tmp_path / "x.sqlite").is_file()
    current = _run([meso, "db", "current"], cwd=elsewhere, env=env)
    assert current.stdout.strip() == f"{SCHEMA_HEAD} (head: {SCHEMA_HEAD})"
    show = _run([meso, "ingredients", "show", "lidocaine"], cwd=elsewhere, env=env)
    assert show.returncode == 0, show.stderr
    assert show.stdout.splitlines()[0] == "Lidocaine (lidocaine)"
    assert "Evidence: label" in show.stdout
    path = _run([meso, "db", "path"], cwd=elsewhere, env=env)
    assert path.stdout.strip() == url


def test_installed_shipped_database_is_read_only(installed, elsewhere):
    """The installed meso refuses 'db upgrade' without a URL and leaves the packaged database unchanged."""
    database = next(installed.glob("lib/python*/site-packages/mesocli/data/ingredients.sqlite"))
    before = database.read_bytes()
    result = _run([str(installed / "bin" / "meso"), "db", "upgrade"], cwd=elsewhere, env=_clean_env())
    assert result.returncode == 2
    assert result.stderr.startswith("meso: error: set MESO_DATABASE_URL")
    search = _run(
        [str(installed / "bin" / "meso"), "ingredients", "search", "lido"], cwd=elsewhere, env=_clean_env()
    )
    assert search.returncode == 0, search.stderr
    assert database.read_bytes() == before
    assert sorted(p.name for p in database.parent.glob("ingredients.sqlite*")) == ["ingredients.sqlite"]
