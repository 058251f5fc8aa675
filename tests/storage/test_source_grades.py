"""Each source carries its own grade, from the TOML to every output: a label is shown as a label
even when the finding that cites it is graded lower, and one document has one grade."""

from __future__ import annotations

import dataclasses
import textwrap
import tomllib

import pytest

from mesocli.domain.engine import CheckResult, Finding
from mesocli.domain.model import SOURCE_GRADES, UNSOURCED_CITATION, Provenance, Source
from mesocli.domain.rules.base import sourced
from mesocli.errors import CatalogueDataError
from mesocli.render.fhir import SOURCE_GRADE_EXTENSION, check_bundle
from mesocli.storage.export import export_toml
from mesocli.storage.text import parse_documents, validate_references

KYBELLA = "Kybella (deoxycholic acid) injection, prescribing information"


def _substance(sources: str, evidence: str = "expert", sid: str = "clinic-x") -> str:
    return textwrap.dedent(f'''\
        [[substance]]
        id = "{sid}"
        name = "{sid} name"
        class = "peptide"
        evidence = "{evidence}"
        sources = [
        {sources}
        ]
        ''')


def _read(text: str):
    return parse_documents({"clinic.toml": tomllib.loads(text)}, local=True)


def test_a_source_without_a_grade_takes_its_rows_and_one_with_a_grade_keeps_it():
    data = _read(_substance('{title = "A label", grade = "label"},\n{title = "A clinic page"},'))
    [substance] = data.substances
    assert [(s.title, s.grade) for s in substance.provenance.sources] == [("A label", "label"),
                                                                          ("A clinic page", "expert")]


@pytest.mark.parametrize("grade", ["unsourced", "Label", "", "official"])
def test_a_grade_outside_the_document_grades_is_refused(grade):
    with pytest.raises(CatalogueDataError, match="grade"):
        _read(_substance(f'{{title = "A label", grade = "{grade}"}},'))


def test_a_source_graded_two_ways_is_refused_naming_both_places():
    text = (_substance('{title = "One document", url = "https://example.org/doc", grade = "label"},')
            + "\n" + _substance('{title = "One document", url = "https://example.org/doc"},', sid="clinic-y"))
    with pytest.raises(CatalogueDataError) as caught:
        validate_references(_read(text))
    assert "'expert' here but 'label' in substance 'clinic-x'" in caught.value.message


def test_the_same_document_graded_alike_is_accepted():
    text = (_substance('{title = "One document", grade = "label"},')
            + "\n" + _substance('{title = "One document"},', evidence="label", sid="clinic-y"))
    validate_references(_read(text))


def test_export_writes_a_grade_only_where_it_is_not_the_rows_and_reads_back_equal():
    data = _read(_substance('{title = "A label", url = "https://example.org/l", grade = "label"},\n'
                            '{title = "A clinic page"},'))
    text = export_toml(data.substances, [], header="clinic")
    assert 'grade = "label"' in text and text.count("grade =") == 1
    assert _read(text).substances == data.substances


def test_finding_source_grades_follow_its_sources_in_order():
    provenance = Provenance("expert", (Source("Label", "https://example.org/l", "label"), Source("Page", None)))
    finding = Finding("caution", "fit", "procedure", "t", "m", **sourced(provenance))
    assert finding.source_grades() == ("label", "expert")
    unsourced = Finding("caution", "fit", "procedure", "t", "m", **sourced(Provenance("unsourced")))
    assert unsourced.sources == (UNSOURCED_CITATION,) and unsourced.source_grades() == ("unsourced",)
    by_hand = dataclasses.replace(finding, references=(), rests_on=None)  # no record of its sources
    assert by_hand.source_grades() == (None, None)


def test_the_shipped_catalogue_gives_every_source_a_document_grade(catalogue):
    facts = [*catalogue.substances.values(), *catalogue.products.values(), *catalogue.rules,
             *catalogue.protocols, *catalogue.indications.values()]
    grades = {s.grade for fact in facts for s in fact.provenance.sources}
    assert grades and grades <= set(SOURCE_GRADES)


def test_check_lists_each_source_with_its_own_grade_not_its_findings(meso):
    """The Kybella label cited by an expert-graded finding is listed as a label."""
    out = meso("check", "--condition", "porphyria", "--ingredient", "lidocaine").stdout
    sources = out.split("\nSources\n", 1)[1]
    assert "source: expert [" in out
    [kybella] = [line for line in sources.splitlines() if KYBELLA in line]
    assert kybella.lstrip().split(" ", 2)[1] == "(label)"
    porphyria_database = [line for line in sources.splitlines() if "Acute Porphyria Drug Database" in line]
    assert porphyria_database and "(reference)" in porphyria_database[0]


def test_check_json_findings_carry_source_grades(meso):
    doc = meso("check", "--condition", "porphyria", "--ingredient", "lidocaine", "--json").json()
    for finding in doc["findings"]:
        assert len(finding["source_grades"]) == len(finding["sources"])
    graded = {s: g for f in doc["findings"] for s, g in zip(f["sources"], f["source_grades"], strict=True)}
    assert {g for s, g in graded.items() if s.startswith(KYBELLA)} == {"label"}


