"""Every JSON document says which meso and which catalogue answered, deterministically."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import pytest

from mesocli import __version__
from mesocli.domain.identity import catalogue_identity, content_sha256

DOCUMENTS = [
    ("check", "--allergy", "lidocaine"),
    ("check", "--allergy", "lidocaine", "--ingredient", "restylane-vital-lidocaine"),
    ("build", "--indication", "hair-loss", "--volume", "2 mL"),
    ("build", "--indication", "hair-loss", "--condition", "pregnancy"),
    ("ingredients", "list"), ("products", "list"), ("indications", "list"), ("allergens", "list"),
    ("conditions", "list"), ("medications", "list"), ("ingredients", "search", "vitamin"),
    ("ingredients", "show", "lidocaine"), ("products", "show", "restylane-vital-lidocaine"),
    ("indications", "show", "hair-loss"), ("allergens", "show", "parabens"),
    ("db", "path"), ("db", "current"),
    ("check", "--allergy", "lidocane"),  # an error document, after the catalogue was read
]


@pytest.mark.parametrize("args", DOCUMENTS, ids=[" ".join(a) for a in DOCUMENTS])
def test_every_json_document_carries_the_meso_version_and_the_catalogue_identity(meso, catalogue, args):
    """Each document names this meso and the identity of the catalogue that answered."""
    outcome = meso(*args, "--json")
    doc = outcome.json()
    assert doc["meso_version"] == __version__
    assert doc["catalogue"] == catalogue_identity(catalogue)
    assert doc["catalogue"]["schema_revision"] == catalogue.revision
    assert len(doc["catalogue"]["content_sha256"]) == 64
    assert doc["catalogue"]["clinic_rows"] == 0


def test_batch_lines_carry_it_too(meso, catalogue):
    """Every batch line, answers and error lines alike, carries the same provenance."""
    text = "\n".join(json.dumps(r) for r in (
        {"id": 1, "action": "check", "allergies": ["lidocaine"]},
        {"id": 2, "action": "build", "indication": "hair-loss", "volume": "2 mL"},
        {"id": 3, "action": "check", "allergies": ["nonsense"]},
    )) + "\nnot json\n"
    outcome = meso("batch", "-", input=text)
    lines = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["check", "recipe", "error", "error"]
    for line in lines:
        assert line["meso_version"] == __version__
        assert line["catalogue"] == catalogue_identity(catalogue)


def test_an_error_before_any_catalogue_is_read_says_so(meso, tmp_path):
    """With no usable catalogue the error document's catalogue is null (exit 3), never a stale one."""
    meso("ingredients", "list", "--json")  # an earlier command in this process read a catalogue
    missing = tmp_path / "missing.sqlite"
    outcome = meso("check", "--allergy", "lidocaine", "--json", env={"MESO_DATABASE_URL": f"sqlite:///{missing}"})
    assert outcome.exit_code == 3
    doc = outcome.json()
    assert doc["kind"] == "error" and doc["catalogue"] is None and doc["meso_version"] == __version__


def test_the_same_input_gives_the_same_document(meso):
    """Two runs of the same check and build write byte-identical JSON."""
    for args in (("check", "--allergy", "lidocaine", "--json"), ("build", "--indication", "hair-loss", "--json")):
        assert meso(*args).stdout == meso(*args).stdout


@pytest.mark.slow
def test_the_content_hash_does_not_depend_on_the_process(tmp_path):
    """Fresh processes with different string-hash seeds, one without a snapshot, give the same hash."""
    script = textwrap.dedent("""
        from mesocli.api import load_catalogue
        from mesocli.domain.identity import content_sha256
        print(content_sha256(load_catalogue(refresh=True)))
    """)
    hashes = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "MESO_HOME": str(tmp_path / seed)}
        env.pop("MESO_DATABASE_URL", None)
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        hashes.add(done.stdout.strip())
    assert len(hashes) == 1 and len(next(iter(hashes))) == 64


