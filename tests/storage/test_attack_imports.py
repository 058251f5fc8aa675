"""Attacks through `meso catalogue import`: activity units on mass-dosed substances, control
characters in any text, a clinic's own substance of a class with per-member safety rules, and
URLs that reach the packaged catalogue.

An import is held to the shipped catalogue's rules, or refused saying why; nothing is written.
"""

from __future__ import annotations

import hashlib
import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli import config
from mesocli.errors import CatalogueDataError, InputError
from mesocli.storage import importer
from tests.conftest import dump_database

SUBSTANCE = textwrap.dedent('''\
    [[substance]]
    id = "{id}"
    name = "{name}"
    class = "{cls}"
    evidence = "vendor"
    sources = [{{title = "{title}"}}]
    ''')
PRODUCT = textwrap.dedent('''\
    [[product]]
    id = "clinic-vial"
    name = "Clinic vial"
    vehicle = "aqueous"
    dose = "single"
    status = "device"
    evidence = "vendor"
    sources = [{{title = "Clinic compounding record"}}]

    [[product.component]]
    substance = "{substance}"
    concentration = "{concentration}"
    ''')


def _substance(id: str = "clinic-peptide-z", name: str = "Peptide Z", cls: str = "peptide",
               title: str = "Supplier data sheet") -> str:
    return SUBSTANCE.format(id=id, name=name, cls=cls, title=title)


def _import(meso, tmp_path: Path, text: str):
    path = tmp_path / "clinic.toml"
    path.write_text(text, encoding="utf-8")
    return meso("catalogue", "import", str(path))


def _refused(meso, tmp_path, clinic_database, text: str, *needles: str) -> None:
    before = dump_database(clinic_database)
    outcome = _import(meso, tmp_path, text)
    assert outcome.exit_code == 2, outcome.stdout + outcome.stderr
    assert "Traceback" not in outcome.stderr
    for needle in needles:
        assert needle in outcome.stderr, (needle, outcome.stderr)
    assert dump_database(clinic_database) == before


# ---------------------------------------------------------------------------------- units
MASS_DOSED = ["lidocaine", "mepivacaine", "procaine", "deoxycholic-acid", "caffeine", "hyaluronic-acid"]


@pytest.mark.parametrize("substance", MASS_DOSED)
@pytest.mark.parametrize("unit", ["IU/mL", "USP/mL", "IU/L", "USP/L"])
def test_activity_units_for_a_substance_without_their_meaning_are_refused(meso, clinic_database, tmp_path,
                                                                          substance, unit):
    """IU needs the substance's IU-to-mass factor and USP units an enzyme, as in recipes."""
    _refused(meso, tmp_path, clinic_database, PRODUCT.format(substance=substance, concentration=f"20 {unit}"),
             substance)


@pytest.mark.parametrize("concentration", ["20 mg/ML", "20 Mg/mL", "20 mg/mL*percent", "20 mg/mL ppm",
                                           "20 kg/mL", "20 mg/mL extra", "2 %", "2 % v/v"])
def test_concentrations_are_read_as_strictly_as_in_recipes(meso, clinic_database, tmp_path, concentration):
    """The import reads concentrations with the recipe grammar: case slips, factors, refused."""
    _refused(meso, tmp_path, clinic_database, PRODUCT.format(substance="lidocaine", concentration=concentration))


def test_usp_units_for_an_enzyme_are_accepted(meso, clinic_database, tmp_path):
    """USP units are fine for an enzyme (hyaluronidase), as in recipes."""
    outcome = _import(meso, tmp_path, PRODUCT.format(substance="hyaluronidase-ovine", concentration="150 USP/mL"))
    if outcome.exit_code == 2 and "unknown" in outcome.stderr:
        pytest.skip("no ovine hyaluronidase in this catalogue")
    assert outcome.exit_code == 0, outcome.stderr


# ---------------------------------------------------------------------------------- text
CONTROL = ["\x1b[31m", "\x07", "\x00", "\r", "\x7f", "\x9b", "\u202e", "\u200b", "\u2028", "\ufeff", "\ue000",
           "\n", "\t"]


@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c[0]):04X}" for c in CONTROL])
@pytest.mark.parametrize("field", ["name", "title", "id"])
def test_control_and_invisible_characters_are_refused_in_every_text_field(meso, clinic_database, tmp_path,
                                                                          char, field):
    """No control, bidi-override, zero-width or private-use character gets into the catalogue."""
    escaped = char.encode("unicode_escape").decode("ascii").replace("\\x", "\\u00")
    values = {"id": "clinic-peptide-z", "name": "Peptide Z", "title": "Supplier data sheet"}
    values[field] = f"clinic-{escaped}x" if field == "id" else f"Peptide {escaped} Z"
    _refused(meso, tmp_path, clinic_database, _substance(**values))


def test_control_characters_in_aliases_keys_and_component_fields_are_refused(meso, clinic_database, tmp_path):
    """Aliases, nested tables and keys are checked too."""
    for text in [_substance() + 'aliases = ["px\\u001b[2J"]\n',
                 _substance() + '"bad\\u0007key" = 1\n',
                 PRODUCT.format(substance="lidocaine\\u202e", concentration="10 mg/mL")]:
        _refused(meso, tmp_path, clinic_database, text)


