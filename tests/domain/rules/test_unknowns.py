"""Unknown is never "ok": every catalogue entry checked alone, held to what the catalogue does
not know about it. Whatever is unknown (no source, an active of unknown strength, an unknown
vehicle or market status) is named by a finding, and the verdict says that not everything
could be assessed; an entry of which everything is known gets no such finding."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli.api import check, load_catalogue
from mesocli.render.documents import check_document, verdict

CATALOGUE = load_catalogue()
ENTRIES = sorted(CATALOGUE.products) + sorted(CATALOGUE.substances)


def expected_unknowns(entry_id: str) -> set[str]:
    """What the catalogue does not know about ``entry_id`` checked alone (no volume)."""
    entry = CATALOGUE.products.get(entry_id) or CATALOGUE.substances[entry_id]
    out = set()
    if not entry.provenance.sources or entry.provenance.evidence == "unsourced":
        out.add("source")
    if entry.status == "unknown":
        out.add("market status")
    if entry_id in CATALOGUE.products:
        if entry.vehicle == "unknown":
            out.add("vehicle")
        for component in entry.components:
            if component.role == "active" and component.concentration is None:
                out.add(f"strength of {CATALOGUE.substances[component.substance].name}")
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry_id=st.sampled_from(ENTRIES))
def test_every_unknown_is_named_and_the_verdict_says_so(entry_id: str) -> None:
    result = check(ingredients=[entry_id], catalogue=CATALOGUE)
    named = {f.unassessed for f in result.findings if f.unassessed is not None}
    want = expected_unknowns(entry_id)
    assert want <= named, (entry_id, want, named)
    text = verdict(result)
    document = check_document(result, CATALOGUE)
    assert document["verdict"] == text
    assert document["fully_assessed"] is (not named)
    if named:
        assert "Not everything could be assessed" in text and not text.startswith("Verdict: OK")
        for what in named:
            assert what in text
    else:
        assert "Not everything could be assessed" not in text


def test_the_shipped_catalogue_has_entries_of_each_kind_of_unknown() -> None:
    """The property above is not vacuous: each kind of unknown occurs in the shipped catalogue."""
    kinds = set()
    for entry_id in ENTRIES:
        for what in expected_unknowns(entry_id):
            kinds.add(what if not what.startswith("strength of") else "strength")
    assert {"source", "market status", "vehicle", "strength"} <= kinds
    assert any(not expected_unknowns(e) for e in ENTRIES)
