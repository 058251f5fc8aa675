"""Everyday mesotherapy ingredients: B vitamins, vitamin complexes, trace elements, amino acids.

They resolve by the names a clinician types, each product carries the strength its label
gives, an allergy to an excipient reaches the products whose labels declare it, the generic
name "hyaluronidase" checks as hyaluronidase, and an ingredient with no injectable form is
reported as such.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli.api import check, load_catalogue
from mesocli.domain.patient import Patient
from mesocli.units import registry

# The products this file is about: each comes from a regulatory label (or, for the trace-element
# combinations, a drug reference reproducing it) that states its strength.
EVERYDAY_PRODUCTS = (
    "pyridoxine-100mg-ml-chlorobutanol",
    "pyridoxine-100mg-ml",
    "folic-acid-5mg-ml",
    "hydroxocobalamin-1000mcg-ml",
    "infuvite-adult-vial-1",
    "infuvite-adult-vial-2",
    "pabrinex-iv-ampoule-1",
    "pabrinex-iv-ampoule-2",
    "zinc-sulfate-3mg-ml",
    "zinc-sulfate-5mg-ml",
    "cupric-chloride-0-4mg-ml",
    "selenious-acid-40mcg-ml",
    "selenious-acid-60mcg-ml",
    "tralement",
    "multrys",
    "chromic-chloride-4mcg-ml",
    "magnesium-sulfate-50pct",
    "elcys-cysteine-50mg-ml",
    "r-gene-10",
    "hydase-150",
    "cyanocobalamin-1000mcg-ml",
    "novocain-1pct-ampul",
    "novocain-1pct-vial",
    "novocain-2pct-vial",
    "vitamin-b-complex-100",
    "caffeine-sodium-benzoate-250mg-ml",
    "placentex-5-625mg-3ml",
    "placentex-2-25mg-3ml",
)


# Label figures the catalogue keeps out of the per-mL strength on purpose (said in the product's
# notes): IU strengths of vitamins that have a mass per IU.
UNKNOWN_STRENGTH = {"infuvite-adult-vial-1": {"retinyl-palmitate", "cholecalciferol", "tocopheryl-acetate"}}


def _findings(result, *, severity=None, kind=None, subject=None, trigger=None):
    return [
        f for f in result.findings
        if (severity is None or f.severity == severity)
        and (kind is None or f.kind == kind)
        and (subject is None or f.subject == subject)
        and (trigger is None or f.trigger == trigger)
    ]


# ------------------------------------------------------------------------------ size
def test_the_catalogue_holds_at_least_90_substances_and_80_products(catalogue):
    assert len(catalogue.substances) >= 90
    assert len(catalogue.products) >= 80


def test_every_everyday_product_is_sourced_and_every_active_has_a_strength(catalogue):
    for pid in EVERYDAY_PRODUCTS:
        product = catalogue.products[pid]
        assert product.provenance.evidence != "unsourced", pid
        assert product.provenance.sources, pid
        actives = [c for c in product.components if c.role == "active"]
        assert actives, pid
        unknown = {c.substance for c in actives if c.concentration is None}
        assert unknown == UNKNOWN_STRENGTH.get(pid, set()), pid


# ------------------------------------------------------------------------------ names
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("B6", "pyridoxine"),
        ("vitamin B6", "pyridoxine"),
        ("Pyridoxine", "pyridoxine"),
        ("pyridoxine hydrochloride", "pyridoxine"),
        ("folic acid", "folic-acid"),
        ("Folate", "folic-acid"),
        ("vitamin B9", "folic-acid"),
        ("hydroxocobalamin", "hydroxocobalamin"),
        ("vitamin K1", "phytonadione"),
        ("zinc", "zinc-sulfate"),
        ("copper", "copper"),
        ("cupric chloride", "copper"),
        ("selenium", "selenium"),
        ("selenious acid", "selenium"),
        ("manganese", "manganese"),
        ("chromium", "chromium"),
        ("magnesium", "magnesium-sulfate"),
        ("magnesium sulphate", "magnesium-sulfate"),
        ("L-cysteine", "cysteine"),
        ("arginine", "arginine"),
        ("hyaluronidase", "hyaluronidase"),
        ("Hyaluronidase", "hyaluronidase"),
    ],
)
def test_everyday_names_resolve_as_ingredients(catalogue, term, expected):
    found = catalogue.resolve_ingredient(term)
    assert (found.kind, found.id) == ("substance", expected)


@pytest.mark.parametrize("term", ["B6", "folic acid", "hyaluronidase", "copper", "magnesium"])
def test_everyday_names_check_on_the_command_line(meso, term):
    out = meso("check", "--ingredient", term, "--json")
    assert out.exit_code in (0, 1), out.stderr
    assert out.json()["checked"] == [catalogue_id(term)]


def catalogue_id(term: str) -> str:
    return load_catalogue().resolve_ingredient(term).id


def test_an_unknown_vitamin_name_still_fails_closed(meso):
    out = meso("check", "--ingredient", "vitamin B42", "--json")
    assert out.exit_code == 2


# ------------------------------------------------------------------------------ strengths
@pytest.mark.parametrize(
    ("product_id", "substance", "strength"),
    [
        ("pyridoxine-100mg-ml-chlorobutanol", "pyridoxine", "100 mg/mL"),
        ("pyridoxine-100mg-ml-chlorobutanol", "chlorobutanol", "5 mg/mL"),  # 0.5 %
        ("pyridoxine-100mg-ml", "pyridoxine", "100 mg/mL"),
        ("folic-acid-5mg-ml", "folic-acid", "5 mg/mL"),
        ("folic-acid-5mg-ml", "benzyl-alcohol", "15 mg/mL"),
        ("folic-acid-5mg-ml", "edetate-disodium", "2 mg/mL"),
        ("hydroxocobalamin-1000mcg-ml", "hydroxocobalamin", "1000 ug/mL"),
        ("hydroxocobalamin-1000mcg-ml", "methylparaben", "1.5 mg/mL"),
        ("hydroxocobalamin-1000mcg-ml", "propylparaben", "0.2 mg/mL"),
        # Infuvite Adult: amounts per 5 mL vial, divided by 5.
        ("infuvite-adult-vial-1", "ascorbic-acid", "200 mg / (5 mL)"),
        ("infuvite-adult-vial-1", "thiamine", "6 mg / (5 mL)"),
        ("infuvite-adult-vial-1", "riboflavin", "3.6 mg / (5 mL)"),
        ("infuvite-adult-vial-1", "pyridoxine", "6 mg / (5 mL)"),
        ("infuvite-adult-vial-1", "nicotinamide", "40 mg / (5 mL)"),
        ("infuvite-adult-vial-1", "dexpanthenol", "15 mg / (5 mL)"),
        ("infuvite-adult-vial-1", "phytonadione", "150 ug / (5 mL)"),
        ("infuvite-adult-vial-2", "folic-acid", "600 ug / (5 mL)"),
        ("infuvite-adult-vial-2", "biotin", "60 ug / (5 mL)"),
        ("infuvite-adult-vial-2", "cyanocobalamin", "5 ug / (5 mL)"),
        # Pabrinex IV: amounts per 5 mL ampoule.
        ("pabrinex-iv-ampoule-1", "thiamine", "250 mg / (5 mL)"),
        ("pabrinex-iv-ampoule-1", "riboflavin", "4 mg / (5 mL)"),
        ("pabrinex-iv-ampoule-1", "pyridoxine", "50 mg / (5 mL)"),
        ("pabrinex-iv-ampoule-2", "ascorbic-acid", "500 mg / (5 mL)"),
        ("pabrinex-iv-ampoule-2", "nicotinamide", "160 mg / (5 mL)"),
        ("pabrinex-iv-ampoule-2", "glucose", "1000 mg / (5 mL)"),
        # Minerals, stated as the element the way their labels state them.
        ("zinc-sulfate-3mg-ml", "elemental-zinc", "30 mg / (10 mL)"),
        ("zinc-sulfate-5mg-ml", "elemental-zinc", "25 mg / (5 mL)"),
        ("cupric-chloride-0-4mg-ml", "copper", "0.4 mg/mL"),
        ("selenious-acid-40mcg-ml", "selenium", "40 ug/mL"),
        ("selenious-acid-60mcg-ml", "selenium", "600 ug / (10 mL)"),
        ("tralement", "elemental-zinc", "3 mg/mL"),
        ("tralement", "copper", "0.3 mg/mL"),
        ("tralement", "manganese", "55 ug/mL"),
        ("tralement", "selenium", "60 ug/mL"),
        ("multrys", "elemental-zinc", "1000 ug/mL"),
        ("multrys", "copper", "60 ug/mL"),
        ("multrys", "manganese", "3 ug/mL"),
        ("multrys", "selenium", "6 ug/mL"),
        ("chromic-chloride-4mcg-ml", "chromium", "4 ug/mL"),
        ("magnesium-sulfate-50pct", "magnesium-sulfate", "500 mg/mL"),
        ("elcys-cysteine-50mg-ml", "cysteine", "500 mg / (10 mL)"),
        ("r-gene-10", "arginine", "10 g / (100 mL)"),
        ("hydase-150", "hyaluronidase-bovine", "150 USP/mL"),
        ("cyanocobalamin-1000mcg-ml", "cyanocobalamin", "1000 ug/mL"),
        ("cyanocobalamin-1000mcg-ml", "benzyl-alcohol", "15 mg/mL"),  # 1.5 %
        ("novocain-1pct-ampul", "procaine", "10 mg/mL"),
        ("novocain-1pct-vial", "procaine", "10 mg/mL"),
        ("novocain-2pct-vial", "procaine", "20 mg/mL"),
        ("vitamin-b-complex-100", "thiamine", "100 mg/mL"),
        ("vitamin-b-complex-100", "riboflavin", "2 mg/mL"),
        ("vitamin-b-complex-100", "pyridoxine", "2 mg/mL"),
        ("vitamin-b-complex-100", "dexpanthenol", "2 mg/mL"),
        ("vitamin-b-complex-100", "nicotinamide", "100 mg/mL"),
        ("vitamin-b-complex-100", "benzyl-alcohol", "20 mg/mL"),  # 2 %
        ("caffeine-sodium-benzoate-250mg-ml", "caffeine", "125 mg/mL"),
        ("caffeine-sodium-benzoate-250mg-ml", "sodium-benzoate", "125 mg/mL"),
        ("placentex-5-625mg-3ml", "pdrn", "5.625 mg / (3 mL)"),
        ("placentex-2-25mg-3ml", "pdrn", "2.25 mg / (3 mL)"),
    ],
)
def test_each_product_strength_is_what_its_label_says(catalogue, product_id, substance, strength):
    product = catalogue.products[product_id]
    [component] = [c for c in product.components if c.substance == substance]
    assert component.concentration is not None
    expected = registry().Quantity(strength)
    stored = component.concentration.quantity().to(expected.units)
    assert math.isclose(stored.magnitude, expected.magnitude, rel_tol=1e-9)


def test_a_product_without_a_declared_preservative_records_none(catalogue):
    """The Mylan pyridoxine label declares no preservative: no chlorobutanol is invented."""
    substances = {c.substance for c in catalogue.products["pyridoxine-100mg-ml"].components}
    assert "chlorobutanol" not in substances


# ------------------------------------------------------------------------------ excipient allergies
@pytest.mark.parametrize(
    ("allergy", "product_id"),
    [
        ("benzyl alcohol", "folic-acid-5mg-ml"),
        ("benzyl alcohol", "cyanocobalamin-1000mcg-ml"),
        ("EDTA", "folic-acid-5mg-ml"),
        ("parabens", "hydroxocobalamin-1000mcg-ml"),
        ("methylparaben", "hydroxocobalamin-1000mcg-ml"),
        ("propyl parahydroxybenzoate", "hydroxocobalamin-1000mcg-ml"),
        ("chlorobutanol", "pyridoxine-100mg-ml-chlorobutanol"),
        ("propylene glycol", "infuvite-adult-vial-2"),
        ("sulfites", "novocain-1pct-ampul"),
        ("sulfite", "novocain-2pct-vial"),
        ("chlorobutanol", "novocain-1pct-vial"),
        ("benzyl alcohol", "vitamin-b-complex-100"),
        ("sodium benzoate", "caffeine-sodium-benzoate-250mg-ml"),
    ],
)
def test_an_excipient_allergy_reaches_the_product_that_declares_it(allergy, product_id):
    result = check(Patient(allergies=(allergy,)), ingredients=[product_id])
    hits = _findings(result, severity="contraindicated", kind="allergy", subject=product_id)
    assert hits, [(f.severity, f.kind, f.subject) for f in result.findings]


@pytest.mark.parametrize(
    ("allergy", "product_id"),
    [
        ("chlorobutanol", "pyridoxine-100mg-ml"),          # no preservative declared
        ("benzyl alcohol", "pabrinex-iv-ampoule-1"),       # not on the label's composition
        ("parabens", "folic-acid-5mg-ml"),                 # preserved with benzyl alcohol instead
        ("benzyl alcohol", "hydroxocobalamin-1000mcg-ml"),  # preserved with parabens instead
        ("chlorobutanol", "novocain-1pct-ampul"),          # only the multiple-dose vials hold it
    ],
)
def test_an_excipient_allergy_spares_a_product_without_it(allergy, product_id):
    result = check(Patient(allergies=(allergy,)), ingredients=[product_id])
    assert _findings(result, kind="allergy", subject=product_id) == []


_CAT = load_catalogue()
_EXCIPIENT_PAIRS = sorted(
    (pid, c.substance)
    for pid in EVERYDAY_PRODUCTS
    for c in _CAT.products[pid].components
    if c.role == "excipient"
)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(_EXCIPIENT_PAIRS))
def test_any_declared_excipient_allergy_contraindicates_its_product(pair):
    product_id, excipient = pair
    result = check(Patient(allergies=(excipient,)), ingredients=[product_id], catalogue=_CAT)
    assert _findings(result, severity="contraindicated", kind="allergy", subject=product_id)
    assert result.status == "contraindicated"


@pytest.mark.parametrize("product_id", ["placentex-5-625mg-3ml", "placentex-2-25mg-3ml"])
def test_a_fish_allergy_reaches_salmon_dna_pdrn(product_id):
    result = check(Patient(allergies=("fish",)), ingredients=[product_id])
    assert _findings(result, kind="allergy", subject=product_id)


def test_an_ester_anaesthetic_allergy_reaches_novocain():
    result = check(Patient(allergies=("ester local anesthetics",)), ingredients=["novocain-2pct-vial"])
    assert _findings(result, severity="contraindicated", kind="allergy", subject="novocain-2pct-vial")


# ------------------------------------------------------------------------------ hyaluronidase
@pytest.mark.parametrize("ha", ["hyaluronic-acid", "hyaluronic-acid-avian", "restylane-vital-lidocaine"])
def test_generic_hyaluronidase_shares_the_ha_incompatibility(ha):
    result = check(ingredients=["hyaluronidase", ha])
    hits = _findings(result, severity="contraindicated", kind="incompatibility")
    assert hits, [(f.severity, f.kind, f.subject, f.trigger) for f in result.findings]


def test_generic_hyaluronidase_alone_has_no_incompatibility():
    result = check(ingredients=["hyaluronidase"])
    assert _findings(result, kind="incompatibility") == []


@pytest.mark.parametrize(
    "product_id",
    ["hydase-150", "hyaluronidase-bovine-150", "hyaluronidase-ovine-200", "hyaluronidase-recombinant-150"],
)
def test_an_allergy_to_hyaluronidase_of_unstated_source_contraindicates_every_source(product_id):
    result = check(Patient(allergies=("hyaluronidase",)), ingredients=[product_id])
    assert _findings(result, severity="contraindicated", kind="allergy", subject=product_id)


def test_an_allergy_to_recombinant_hyaluronidase_only_cautions_an_animal_one():
    """The neighbour: a named source keeps the group's own policy (caution for the others)."""
    result = check(Patient(allergies=("hyaluronidase-recombinant",)), ingredients=["hydase-150"])
    hits = _findings(result, kind="allergy", subject="hydase-150")
    assert hits
    assert {f.severity for f in hits} == {"caution"}


