"""Conditions, medication classes and medications carry an evidence grade and sources.

Each of these rows makes clinical claims (an alias says two names are one condition; a named
drug is said to belong to a class), so each is read with its provenance, refused without one
once its table is sourced, written with its citations, read back from the database, shown with
its grades by `meso conditions list` and `meso medications list`, and counted in the catalogue's
content hash.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from mesocli.config import data_dir
from mesocli.domain.catalogue import Catalogue
from mesocli.domain.identity import content_sha256
from mesocli.domain.model import Provenance, Source
from mesocli.errors import CatalogueDataError
from mesocli.storage import migrate, text
from mesocli.storage.reader import read_catalogue
from mesocli.storage.text import parse_documents, read_directory
from mesocli.storage.writer import write_catalogue

LABEL = {"title": "A label", "url": "https://example.org/label", "grade": "label"}
SNOMED = {"title": "SNOMED CT browser: an entry", "url": "https://browser.ihtsdotools.org/", "grade": "reference"}
ROWS = {
    "condition": ("conditions.toml", {"id": "test-x", "name": "Test condition", "aliases": ["test x"],
                                      "evidence": "reference", "sources": [SNOMED]}),
    "medication_class": ("medications.toml", {"id": "test-x", "name": "Test class", "aliases": ["test xs"],
                                              "evidence": "reference", "sources": [SNOMED]}),
    "medication": ("medications.toml", {"id": "test-y", "name": "Test drug", "aliases": ["testdrug"],
                                        "classes": ["anticoagulant"], "evidence": "label",
                                        "sources": [LABEL, SNOMED]}),
}
TABLES = sorted(ROWS)


def _doc(table: str, **override) -> dict:  # type: ignore[no-untyped-def]
    file_name, row = ROWS[table]
    row = {**copy.deepcopy(row), **override}
    return {file_name: {table: [{k: v for k, v in row.items() if v is not None}]}}


def _parsed(data: text.CatalogueData, table: str):  # type: ignore[no-untyped-def]
    return {"condition": data.conditions, "medication_class": data.medication_classes,
            "medication": data.medications}[table]


# ------------------------------------------------------------------------------ reading the text
@pytest.mark.parametrize("table", TABLES)
def test_a_sourced_row_is_read_with_its_grade_and_sources(table):
    """The control case: evidence and sources are read, each source with its own grade."""
    [row] = _parsed(parse_documents(_doc(table)), table)
    expected = ROWS[table][1]
    assert row.provenance.evidence == expected["evidence"]
    assert row.provenance.sources == tuple(Source(s["title"], s["url"], s["grade"]) for s in expected["sources"])


@pytest.mark.parametrize("table", TABLES)
def test_a_row_graded_unsourced_is_refused(table):
    """A condition, medication class or medication is never accepted as 'unsourced'."""
    with pytest.raises(CatalogueDataError, match=r"\[\[" + table + r"\]\] #1 \(test-.\): a vocabulary row needs"
                                                 r".*'unsourced' is not accepted"):
        parse_documents(_doc(table, evidence="unsourced", sources=[]))


@pytest.mark.parametrize("table", TABLES)
def test_a_row_with_sources_and_no_evidence_is_refused(table):
    with pytest.raises(CatalogueDataError, match=r"'evidence' = None is not one of"):
        parse_documents(_doc(table, evidence=None))


@pytest.mark.parametrize("table", TABLES)
def test_a_graded_row_without_sources_is_refused(table):
    with pytest.raises(CatalogueDataError, match="needs at least one source"):
        parse_documents(_doc(table, sources=[]))


@pytest.mark.parametrize("table", TABLES)
def test_an_unknown_key_is_still_refused(table):
    """The reader stays strict: a misspelt key (here 'source') is refused, not ignored."""
    with pytest.raises(CatalogueDataError, match=r"unknown field\(s\): source$"):
        parse_documents(_doc(table, source=[SNOMED]))


@pytest.mark.parametrize("table", TABLES)
def test_a_row_without_evidence_and_sources_is_refused(table):
    """A condition, medication class or medication row with neither key is refused, naming the row."""
    with pytest.raises(CatalogueDataError, match=r"\[\[" + table + r"\]\] #1 \(test-.\): 'evidence' = None"):
        parse_documents(_doc(table, evidence=None, sources=None))


@pytest.mark.parametrize(("table", "least"), [("conditions", 40), ("medication_classes", 20), ("medications", 90)])
def test_every_shipped_vocabulary_row_is_sourced(table, least):
    """Every shipped condition, medication class and medication row has a grade other than
    unsourced and at least one source."""
    rows = getattr(read_directory(data_dir()), table)
    assert len(rows) >= least
    assert [r.id for r in rows if r.provenance is None or r.provenance.evidence == "unsourced"
            or not r.provenance.sources] == []


def test_a_document_graded_two_ways_across_vocabulary_and_rules_is_refused():
    """One document, one grade: a source graded 'reference' on a condition cannot be 'label' on
    a medication."""
    docs = _doc("condition")
    docs["medications.toml"] = _doc("medication", sources=[{**SNOMED, "grade": "label"}])["medications.toml"]
    data = parse_documents(docs)
    with pytest.raises(CatalogueDataError, match="graded 'label' here but 'reference' in condition 'test-x'"):
        text.validate_source_grades(data)


# ------------------------------------------------------------------------- database and output
@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[text.CatalogueData, Catalogue]:
    """The shipped catalogue text, and the same written to a fresh database and read back."""
    path = tmp_path_factory.mktemp("vocab") / "catalogue.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    data = read_directory(data_dir())
    try:
        migrate.migrate(engine)
        with Session(engine) as session, session.begin():
            write_catalogue(session, data)
        with Session(engine) as session:
            return data, read_catalogue(session)
    finally:
        engine.dispose()


def test_the_database_keeps_each_rows_grade_and_sources(written):
    """What the text says of each condition, medication class and medication comes back from the
    database unchanged (and the shipped file holds the same)."""
    from mesocli.api import load_catalogue

    data, cat = written
    shipped = load_catalogue()
    for store in (cat, shipped):
        assert {t.id: t.provenance for t in data.conditions} == \
            {t.id: t.provenance for t in store.conditions.values()}
        assert {t.id: t.provenance for t in data.medication_classes} == \
            {t.id: t.provenance for t in store.medication_classes.values()}
        assert {m.id: m.provenance for m in data.medications} == \
            {m.id: m.provenance for m in store.medications.values()}
    assert all(a.provenance is None for a in cat.areas.values())


def test_a_row_written_before_the_grades_is_read_as_unsourced(tmp_path):
    """A row with no grade (a database migrated from before revision 0008 and not yet upgraded)
    is read as unsourced, never as sourced."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    try:
        migrate.migrate(engine)
        with Session(engine) as session, session.begin():
            write_catalogue(session, parse_documents({**_doc("condition"), **_doc("medication_class")}))
            session.execute(text_sql("UPDATE condition SET evidence = NULL"))
            session.execute(text_sql("DELETE FROM citation WHERE subject LIKE 'condition:%'"))
        with Session(engine) as session:
            cat = read_catalogue(session)
    finally:
        engine.dispose()
    assert cat.conditions["test-x"].provenance == Provenance("unsourced")
    assert cat.medication_classes["test-x"].provenance.evidence == "reference"


