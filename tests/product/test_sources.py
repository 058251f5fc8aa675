"""Where the catalogue's facts come from: hosts a pharmacist can trust, canonical documents, honest grades.

Every source is read from the shipped ``data/*.toml`` files. The rules:

- no test, staging, internal or pirate host, and no bare IP address, ever;
- a copy on a document-sharing site ("mirror") is only ever a second link, titled
  "Retrieved from ...", that follows the canonical document it copies;
- every source has a title that names the document;
- a row graded ``label`` cites a label-like document (a regulatory label, IFU, SmPC, package
  leaflet, prescribing information or product monograph, or a regulator's own page);
- a row graded ``peer-reviewed`` cites a paper (a journal citation or a journal/index host);
  a congress poster or an allergy society's Q&A is not a paper;
- each source has its own grade (``grade``, else its row's): one document has one grade
  wherever it is cited, a mirror copy has the grade of the document it copies, a ``label``
  row cites a source graded ``label``, a ``peer-reviewed`` row one graded ``peer-reviewed``,
  and no row is graded above its strongest source.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

DATA = Path(__file__).resolve().parents[2] / "data"

RETRIEVED = "Retrieved from"

# Test, staging, development, internal and pirate hosts. A host matches when one of its
# dot-separated labels (or the label's prefix before a hyphen) is one of these words, or when
# it ends with one of the pirate domains.
BANNED_LABELS = frozenset(
    {"test", "testing", "staging", "stage", "stg", "dev", "sit", "uat", "qa", "preprod", "sandbox",
     "internal", "intranet", "local", "localhost", "awsprod", "awsdev", "mimsdev", "prdmimsweb"}
)
PIRATE_DOMAINS = (
    "zlibrary.to", "z-lib.org", "z-library.se", "zlibrary.org", "1lib.org", "libgen.is", "libgen.rs",
    "libgen.li", "libgen.st", "library.lol", "sci-hub.se", "sci-hub.ru", "sci-hub.st", "booksc.org",
    "b-ok.org", "b-ok.cc", "annas-archive.org", "pdfdrive.com",
)
# Document-scraper and document-sharing sites: never the canonical document.
MIRROR_DOMAINS = (
    "scribd.com", "studyres.com", "studylib.net", "studylib.es", "docplayer.net", "docplayer.com",
    "pdfcoffee.com", "yumpu.com", "dokumen.pub", "dokumen.tips", "fdocuments.us", "fdocuments.net",
    "fdocuments.in", "vdocuments.us", "vdocuments.net", "vdocuments.mx", "vdocument.in",
    "documents.pub", "docslib.org", "paperzz.com", "kipdf.com", "datapdf.com", "diazilla.com",
    "docstoc.com", "123dok.org", "123dok.com", "doczz.it", "doczz.net", "readkong.com",
    "slideshare.net", "pdfkul.com", "docslides.com", "abcdocz.com", "healthdocbox.com",
    "120ty.net", "download.skyscape.com", "ilovetranslation.com", "cricutcom-setup.com",
)

# A label-like document, by the host it sits on (regulators and label repositories) ...
LABEL_HOSTS = (
    "dailymed.nlm.nih.gov", "fda.gov", "accessdata.fda.gov", "ema.europa.eu", "fda.gov.ph",
    "ch.oddb.org", "generika.cc", "medsafe.govt.nz", "tga.gov.au", "hpfb-dgpsa.ca", "mhra.gov.uk",
    "pfizermedinfo.co.kr", "pfizermedicalinformation.com",
)
# ... or by what its title says it is.
LABEL_WORDS = re.compile(
    r"\blabel\b(?!-derived| summary)|\blabell?ing\b|prescribing information|instructions for use|\bIFU\b|"
    r"summary of product characteristics|\bSmPC\b|package (?:insert|leaflet)|patient information leaflet|"
    r"product information|professional information|consumer medicine information|product monograph|"
    r"important safety information|riassunto delle caratteristiche del prodotto|"
    r"\bEMA/HMPC/|\bEMEA/HMPC/|FDA safety communication",
    re.IGNORECASE,
)
# A paper: a journal citation in the title (year plus volume/pages, a DOI or a PMID) or a journal host.
PAPER_HOSTS = (
    "pmc.ncbi.nlm.nih.gov", "pubmed.ncbi.nlm.nih.gov", "doi.org", "dovepress.com", "journals.lww.com",
    "jstage.jst.go.jp", "synapse.koreamed.org", "thorax.bmj.com", "adc.bmj.com", "jddonline.com",
    "jcadonline.com", "mdpi.com", "springermedicine.com", "thieme-connect.com", "actasdermo.org",
    "archderm.jamanetwork.com", "go.gale.com", "ouci.dntb.gov.ua", "pubs.asahq.org",
    "mattioli1885journals.com",
)
CITATION = re.compile(
    r"\b(?:19|20)\d\d\b.*(?:;|:|\b\d+\(\d+\)|\bdoi\b|\bPMID\b)|\bdoi:|\bPMID\b|\bJ\b|\bJournal\b|"
    r"\bRev\b|\bRep\b|\bSurg\b|\bDermatol\b|\bMed\b|\bRes\b|\bSci\b",
)
NOT_A_PAPER = re.compile(r"poster|congress|ask the expert|\bQ&A\b|blog", re.IGNORECASE)


@dataclass(frozen=True)
class Row:
    file: str
    where: str
    evidence: str
    sources: tuple[dict, ...]


def _walk(node: object, where: str, file: str) -> Iterator[Row]:
    if isinstance(node, dict):
        if "evidence" in node:
            yield Row(file, where, node["evidence"], tuple(node.get("sources", ())))
        for key, value in node.items():
            yield from _walk(value, f"{where}.{key}", file)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            label = value.get("id") or value.get("target") or index if isinstance(value, dict) else index
            yield from _walk(value, f"{where}[{label}]", file)


def catalogue_rows() -> list[Row]:
    rows: list[Row] = []
    for path in sorted(DATA.glob("*.toml")):
        with path.open("rb") as handle:
            rows.extend(_walk(tomllib.load(handle), "", path.name))
    return rows


ROWS = catalogue_rows()
SOURCES = [(row, source) for row in ROWS for source in row.sources]


def host_of(url: str | None) -> str:
    return (urlparse(url).hostname or "").lower() if url else ""


def _on(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def is_banned(url: str | None) -> bool:
    host = host_of(url)
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    words = {part for label in labels for part in (label, label.split("-")[0])}
    return bool(words & BANNED_LABELS) or _on(host, PIRATE_DOMAINS)


def is_mirror(url: str | None) -> bool:
    return _on(host_of(url), MIRROR_DOMAINS)


def is_label_like(source: dict) -> bool:
    title = source.get("title") or ""
    if title.startswith(RETRIEVED):
        return False
    return _on(host_of(source.get("url")), LABEL_HOSTS) or bool(LABEL_WORDS.search(title))


def is_paper(source: dict) -> bool:
    title = source.get("title") or ""
    if title.startswith(RETRIEVED) or NOT_A_PAPER.search(title):
        return False
    return _on(host_of(source.get("url")), PAPER_HOSTS) or bool(CITATION.search(title))


def _words(text: str) -> set[str]:
    """The longer words of a title, to tell whether a copy's title names the document before it."""
    return {w for w in re.findall(r"\w+", text.casefold()) if len(w) >= 5}