def test_hydase_is_bovine_and_shares_its_mixing_rules():
    result = check(ingredients=["hydase-150", "hyaluronic-acid"])
    assert _findings(result, severity="contraindicated", kind="incompatibility")


# ------------------------------------------------------------------------------ not injectable
@pytest.mark.parametrize("term", ["argireline", "acetyl hexapeptide-8"])
def test_a_cosmetic_only_peptide_is_reported_as_not_injectable(term):
    result = check(ingredients=[term])
    hits = _findings(result, severity="contraindicated", kind="regulatory", trigger="cosmetic-only")
    assert hits
    assert result.status == "contraindicated"


@pytest.mark.parametrize("substance", ["acetyl-hexapeptide-8", "ghk-cu"])
def test_cosmetic_peptides_are_recorded_as_not_injectable(catalogue, substance):
    assert catalogue.substances[substance].injectable is False


def test_the_copper_peptide_is_not_the_copper_trace_element(catalogue):
    assert catalogue.resolve_ingredient("copper peptide").id == "ghk-cu"
    assert catalogue.resolve_ingredient("copper").id == "copper"
    assert catalogue.substances["copper"].injectable is True


# ------------------------------------------------------------------------------ polynucleotides
# PN-HPT strengths from a published study (Cavallini et al., J Cosmet Dermatol 2022): the first
# polynucleotide presentations of sourced strength, so every polynucleotide fit can be dosed.
PN_HPT = (
    ("pn-hpt-20mg-ml", "polynucleotides", "20 mg/mL"),
    ("pn-hpt-ha-10mg-ml", "polynucleotides", "10 mg/mL"),
    ("pn-hpt-ha-10mg-ml", "hyaluronic-acid", "10 mg/mL"),
    ("pn-hpt-7-5mg-ml", "polynucleotides", "7.5 mg/mL"),
)


