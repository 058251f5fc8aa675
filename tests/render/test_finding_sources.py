"""A finding keeps its sources as records from the catalogue to the FHIR writer: the URL a
DetectedIssue cites is a source's URL, never text parsed back out of a title."""

from __future__ import annotations

from mesocli.domain.engine import CheckResult, Finding
from mesocli.domain.model import Provenance, Source
from mesocli.domain.rules.base import sourced
from mesocli.render.fhir import check_bundle


def _issue(catalogue, finding: Finding) -> dict:
    result = CheckResult("caution", (finding,), screened=True)
    [issue] = [e["resource"] for e in check_bundle(result, catalogue, timestamp="2026-01-01T00:00:00Z")["entry"]
               if e["resource"]["resourceType"] == "DetectedIssue"]
    return issue


def test_the_issue_cites_the_first_source_with_a_url(catalogue):
    """Of a fact's sources, the first one with a URL is the issue's reference; its text is unchanged."""
    provenance = Provenance("label", (Source("A leaflet", None), Source("A label", "https://example.org/label")))
    finding = Finding("caution", "fit", "procedure", "t", "m", **sourced(provenance))
    assert finding.sources == ("A leaflet", "A label <https://example.org/label>")
    assert _issue(catalogue, finding)["reference"] == "https://example.org/label"


def test_a_title_that_looks_like_a_url_is_not_taken_for_one(catalogue):
    """A title ending in "<https://...>" is a title: without a URL of its own, the issue cites none."""
    provenance = Provenance("expert", (Source("Notes <https://not-a-source.example/x>", None),))
    finding = Finding("caution", "fit", "procedure", "t", "m", **sourced(provenance))
    assert "reference" not in _issue(catalogue, finding)


def test_engine_findings_carry_their_sources_as_records(catalogue):
    """Every finding of a real check has one record per source text, in the same order."""
    from mesocli import api
    from mesocli.domain.patient import Patient

    result = api.check(Patient(allergies=["lidocaine"], conditions=["pregnancy"]),
                       ingredients=["lidocaine-1pct-sd", "hyaluronic-acid"], indication="hair-loss",
                       catalogue=catalogue)
    assert result.findings
    for finding in result.findings:
        expected = tuple(str(s) for s in finding.references) or (
            "unsourced: no published source; treat as expert opinion to be verified",)
        assert finding.sources == expected, finding
