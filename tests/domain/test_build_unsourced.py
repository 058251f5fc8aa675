"""meso build never doses a product whose record has no published source.

A strength on an unsourced row is not known from a source, so such products are passed over
when a recipe is composed (``meso check`` still checks them when a recipe names them). However
many of them a catalogue holds, the recipe is the one the sourced products give, and the
reasons name them in one line per ingredient left without a product.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from mesocli import api
from mesocli.domain.catalogue import Catalogue
from mesocli.domain.formulate import NO_PRODUCT
from mesocli.domain.model import Amount, Component, Fit, Product, Provenance
from mesocli.domain.patient import Patient
from mesocli.render.recipe import recipe_document

UNSOURCED = Provenance("unsourced", ())
PASSED_OVER = "no published source and cannot be dosed from sourced data"
DOSABLE = {"volume": "2 mL", "treatment_area": "25 cm**2"}


def _with(cat: Catalogue, products: Sequence[Product] = (), fits: dict[str, list[Fit]] | None = None) -> Catalogue:
    """The shipped catalogue with extra products, and extra fits for some indications."""
    fits = fits or {}
    indications = [replace(i, fits=i.fits + tuple(fits[i.id])) if i.id in fits else i
                   for i in cat.indications.values()]
    return Catalogue(
        substances=cat.substances.values(), products=[*cat.products.values(), *products],
        groups=cat.groups.values(), crosses=cat.crosses, conditions=cat.conditions.values(),
        medication_classes=cat.medication_classes.values(), medications=cat.medications.values(),
        areas=cat.areas.values(), indications=indications, protocols=cat.protocols, rules=cat.rules,
        defaults=cat.defaults.values())


def _make(cat: Catalogue, indication: str, patient: Patient | None = None, **kw: Any) -> dict[str, Any]:
    recipe = api.build(indication, patient, catalogue=cat, **kw)
    return json.loads(json.dumps(recipe_document(recipe, cat)))


def _product_ids(doc: dict[str, Any]) -> list[str]:
    return [c["id"] for s in doc["syringes"] for c in s["components"]]


def _unsourced_copy(product: Product, new_id: str) -> Product:
    # Same components, generic, single active: it ties with the original on every other ranking
    # key, and its id sorts first, so only its missing source can keep it out of the recipe.
    return replace(product, id=new_id, name=f"Copy of {product.name}", aliases=(), provenance=UNSOURCED,
                   generic=True, local=True)


def test_an_unsourced_copy_of_each_chosen_product_is_never_dosed(catalogue):
    shipped = _make(catalogue, "hair-loss")
    chosen = _product_ids(shipped)
    assert shipped["status"] == "ok" and chosen
    copies = [_unsourced_copy(catalogue.products[pid], f"0-copy-{pid}") for pid in chosen]
    doc = _make(_with(catalogue, copies), "hair-loss")
    assert doc["status"] == "ok"
    assert _product_ids(doc) == chosen
    assert doc["syringes"] == shipped["syringes"]
    assert not {c.id for c in copies} & {e["id"] for e in doc["excluded"]}


def test_an_unsourced_anaesthetic_that_would_rank_first_is_not_used(catalogue):
    shipped = _make(catalogue, "hair-loss")
    anaesthetics = [c["id"] for s in shipped["syringes"] for c in s["components"] if c["purpose"] == "anaesthetic"]
    assert set(anaesthetics) == {"lidocaine-1pct-sd"}  # one in each syringe
    weaker = replace(catalogue.products["lidocaine-1pct-sd"], id="0-lidocaine-0-5pct-unsourced", aliases=(),
                     provenance=UNSOURCED,
                     components=(Component("lidocaine", "active", Amount(5.0, "mg/mL")),))
    doc = _make(_with(catalogue, [weaker]), "hair-loss")
    assert doc["syringes"] == shipped["syringes"]
    assert weaker.id not in _product_ids(doc)


def test_an_ingredient_left_without_a_product_names_the_unsourced_ones(catalogue):
    # The one shipped DMAE product lacks a strength; five unsourced ones with a strength are
    # still not dosed, and the reasons say so in one line naming the first three.
    template = catalogue.products["dmae-injection"]
    extra = [replace(template, id=f"dmae-clinic-{n}", aliases=(), provenance=UNSOURCED, local=True,
                     components=(Component("dmae", "active", Amount(5.0, "mg/mL")),))
             for n in range(1, 6)]
    shipped = _make(catalogue, "skin-rejuvenation")
    doc = _make(_with(catalogue, extra), "skin-rejuvenation")
    assert doc["syringes"] == shipped["syringes"]
    assert doc["excluded"] == shipped["excluded"]
    lines = [r for r in doc["reasons"] if PASSED_OVER in r]
    assert lines == ["dmae: 5 products have no published source and cannot be dosed from sourced "
                     "data (dmae-clinic-1, dmae-clinic-2, dmae-clinic-3 and 2 more)."]
    assert _other(doc["reasons"]) == _other(shipped["reasons"])


def test_a_fit_that_names_an_unsourced_product_excludes_it_with_the_reason(catalogue):
    product = catalogue.products["ginkgo-extract-injection"]
    assert product.provenance.evidence == "unsourced"
    named = replace(product, id="ginkgo-clinic", aliases=(),
                    components=(Component("ginkgo-biloba-extract", "active", Amount(40.0, "mg/mL")),))
    fit = Fit("ginkgo-clinic", "complementary", Provenance("peer-reviewed"))
    doc = _make(_with(catalogue, [named], {"cellulite": [fit]}), "cellulite", max_products=5, **DOSABLE)
    excluded = {e["id"]: e for e in doc["excluded"]}
    assert excluded["ginkgo-clinic"]["trigger"] == "unsourced"
    assert "no published source" in excluded["ginkgo-clinic"]["reason"]
    assert "ginkgo-clinic" not in _product_ids(doc)


def _generated(cat: Catalogue, count: int, seed: int) -> list[Product]:
    """``count`` unsourced products of one to three real actives at made-up strengths."""
    rng = random.Random(seed)
    actives = sorted(s.id for s in cat.substances.values() if s.role == "active")
    out = []
    for n in range(count):
        picked = rng.sample(actives, rng.choice([1, 1, 2, 3]))
        components = tuple(Component(s, "active", Amount(rng.choice([0.5, 5.0, 20.0]), "mg/mL")
                                     if rng.random() < 0.8 else None) for s in picked)
        out.append(Product(f"generated-{n:04d}", f"Generated {n}", UNSOURCED, components, generic=True,
                           vehicle="aqueous", dose="single", status="medicine", local=True))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_many_unsourced_products_change_no_recipe(catalogue, seed):
    """Hundreds of unsourced products, the benchmark's kind, leave every recipe as it was."""
    big = _with(catalogue, _generated(catalogue, 600, seed))
    for indication in catalogue.indications.values():
        for area in indication.areas:
            shipped = _make(catalogue, indication.id, area=area, **DOSABLE)
            doc = _make(big, indication.id, area=area, **DOSABLE)
            where = (indication.id, area)
            assert doc["status"] == shipped["status"], where
            assert doc["syringes"] == shipped["syringes"], where
            assert doc["excluded"] == shipped["excluded"], where
            assert _other(doc["reasons"]) == _other(shipped["reasons"]), where
            assert all(r.count("generated-") <= 3 for r in doc["reasons"]), where


def _other(reasons: list[str]) -> list[str]:
    """The reasons other than why a fit's products cannot be dosed: an unsourced product passed
    over, or (in the shipped catalogue, where generated products may add one) no product at all."""
    return [r for r in reasons if PASSED_OVER not in r and NO_PRODUCT not in r]