def _show(row: Row) -> str:
    return f"{row.file}{row.where} ({row.evidence})"


# --- the host rules themselves -------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://sit.mimsdev.com/hongkong/drug/info/x",
    "https://www.staging.medscape.com/answers/1",
    "https://dailymed.awsprod.nlm.nih.gov/dailymed/drugInfo.cfm?setid=x",
    "https://zlibrary.to/dl/handbook",
    "http://libgen.rs/book/index.php?md5=x",
    "http://142.54.178.187:9060/xmlui/handle/1",
    "https://dev.example.org/label.pdf",
    "https://test-server.example.com/x",
    "https://prdmimsweb.azurewebsites.net/hongkong/drug/info/restylane",
])
def test_banned_hosts_are_recognised(url):
    assert is_banned(url)


@pytest.mark.parametrize("url", [
    "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=x",
    "https://emedicine.medscape.com/article/1844551-clinical",
    "https://www.mims.com/hongkong/drug/info/restylane",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC1",
    "https://www.ema.europa.eu/en/medicines",
    "https://www.devonhealth.example/x",          # 'devonhealth' is not the word 'dev'
    "https://www.latest-news.example/x",          # 'latest' is not the word 'test'
])
def test_ordinary_hosts_are_not_banned(url):
    assert not is_banned(url)


@pytest.mark.parametrize("url", [
    "https://www.scribd.com/document/1/x", "https://scribd.com/doc/1", "https://studyres.com/doc/1",
    "https://fdocuments.net/document/x.html", "https://docslib.org/doc/1/x", "https://pdfcoffee.com/x",
    "https://www.yumpu.com/en/document/view/1", "https://dokumen.pub/x.html",
])
def test_mirror_hosts_are_recognised(url):
    assert is_mirror(url)