@pytest.mark.parametrize(("product_id", "substance", "strength"), PN_HPT)
def test_each_pn_hpt_product_carries_its_published_strength(catalogue, product_id, substance, strength):
    product = catalogue.products[product_id]
    assert product.provenance.evidence == "peer-reviewed"
    assert any("jocd.14578" in (s.title or "") for s in product.provenance.sources)
    [component] = [c for c in product.components if c.substance == substance]
    expected = registry().Quantity(strength)
    stored = component.concentration.quantity().to(expected.units)
    assert math.isclose(stored.magnitude, expected.magnitude, rel_tol=1e-9)


@pytest.mark.parametrize(
    "indication", ["dark-circles", "hair-loss", "skin-laxity", "skin-rejuvenation", "stretch-marks"]
)
def test_every_sourced_polynucleotide_fit_is_now_dosable(catalogue, indication):
    from mesocli.domain.formulate import fit_dosability

    [fit] = [f for f in catalogue.indications[indication].fits if f.target == "polynucleotides"]
    dosable, why_not = fit_dosability(catalogue, fit)
    assert why_not is None
    assert set(dosable) == {"pn-hpt-20mg-ml", "pn-hpt-ha-10mg-ml", "pn-hpt-7-5mg-ml"}


def test_the_unsourced_rosacea_fit_stays_undosable_for_its_own_reason(catalogue):
    """A product of known strength does not make an unsourced fit buildable."""
    from mesocli.domain.formulate import UNSOURCED_FIT, fit_dosability

    [fit] = [f for f in catalogue.indications["rosacea"].fits if f.target == "polynucleotides"]
    assert fit_dosability(catalogue, fit) == ((), UNSOURCED_FIT)