def text_sql(statement: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import text as sql

    return sql(statement)


@pytest.mark.parametrize("kind", ["conditions", "medications"])
def test_the_listings_show_each_rows_grade_and_its_sources_grades(meso, kind):
    """`meso conditions|medications list --json` gains evidence, sources and source_grades (the
    old keys unchanged); the table shows the grade."""
    from mesocli.api import load_catalogue

    cat = load_catalogue()
    rows = {"conditions": cat.conditions,
            "medications": {**cat.medication_classes, **cat.medications}}[kind]
    items = meso(kind, "list", "--json").json()["items"]
    assert len(items) == len(rows)
    for item in items:
        provenance = rows[item["id"]].provenance
        assert {"id", "name", "aliases"} <= set(item)
        assert item["evidence"] == provenance.evidence
        assert item["sources"] == list(provenance.cited())
        assert item["source_grades"] == provenance.grades()
        assert len(item["sources"]) == len(item["source_grades"])
    table = meso(kind, "list")
    assert table.exit_code == 0 and "Evidence" in table.stdout


def test_the_content_hash_follows_a_vocabulary_rows_sources():
    """Changing a condition's source, a medication's grade or a known-not-relevant term's reason
    changes the catalogue's content hash."""
    from mesocli.api import load_catalogue

    cat = load_catalogue()
    before = content_sha256(cat)

    def edited(**parts):  # type: ignore[no-untyped-def]
        clone = copy.copy(cat)
        for name, value in parts.items():
            setattr(clone, name, value)
        return content_sha256(clone)

    condition = next(iter(cat.conditions.values()))
    other = Provenance("reference", (Source("Another document", None),))
    assert edited(conditions={**cat.conditions, condition.id: dataclasses.replace(condition, provenance=other)}) \
        != before
    medication = next(iter(cat.medications.values()))
    assert edited(medications={**cat.medications, medication.id: dataclasses.replace(medication, provenance=other)}) \
        != before
    key, term = next(iter(cat.unrelated.items()))
    assert edited(unrelated={**cat.unrelated, key: dataclasses.replace(term, reason=term.reason + " More.")}) \
        != before
    assert edited() == before


# Consumer health pages, dictionary snippets and clinic lists: kept on a condition only where no
# canonical document for the same name was found, never first and never above `reference`.
WEAK_HOSTS = ("healthline.com", "sharecare.com", "sutterhealth.org", "yalemedicine.org", "healthcentral.com",
              "aerztin-herdt.de", "blogspot.com", "marjukarin.ee", "medicinka.com", "healthfan.biz")
GONE_HOSTS = ("hyperdictionary.com", "amboss.com")


def test_condition_rows_cite_canonical_documents_before_weak_pages():
    from urllib.parse import urlparse

    def host(url: str | None) -> str:
        return (urlparse(url).hostname or "") if url else ""

    def on(url: str | None, hosts: tuple[str, ...]) -> bool:
        name = host(url)
        return any(name == h or name.endswith("." + h) for h in hosts)

    grades = ("label", "peer-reviewed", "reference", "expert", "vendor")
    rows = read_directory(data_dir()).conditions
    assert [(r.id, s.url) for r in rows for s in r.provenance.sources if on(s.url, GONE_HOSTS)] == []
    weak_first = [r.id for r in rows if on(r.provenance.sources[0].url, WEAK_HOSTS)
                  and not all(on(s.url, WEAK_HOSTS) for s in r.provenance.sources)]
    assert weak_first == []
    too_high = [(r.id, s.url, s.grade) for r in rows for s in r.provenance.sources
                if on(s.url, WEAK_HOSTS) and grades.index(s.grade) < grades.index("reference")]
    assert too_high == []