def test_the_hash_follows_content_not_storage_or_order(catalogue):
    """Any changed fact changes the hash; the order rows came in does not."""
    from mesocli.domain.catalogue import Catalogue

    def rebuilt(**changes):
        parts = {name: list(getattr(catalogue, name).values()) if isinstance(getattr(catalogue, name), dict)
                 else list(getattr(catalogue, name))
                 for name in ("substances", "products", "groups", "crosses", "conditions", "medication_classes",
                              "medications", "areas", "indications", "protocols", "rules", "defaults",
                              "fhir_codes", "unrelated", "distinctions")}
        parts.update(changes)
        return Catalogue(**parts, revision=catalogue.revision)

    same = content_sha256(catalogue)
    assert content_sha256(rebuilt()) == same
    assert content_sha256(rebuilt(rules=list(reversed(catalogue.rules)),
                                  substances=list(reversed(catalogue.substances.values())))) == same
    first = sorted(catalogue.substances)[0]
    renamed = [dataclasses.replace(s, name=s.name + "x") if s.id == first else s
               for s in catalogue.substances.values()]
    assert content_sha256(rebuilt(substances=renamed)) != same
    rule = catalogue.rules[0]
    stricter = [dataclasses.replace(r, severity="caution" if r.severity != "caution" else "info") if r is rule else r
                for r in catalogue.rules]
    assert content_sha256(rebuilt(rules=stricter)) != same
    assert content_sha256(rebuilt(rules=catalogue.rules[1:])) != same
    # the FHIR code table is content too: what a Bundle's codings mean changes the answer
    assert content_sha256(rebuilt(fhir_codes=list(reversed(catalogue.fhir_codes)))) == same
    assert content_sha256(rebuilt(fhir_codes=catalogue.fhir_codes[1:])) != same
    code = next(c for c in catalogue.fhir_codes if c.term == "pregnancy")
    remapped = [dataclasses.replace(c, term="possible-pregnancy") if c is code else c for c in catalogue.fhir_codes]
    assert content_sha256(rebuilt(fhir_codes=remapped)) != same


CLINIC_FILE = textwrap.dedent('''\
    [[product]]
    id = "clinic-ha-vial"
    name = "Clinic HA vial"
    vehicle = "aqueous"
    dose = "single"
    status = "device"
    container_volume = "2 mL"
    evidence = "vendor"
    sources = [{title = "Clinic compounding record"}]

    [[product.component]]
    substance = "hyaluronic-acid"
    role = "active"
    concentration = "20 mg/mL"
''')


def test_an_import_changes_the_identity_and_counts_the_clinic_rows(meso, clinic_database, tmp_path):
    """After a clinic imports a product, documents show one clinic row and another content hash."""
    before = meso("ingredients", "list", "--json").json()["catalogue"]
    path = tmp_path / "clinic.toml"
    path.write_text(CLINIC_FILE, encoding="utf-8")
    imported = meso("catalogue", "import", str(path), "--json")
    assert imported.exit_code == 0, imported.stderr
    after = meso("products", "list", "--json").json()["catalogue"]
    assert before["clinic_rows"] == 0 and after["clinic_rows"] == 1
    assert after["content_sha256"] != before["content_sha256"]
    assert after["schema_revision"] == before["schema_revision"]
    assert imported.json()["catalogue"] == after


def test_a_long_running_process_sees_another_process_import_and_removal(clinic_database, tmp_path):
    """The Python API, kept running, reads the catalogue again after another process imports
    into it or removes from it (SQLite and PostgreSQL alike), and not before."""
    from mesocli import api

    def run_meso(*args: str, url: str) -> subprocess.CompletedProcess[str]:  # another process
        return subprocess.run([sys.executable, "-m", "mesocli", *args], capture_output=True, text=True,
                              env={**os.environ, "MESO_DATABASE_URL": url}, timeout=300, check=False)

    first = api.load_catalogue(clinic_database)
    assert api.load_catalogue(clinic_database) is first  # nothing changed: the same catalogue
    assert "clinic-ha-vial" not in first.products
    path = tmp_path / "clinic.toml"
    path.write_text(CLINIC_FILE, encoding="utf-8")
    assert run_meso("catalogue", "import", str(path), url=clinic_database).returncode == 0
    imported = api.load_catalogue(clinic_database)
    assert "clinic-ha-vial" in imported.products
    assert run_meso("catalogue", "remove", "clinic-ha-vial", url=clinic_database).returncode == 0
    assert "clinic-ha-vial" not in api.load_catalogue(clinic_database).products