def test_a_dark_circles_build_doses_pn_hpt_at_its_strength(meso):
    doc = meso("build", "--indication", "dark-circles", "--json").json()
    used = [(c["id"], s) for syringe in doc["syringes"] for c in syringe["components"] for s in c["substances"]]
    pn = [s for pid, s in used if pid == "pn-hpt-20mg-ml" and s["id"] == "polynucleotides"]
    assert pn, used
    assert pn[0]["concentration"] == {"value": 20, "unit": "mg/mL"}
    amount = registry().Quantity(pn[0]["amount"]["value"], pn[0]["amount"]["unit"])
    assert amount.to("mg").magnitude > 0
    excluded = {e["id"]: e["reason"] for e in doc["excluded"]}
    assert "pn-hpt-20mg-ml" not in excluded
    assert "concentration is not known" in excluded["plinest"]


def test_fish_allergy_reaches_every_pn_hpt_product(catalogue):
    for pid in ("pn-hpt-20mg-ml", "pn-hpt-ha-10mg-ml", "pn-hpt-7-5mg-ml"):
        result = check(Patient(allergies=("fish",)), ingredients=[pid], catalogue=catalogue)
        assert _findings(result, severity="caution", kind="allergy", subject=pid, trigger="fish"), pid


def test_the_pn_hpt_hyaluronic_acid_gel_shares_the_hyaluronidase_incompatibility():
    result = check(ingredients=["pn-hpt-ha-10mg-ml", "hyaluronidase"])
    assert _findings(result, severity="contraindicated", kind="incompatibility")
    neighbour = check(ingredients=["pn-hpt-20mg-ml", "hyaluronidase"])
    assert _findings(neighbour, severity="contraindicated", kind="incompatibility") == []


