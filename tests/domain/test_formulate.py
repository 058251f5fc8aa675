"""meso build, the core: mesocli.api.build and mesocli.domain.formulate.

Every number is checked with pint through the JSON contract (``recipe_document``), because the
JSON is what a clinic stores and feeds back to ``meso check``.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import pytest

from mesocli import api
from mesocli.domain.patient import Patient
from mesocli.errors import InputError, UnknownTermError
from mesocli.render.recipe import recipe_document
from mesocli.units import parse_quantity

REL = 1e-6
DOSABLE = {"volume": "2 mL", "treatment_area": "25 cm**2"}


# ----------------------------------------------------------------------------- helpers
def pairs(cat) -> list[tuple[str, str]]:
    return [(ind.id, area) for ind in cat.indications.values() for area in ind.areas]


def make(cat, indication: str, patient: Patient | None = None, **kw: Any) -> dict[str, Any]:
    """Build and return the JSON document (round-tripped through json, as a clinic would store it)."""
    recipe = api.build(indication, patient, catalogue=cat, **kw)
    return json.loads(json.dumps(recipe_document(recipe, cat)))


def q(doc: dict[str, Any], kind: str, what: str = "quantity"):
    """A quantity of the JSON contract, read by meso, as a pint quantity to compute with."""
    assert set(doc) == {"value", "unit"}, doc
    return parse_quantity(doc, kind=kind, what=what, allow_zero=True).quantity()


def components(doc: dict[str, Any]):
    for syringe in doc["syringes"]:
        yield from syringe["components"]


def substance_ids(doc: dict[str, Any]) -> set[str]:
    return {s["id"] for c in components(doc) for s in c["substances"]}


def product_ids(doc: dict[str, Any]) -> set[str]:
    return {c["id"] for c in components(doc)}


def total_mg(doc: dict[str, Any], substance: str) -> float:
    total = 0.0
    for c in components(doc):
        for s in c["substances"]:
            if s["id"] == substance and s["amount"] is not None:
                total += q(s["amount"], "mass").to("mg").magnitude
    return total


def assert_arithmetic(doc: dict[str, Any]) -> None:
    for number, syringe in enumerate(doc["syringes"], 1):
        volumes = []
        for c in syringe["components"]:
            volume = q(c["volume"], "volume", f"syringe {number} {c['id']} volume")
            volumes.append(volume.to("mL").magnitude)
            for s in c["substances"]:
                if s["concentration"] is None:
                    assert s["amount"] is None, (c["id"], s)
                    continue
                conc = q(s["concentration"], "concentration", f"{c['id']} {s['id']} concentration")
                amount = q(s["amount"], "mass", f"{c['id']} {s['id']} amount")
                expected = (conc * volume).to(amount.units).magnitude
                assert math.isclose(amount.magnitude, expected, rel_tol=REL, abs_tol=1e-12), (
                    c["id"], s["id"], s["concentration"], c["volume"], s["amount"])
        total = q(syringe["total_volume"], "volume").to("mL").magnitude
        assert math.isclose(total, sum(volumes), rel_tol=REL, abs_tol=1e-12), (number, total, volumes)


# ----------------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize("patient, extra", [
    (None, {}),
    (Patient(weight="60 kg", age=45), {"volume": "100 mL"}),
    (Patient(allergies=("amide-local-anaesthetics",)), {}),
    (Patient(weight="10 kg"), {"volume": "20 mL", "treatment_area": "3 cm**2"}),
], ids=["plain", "large-volume-60kg", "amide-allergy", "caps-bite"])
def test_every_amount_is_concentration_times_volume(catalogue, patient, extra):
    built = 0
    for indication, area in pairs(catalogue):
        doc = make(catalogue, indication, patient, area=area, **{**DOSABLE, **extra})
        if doc["status"] == "ok":
            built += 1
            assert_arithmetic(doc)
    assert built >= 10


def test_volumes_never_exceed_the_requested_session_volume(catalogue):
    for volume in ("0.5 mL", "2 mL", "7 mL", "40 mL"):
        requested = parse_quantity(volume, kind="volume", what="v").in_unit("mL")
        for indication, area in pairs(catalogue):
            doc = make(catalogue, indication, area=area, volume=volume, treatment_area="25 cm**2")
            total = sum(q(s["total_volume"], "volume").to("mL").magnitude for s in doc["syringes"])
            assert total <= requested * (1 + REL), (indication, area, volume, total)


def test_protocol_session_volume_is_used_when_no_volume_given(catalogue):
    doc = make(catalogue, "hair-loss")  # the scalp protocol records 2 mL
    total = sum(q(s["total_volume"], "volume").to("mL").magnitude for s in doc["syringes"])
    assert 1.9 <= total <= 2.0 + 1e-9
    assert any("from the protocol" in line for line in doc["explain"])


def test_volume_per_point_gives_points(catalogue):
    doc = make(catalogue, "skin-rejuvenation", area="face")  # protocol: 0.01 mL per point, 2 mL
    for syringe in doc["syringes"]:
        vpp = q(syringe["volume_per_point"], "volume").to("mL").magnitude
        total = q(syringe["total_volume"], "volume").to("mL").magnitude
        assert vpp == pytest.approx(0.01)
        assert syringe["points"] == math.ceil(total / vpp - 1e-9)
    assert doc["protocol"]["points"] == sum(s["points"] for s in doc["syringes"])


# ----------------------------------------------------------------------------- dose caps
@pytest.mark.parametrize("indication", ["skin-rejuvenation", "hair-loss", "acne", "hyperpigmentation"])
def test_lidocaine_per_kg_cap_60kg(catalogue, indication):
    doc = make(catalogue, indication, Patient(weight="60 kg"), volume="100 mL")
    assert doc["status"] == "ok"
    lidocaine = total_mg(doc, "lidocaine")
    assert 0 < lidocaine <= 270 * (1 + REL)


def test_lidocaine_cap_truncation_is_reported(catalogue):
    # 100 mL at the 3 mg/mL default would be 300 mg of lidocaine; 60 kg allows 270 mg. The neck
    # protocol records no session volume, so the dose cap is the bound that decides.
    doc = make(catalogue, "skin-rejuvenation", Patient(weight="60 kg"), area="neck", volume="100 mL")
    assert total_mg(doc, "lidocaine") <= 270 * (1 + REL)
    capped = [r for r in doc["reasons"] if "cap" in r and "Lidocaine" in r]
    assert capped and "270 mg" in capped[0]
    assert any("4.5 mg/kg" in line and "270 mg" in line for line in doc["explain"])
    assert doc["plan"]["decided_by"] == "dose-cap" and doc["plan"]["capped"] is True
    cautions = [f for f in doc["findings"] if f["trigger"] == "plan:dose-cap"]
    assert cautions and cautions[0]["severity"] == "caution" and cautions[0]["subject"] == "lidocaine"


def test_lidocaine_absolute_cap_without_weight(catalogue):
    for indication in ("skin-rejuvenation", "hair-loss", "acne"):
        doc = make(catalogue, indication, volume="100 mL")
        assert total_mg(doc, "lidocaine") <= 300 * (1 + REL)


def test_lidocaine_cap_counts_lidocaine_premixed_in_a_booster(catalogue):
    # Teosyal Redensity II carries 3 mg/mL lidocaine and shares the syringe with PN-HPT: half of
    # 20 mL would be 30 mg of lidocaine, 5 kg allows 22.5 mg.
    doc = make(catalogue, "dark-circles", Patient(weight="5 kg"), volume="20 mL")
    assert doc["status"] == "ok"
    assert "teosyal-redensity-ii" in product_ids(doc)
    assert total_mg(doc, "lidocaine") <= 22.5 * (1 + REL)
    assert any("cap" in r and "Lidocaine" in r for r in doc["reasons"])


def test_dca_per_area_cap_submental(catalogue):
    doc = make(catalogue, "submental-fat", volume="10 mL", treatment_area="25 cm^2")
    assert doc["status"] == "ok"
    dca = total_mg(doc, "deoxycholic-acid")
    assert 0 < dca <= 50 * (1 + REL)
    assert any("cap" in r.lower() and "truncat" in r.lower() and "Deoxycholic acid" in r for r in doc["reasons"])
    assert any("2 mg/cm²" in line and "25 cm²" in line for line in doc["explain"])


def test_dca_per_session_cap_wins_over_a_large_area(catalogue):
    doc = make(catalogue, "submental-fat", volume="20 mL", treatment_area="100 cm^2")
    assert total_mg(doc, "deoxycholic-acid") <= 100 * (1 + REL)
    assert any("100 mg" in r and "cap" in r for r in doc["reasons"])
    # 0.2 mL per point, at most 50 points (the label).
    syringe = doc["syringes"][0]
    assert syringe["points"] <= 50
    assert q(syringe["volume_per_point"], "volume").to("mL").magnitude == pytest.approx(0.2)


def test_dca_label_caps_do_not_apply_to_body_pc_dc(catalogue):
    """The deoxycholic acid label's caps (2 mg/cm2, 100 mg) hold at the submental area: the
    deoxycholate inside off-label body PC/DC is not cut by them."""
    doc = make(catalogue, "localized-fat", volume="5 mL", treatment_area="10 cm^2")
    assert "pc-dc-injection" in product_ids(doc)
    assert total_mg(doc, "deoxycholic-acid") == pytest.approx(125, rel=REL)  # 5 mL x 25 mg/mL
    assert not any("Deoxycholic acid" in r and "cap" in r for r in doc["reasons"])


def test_dca_label_caps_bound_the_submental_build(catalogue):
    doc = make(catalogue, "submental-fat", volume="5 mL", treatment_area="10 cm^2")
    assert "deoxycholic-acid-10mg-ml" in product_ids(doc)
    assert total_mg(doc, "deoxycholic-acid") <= 20 * (1 + REL)  # 2 mg/cm2 x 10 cm2
    assert any("Deoxycholic acid" in r and "cap" in r for r in doc["reasons"])


def test_recipe_within_caps_passes_check_with_the_same_patient(catalogue):
    patient = Patient(weight="60 kg", age=40)
    for indication, volume, area in (("skin-rejuvenation", "100 mL", None), ("submental-fat", "10 mL", None),
                                     ("localized-fat", "5 mL", None)):
        doc = make(catalogue, indication, patient, volume=volume, treatment_area="25 cm^2", area=area)
        result = api.check(patient, recipe=doc, treatment_area="25 cm^2", catalogue=catalogue)
        assert not [f for f in result.findings if f.severity == "contraindicated"], indication


# ----------------------------------------------------------------------------- allergens
def _all_builds(cat, patient):
    for indication, area in pairs(cat):
        yield indication, area, make(cat, indication, patient, area=area, **DOSABLE)


@pytest.mark.parametrize("allergy", ["amide-local-anaesthetics", "lidocaine", "amide local anaesthetics"])
def test_amide_allergy_no_amide_anywhere(catalogue, allergy):
    amides = catalogue.groups["amide-local-anaesthetics"].members
    assert "lidocaine" in amides
    for indication, area, doc in _all_builds(catalogue, Patient(allergies=(allergy,))):
        assert not substance_ids(doc) & amides, (indication, area, substance_ids(doc) & amides)


def test_amide_allergy_gets_an_ester_anaesthetic_with_a_note(catalogue):
    # Procaine (an ester, dosable from the Novocain label) replaces lidocaine; the allergy
    # check notes the amide allergy against it rather than staying silent.
    doc = make(catalogue, "hair-loss", Patient(allergies=("amide-local-anaesthetics",)))
    assert doc["status"] == "ok"
    anaesthetics = [c for c in components(doc) if c["purpose"] == "anaesthetic"]
    amides = set(catalogue.groups["amide-local-anaesthetics"].members)
    assert anaesthetics and all({s["id"] for s in c["substances"]} & amides == set() for c in anaesthetics)
    assert {s["id"] for c in anaesthetics for s in c["substances"]} >= {"procaine"}
    assert any(f["kind"] == "allergy" and f["trigger"] == "amide-local-anaesthetics"
               and f["subject"] in {c["id"] for c in anaesthetics} for f in doc["findings"])
    excluded = {e["id"]: e for e in doc["excluded"]}
    for pid in ("lidocaine-1pct-sd", "lidocaine-2pct-md-methylparaben"):
        assert excluded[pid]["trigger"] == "amide-local-anaesthetics"
        assert "allergic" in excluded[pid]["reason"]


def test_amide_and_sulfite_allergy_gets_no_anaesthetic_and_a_note(catalogue):
    # The only dosable ester presentation carries a sulfite antioxidant: with both allergies no
    # anaesthetic remains, and the reasons say so.
    doc = make(catalogue, "hair-loss", Patient(allergies=("amide-local-anaesthetics", "sulfites")))
    assert doc["status"] == "ok"
    assert not [c for c in components(doc) if c["purpose"] == "anaesthetic"]
    assert any("anaesthe" in r.lower() for r in doc["reasons"])
    excluded = {e["id"]: e for e in doc["excluded"]}
    assert excluded["novocain-1pct-ampul"]["trigger"] == "sulfites"


def test_amide_allergy_explains_why_procaine_is_not_used(catalogue):
    doc = make(catalogue, "hair-loss", Patient(allergies=("amide-local-anaesthetics",)))
    excluded = {e["id"]: e for e in doc["excluded"]}
    assert "procaine-injection" in excluded
    assert "concentration" in excluded["procaine-injection"]["reason"]


@pytest.mark.parametrize("allergy", ["parabens", "methylparaben"])
def test_paraben_allergy_never_methylparaben(catalogue, allergy):
    parabens = catalogue.groups["parabens"].members
    for indication, area, doc in _all_builds(catalogue, Patient(allergies=(allergy,))):
        assert not substance_ids(doc) & parabens, (indication, area)
        assert "lidocaine-2pct-md-methylparaben" not in product_ids(doc)
        assert "lidocaine-1pct-md-methylparaben" not in product_ids(doc)


def test_paraben_allergy_still_gets_a_paraben_free_anaesthetic(catalogue):
    doc = make(catalogue, "hair-loss", Patient(allergies=("parabens",)))
    anaesthetics = [c for c in components(doc) if c["purpose"] == "anaesthetic"]
    assert anaesthetics
    for c in anaesthetics:
        assert "paraben" not in " ".join(s["id"] for s in c["substances"])
        assert c["id"] == "lidocaine-1pct-sd"


def test_premixed_booster_with_lidocaine_is_excluded_for_lidocaine_allergy(catalogue):
    doc = make(catalogue, "dark-circles", Patient(allergies=("lidocaine",)), volume="1 mL")
    excluded = {e["id"]: e for e in doc["excluded"]}
    assert excluded["teosyal-redensity-ii"]["trigger"] == "lidocaine"
    assert "Lidocaine" in excluded["teosyal-redensity-ii"]["reason"]
    # The polynucleotides of published strength hold no lidocaine: they are what is left.
    assert doc["status"] == "ok"
    assert product_ids(doc) and "teosyal-redensity-ii" not in product_ids(doc)
    actives = {c["id"] for c in components(doc) if c["purpose"] == "active"}
    assert actives and actives <= {"pn-hpt-20mg-ml", "pn-hpt-ha-10mg-ml", "pn-hpt-7-5mg-ml"}
    assert not any("lidocaine" in {s["id"] for s in c["substances"]} for c in components(doc))
    # With the polynucleotides ruled out too, nothing is left: refused.
    both = make(catalogue, "dark-circles", Patient(allergies=("lidocaine", "polynucleotides")), volume="1 mL")
    assert both["status"] == "refused" and both["syringes"] == []


def test_skin_rejuvenation_with_lidocaine_allergy(catalogue):
    doc = make(catalogue, "skin-rejuvenation", Patient(allergies=("lidocaine",)))
    assert doc["status"] == "ok"
    assert "lidocaine" not in substance_ids(doc)
    excluded = {e["id"]: e for e in doc["excluded"]}
    assert excluded["lidocaine-1pct-sd"]["trigger"] == "lidocaine"
    anaesthetics = [c for c in components(doc) if c["purpose"] == "anaesthetic"]
    assert all("lidocaine" not in {s["id"] for s in c["substances"]} for c in anaesthetics)


def test_soy_allergy_excludes_pc_dc(catalogue):
    doc = make(catalogue, "localized-fat", Patient(allergies=("soy",)), **DOSABLE)
    excluded = {e["id"]: e for e in doc["excluded"]}
    assert "pc-dc-injection" in excluded
    assert excluded["pc-dc-injection"]["trigger"] == "soy"
    assert "soy" in excluded["pc-dc-injection"]["reason"].lower()
    assert "pc-dc-injection" not in product_ids(doc)
    assert doc["status"] == "refused"  # aqualyx cannot be dosed from sourced data


def test_excluded_items_have_reason_and_trigger(catalogue):
    patient = Patient(allergies=("soy", "lidocaine", "parabens"), conditions=("keloid-tendency",))
    seen = 0
    for _indication, _area, doc in _all_builds(catalogue, patient):
        for e in doc["excluded"]:
            seen += 1
            assert set(e) == {"id", "reason", "trigger"}
            assert e["id"] and e["reason"].strip() and e["trigger"].strip()
    assert seen


# ----------------------------------------------------------------------------- anaesthesia and mixing
@pytest.mark.parametrize("indication", ["localized-fat", "cellulite"])
def test_no_local_anaesthetic_where_it_defeats_the_purpose(catalogue, indication):
    doc = make(catalogue, indication, **DOSABLE)
    assert doc["status"] == "ok"
    classes = {catalogue.substances[s].cls for s in substance_ids(doc)}
    assert "local-anaesthetic" not in classes
    assert any(r.startswith("No local anaesthetic") for r in doc["reasons"])


@pytest.mark.parametrize("indication, product", [("cellulite", "aminophylline-25mg-ml"),
                                                 ("submental-fat", "deoxycholic-acid-10mg-ml")])
def test_do_not_admix_products_have_their_own_syringe(catalogue, indication, product):
    doc = make(catalogue, indication, **DOSABLE)
    holding = [s for s in doc["syringes"] if product in {c["id"] for c in s["components"]}]
    assert len(holding) == 1
    assert [c["id"] for c in holding[0]["components"]] == [product]
    assert any(product in r and "do-not-admix" in r for r in doc["reasons"])


def _variant(cat, indication_id: str, extra_fits):
    """The shipped catalogue with extra fits for one indication."""
    from mesocli.domain.catalogue import Catalogue

    ind = cat.indications[indication_id]
    new = replace(ind, fits=ind.fits + tuple(extra_fits))
    return Catalogue(
        substances=cat.substances.values(), products=cat.products.values(), groups=cat.groups.values(),
        crosses=cat.crosses, conditions=cat.conditions.values(),
        medication_classes=cat.medication_classes.values(), medications=cat.medications.values(),
        areas=cat.areas.values(), indications=[new if i.id == indication_id else i
                                               for i in cat.indications.values()],
        protocols=cat.protocols, rules=cat.rules, defaults=cat.defaults.values())


def test_incompatible_pair_is_split_across_syringes(catalogue):
    from mesocli.domain.model import Fit, Provenance

    cat = _variant(catalogue, "skin-rejuvenation", [Fit("ascorbic-acid", "complementary", Provenance("peer-reviewed"))])
    doc = make(cat, "skin-rejuvenation", max_products=4)
    assert doc["status"] == "ok"
    for syringe in doc["syringes"]:
        subs = {s["id"] for c in syringe["components"] for s in c["substances"]}
        assert not ({"ascorbic-acid"} <= subs and "hyaluronic-acid" in subs), syringe
    assert any("ascorbic-acid" in s["id"] for c in components(doc) for s in c["substances"])
    assert any("incompatible" in r for r in doc["reasons"])
    result = api.check(recipe=doc, max_products=4, catalogue=cat)
    assert not [f for f in result.findings if f.severity == "contraindicated"]


@pytest.mark.parametrize("max_products", [3, 4, 5])
def test_syringe_limit_holds_at_default_and_above(catalogue, max_products):
    for indication, area in pairs(catalogue):
        doc = make(catalogue, indication, area=area, max_products=max_products, **DOSABLE)
        for syringe in doc["syringes"]:
            assert len(syringe["components"]) <= max_products, (indication, area, syringe)


@pytest.mark.parametrize("indication, max_products", [("acne", 1), ("skin-rejuvenation", 1),
                                                      ("hyperpigmentation", 1), ("hyperpigmentation", 2)])
def test_syringe_limit_holds_below_default(catalogue, indication, max_products):
    doc = make(catalogue, indication, max_products=max_products, **DOSABLE)
    assert doc["status"] == "ok"
    for syringe in doc["syringes"]:
        assert len(syringe["components"]) <= max_products, [c["id"] for c in syringe["components"]]


# ----------------------------------------------------------------------------- choice and reasons
def test_principal_before_complementary(catalogue):
    doc = make(catalogue, "hair-loss", max_products=2)
    ids = product_ids(doc)
    assert {"minoxidil-0-5pct", "dutasteride-0-01pct"} <= ids  # both principal
    assert "biotin-0-5mg-ml" not in ids  # complementary, over the limit
    assert any("biotin-0-5mg-ml (complementary) was not added" in r for r in doc["reasons"])


def test_every_component_has_a_reason(catalogue):
    for indication, area in pairs(catalogue):
        doc = make(catalogue, indication, area=area, **DOSABLE)
        for c in components(doc):
            assert c["reason"].strip(), (indication, c["id"])
            assert c["purpose"] in ("active", "anaesthetic", "diluent")
            if c["purpose"] == "active":
                assert "ingredient for the indication" in c["reason"]


def test_explanations_present(catalogue):
    recipe = api.build("hair-loss", catalogue=catalogue)
    assert recipe.explanations
    text = "\n".join(recipe.explanations)
    assert "10 mg/mL x" in text and "=" in text
    doc = make(catalogue, "hyperpigmentation", volume="2 mL")
    assert any("studied final concentration x syringe volume / stock" in line for line in doc["explain"])
    assert any("q.s." in line for line in doc["explain"])


def test_diluted_product_reaches_the_studied_final_concentration(catalogue):
    # TXA 100 mg/mL stock diluted to the studied 4 mg/mL (Lueangarun 2020). The three melasma
    # actives share one syringe (room for five products): in a syringe of a few tenths of a mL,
    # rounding each volume down to the 0.01 mL graduation would lower the strength by more
    # than the tolerance, by design (rounding never raises a dose).
    doc = make(catalogue, "hyperpigmentation", volume="2 mL", max_products=5)
    assert any(s["id"] == "tranexamic-acid" for syringe in doc["syringes"] for c in syringe["components"]
               for s in c["substances"])
    for syringe in doc["syringes"]:
        total = q(syringe["total_volume"], "volume")
        for c in syringe["components"]:
            for s in c["substances"]:
                if s["id"] == "tranexamic-acid":
                    final = (q(s["amount"], "mass") / total).to("mg/mL").magnitude
                    assert final == pytest.approx(4, rel=0.02)


def test_area_defaults_to_the_first_area(catalogue):
    for ind in catalogue.indications.values():
        recipe = api.build(ind.id, catalogue=catalogue, **DOSABLE)
        assert recipe.area == ind.areas[0], ind.id


def test_unknown_indication_is_an_input_error_with_suggestions(catalogue):
    with pytest.raises(UnknownTermError) as caught:
        api.build("hair-los", catalogue=catalogue)
    assert isinstance(caught.value, InputError)
    assert "hair-loss" in caught.value.suggestions


def test_unknown_area_is_an_input_error_with_suggestions(catalogue):
    with pytest.raises(UnknownTermError) as caught:
        api.build("hair-loss", area="scalpp", catalogue=catalogue)
    assert "scalp" in caught.value.suggestions


def test_aliases_resolve(catalogue):
    recipe = api.build("alopecia", catalogue=catalogue)
    assert recipe.indication == "hair-loss"


def test_no_sourced_session_volume_plans_one_standard_syringe(catalogue):
    """With no volume given and none recorded, the recipe is a formula for one standard syringe
    per syringe of the recipe, and the plan says so and how far it may go."""
    recipe = api.build("hyperpigmentation", catalogue=catalogue)
    assert recipe.status == "ok"
    assert recipe.plan.basis == "one-syringe"
    assert recipe.plan.session_volume.in_unit("mL") <= len(recipe.syringes) * 1.0 + 1e-9
    assert recipe.plan.max_session_volume is not None
    assert any("formula for one standard syringe" in line for line in recipe.explanations)


@pytest.mark.parametrize("volume", ["4 kg", "-1 mL", "abc", "0 mL", "101 mL", "nan mL"])
def test_bad_volume_is_an_input_error(catalogue, volume):
    with pytest.raises(InputError):
        api.build("hair-loss", volume=volume, catalogue=catalogue)


def test_bad_max_products_is_an_input_error(catalogue):
    with pytest.raises(InputError):
        api.build("hair-loss", max_products=0, catalogue=catalogue)


# ----------------------------------------------------------------------------- refusal
@pytest.mark.parametrize("condition", ["pregnancy", "pregnant"])
def test_pregnancy_refuses_every_indication(catalogue, condition):
    try:
        catalogue.resolve_condition(condition)
    except InputError:
        pytest.skip(f"{condition!r} is not a condition alias")
    for indication, area in pairs(catalogue):
        doc = make(catalogue, indication, Patient(conditions=(condition,)), area=area, **DOSABLE)
        assert doc["status"] == "refused"
        assert doc["syringes"] == []
        assert any("pregnan" in r.lower() for r in doc["reasons"])


def test_refusal_when_every_candidate_is_excluded(catalogue):
    for indication, patient in (("dark-circles", Patient(allergies=("lidocaine", "polynucleotides"))),
                                ("localized-fat", Patient(allergies=("soy",))),
                                ("rosacea", None),
                                ("submental-fat", Patient(age=16))):
        doc = make(catalogue, indication, patient, **DOSABLE)
        assert doc["status"] == "refused", indication
        assert doc["syringes"] == []
        assert doc["reasons"] and all(r.strip() for r in doc["reasons"])
        assert doc["explain"] == []


def test_refused_recipe_cannot_be_fed_to_check(catalogue):
    doc = make(catalogue, "hair-loss", Patient(conditions=("pregnancy",)))
    with pytest.raises(InputError, match="refused"):
        api.check(recipe=doc, catalogue=catalogue)


def test_excluded_diluent_is_not_re_added(catalogue):
    doc = make(catalogue, "hyperpigmentation", Patient(allergies=("sodium-chloride",)), volume="2 mL")
    if doc["status"] == "ok":
        assert "sodium-chloride-0-9pct" not in product_ids(doc)
    else:
        assert any("sodium" in r.lower() or "diluent" in r.lower() for r in doc["reasons"]), doc["reasons"]


# ----------------------------------------------------------------------------- cautions stay visible
def test_unknown_vehicle_caution_stays_in_recipe_findings(catalogue):
    doc = make(catalogue, "hair-loss")
    assert doc["status"] == "ok"
    vehicle = [f for f in doc["findings"] if f["kind"] == "vehicle" and f["trigger"] == "unknown-vehicle"]
    assert {f["subject"] for f in vehicle} >= {"minoxidil-0-5pct", "dutasteride-0-01pct"} & product_ids(doc)
    assert all(f["severity"] == "caution" for f in vehicle)


def test_patient_caution_stays_in_recipe_findings(catalogue):
    doc = make(catalogue, "hair-loss", Patient(medications=("warfarin",)))
    assert doc["status"] == "ok"
    assert any(f["severity"] == "caution" and f["trigger"] == "warfarin" for f in doc["findings"])


def test_ok_recipe_never_carries_a_contraindicated_finding(catalogue):
    for patient in (None, Patient(allergies=("lidocaine", "soy")), Patient(medications=("warfarin",), age=70)):
        for indication, area in pairs(catalogue):
            doc = make(catalogue, indication, patient, area=area, **DOSABLE)
            if doc["status"] == "ok":
                assert not [f for f in doc["findings"] if f["severity"] == "contraindicated"], indication


# ----------------------------------------------------------------------------- protocol
def test_protocol_block(catalogue):
    doc = make(catalogue, "hair-loss")
    p = doc["protocol"]
    assert p["technique"] == "nappage"
    # nappage is superficial and no source gives it a single depth: neither bound is invented
    # (4 mm is the ceiling for mesotherapy needles in general, not a nappage depth)
    assert p["depth"] == {"min": None, "max": None}
    assert p["sessions"] == {"min": 10, "max": 12}
    assert q(p["interval"]["min"], "time").to("day").magnitude == 7
    assert q(p["interval"]["max"], "time").to("day").magnitude == 28
    assert doc["use_by"] == "1 hour"


def test_protocol_depth_range_where_known(catalogue):
    doc = make(catalogue, "cellulite", **DOSABLE)
    depth = doc["protocol"]["depth"]
    assert q(depth["min"], "length").to("mm").magnitude == 4
    assert q(depth["max"], "length").to("mm").magnitude == 12


def test_an_area_the_indication_does_not_list_is_an_input_error(catalogue):
    """Building hair-loss for the face is refused as input (exit 2), naming the recorded areas."""
    from mesocli.errors import InputError

    with pytest.raises(InputError, match="scalp"):
        make(catalogue, "hair-loss", area="face", volume="2 mL")


# ----------------------------------------------------------------------------- degenerate volumes
@pytest.mark.parametrize("indication, volume", [("hyperpigmentation", "0.02 mL"), ("hyperpigmentation", "0.05 mL"),
                                                ("hair-loss", "0.02 mL")])
def test_tiny_volume_never_gives_an_empty_or_inactive_syringe(catalogue, indication, volume):
    try:
        doc = make(catalogue, indication, volume=volume)
    except InputError:
        return
    if doc["status"] == "ok":
        for syringe in doc["syringes"]:
            assert any(c["purpose"] == "active" for c in syringe["components"]), syringe
            assert q(syringe["total_volume"], "volume").magnitude > 0


def test_cap_to_zero_does_not_leave_a_zero_volume_component(catalogue):
    doc = make(catalogue, "submental-fat", volume="2 mL", treatment_area="0.001 cm^2")
    if doc["status"] == "ok":
        for c in components(doc):
            assert q(c["volume"], "volume").magnitude > 0, c["id"]
        api.check(recipe=doc, treatment_area="0.001 cm^2", catalogue=catalogue)


# ----------------------------------------------------------------------------- pharmacist-level
def test_no_active_substance_is_given_twice(catalogue):
    doc = make(catalogue, "skin-rejuvenation")
    seen: list[str] = []
    for c in components(doc):
        if c["purpose"] == "active":
            seen += [s["id"] for s in c["substances"] if s["role"] == "active"]
    assert len(seen) == len(set(seen)), seen


# ----------------------------------------------------------------------------- determinism
def test_deterministic(catalogue):
    patient = Patient(allergies=("parabens", "soy"), medications=("warfarin",), age=50, weight="72 kg")
    for indication, area in pairs(catalogue):
        one = api.build(indication, patient, area=area, catalogue=catalogue, **DOSABLE)
        two = api.build(indication, patient, area=area, catalogue=catalogue, **DOSABLE)
        a = json.dumps(recipe_document(one, catalogue), sort_keys=False)
        b = json.dumps(recipe_document(two, catalogue), sort_keys=False)
        assert a == b, (indication, area)


def test_patient_term_order_does_not_matter_for_safety(catalogue):
    a = make(catalogue, "hair-loss", Patient(allergies=("parabens", "soy")))
    b = make(catalogue, "hair-loss", Patient(allergies=("soy", "parabens")))
    assert a["syringes"] == b["syringes"]
    assert {e["id"] for e in a["excluded"]} == {e["id"] for e in b["excluded"]}


def test_unknown_patient_terms_fail_closed(catalogue):
    with pytest.raises(UnknownTermError):
        api.build("hair-loss", Patient(allergies=("lidocain",)), catalogue=catalogue)
    with pytest.raises(UnknownTermError):
        api.build("hair-loss", Patient(conditions=("pregnancyy",)), catalogue=catalogue)
