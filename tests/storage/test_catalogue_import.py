"""A clinic's own rows: `meso catalogue import|export|remove|log`, on SQLite and PostgreSQL.

Import is validated first and transactional (a bad file changes nothing and names the row and
the reason); imported rows are marked local and survive `meso db upgrade`.
"""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from mesocli.config import data_dir
from mesocli.storage.text import parse_documents, read_directory
from tests.conftest import dump_database

CLINIC_FILE = textwrap.dedent('''\
    [[substance]]
    id = "clinic-peptide-x"
    name = "Peptide X"
    aliases = ["px peptide"]
    class = "peptide"
    evidence = "vendor"
    sources = [{title = "Peptide X supplier data sheet"}]

    [[product]]
    id = "clinic-ha-vial"
    name = "Clinic HA vial"
    aliases = ["house HA"]
    vehicle = "aqueous"
    dose = "single"
    status = "device"
    container_volume = "2 mL"
    evidence = "vendor"
    sources = [{title = "Clinic compounding record", url = "https://clinic.example/records/ha"}]

    [[product.component]]
    substance = "hyaluronic-acid"
    concentration = "10 mg/mL"

    [[product.component]]
    substance = "clinic-peptide-x"
    ''')


def write(tmp_path: Path, text: str, name: str = "clinic.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_adds_local_rows_the_engine_uses(meso, clinic_database, tmp_path):
    """Imported rows appear in every command, marked local, and the engine checks them."""
    outcome = meso("catalogue", "import", write(tmp_path, CLINIC_FILE), "--json")
    assert outcome.exit_code == 0, outcome.stderr
    doc = outcome.json()
    assert (doc["kind"], doc["substances"], doc["products"], doc["replaced"]) == (
        "catalogue-import", ["clinic-peptide-x"], ["clinic-ha-vial"], [])
    assert doc["sha256"] == hashlib.sha256(CLINIC_FILE.encode()).hexdigest()

    shown = meso("products", "show", "house HA", "--json").json()
    assert (shown["id"], shown["local"]) == ("clinic-ha-vial", True)
    assert shown["sources"][0]["url"] == "https://clinic.example/records/ha"
    assert meso("ingredients", "show", "px peptide", "--json").json()["local"] is True
    assert meso("products", "show", "lidocaine-1pct-sd", "--json").json()["local"] is False
    listed = meso("products", "list")
    assert "clinic-ha-vial (local)" in listed.stdout

    check = meso("check", "--allergy", "hyaluronic acid", "--ingredient", "house HA", "--json")
    assert check.exit_code == 1
    allergy = [f for f in check.json()["findings"] if f["kind"] == "allergy"]
    assert [(f["subject"], f["severity"]) for f in allergy] == [("clinic-ha-vial", "contraindicated")]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        pytest.param(lambda t: t.replace('substance = "clinic-peptide-x"', 'substance = "no-such-thing"'),
                     "product 'clinic-ha-vial': unknown substance 'no-such-thing'", id="unknown-substance"),
        pytest.param(lambda t: t.replace('"10 mg/mL"', '"10 furlongs/mL"'),
                     "[[product]] #1 component #1", id="bad-unit"),
        pytest.param(lambda t: t.replace('"10 mg/mL"', '"10 mL"'),
                     "concentration", id="wrong-dimension"),
        pytest.param(lambda t: t.replace('dose = "single"', 'dose = "single"\ncolour = "blue"'),
                     "[[product]] #1 (clinic-ha-vial): unknown field(s): colour", id="unknown-field"),
        pytest.param(lambda t: t.replace('evidence = "vendor"\nsources = [{title = "Peptide X supplier data sheet"}]',
                                         'evidence = "vendor"\nsources = []'),
                     "[[substance]] #1 (clinic-peptide-x): evidence 'vendor' needs at least one source",
                     id="unsourced-claim"),
        pytest.param(lambda t: t + '\n[[rule]]\nid = "x"\n', "[[rule]] cannot be imported", id="rule-table"),
        pytest.param(lambda t: t.replace('id = "clinic-ha-vial"', 'id = "lidocaine-1pct-sd"'),
                     "product 'lidocaine-1pct-sd' is in the shipped catalogue", id="shipped-id"),
        pytest.param(lambda t: t.replace('aliases = ["house HA"]', 'aliases = ["Xylocaine MPF 1%"]'),
                     "'Xylocaine MPF 1%' is used by both", id="shipped-alias"),
        pytest.param(lambda t: t.replace('name = "Peptide X"', 'name = "Lidocaine"'),
                     "'Lidocaine' is used by both", id="shipped-substance-name"),
        pytest.param(lambda t: t.replace("[[product.component]]", "[[product.component]", 1),
                     "invalid TOML", id="malformed-toml"),
        pytest.param(lambda t: "# nothing here\n", "no [[substance]], [[product]] or [[code]] entries", id="no-rows"),
        pytest.param(lambda t: t.replace('id = "clinic-ha-vial"', 'id = "Clinic HA"'),
                     "is not a lowercase slug", id="bad-id"),
    ],
)
def test_a_bad_file_changes_nothing_and_names_the_row(meso, clinic_database, tmp_path, edit, expected):
    before = dump_database(clinic_database)
    outcome = meso("catalogue", "import", write(tmp_path, edit(CLINIC_FILE)))
    assert outcome.exit_code == 2, outcome.stdout
    assert outcome.stderr.startswith("meso: error: clinic.toml")
    assert expected in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert dump_database(clinic_database) == before