# ------------------------------------------------------------------------------ still not dosable
# (product, what its notes say, a piece of the source that shows it). Each stays without a
# strength, so no build doses it, and the catalogue says why with the document behind it.
NOT_DOSABLE = (
    ("rejuran", "No source found states Rejuran's polynucleotide concentration", "jkms"),
    ("polynucleotide-injection", "Strengths differ between brands", "PMC7984045"),
    ("plinest", "a shop listing is not a source for a strength", "farmaciadisarnico"),
    ("organic-silicium", "marketing authorisation was not renewed from 1996", "Prescrire 1999"),
    ("artichoke-extract-injection", "for oral use only", "ANSM"),
    ("dexpanthenol-injection", "No label of a single-agent dexpanthenol injection was found", "B-Dose"),
    ("procaine-injection", "this generic entry has no concentration", "Procaine"),
    ("pdrn-injection", "This generic entry stays without a strength", "Polydeoxyribonucleotide"),
    ("dmae-injection", "No human injectable concentration is established", "PMC4123624"),
    ("aqualyx", "Deoxycholate concentration not retrieved", "Pinto H"),
)


@pytest.mark.parametrize(("product_id", "why", "source"), NOT_DOSABLE)
def test_each_undosable_product_says_why_with_its_source(catalogue, product_id, why, source):
    product = catalogue.products[product_id]
    assert any(c.concentration is None for c in product.actives()), product_id
    assert why in (product.notes or ""), product.notes
    cited = " ".join(f"{s.title or ''} {s.url or ''}" for s in product.provenance.sources)
    assert source.lower() in cited.lower(), cited


