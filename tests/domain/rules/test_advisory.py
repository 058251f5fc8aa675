"""Advisories (``[[advisory]]``): a standing note on every ingredient in the rule's scope,
whoever the patient is. Biotin's interference with laboratory immunoassays is the first one."""

from __future__ import annotations

from typing import Any

import pytest

from mesocli import check
from mesocli.domain.patient import Patient


def _advisory(**override: Any) -> dict[str, Any]:
    row = {"substance": "biotin", "severity": "info", "message": "m", "evidence": "peer-reviewed",
           "sources": [{"title": "A review", "url": "https://example.org/review"}], **override}
    return {"rules.toml": {"advisory": [{k: v for k, v in row.items() if v is not None}]}}


def _advisories(result: Any) -> list[tuple[str, str, str]]:
    return sorted((f.severity, f.subject, f.trigger) for f in result.findings if f.kind == "advisory")


def test_an_advisory_row_is_read_through_the_registry() -> None:
    """An [[advisory]] row parses into a rule of that kind, scoped to its substance."""
    from mesocli.storage.text import parse_documents

    (rule,) = parse_documents(_advisory()).rules
    assert rule.kind == "advisory" and str(rule.scope) == "substance:biotin"


@pytest.mark.parametrize(("override", "problem"), [
    ({"severity": "contraindicated"}, "caution"),
    ({"substance": None, "procedure": True}, "procedure"),
])
def test_an_advisory_never_contraindicates_nor_covers_the_procedure(override, problem) -> None:
    """An advisory that would forbid an ingredient for everyone, or that concerns no ingredient,
    is refused when the data is read."""
    from mesocli.errors import CatalogueDataError
    from mesocli.storage.text import parse_documents

    with pytest.raises(CatalogueDataError, match=problem):
        parse_documents(_advisory(**override))


# Advisories scoped to one product, by product id: (severity, trigger).
PRODUCT_ADVISORIES = {"plinest": ("caution", "plinest")}


def test_every_product_with_biotin_carries_the_note_and_no_other_does(catalogue) -> None:
    """Checked alone, a product gets the biotin note exactly when it holds biotin, and a note of
    its own only where a rule is scoped to it (the Plinest fish-allergy warning)."""
    for product in catalogue.products.values():
        found = _advisories(check(Patient(), ingredients=(product.id,)))
        holds = "biotin" in product.substance_ids()
        expected = [("info", product.id, "biotin")] if holds else []
        if product.id in PRODUCT_ADVISORIES:
            severity, trigger = PRODUCT_ADVISORIES[product.id]
            expected = sorted([*expected, (severity, product.id, trigger)])
        assert found == expected, (product.id, found)


def test_the_note_does_not_depend_on_the_patient() -> None:
    """Allergies, conditions, medications, age and sex change nothing about the note."""
    plain = _advisories(check(Patient(), ingredients=("biotin-0-5mg-ml",)))
    busy = _advisories(check(Patient(allergies=("parabens",), conditions=("pregnancy",), medications=("warfarin",),
                                     age=70, sex="female"), ingredients=("biotin-0-5mg-ml",)))
    assert plain == busy == [("info", "biotin-0-5mg-ml", "biotin")]


def test_a_screen_gives_no_advisory() -> None:
    """A screen (no ingredients) is about the patient: the note would be the same for every
    product holding biotin, so it is not given there."""
    result = check(Patient(allergies=("parabens",)))
    assert _advisories(result) == []


def test_a_build_with_biotin_carries_the_note(meso) -> None:
    """A built recipe that doses biotin says so in its findings."""
    doc = meso("build", "--indication", "acne", "--volume", "2 mL", "--json").json()
    used = {c["id"] for syringe in doc["syringes"] for c in syringe["components"]}
    notes = [f for f in doc["findings"] if f["kind"] == "advisory"]
    assert "biotin-0-5mg-ml" in used, used
    assert [(f["severity"], f["subject"], f["trigger"]) for f in notes] == [("info", "biotin-0-5mg-ml", "biotin")]