@given(st.sampled_from(MIRROR_DOMAINS), st.sampled_from(("", "www.", "m.", "fr.")),
       st.text(alphabet="abcdefghij0123456789/-", max_size=20))
def test_any_page_on_a_mirror_host_is_a_mirror_and_not_a_label(domain, prefix, path):
    url = f"https://{prefix}{domain}/{path}"
    assert is_mirror(url)
    assert not is_label_like({"title": f"{RETRIEVED} (copy): Xylocaine label", "url": url})


# --- the shipped catalogue -----------------------------------------------------------------------

def test_the_catalogue_has_sources_to_check():
    assert len(SOURCES) > 700


def test_no_source_sits_on_a_test_staging_internal_or_pirate_host():
    bad = sorted({s["url"] for _, s in SOURCES if is_banned(s.get("url"))})
    assert bad == []


def test_every_source_has_a_title_naming_the_document():
    bad = [_show(row) for row, s in SOURCES if not (s.get("title") or "").strip()]
    assert bad == []


def test_a_mirror_copy_is_titled_as_retrieved_and_follows_its_canonical_document():
    bad = []
    for row in ROWS:
        for index, source in enumerate(row.sources):
            if not is_mirror(source.get("url")):
                continue
            title = source.get("title") or ""
            # the canonical document: the nearest entry before it that is not itself a copy
            before = index - 1
            while before >= 0 and (row.sources[before].get("title") or "").startswith(RETRIEVED):
                before -= 1
            canonical = row.sources[before] if before >= 0 else None
            if (not title.startswith(RETRIEVED) or canonical is None or is_mirror(canonical.get("url"))
                    or not _words(title.split(":", 1)[-1]) & _words(canonical.get("title") or "")):
                bad.append(f"{_show(row)}: {source.get('url')}")
    assert bad == []


def test_a_retrieved_from_entry_is_always_a_mirror_copy_of_something():
    bad = [_show(row) for row, s in SOURCES
           if (s.get("title") or "").startswith(RETRIEVED) and not s.get("url")]
    assert bad == []


def test_no_row_rests_on_mirrors_alone():
    bad = [_show(row) for row in ROWS
           if row.sources and all(is_mirror(s.get("url")) for s in row.sources)]
    assert bad == []


def test_every_label_row_cites_a_label():
    bad = [_show(row) for row in ROWS
           if row.evidence == "label" and not any(is_label_like(s) for s in row.sources)]
    assert bad == []


def test_every_peer_reviewed_row_cites_a_paper():
    bad = [_show(row) for row in ROWS
           if row.evidence == "peer-reviewed" and not any(is_paper(s) for s in row.sources)]
    assert bad == []


def test_every_graded_row_has_sources_and_an_unsourced_row_has_none():
    bad = [_show(row) for row in ROWS
           if (row.evidence == "unsourced") == bool(row.sources)]
    assert bad == []


@pytest.mark.parametrize("title", [
    "Abdallah M et al. Dutasteride mesotherapy, EADV poster P843",
    "AAAAI Ask the Expert: soy lecithin and soy allergy",
])
def test_a_poster_or_a_societys_q_and_a_is_not_a_paper(title):
    assert not is_paper({"title": title, "url": "https://example.org/x"})


def test_the_first_link_of_a_row_is_never_a_mirror_when_a_canonical_link_exists():
    """Exports that cite one link per fact (FHIR) take the first; it must not be a mirror copy."""
    bad = []
    for row in ROWS:
        linked = [s for s in row.sources if s.get("url")]
        canonical = [s for s in linked if not is_mirror(s["url"]) and not s.get("title", "").startswith(RETRIEVED)]
        if canonical and linked[0] is not canonical[0]:
            bad.append(_show(row))
    assert bad == []


# --- each source's own grade ---------------------------------------------------------------------

GRADES = ("label", "peer-reviewed", "reference", "expert", "vendor", "unsourced")
# Drug references, trade press and encyclopaedias: never a label, never a paper.
REFERENCE_HOSTS = (
    "medscape.com", "drugs.com", "rxlist.com", "webmd.com", "wikipedia.org", "wikidoc.org", "pdr.net",
    "dermatologyadvisor.com", "contemporaryobgyn.net", "tctmd.com", "thecardiologyadvisor.com",
    "mims.com", "drugs-porphyria.com", "eyewiki.aao.org", "aaaai.org",
)