def test_a_failure_while_writing_rolls_everything_back(meso, clinic_database, tmp_path, monkeypatch):
    """A database failure after some rows were written leaves the database as it was (exit 3)."""
    from sqlalchemy.exc import OperationalError

    from mesocli.storage import writer

    real = writer.write_catalogue

    def write_then_fail(session, data, **kwargs):
        real(session, data, **kwargs)
        session.flush()
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(writer, "write_catalogue", write_then_fail)
    before = dump_database(clinic_database)
    outcome = meso("catalogue", "import", write(tmp_path, CLINIC_FILE))
    assert outcome.exit_code == 3
    assert "disk I/O error" in outcome.stderr
    assert dump_database(clinic_database) == before


def test_reimport_needs_replace(meso, clinic_database, tmp_path):
    path = write(tmp_path, CLINIC_FILE)
    assert meso("catalogue", "import", path).exit_code == 0
    again = meso("catalogue", "import", path)
    assert again.exit_code == 2
    assert "was imported before; use --replace" in again.stderr
    changed = write(tmp_path, CLINIC_FILE.replace('"10 mg/mL"', '"12 mg/mL"'), "v2.toml")
    replaced = meso("catalogue", "import", "--replace", changed, "--json")
    assert replaced.exit_code == 0, replaced.stderr
    assert replaced.json()["replaced"] == ["clinic-ha-vial", "clinic-peptide-x"]
    shown = meso("products", "show", "clinic-ha-vial", "--json").json()
    assert shown["composition"][0]["concentration"] == {"value": 12, "unit": "mg/mL"}


def test_import_reads_standard_input(meso, clinic_database):
    outcome = meso("catalogue", "import", "-", input=CLINIC_FILE)
    assert outcome.exit_code == 0, outcome.stderr
    assert "imported 1 substance(s) and 1 product(s) from standard input" in outcome.stdout


def test_import_needs_a_database_of_the_clinics_own(meso, tmp_path):
    """The shipped catalogue is read-only: without MESO_DATABASE_URL import is a usage error."""
    outcome = meso("catalogue", "import", write(tmp_path, CLINIC_FILE))
    assert outcome.exit_code == 2
    assert "the shipped catalogue is read-only; set MESO_DATABASE_URL" in outcome.stderr


def test_import_into_a_missing_sqlite_file_does_not_create_it(meso, tmp_path, monkeypatch):
    target = tmp_path / "absent.sqlite"
    monkeypatch.setenv("MESO_DATABASE_URL", f"sqlite:///{target}")
    outcome = meso("catalogue", "import", write(tmp_path, CLINIC_FILE))
    assert outcome.exit_code == 3
    assert f"no database at {target}; to create it, run 'meso db upgrade'" in outcome.stderr
    assert not target.exists()


def test_remove_takes_out_local_rows_only(meso, clinic_database, tmp_path):
    assert meso("catalogue", "import", write(tmp_path, CLINIC_FILE)).exit_code == 0
    shipped = meso("catalogue", "remove", "lidocaine-1pct-sd")
    assert shipped.exit_code == 2
    assert "is in the shipped catalogue" in shipped.stderr
    in_use = meso("catalogue", "remove", "clinic-peptide-x")
    assert in_use.exit_code == 2
    assert "cannot remove clinic-peptide-x: product 'clinic-ha-vial': unknown substance" in in_use.stderr
    unknown = meso("catalogue", "remove", "never-imported")
    assert (unknown.exit_code, "no clinic substance or product with id 'never-imported'" in unknown.stderr) == (2, True)
    removed = meso("catalogue", "remove", "clinic-ha-vial", "clinic-peptide-x", "--json")
    assert removed.exit_code == 0, removed.stderr
    assert removed.json()["removed"] == ["clinic-ha-vial", "clinic-peptide-x"]
    assert meso("products", "show", "clinic-ha-vial").exit_code == 2
    assert meso("catalogue", "export").stdout.count("[[") == 0