def test_show_json_sources_carry_their_grade(meso):
    doc = meso("ingredients", "show", "deoxycholic-acid", "--json").json()
    sources = [s for rule in doc["rules"] for s in rule["sources"]]
    assert sources and all(s["grade"] in SOURCE_GRADES for s in sources)
    assert {s["grade"] for s in sources if s.get("title", "").startswith(KYBELLA)} == {"label"}


def test_fhir_issue_reference_carries_the_cited_sources_grade(catalogue):
    provenance = Provenance("expert", (Source("A label", "https://example.org/label", "label"),))
    finding = Finding("caution", "fit", "procedure", "t", "m", **sourced(provenance))
    bundle = check_bundle(CheckResult("caution", (finding,), screened=True), catalogue,
                          timestamp="2026-01-01T00:00:00Z")
    [issue] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DetectedIssue"]
    assert issue["reference"] == "https://example.org/label"
    assert issue["extension"] == [{"url": SOURCE_GRADE_EXTENSION, "valueCode": "label"}]
    from fhir.resources.R4B.detectedissue import DetectedIssue

    DetectedIssue.model_validate(issue)


def test_a_protocol_no_source_gives_a_technique_for_reads_and_prints_as_unknown(catalogue, meso):
    unknown = [p for p in catalogue.protocols if p.technique is None]
    assert unknown, "the shipped catalogue records protocols with no sourced technique"
    out = meso("build", "--indication", "stretch-marks", "--area", "abdomen", "--volume", "2 mL").stdout
    assert "Technique: unknown (no source gives one for this indication and area)" in out
    doc = meso("indications", "show", "stretch-marks", "--json").json()
    assert {p["technique"] for p in doc["protocols"]} == {None}


def test_the_markdown_check_and_the_recipe_card_show_each_sources_own_grade(meso):
    """People read the grade of each document beside it, in a check's table and on a recipe card."""
    check = meso("check", "--condition", "porphyria", "--ingredient", "lidocaine", "--format", "markdown").stdout
    assert f"(label) {KYBELLA}" in check
    assert "(reference) Lidocaine with epinephrine (N01BB52): Acute Porphyria Drug Database" in check
    card = meso("build", "--indication", "submental-fat", "--volume", "2 mL", "--format", "markdown").stdout
    sources = card.split("## Sources", 1)[1].split("---", 1)[0]
    listed = [line for line in sources.splitlines() if line.startswith("- ")]
    assert listed and all(line.split(" ", 2)[1].strip("()") in SOURCE_GRADES for line in listed)
    assert any(line.startswith(f"- (label) {KYBELLA}") for line in listed)


def test_a_clinic_import_that_grades_a_shipped_document_otherwise_is_refused(meso, clinic_database, tmp_path):
    """The Kybella label cited by a clinic's vendor-graded row must be graded label there too."""
    url = "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=fe431ed4-ea6f-4e99-b4bc-ec25ae7b8553"
    title = ("Kybella (deoxycholic acid) injection, prescribing information. Kythera Biopharmaceuticals, "
             "initial US approval 2015. DailyMed setid fe431ed4-ea6f-4e99-b4bc-ec25ae7b8553")
    path = tmp_path / "clinic.toml"
    path.write_text(_substance(f'{{title = "{title}", url = "{url}"}},', evidence="vendor"), encoding="utf-8")
    refused = meso("catalogue", "import", str(path))
    assert refused.exit_code == 2
    assert "is graded 'vendor' here but 'label'" in refused.stderr
    path.write_text(_substance(f'{{title = "{title}", url = "{url}", grade = "label"}},', evidence="vendor"),
                    encoding="utf-8")
    assert meso("catalogue", "import", str(path)).exit_code == 0
    assert 'grade = "label"' in meso("catalogue", "export").stdout


@pytest.mark.parametrize("rows", ["unrelated", "fhir_codes"])
def test_vocabulary_and_code_rows_are_held_to_one_grade_per_document(rows):
    """A vocabulary or FHIR code row that cites a label graded otherwise is refused like any row."""
    from mesocli.config import data_dir
    from mesocli.storage.text import read_directory

    data = read_directory(data_dir())
    label = next(s for x in data.substances for s in x.provenance.sources if s.grade == "label")
    entries = getattr(data, rows)
    entries[0] = dataclasses.replace(entries[0], provenance=Provenance(
        "reference", (Source(label.title, label.url, "reference"),)))
    with pytest.raises(CatalogueDataError) as caught:
        validate_references(data)
    assert "is graded 'reference' here but 'label'" in caught.value.message


def test_a_facts_citation_grades_follow_its_sources_in_order(catalogue):
    """Worked out once with the fact: each citation's own grade, ``unsourced`` for none, and no
    part of the catalogue's content hash."""
    facts = [entry.provenance for part in (catalogue.substances, catalogue.products) for entry in part.values()]
    facts += [rule.provenance for rule in catalogue.rules]
    for fact in facts:
        assert len(fact.citation_grades) == len(fact.citations)
        assert fact.citation_grades == (tuple(s.grade or fact.evidence for s in fact.sources) or ("unsourced",))
    unsourced = Provenance("unsourced", ())
    assert unsourced.citations == (UNSOURCED_CITATION,) and unsourced.citation_grades == ("unsourced",)
    assert "citation_grades" not in {f.name for f in dataclasses.fields(Provenance) if not f.metadata.get("derived")}
