"""An import, a replace and a removal write only what they change: the rows a clinic imported
before stay as they are, and the catalogue read back is the one a single import of the final
rows gives."""

from __future__ import annotations

import shutil
import textwrap

from mesocli.domain.identity import clinic_rows, content_sha256
from mesocli.storage.importer import import_catalogue, remove_local

SCT = "http://snomed.info/sct"


def _product(product_id: str, name: str, substance: str, volume: str = "2 mL") -> str:
    return textwrap.dedent(f'''\
        [[product]]
        id = "{product_id}"
        name = "{name}"
        aliases = ["{name} alias"]
        vehicle = "aqueous"
        dose = "single"
        status = "device"
        container_volume = "{volume}"
        evidence = "vendor"
        sources = [{{title = "Data sheet of {name}"}}]

        [[product.component]]
        substance = "{substance}"
        concentration = "1 mg/mL"
        ''')


SUBSTANCE = textwrap.dedent('''\
    [[substance]]
    id = "clinic-peptide-x"
    name = "Peptide X"
    class = "peptide"
    evidence = "vendor"
    sources = [{title = "Peptide X supplier data sheet"}]
    ''')
CODE = textwrap.dedent(f'''\
    [[code]]
    system = "{SCT}"
    code = "389145006"
    display = "Allergic asthma"
    kind = "condition"
    term = "asthma"
    evidence = "reference"
    sources = [{{title = "Clinic coding manual"}}]
    ''')


def _read(url: str):
    from mesocli.api import _read

    return _read(url)


def test_successive_changes_give_the_catalogue_of_one_import(tmp_path, _upgraded_sqlite_template):
    stepwise, at_once = tmp_path / "stepwise.sqlite", tmp_path / "at-once.sqlite"
    shutil.copyfile(_upgraded_sqlite_template, stepwise)
    shutil.copyfile(_upgraded_sqlite_template, at_once)
    url = f"sqlite:///{stepwise}"
    first = SUBSTANCE + _product("clinic-a", "Clinic A", "clinic-peptide-x") + _product(
        "clinic-b", "Clinic B", "hyaluronic-acid") + CODE
    import_catalogue(url, first, "first.toml")
    import_catalogue(url, _product("clinic-c", "Clinic C", "clinic-peptide-x"), "second.toml")
    import_catalogue(url, _product("clinic-a", "Clinic A", "hyaluronic-acid", "5 mL"), "again.toml", replace=True)
    remove_local(url, ["clinic-b"])
    final = (SUBSTANCE + _product("clinic-c", "Clinic C", "clinic-peptide-x")
             + _product("clinic-a", "Clinic A", "hyaluronic-acid", "5 mL") + CODE)
    import_catalogue(f"sqlite:///{at_once}", final, "final.toml")

    one, other = _read(url), _read(f"sqlite:///{at_once}")
    assert content_sha256(one) == content_sha256(other)
    assert clinic_rows(one) == clinic_rows(other) == 4  # a substance, two products, a code
    assert one.products["clinic-a"].components[0].substance == "hyaluronic-acid"
    assert "clinic-b" not in one.products
    assert list(one.products) == list(other.products)


def test_a_removed_code_takes_its_citation_with_it(tmp_path, _upgraded_sqlite_template):
    from tests.conftest import dump_database

    path = tmp_path / "codes.sqlite"
    shutil.copyfile(_upgraded_sqlite_template, path)
    url = f"sqlite:///{path}"
    before = dump_database(url)
    import_catalogue(url, CODE, "code.toml")
    remove_local(url, [f"{SCT}|389145006"])
    after = dump_database(url)
    assert {t: rows for t, rows in after.items() if t != "catalogue_import"} == {
        t: rows for t, rows in before.items() if t != "catalogue_import"}