def test_log_records_every_import(meso, clinic_database, tmp_path):
    assert meso("catalogue", "import", write(tmp_path, CLINIC_FILE)).exit_code == 0
    assert meso("catalogue", "import", "--replace", write(tmp_path, CLINIC_FILE, "again.toml")).exit_code == 0
    items = meso("catalogue", "log", "--json").json()["items"]
    digest = hashlib.sha256(CLINIC_FILE.encode()).hexdigest()
    assert [(i["id"], i["file"], i["sha256"], i["substances"], i["products"], i["replaced"]) for i in items] == [
        (1, "clinic.toml", digest, 1, 1, 0), (2, "again.toml", digest, 1, 1, 2)]
    human = meso("catalogue", "log")
    assert "Catalogue imports (2)" in human.stdout
    assert digest[:12] in human.stdout


@pytest.fixture
def another_database(clinic_database, request, tmp_path):
    """A second fresh database on the same backend as ``clinic_database``."""
    if clinic_database.startswith("sqlite"):
        import shutil

        path = tmp_path / "second.sqlite"
        shutil.copyfile(request.getfixturevalue("_upgraded_sqlite_template"), path)
        return f"sqlite:///{path}"
    from mesocli.storage.migrate import upgrade_database

    url = request.getfixturevalue("postgres_database")()
    upgrade_database(url)
    return url


def test_export_round_trips_through_import(meso, clinic_database, tmp_path, another_database):
    """What export writes, import reads back into another database as the same rows."""
    assert meso("catalogue", "import", write(tmp_path, CLINIC_FILE)).exit_code == 0
    exported = meso("catalogue", "export", "-o", str(tmp_path / "out.toml"))
    assert exported.exit_code == 0, exported.stderr
    text = (tmp_path / "out.toml").read_text(encoding="utf-8")
    second = another_database
    imported = meso("catalogue", "import", str(tmp_path / "out.toml"), env={"MESO_DATABASE_URL": second})
    assert imported.exit_code == 0, imported.stderr
    again = meso("catalogue", "export", env={"MESO_DATABASE_URL": second}).stdout
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert [line for line in again.splitlines() if not line.startswith("#")] == body


def test_export_all_writes_the_shipped_rows_exactly():
    """`export --all` of the shipped catalogue parses back to the shipped substances and products."""
    from mesocli.api import load_catalogue
    from mesocli.storage.export import export_toml

    cat = load_catalogue()
    text = export_toml(cat.substances.values(), cat.products.values(), header="all")
    import tomllib

    parsed = parse_documents({"export": tomllib.loads(text)})
    shipped = read_directory(data_dir())
    assert sorted(parsed.substances, key=lambda s: s.id) == sorted(shipped.substances, key=lambda s: s.id)
    assert sorted(parsed.products, key=lambda p: p.id) == sorted(shipped.products, key=lambda p: p.id)


def test_export_escapes_text_as_toml():
    import tomllib

    from mesocli.domain.model import Provenance, Substance
    from mesocli.storage.export import export_toml

    tricky = 'quote " backslash \\ tab \t newline \n unicode é del \x7f'
    substance = Substance(id="x", name=tricky, cls="peptide", role="active",
                          provenance=Provenance("unsourced", ()), notes=tricky)
    parsed = tomllib.loads(export_toml([substance], [], header="h"))
    assert parsed["substance"][0]["name"] == tricky
    assert parsed["substance"][0]["notes"] == tricky


def test_clinic_rows_survive_db_upgrade(meso, clinic_database, tmp_path):
    """`meso db upgrade` replaces the shipped rows and keeps the clinic's, aliases and sources too."""
    assert meso("catalogue", "import", write(tmp_path, CLINIC_FILE)).exit_code == 0
    before = meso("catalogue", "export").stdout
    shown = meso("products", "show", "house HA", "--json").json()
    upgraded = meso("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert meso("catalogue", "export").stdout == before
    assert meso("products", "show", "house HA", "--json").json() == shown
    assert len(meso("catalogue", "log", "--json").json()["items"]) == 1


def test_db_upgrade_refuses_an_update_that_clashes_with_clinic_rows(meso, clinic_database, tmp_path, monkeypatch):
    """A new catalogue that ships a clinic's id is refused; nothing changes and the message says why."""
    import shutil

    assert meso("catalogue", "import", write(tmp_path, CLINIC_FILE)).exit_code == 0
    source = tmp_path / "data"
    shutil.copytree(data_dir(), source, ignore=shutil.ignore_patterns("*.sqlite"))
    products = source / "products.toml"
    products.write_text(products.read_text(encoding="utf-8") + textwrap.dedent('''
        [[product]]
        id = "clinic-ha-vial"
        name = "A shipped product that took the clinic's id"
        evidence = "unsourced"
        sources = []

        [[product.component]]
        substance = "hyaluronic-acid"
        '''), encoding="utf-8")
    monkeypatch.setattr("mesocli.config.data_dir", lambda: source)
    before = dump_database(clinic_database)
    outcome = meso("db", "upgrade")
    assert outcome.exit_code == 2, outcome.stdout
    assert "conflicts with rows this clinic added" in outcome.stderr
    assert "clinic-ha-vial" in outcome.stderr
    assert dump_database(clinic_database) == before
