"""Sourced strengths and the fits that use them.

Every fit an indication uses either has a product a build can dose (a sourced record whose
actives all have a strength) or meso says why it has none: in ``meso indications show`` (the
fit's ``not_dosable_because``) and in every build for the indication (an excluded product or a
reason). Glutathione has its label strength (Gluthion 600 mg/4 mL, AIFA SmPC), so the melasma
cocktail doses it to the studied 2 %.
"""

from __future__ import annotations

from typing import Any

import pytest

from mesocli.domain.formulate import NO_PRODUCT, UNSOURCED_FIT, fit_dosability
from mesocli.units import Q_

BUILD = ("--volume", "4 mL", "--max-products", "30", "--weight", "70 kg", "--treatment-area", "25 cm^2")


def _dosable(catalogue, pid: str) -> bool:
    product = catalogue.products[pid]
    return (product.provenance.evidence != "unsourced"
            and all(c.concentration is not None for c in product.actives()))


def _fits(catalogue) -> list[tuple[str, Any]]:
    return [(ind.id, fit) for ind in catalogue.indications.values() for fit in ind.fits]


def test_every_fit_has_a_dosable_product_or_says_why(catalogue) -> None:
    """Each fit of each indication has dosable products and no reason, or no product and a reason."""
    for indication, fit in _fits(catalogue):
        dosable, why_not = fit_dosability(catalogue, fit)
        if dosable:
            assert why_not is None, (indication, fit.target)
            assert all(_dosable(catalogue, pid) for pid in dosable), (indication, fit.target, dosable)
            for pid in dosable:
                product = catalogue.products[pid]
                assert pid == fit.target or fit.target in {c.substance for c in product.actives()}, (pid, fit.target)
        else:
            assert why_not, (indication, fit.target)


def test_a_fit_with_no_dosable_product_names_its_undosable_products(catalogue) -> None:
    """The reason names the products that lack a sourced strength, or says there is none at all,
    or that the fit itself is unsourced."""
    for indication, fit in _fits(catalogue):
        dosable, why_not = fit_dosability(catalogue, fit)
        if dosable:
            continue
        holders = [p.id for p in catalogue.products.values()
                   if p.id == fit.target or fit.target in {c.substance for c in p.actives()}]
        if fit.provenance.evidence == "unsourced":
            assert why_not == UNSOURCED_FIT
        elif not holders:
            assert why_not == NO_PRODUCT, (indication, fit.target)
        else:
            assert holders[0] in why_not or "more" in why_not, (indication, fit.target, why_not)
            assert not any(_dosable(catalogue, pid) for pid in holders), (indication, fit.target)


def test_the_indication_document_says_why_a_fit_cannot_be_dosed(meso) -> None:
    """`meso indications show` gives each fit its dosable products or why there are none."""
    doc = meso("indications", "show", "skin-rejuvenation", "--json").json()
    by_target = {f["target"]: f for f in doc["fits"]}
    assert by_target["idebenone"]["dosable_products"] == []
    assert by_target["idebenone"]["not_dosable_because"] == NO_PRODUCT
    assert by_target["hyaluronic-acid"]["dosable_products"]
    assert by_target["hyaluronic-acid"]["not_dosable_because"] is None
    text = meso("indications", "show", "skin-rejuvenation").stdout
    assert "Not dosable" in text and "idebenone" in text.split("Not dosable", 1)[1]


@pytest.mark.parametrize("indication", [
    "acne", "acne-scars", "cellulite", "dark-circles", "hair-loss", "hyperpigmentation", "localized-fat",
    "rosacea", "skin-dehydration", "skin-laxity", "skin-rejuvenation", "stretch-marks", "submental-fat",
])
def test_every_build_accounts_for_every_fit(meso, catalogue, indication: str) -> None:
    """A build for the indication either uses each fit (its product, or a product holding its
    substance) or says why not: an excluded entry or a reason naming the fit or its products."""
    assert indication in catalogue.indications
    doc = meso("build", "--indication", indication, *BUILD, "--json").json()
    assert doc["kind"] == "recipe", doc
    used: set[str] = set()
    for syringe in doc["syringes"]:
        for component in syringe["components"]:
            used.add(component["id"])
            used.update(s["id"] for s in component["substances"] if s["role"] == "active")
    said = {e["id"] for e in doc["excluded"]} | {e["trigger"] for e in doc["excluded"]}
    reasons = " ".join(doc["reasons"])
    for fit in catalogue.indications[indication].fits:
        dosable, _ = fit_dosability(catalogue, fit)
        names = {fit.target, *dosable}
        accounted = names & (used | said) or any(name in reasons for name in names)
        assert accounted, (indication, fit.target, doc["excluded"], doc["reasons"])


def test_glutathione_has_its_label_strength(catalogue) -> None:
    """Gluthion 600 mg/4 mL (AIFA SmPC): 150 mg/mL once dissolved in its solvent, graded label."""
    product = catalogue.products["gluthion-600mg-4ml"]
    (active,) = product.actives()
    assert active.substance == "glutathione"
    assert Q_(active.concentration.value, active.concentration.unit) == Q_(150, "mg/mL")
    assert product.provenance.evidence == "label"
    assert product.container_volume is not None


def test_the_melasma_cocktail_doses_glutathione_to_the_studied_two_percent(meso) -> None:
    """Iraji 2019 used glutathione 2 % in the cocktail: the build dilutes Gluthion to 20 mg/mL."""
    doc = meso("build", "--indication", "melasma", "--volume", "4 mL", "--max-products", "5", "--json").json()
    found = [s for syringe in doc["syringes"] for c in syringe["components"] if c["id"] == "gluthion-600mg-4ml"
             for s in c["substances"] if s["id"] == "glutathione"]
    assert len(found) == 1, doc["syringes"]
    final = found[0]["final_concentration"]
    assert final["unit"] == "mg/mL" and abs(final["value"] - 20) < 0.5, final


# The substances the catalogue once listed without any sourced strength, each now dosable from a
# label (zinc sulfate, niacinamide, dexpanthenol and the B complex, caffeine and sodium benzoate,
# Novocain, Placentex, Gluthion).
NOW_DOSABLE = ("zinc-sulfate", "nicotinamide", "dexpanthenol", "caffeine", "procaine", "pdrn", "glutathione")


@pytest.mark.parametrize("substance", NOW_DOSABLE)
def test_a_once_undosable_substance_has_a_sourced_strength(catalogue, substance: str) -> None:
    """At least one sourced product holds the substance as an active with a strength."""
    holders = [p for p in catalogue.products.values()
               if any(c.substance == substance and c.role == "active" for c in p.components)]
    assert any(_dosable(catalogue, p.id) for p in holders), (substance, [p.id for p in holders])