@settings(max_examples=40, deadline=None, database=None)
@given(text=st.text(min_size=1, max_size=30))
def test_any_text_with_a_forbidden_character_is_refused_by_parse_import(text):
    """parse_import refuses a name holding any control or invisible character, and never
    accepts one into a row."""
    import unicodedata

    document = _substance(name="Peptide " + text.replace("\\", "").replace('"', ""))
    forbidden = any(unicodedata.category(ch) in importer._FORBIDDEN for ch in text)
    try:
        data = importer.parse_import(document, "clinic.toml")
    except CatalogueDataError:
        return
    except Exception as exc:  # the TOML itself may be invalid for such text
        raise AssertionError(exc) from exc
    assert not forbidden
    assert all(unicodedata.category(ch) not in importer._FORBIDDEN for ch in data.substances[0].name)


# ---------------------------------------------------------------------------------- classes
@pytest.mark.parametrize(("cls", "reason"), [
    ("local-anaesthetic", "allergen group"), ("local-anaesthetic", "dose limits"),
    ("enzyme", "allergen group"), ("glycosaminoglycan", "allergen group"),
    ("lipolytic", "dose limits"), ("chelating-agent", "allergen group"),
    ("antioxidant-excipient", "allergen group"),
])
def test_a_new_substance_of_a_class_with_per_member_safety_rules_is_refused(meso, clinic_database, tmp_path,
                                                                            cls, reason):
    """A clinic's own local anaesthetic (or enzyme, lipolytic ...) would escape the allergen groups
    and dose limits its class carries member by member: it is refused, saying why."""
    _refused(meso, tmp_path, clinic_database, _substance(id="clinic-new-one", name="New One", cls=cls),
             "clinic-new-one", cls, reason)


@pytest.mark.parametrize("cls", ["peptide", "plant-extract", "vitamin", "antioxidant", "amino-acid"])
def test_a_new_substance_of_a_class_without_such_rules_is_accepted(meso, clinic_database, tmp_path, cls):
    """Classes whose rules are class-wide (or have none) take a clinic's own substance."""
    outcome = _import(meso, tmp_path, _substance(id="clinic-new-one", name="New One", cls=cls))
    assert outcome.exit_code == 0, outcome.stderr


def test_every_class_with_per_member_rules_is_refused(catalogue):
    """For every class of the shipped catalogue, a new member is refused exactly when all its
    shipped members are in allergen groups or any has a dose limit of its own."""
    classes = {s.cls for s in catalogue.substances.values()}
    for cls in classes:
        members = [s.id for s in catalogue.substances.values() if s.cls == cls]
        grouped = all(catalogue.groups_by_substance.get(m) for m in members)
        dosed = any(r.scope.kind == "substance" and r.scope.ref in members
                    for r in catalogue.rules_by_kind.get("dose_limit", ()))
        assert bool(importer.class_safety(catalogue, cls)) == (grouped or dosed), cls


# ---------------------------------------------------------------------------------- the packaged file
def _spellings(shipped: Path, tmp_path: Path) -> list[str]:
    link = tmp_path / "link.sqlite"
    link.symlink_to(shipped)
    relative = os.path.relpath(shipped)
    spellings = [f"sqlite:///{shipped}", f"sqlite:///{link}", f"sqlite:///{relative}",
                 f"sqlite:///file:{shipped}?mode=rw&uri=true", f"sqlite+pysqlite:///{shipped}",
                 f"sqlite:///{shipped.parent}/../{shipped.parent.name}/{shipped.name}",
                 f"sqlite:///{str(shipped).replace('/', '//')}"]
    try:
        hard = tmp_path / "hard.sqlite"
        os.link(shipped, hard)
        spellings.append(f"sqlite:///{hard}")
    except OSError:
        pass
    return spellings


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("command", ["import", "remove", "upgrade"])
def test_the_packaged_catalogue_is_never_written_whatever_url_points_at_it(meso, tmp_path, monkeypatch,
                                                                           index, command):
    """However MESO_DATABASE_URL spells the packaged file, import, remove and upgrade refuse it
    and leave it byte for byte as it was."""
    shipped = config.shipped_database()
    spellings = _spellings(shipped, tmp_path)
    if index >= len(spellings):
        pytest.skip("no hard link possible here")
    before = _sha(shipped)
    monkeypatch.setenv("MESO_DATABASE_URL", spellings[index])
    path = tmp_path / "clinic.toml"
    path.write_text(_substance(), encoding="utf-8")
    args = {"import": ("catalogue", "import", str(path)), "remove": ("catalogue", "remove", "clinic-peptide-z"),
            "upgrade": ("db", "upgrade")}[command]
    outcome = meso(*args)
    assert outcome.exit_code == 2, (spellings[index], outcome.stdout, outcome.stderr)
    assert "read-only" in outcome.stderr and "Traceback" not in outcome.stderr
    assert _sha(shipped) == before
    assert not list(shipped.parent.glob(f"{shipped.name}.*.bak"))


def test_the_python_api_refuses_the_packaged_catalogue_too():
    """import_catalogue refuses the packaged file before opening it for writing."""
    with pytest.raises(InputError, match="read-only"):
        importer.import_catalogue(f"sqlite:///{config.shipped_database()}", _substance(), "clinic.toml")