def grade_of(row: Row, source: dict) -> str:
    """A source's own grade: its ``grade`` key, else its row's (the reader's default)."""
    return source.get("grade", row.evidence)


def test_the_shipped_catalogue_models_grade_defaults_the_way_the_reader_does():
    """A source without a grade reads with its row's grade, one with a grade keeps its own."""
    from mesocli.domain.model import Provenance, Source

    read = Provenance("expert", (Source("Kybella label", None, "label"), Source("A clinic page", None)))
    assert [s.grade for s in read.sources] == ["label", "expert"]
    assert read.grades() == ["label", "expert"]


def test_every_source_grade_is_a_document_grade():
    bad = [f"{_show(row)}: {s.get('title')}" for row, s in SOURCES
           if "grade" in s and s["grade"] not in GRADES[:-1]]
    assert bad == []


def test_one_document_has_one_grade_wherever_it_is_cited():
    seen: dict[tuple[str | None, str | None], set[str]] = {}
    for row, s in SOURCES:
        seen.setdefault((s.get("title"), s.get("url")), set()).add(grade_of(row, s))
    assert {key: grades for key, grades in seen.items() if len(grades) > 1} == {}


def test_a_mirror_copy_has_the_grade_of_the_document_it_copies():
    bad = []
    for row in ROWS:
        for index, source in enumerate(row.sources):
            if index and (source.get("title") or "").startswith(RETRIEVED):
                before = index - 1
                while before > 0 and (row.sources[before].get("title") or "").startswith(RETRIEVED):
                    before -= 1
                canonical = row.sources[before]
                words = _words((source.get("title") or "").split(":", 1)[-1])
                if words & _words(canonical.get("title") or "") and \
                        grade_of(row, source) != grade_of(row, canonical):
                    bad.append(f"{_show(row)}: {source.get('title')}")
    assert bad == []


def test_every_label_row_cites_a_source_graded_label():
    bad = [_show(row) for row in ROWS
           if row.evidence == "label" and not any(grade_of(row, s) == "label" for s in row.sources)]
    assert bad == []


def test_every_peer_reviewed_row_cites_a_source_graded_peer_reviewed():
    bad = [_show(row) for row in ROWS if row.evidence == "peer-reviewed"
           and not any(grade_of(row, s) == "peer-reviewed" for s in row.sources)]
    assert bad == []


def test_no_row_is_graded_above_its_strongest_source():
    bad = [_show(row) for row in ROWS if row.sources
           and GRADES.index(row.evidence) < min(GRADES.index(grade_of(row, s)) for s in row.sources)]
    assert bad == []


def test_a_source_graded_label_is_a_label_document():
    bad = sorted({s.get("title") or "" for row, s in SOURCES
                  if grade_of(row, s) == "label" and not (s.get("title") or "").startswith(RETRIEVED)
                  and not is_label_like(s)})
    assert bad == []


def test_drug_references_posters_and_trade_press_are_never_graded_label_or_peer_reviewed():
    """A drug reference's own page is a reference; a label it reproduces, titled as that label, is a label."""
    def wrong(grade: str, source: dict) -> bool:
        title = source.get("title") or ""
        on_reference = _on(host_of(source.get("url")), REFERENCE_HOSTS)
        if grade == "label":
            return on_reference and not LABEL_WORDS.search(title)
        return grade == "peer-reviewed" and (on_reference or bool(NOT_A_PAPER.search(title)))

    bad = sorted({f"{grade_of(row, s)}: {s.get('title')}" for row, s in SOURCES if wrong(grade_of(row, s), s)})
    assert bad == []


def test_a_label_summary_or_digest_is_never_graded_label():
    """A drug-information summary of a label (a "label summary", "prescribing summary" or digest,
    e.g. the Avodart summary on 120ty.net) is a reference, wherever it is cited, and its copies too."""
    digest = re.compile(r"label summary|prescribing summary|prescribing information summary|\bdigest\b", re.IGNORECASE)
    bad = sorted({f"{grade_of(row, s)}: {s.get('title')}" for row, s in SOURCES
                  if digest.search(s.get("title") or "") and grade_of(row, s) == "label"})
    assert bad == []
    assert not is_label_like({"title": "Avodart (dutasteride) 0.5 mg capsules, US prescribing summary"})
    avodart = [(row, s) for row, s in SOURCES if "fid=134&id=5611" in (s.get("url") or "")]
    assert avodart and {grade_of(row, s) for row, s in avodart} == {"reference"}