@pytest.mark.parametrize(("product_id", "_why", "_source"), NOT_DOSABLE)
def test_an_undosable_product_is_excluded_from_a_recipe_check_as_unknown_strength(product_id, _why, _source):
    result = check(ingredients=[product_id])
    unknown_strength = _findings(result, kind="dose", subject=product_id)
    assert unknown_strength or _findings(result, kind="regulatory", subject=product_id)
    assert result.status != "ok"


def test_conjonctyl_is_reported_as_having_no_approved_injectable_product():
    """Its French marketing authorisation lapsed and no current one was found: a caution that
    names it, not a claim that every market withdrew it."""
    result = check(ingredients=["Conjonctyl"])
    hits = _findings(result, severity="caution", kind="regulatory", subject="organic-silicium")
    assert hits and "no approved injectable product" in hits[0].message
    assert "not renewed from 1996" in hits[0].message


def test_the_dexpanthenol_fit_is_dosed_from_the_b_complex_label(catalogue):
    """The generic dexpanthenol row has no strength, but the fit is dosable through a label."""
    from mesocli.domain.formulate import fit_dosability

    [fit] = [f for f in catalogue.indications["hair-loss"].fits if f.target == "dexpanthenol"]
    dosable, why_not = fit_dosability(catalogue, fit)
    assert why_not is None and "vitamin-b-complex-100" in dosable and "dexpanthenol-injection" not in dosable


def test_organic_silicon_fit_says_why_it_cannot_be_dosed(meso):
    doc = meso("indications", "show", "skin-rejuvenation", "--json").json()
    [fit] = [f for f in doc["fits"] if f["target"] == "monomethylsilanetriol-salicylate"]
    assert fit["dosable_products"] == []
    assert "organic-silicium" in fit["not_dosable_because"]


@pytest.mark.parametrize(("term", "substance"), [
    ("zinc", "zinc-sulfate"), ("niacinamide", "nicotinamide"), ("glutathione", "glutathione"), ("caffeine", "caffeine"),
])
def test_zinc_niacinamide_glutathione_and_caffeine_each_have_a_sourced_strength(catalogue, term, substance):
    assert catalogue.resolve_ingredient(term).id == substance
    dosable = [
        p for p in catalogue.products.values()
        if p.provenance.evidence != "unsourced"
        and any(c.substance == substance and c.concentration is not None for c in p.actives())
        and all(c.concentration is not None for c in p.actives())
    ]
    assert dosable, term


# ------------------------------------------------------------------------------ Plinest's warnings
def test_plinest_under_18_is_a_caution_from_its_warnings():
    result = check(Patient(age=16), ingredients=["plinest"])
    hits = _findings(result, severity="caution", kind="age", subject="plinest")
    assert hits and "Plinest" in hits[0].message


@pytest.mark.parametrize(("age", "product_id"), [(18, "plinest"), (16, "pn-hpt-20mg-ml")])
def test_plinest_age_limit_neighbours(age, product_id):
    """An adult is not reached, and a PN-HPT product of published strength has no such statement."""
    result = check(Patient(age=age), ingredients=[product_id])
    assert _findings(result, kind="age", subject=product_id) == []


def test_plinest_carries_its_fish_allergy_warning_for_every_patient():
    result = check(ingredients=["plinest"])
    hits = _findings(result, severity="caution", kind="advisory", subject="plinest")
    assert hits and "fish" in hits[0].message


def test_the_fish_allergy_warning_is_plinests_own():
    result = check(ingredients=["pn-hpt-20mg-ml"])
    assert _findings(result, kind="advisory") == []
