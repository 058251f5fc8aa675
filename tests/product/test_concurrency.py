"""Two processes importing into the same SQLite catalogue at once.

Each import takes the database's write lock before it reads (BEGIN IMMEDIATE), so the two queue:
different rows are both applied; the same ids are applied once and the other import is refused
cleanly. Nothing is half-imported and the file passes PRAGMA integrity_check.

To make the two really contend, the test holds the write lock itself while both start, then
releases it, so both are waiting on the same lock at that moment.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest


def clinic_file(prefix: str, count: int) -> str:
    rows = []
    for i in range(count):
        rows.append(
            f'[[product]]\nid = "{prefix}-{i}"\nname = "{prefix} product {i}"\nevidence = "unsourced"\n'
            f'sources = []\n\n[[product.component]]\nsubstance = "hyaluronic-acid"\nconcentration = "{i + 1} mg/mL"\n'
        )
    return "\n".join(rows)


def _import_both(database: Path, files: list[Path]) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "MESO_DATABASE_URL": f"sqlite:///{database}"}
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        processes = [
            subprocess.Popen([sys.executable, "-m", "mesocli", "catalogue", "import", str(f)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for f in files
        ]
        time.sleep(3)  # both start and queue on the lock held here
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return results


def _local_products(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        return {row[0] for row in connection.execute("SELECT id FROM product WHERE is_local")}


def _integrity(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.fixture
def database(tmp_path, _upgraded_sqlite_template) -> Path:
    path = tmp_path / "clinic.sqlite"
    shutil.copyfile(_upgraded_sqlite_template, path)
    return path


def test_two_imports_of_different_rows_both_apply(database, tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(clinic_file("clinic-a", 150), encoding="utf-8")
    b.write_text(clinic_file("clinic-b", 150), encoding="utf-8")
    results = _import_both(database, [a, b])
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert _local_products(database) == {f"clinic-{x}-{i}" for x in "ab" for i in range(150)}
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM catalogue_import").fetchone()[0] == 2
        components = connection.execute(
            "SELECT count(*) FROM product_component WHERE product_id LIKE 'clinic-%'").fetchone()[0]
    assert components == 300
    assert _integrity(database) == "ok"


def test_two_imports_of_the_same_rows_apply_once_and_refuse_cleanly(database, tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(clinic_file("clinic", 150), encoding="utf-8")
    b.write_text(clinic_file("clinic", 150).replace("mg/mL", "ug/mL"), encoding="utf-8")
    results = _import_both(database, [a, b])
    assert sorted(r.returncode for r in results) == [0, 2], [r.stderr for r in results]
    refused = next(r for r in results if r.returncode == 2)
    assert refused.stderr.count("\n") == 1
    assert "was imported before; use --replace" in refused.stderr
    assert "Traceback" not in refused.stderr
    winner = next(r for r in results if r.returncode == 0)
    unit = "mg/mL" if winner.args[-1].endswith("a.toml") else "µg/mL"  # stored in canonical spelling
    with sqlite3.connect(database) as connection:
        units = {row[0] for row in connection.execute(
            "SELECT concentration_unit FROM product_component WHERE product_id LIKE 'clinic-%'")}
        assert connection.execute("SELECT count(*) FROM catalogue_import").fetchone()[0] == 1
    assert units == {unit}
    assert len(_local_products(database)) == 150
    assert _integrity(database) == "ok"
