"""Findings: built positionally, by keyword or resting on a fact, they hold what they were given,
stay immutable and compare as the dataclass fields say."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesocli.domain.model import Provenance, Source
from mesocli.domain.rules.base import Finding, finding_on, sourced

texts = st.text(max_size=8)
maybe = st.none() | texts
provenances = st.builds(
    Provenance, st.sampled_from(["label", "rct", "expert", "unsourced"]),
    st.lists(st.builds(Source, texts, st.none() | st.just("https://example.org/a")), max_size=2).map(tuple))


@given(st.lists(texts, min_size=5, max_size=5), st.lists(texts, max_size=3).map(tuple), texts,
       st.lists(maybe, min_size=3, max_size=3), maybe)
def test_a_finding_holds_each_field_as_given(head, sources, evidence, optional, unassessed):
    advice, path, summary = optional
    refs = (Source("A title"),)
    values = (*head, sources, evidence, advice, path, summary, refs, unassessed, None)
    names = [f.name for f in dataclasses.fields(Finding)]
    positional = Finding(*values)
    by_keyword = Finding(**dict(zip(names, values, strict=True)))
    for finding in (positional, by_keyword):
        assert [getattr(finding, name) for name in names] == list(values)
    assert positional == by_keyword and hash(positional) == hash(by_keyword)


def test_the_defaults_are_the_dataclass_defaults():
    finding = Finding("info", "dose", "x", "y", "text", ("s",), "label")
    assert (finding.advice, finding.path, finding.summary, finding.references, finding.unassessed,
            finding.rests_on) == (None, None, None, (), None, None)


def test_a_finding_is_immutable_and_replace_still_works():
    finding = Finding("info", "dose", "x", "y", "text", ("s",), "label")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.severity = "contraindicated"  # type: ignore[misc]
    changed = dataclasses.replace(finding, severity="caution")
    assert (changed.severity, finding.severity) == ("caution", "info")


def test_equality_ignores_references_unassessed_and_the_fact_rested_on():
    one = Finding("info", "dose", "x", "y", "text", ("s",), "label")
    other = dataclasses.replace(one, references=(Source("T"),), unassessed="volume",
                                rests_on=Provenance("label"))
    assert one == other and hash(one) == hash(other)
    assert one != dataclasses.replace(one, advice="different")


@given(provenances, maybe, maybe, maybe, maybe)
def test_finding_on_is_the_finding_sourced_from_the_fact(provenance, advice, path, summary, unassessed):
    quick = finding_on(provenance, "caution", "allergy", "x", "y", "text", advice, path, summary,
                       unassessed=unassessed)
    spelled = Finding("caution", "allergy", "x", "y", "text", **sourced(provenance), advice=advice, path=path,
                      summary=summary, unassessed=unassessed)
    names = [f.name for f in dataclasses.fields(Finding)]
    assert [getattr(quick, n) for n in names] == [getattr(spelled, n) for n in names]
    assert quick.source_grades() == spelled.source_grades() == tuple(provenance.grades())
