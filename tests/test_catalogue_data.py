"""The catalogue's content: what it must contain, and the provenance every fact carries.

The source text (``data/*.toml``) is read with the same validator ``meso db build`` uses; the
``catalogue`` fixture is what meso actually reads from the shipped database.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesocli import config
from mesocli.domain.model import EVIDENCE_GRADES, Provenance
from mesocli.errors import CatalogueDataError
from mesocli.storage.text import CatalogueData, parse_documents, read_directory
from mesocli.units import Amount

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
GRADES = {"label", "peer-reviewed", "reference", "vendor", "expert", "unsourced"}

REQUIRED_INDICATIONS = (
    "hair-loss",
    "skin-rejuvenation",
    "skin-dehydration",
    "skin-laxity",
    "hyperpigmentation",
    "acne",
    "acne-scars",
    "rosacea",
    "cellulite",
    "localized-fat",
    "submental-fat",
    "stretch-marks",
    "dark-circles",
)
REQUIRED_GROUPS = (
    "amide-local-anaesthetics",
    "ester-local-anaesthetics",
    "parabens",
    "sulfites",
    "benzyl-alcohol-preservative",
    "soy",
    "peanut-legumes",
    "egg",
    "fish",
    "avian-protein",
    "gram-positive-bacterial-protein",
    "asteraceae",
    "apiaceae",
    "hymenoptera-venom",
    "ethylenediamines",
    "salicylates",
    "thiamine-hypersensitivity",
)
REQUIRED_CONDITIONS = (
    "pregnancy",
    "possible-pregnancy",
    "breastfeeding",
    "bleeding-disorder",
    "thrombosis-history",
    "seizure-disorder",
    "g6pd-deficiency",
    "dysphagia",
    "infection-at-site",
    "active-herpes",
    "autoimmune-disease",
    "immunosuppression",
    "uncompensated-diabetes",
    "cancer",
    "cardiovascular-disease",
    "heart-block",
    "pheochromocytoma",
    "hepatic-impairment",
    "renal-impairment",
    "keloid-tendency",
    "asthma",
)
REQUIRED_MEDICATIONS = (
    "warfarin",
    "apixaban",
    "rivaroxaban",
    "dabigatran",
    "heparin",
    "aspirin",
    "clopidogrel",
    "isotretinoin",
)


@pytest.fixture(scope="module")
def source() -> CatalogueData:
    """The validated source text under data/."""
    return read_directory(DATA)


def fact_rows(cat) -> Iterator[tuple[str, Provenance]]:  # type: ignore[no-untyped-def]
    """Every fact row of a loaded catalogue, labelled, with its provenance."""
    for s in cat.substances.values():
        yield f"substance {s.id}", s.provenance
    for p in cat.products.values():
        yield f"product {p.id}", p.provenance
    for g in cat.groups.values():
        yield f"group {g.id}", g.provenance
    for c in cat.crosses:
        yield f"cross {c.source_group}->{c.target_group}", c.provenance
    for i in cat.indications.values():
        yield f"indication {i.id}", i.provenance
        for f in i.fits:
            yield f"fit {i.id}/{f.target}", f.provenance
    for p in cat.protocols:
        yield f"protocol {p.indication}/{p.area}", p.provenance
    for r in cat.rules:
        yield f"rule #{r.id} ({r.kind})", r.provenance
    for d in cat.defaults.values():
        yield f"default {d.key}", d.provenance
    for t in cat.conditions.values():
        yield f"condition {t.id}", t.provenance
    for t in cat.medication_classes.values():
        yield f"medication-class {t.id}", t.provenance
    for m in cat.medications.values():
        yield f"medication {m.id}", m.provenance


# --------------------------------------------------------------------------- sizes and required ids


def test_source_and_database_agree_on_sizes(source, catalogue):
    """The shipped database holds exactly the entries the source text defines."""
    assert len(catalogue.substances) == len(source.substances)
    assert len(catalogue.products) == len(source.products)
    assert len(catalogue.rules) == len(source.rules)
    assert len(catalogue.protocols) == len(source.protocols)
    assert set(catalogue.indications) == {i.id for i in source.indications}


def test_catalogue_has_at_least_45_substances_and_30_products(catalogue):
    """The catalogue carries at least 45 substances and 30 products."""
    assert len(catalogue.substances) >= 45
    assert len(catalogue.products) >= 30


@pytest.mark.parametrize("indication", REQUIRED_INDICATIONS)
def test_required_indication_has_areas_and_fits(catalogue, indication):
    """Each required indication exists with at least one area and one fitting ingredient."""
    ind = catalogue.indications[indication]
    assert ind.areas, f"{indication} has no areas"
    assert ind.fits, f"{indication} has no ingredients"
    assert all(a in catalogue.areas for a in ind.areas)
    assert all(f.target in catalogue.substances or f.target in catalogue.products for f in ind.fits)


@pytest.mark.parametrize("indication", REQUIRED_INDICATIONS)
def test_every_area_of_every_indication_has_a_protocol(catalogue, indication):
    """Every area of a required indication has a technique protocol."""
    covered = {p.area for p in catalogue.protocols if p.indication == indication}
    assert covered, f"no protocol for {indication}"
    assert set(catalogue.indications[indication].areas) <= covered


def test_every_indication_has_a_protocol(catalogue):
    """No indication in the catalogue is left without a protocol."""
    with_protocol = {p.indication for p in catalogue.protocols}
    assert set(catalogue.indications) <= with_protocol


def test_required_allergen_groups_exist_and_reach_something(catalogue):
    """The required allergen groups exist; each has members, source origins or a cross-reaction."""
    missing = [g for g in REQUIRED_GROUPS if g not in catalogue.groups]
    assert missing == []
    for gid in REQUIRED_GROUPS:
        group = catalogue.groups[gid]
        assert group.members or group.origins or catalogue.crosses_from.get(gid), gid


def test_peanut_allergy_reaches_soy_by_cross_reaction(catalogue):
    """The memberless peanut-legumes group works through its cross-reaction to soy (and to
    phospholipids whose source, soy or egg, is not declared)."""
    targets = {c.target_group: c.severity for c in catalogue.crosses_from["peanut-legumes"]}
    assert targets == {"soy": "contraindicated", "phospholipids-undeclared-origin": "contraindicated"}


def test_allergen_group_members_are_known_substances(catalogue):
    """Every member of every allergen group is a substance in the catalogue."""
    unknown = {
        (g.id, m) for g in catalogue.groups.values() for m in g.members if m not in catalogue.substances
    }
    assert unknown == set()


def test_amide_and_ester_anaesthetic_groups_hold_the_expected_members(catalogue):
    """Lidocaine is an amide and procaine an ester local anaesthetic."""
    assert "lidocaine" in catalogue.groups["amide-local-anaesthetics"].members
    assert "procaine" in catalogue.groups["ester-local-anaesthetics"].members
    assert "procaine" not in catalogue.groups["amide-local-anaesthetics"].members


def test_conditions_include_the_required_ones(catalogue):
    """At least 20 conditions are known, including every named one."""
    assert len(catalogue.conditions) >= 20
    assert [c for c in REQUIRED_CONDITIONS if c not in catalogue.conditions] == []


def test_medications_include_the_required_ones(catalogue):
    """At least 15 named medications are known, including the anticoagulants and isotretinoin."""
    assert len(catalogue.medications) >= 15
    assert [m for m in REQUIRED_MEDICATIONS if m not in catalogue.medications] == []


@pytest.mark.parametrize("medication", ["warfarin", "apixaban", "rivaroxaban", "dabigatran", "heparin"])
def test_anticoagulants_are_in_the_anticoagulant_class(catalogue, medication):
    """Each named anticoagulant belongs to the anticoagulant class."""
    assert "anticoagulant" in catalogue.medications[medication].classes


def test_medication_classes_are_known(catalogue):
    """Every class a medication names is a known medication class."""
    unknown = {
        (m.id, c)
        for m in catalogue.medications.values()
        for c in m.classes
        if c not in catalogue.medication_classes
    }
    assert unknown == set()


# --------------------------------------------------------------------------- generic presentations


def _composition(product) -> dict[str, Amount | None]:  # type: ignore[no-untyped-def]
    return {c.substance: c.concentration for c in product.components}


def _find(catalogue, predicate) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(p.id for p in catalogue.products.values() if predicate(p))


@pytest.mark.parametrize("mg_per_ml", [10, 20])
def test_plain_single_dose_lidocaine_presentations_exist(catalogue, mg_per_ml):
    """A generic single-dose lidocaine of 1 % and of 2 % with nothing but lidocaine exists."""
    found = _find(
        catalogue,
        lambda p: (
            p.generic and p.dose == "single" and _composition(p) == {"lidocaine": Amount(mg_per_ml, "mg/mL")}
        ),
    )
    assert found, f"no plain single-dose lidocaine {mg_per_ml} mg/mL"


def test_multi_dose_lidocaine_2pct_with_methylparaben_exists(catalogue):
    """A generic 2 % multi-dose lidocaine preserved with methylparaben exists."""
    found = _find(
        catalogue,
        lambda p: (
            p.generic
            and p.dose == "multi"
            and _composition(p).get("lidocaine") == Amount(20, "mg/mL")
            and "methylparaben" in _composition(p)
        ),
    )
    assert found


def test_lidocaine_with_epinephrine_carries_sodium_metabisulfite(catalogue):
    """A generic lidocaine-with-epinephrine presentation lists sodium metabisulfite."""
    found = _find(
        catalogue,
        lambda p: p.generic and {"lidocaine", "epinephrine", "sodium-metabisulfite"} <= set(_composition(p)),
    )
    assert found
    assert "sodium-metabisulfite" in catalogue.groups["sulfites"].members


def test_procaine_presentation_exists(catalogue):
    """A generic procaine presentation exists."""
    assert _find(catalogue, lambda p: p.generic and "procaine" in _composition(p))


def test_a_dosable_procaine_presentation_declares_its_sulfite(catalogue):
    """Procaine is dosable from the Novocain label (10 mg/mL), and its sulfite antioxidant is
    declared and belongs to the sulfite allergen group, so a sulfite allergy reaches it."""
    dosable = _find(catalogue, lambda p: any(c.substance == "procaine" and c.concentration is not None
                                             for c in p.components))
    assert dosable
    for pid in dosable:
        product = catalogue.products[pid]
        assert product.provenance.evidence == "label"
        assert set(_composition(product)) & catalogue.groups["sulfites"].members


def test_pdrn_is_dosable_from_its_smpc_at_5_625_mg_per_3_ml(catalogue):
    placentex = catalogue.products["placentex-5-625mg-3ml"]
    [pdrn] = [c for c in placentex.components if c.substance == "pdrn"]
    assert pdrn.concentration is not None
    assert abs(pdrn.concentration.quantity().to("mg/mL").magnitude * 3 - 5.625) < 1e-9
    assert placentex.provenance.evidence == "label"


def test_zinc_is_dosable_from_a_label_as_the_salt_it_names(catalogue):
    """Zinc sulfate 2.46 mg/mL (anhydrous salt) is 1 mg/mL of elemental zinc on the label."""
    zinc = catalogue.products["zinc-sulfate-injection-1mg-ml"]
    [salt] = [c for c in zinc.components if c.substance == "zinc-sulfate"]
    assert salt.concentration.quantity().to("mg/mL").magnitude == 2.46
    assert zinc.provenance.evidence == "label"


def test_profhilo_structura_is_45_mg_per_ml_of_ha_in_total(catalogue):
    [ha] = [c for c in catalogue.products["profhilo-structura"].components if c.substance == "hyaluronic-acid"]
    assert ha.concentration.quantity().to("mg/mL").magnitude == 45


def test_plain_lidocaine_contains_no_paraben(catalogue):
    """The plain single-dose presentations are free of the paraben and sulfite allergen groups."""
    flagged = catalogue.groups["parabens"].members | catalogue.groups["sulfites"].members
    plain = _find(catalogue, lambda p: p.dose == "single" and set(_composition(p)) == {"lidocaine"})
    assert plain
    for pid in plain:
        assert not set(_composition(catalogue.products[pid])) & flagged


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    "kind",
    ["contraindication", "age_limit", "incompatibility", "dose_limit", "vehicle_rule", "purpose_conflict"],
)
def test_rule_kind_is_present(catalogue, kind):
    """The rule set contains at least one rule of each kind."""
    assert catalogue.rules_by_kind.get(kind), kind


@pytest.mark.parametrize("dose_kind", ["per-session", "per-kg", "per-area", "points", "sessions", "interval"])
def test_dose_limit_kind_is_present(catalogue, dose_kind):
    """Dose limits of every required kind exist."""
    assert [r for r in catalogue.rules_by_kind["dose_limit"] if r.params.dose_kind == dose_kind]


def test_per_kg_dose_limits_all_have_a_cap(catalogue):
    """Every per-kg dose limit has both a per-kg amount and an absolute cap."""
    per_kg = [r for r in catalogue.rules_by_kind["dose_limit"] if r.params.dose_kind == "per-kg"]
    assert per_kg
    for rule in per_kg:
        assert rule.params.amount is not None and rule.params.amount.unit == "mg/kg", rule.id
        assert rule.params.cap is not None and rule.params.cap.unit == "mg", rule.id


def test_plain_lidocaine_per_kg_limit_is_4_5_mg_per_kg_capped_at_300_mg(catalogue):
    """Plain lidocaine is limited to 4.5 mg/kg with a 300 mg ceiling."""
    rules = [
        r
        for r in catalogue.rules_by_kind["dose_limit"]
        if r.params.dose_kind == "per-kg" and r.scope.ref == "lidocaine" and r.params.only_with is None
    ]
    assert [(r.params.amount, r.params.cap) for r in rules] == [(Amount(4.5, "mg/kg"), Amount(300, "mg"))]


def test_contraindications_cover_conditions_medications_and_classes(catalogue):
    """Contraindications are triggered by conditions, by named medications and by medication classes."""
    rules = catalogue.rules_by_kind["contraindication"]
    assert any(r.params.condition for r in rules)
    assert any(r.params.medication for r in rules)
    assert any(r.params.medication_class for r in rules)


def test_pregnancy_contraindicates_the_procedure(catalogue):
    """Pregnancy is a contraindication to the procedure itself."""
    assert [
        r
        for r in catalogue.rules_by_kind["contraindication"]
        if r.params.condition == "pregnancy" and r.scope.kind == "procedure"
    ]


def test_anticoagulants_are_flagged(catalogue):
    """The anticoagulant class triggers at least one rule."""
    assert [r for r in catalogue.rules_by_kind["contraindication"] if r.params.medication_class == "anticoagulant"]


def test_rule_references_resolve(catalogue):
    """Every id a rule names exists in the catalogue."""
    ingredient_ids = set(catalogue.substances) | set(catalogue.products)
    classes = {s.cls for s in catalogue.substances.values()}
    for rule in catalogue.rules:
        if rule.scope.kind == "substance":
            assert rule.scope.ref in catalogue.substances, rule.id
        if rule.scope.kind == "product":
            assert rule.scope.ref in catalogue.products, rule.id
        if rule.scope.kind == "class":
            assert rule.scope.ref in classes, rule.id
        params = dataclasses.asdict(rule.params)
        assert params.get("condition") is None or params.get("condition") in catalogue.conditions, rule.id
        assert params.get("medication") is None or params.get("medication") in catalogue.medications, rule.id
        assert params.get("medication_class") is None or params.get("medication_class") in catalogue.medication_classes
        assert params.get("indication") is None or params.get("indication") in catalogue.indications, rule.id
        for ref in (params.get("a"), params.get("b")):
            if ref and ref != "*":
                assert ref[6:] in classes if ref.startswith("class:") else ref in ingredient_ids, rule.id


def test_formulation_defaults_exist(catalogue):
    """The formulator's sourced defaults are present."""
    assert {"anaesthetic-final-concentration", "max-products-per-syringe", "use-by"} <= set(
        catalogue.defaults
    )


# --------------------------------------------------------------------------- provenance


def test_evidence_grades_are_the_documented_six():
    """The model's evidence grades are exactly the six documented ones."""
    assert set(EVIDENCE_GRADES) == GRADES


def test_every_fact_row_has_a_grade_and_sources_unless_unsourced(catalogue):
    """Every fact row has a valid evidence grade, and sources unless it is graded unsourced."""
    rows = list(fact_rows(catalogue))
    assert len(rows) > 300
    bad = []
    for label, prov in rows:
        if prov.evidence not in GRADES:
            bad.append((label, f"grade {prov.evidence!r}"))
        elif prov.evidence == "unsourced" and prov.sources:
            bad.append((label, "unsourced but cites sources"))
        elif prov.evidence != "unsourced" and not prov.sources:
            bad.append((label, f"{prov.evidence} without sources"))
        for source in prov.sources:
            if not (source.title or source.url):
                bad.append((label, "empty source"))
            if source.url is not None and not re.match(r"^https?://\S+$", source.url):
                bad.append((label, f"bad url {source.url!r}"))
    assert bad == []


def test_every_kind_of_fact_row_is_covered(catalogue):
    """The provenance walk visits every kind of fact row."""
    kinds = {label.split()[0] for label, _ in fact_rows(catalogue)}
    assert kinds == {
        "substance",
        "product",
        "group",
        "cross",
        "indication",
        "fit",
        "protocol",
        "rule",
        "default",
        "condition",
        "medication-class",
        "medication",
    }


def test_database_provenance_equals_source_provenance(source, catalogue):
    """The shipped database keeps each substance's and rule's grade and sources as written."""
    for s in source.substances:
        assert catalogue.substances[s.id].provenance == s.provenance, s.id
    assert [r.provenance for r in catalogue.rules] == [r.provenance for r in source.rules]


VALID_ROWS = {
    "substance": ("substances.toml", {"id": "test-x", "name": "Test X", "class": "vitamin"}),
    "product": (
        "products.toml",
        {"id": "test-x", "name": "Test X", "component": [{"substance": "lidocaine"}]},
    ),
    "group": ("allergens.toml", {"id": "test-x", "name": "Test X", "members": ["lidocaine"]}),
    "cross": (
        "allergens.toml",
        {"from": "soy", "to": "peanut-legumes", "severity": "caution", "message": "m"},
    ),
    "indication": ("indications.toml", {"id": "test-x", "name": "Test X", "areas": ["scalp"]}),
    "protocol": ("protocols.toml", {"indication": "hair-loss", "area": "scalp", "technique": "nappage"}),
    "contraindication": (
        "rules.toml",
        {"condition": "pregnancy", "procedure": True, "severity": "caution", "message": "m"},
    ),
    "dose_limit": (
        "rules.toml",
        {
            "substance": "lidocaine",
            "kind": "per-session",
            "cap": "100 mg",
            "severity": "caution",
            "message": "m",
        },
    ),
    "formulation_default": ("rules.toml", {"key": "test-x", "value": "1"}),
}
SOURCED = {"evidence": "label", "sources": [{"title": "A label", "url": "https://example.org/label"}]}


def _doc(table: str, **override) -> dict:  # type: ignore[no-untyped-def]
    file_name, row = VALID_ROWS[table]
    row = {**copy.deepcopy(row), **SOURCED, **override}
    return {file_name: {table: [{k: v for k, v in row.items() if v is not None}]}}


@pytest.mark.parametrize("table", sorted(VALID_ROWS))
def test_a_sourced_row_is_accepted(table):
    """A minimal row of each fact table with evidence and a source parses (the control case)."""
    data = parse_documents(_doc(table))
    parsed = [
        *data.substances,
        *data.products,
        *data.groups,
        *data.crosses,
        *data.indications,
        *data.protocols,
        *data.rules,
        *data.defaults,
    ]
    assert len(parsed) == 1
    assert parsed[0].provenance.evidence == "label"


@pytest.mark.parametrize("table", sorted(VALID_ROWS))
def test_a_row_without_evidence_is_rejected_naming_the_row(table):
    """A fact row without 'evidence' is rejected with an error naming the file, table and row."""
    with pytest.raises(CatalogueDataError) as caught:
        parse_documents(_doc(table, evidence=None))
    message = str(caught.value)
    assert f"[[{table}]] #1" in message
    assert VALID_ROWS[table][0] in message
    assert "'evidence'" in message
    if "id" in VALID_ROWS[table][1]:
        assert "(test-x)" in message


@pytest.mark.parametrize("table", sorted(VALID_ROWS))
def test_a_label_row_without_sources_is_rejected_naming_the_row(table):
    """A row graded 'label' with no sources is rejected with an error naming the row."""
    with pytest.raises(CatalogueDataError, match=r"\[\[" + table + r"\]\] #1.*needs at least one source"):
        parse_documents(_doc(table, sources=[]))


def test_an_unsourced_row_with_sources_is_rejected():
    """A row graded 'unsourced' that cites a source is contradictory and rejected."""
    with pytest.raises(CatalogueDataError, match=r"\(test-x\).*cannot be graded 'unsourced'"):
        parse_documents(_doc("substance", evidence="unsourced"))


def test_an_unsourced_row_without_sources_is_accepted():
    """A row graded 'unsourced' with an empty source list is accepted."""
    data = parse_documents(_doc("substance", evidence="unsourced", sources=[]))
    assert data.substances[0].provenance == Provenance("unsourced", ())


def test_an_unknown_evidence_grade_is_rejected():
    """An evidence grade outside the six is rejected."""
    with pytest.raises(CatalogueDataError, match=r"\(test-x\): 'evidence' = 'anecdote' is not one of"):
        parse_documents(_doc("substance", evidence="anecdote"))


def test_a_fit_without_evidence_is_rejected_naming_the_fit():
    """An indication fit without evidence is rejected with an error naming the fit."""
    doc = _doc("indication", fit=[{"target": "lidocaine", "fit": "principal"}])
    with pytest.raises(CatalogueDataError, match=r"\[\[indication\]\] #1 fit #1.*'evidence'"):
        parse_documents(doc)


# --------------------------------------------------------------------------- ids and names


def _entries(catalogue):  # type: ignore[no-untyped-def]
    for kind in (
        "substances",
        "products",
        "groups",
        "conditions",
        "medications",
        "medication_classes",
        "areas",
        "indications",
    ):
        for entry in getattr(catalogue, kind).values():
            yield kind, entry


def test_every_id_is_a_slug(catalogue):
    """Every id in the catalogue is a lowercase slug."""
    bad = [(kind, e.id) for kind, e in _entries(catalogue) if not SLUG.match(e.id)]
    bad += [("default", k) for k in catalogue.defaults if not SLUG.match(k)]
    assert bad == []


def test_substance_and_product_ids_do_not_collide(catalogue):
    """No id is used for both a substance and a product."""
    assert set(catalogue.substances) & set(catalogue.products) == set()


def test_every_substance_name_and_alias_is_an_allergy_term(catalogue):
    """Each substance's id, name and aliases resolve as an allergy term to that substance."""
    wrong = []
    for s in catalogue.substances.values():
        for term in (s.id, s.name, *s.aliases):
            found = catalogue.resolve_allergy(term)
            if (found.kind, found.id) != ("substance", s.id):
                wrong.append((term, s.id, found))
    assert wrong == []


def test_every_group_name_and_alias_is_an_allergy_term(catalogue):
    """Each allergen group's id, name and aliases resolve as an allergy term to that group."""
    for g in catalogue.groups.values():
        for term in (g.id, g.name, *g.aliases):
            assert catalogue.resolve_allergy(term).id == g.id, term


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("HA", "hyaluronic-acid"),
        ("ha", "hyaluronic-acid"),
        ("vitamin c", "ascorbic-acid"),
        ("VITAMIN C", "ascorbic-acid"),
        ("Sodium Hyaluronate", "hyaluronic-acid"),
        ("D-panthenol", "dexpanthenol"),
        ("d panthenol", "dexpanthenol"),
        ("PC", "phosphatidylcholine"),
        ("pc", "phosphatidylcholine"),
        ("Lignocaine", "lidocaine"),
    ],
)
def test_aliases_resolve_case_insensitively(catalogue, term, expected):
    """Aliases resolve to their substance whatever their case and separators."""
    assert catalogue.resolve_ingredient(term).id == expected


def _substance_terms() -> list[tuple[str, str]]:
    data = read_directory(DATA)
    return [(s.id, t) for s in data.substances for t in (s.id, s.name, *s.aliases)]


@settings(max_examples=150, deadline=None)
@given(
    pair=st.sampled_from(_substance_terms()),
    flips=st.lists(st.booleans(), min_size=80, max_size=80),
    pad=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_any_casing_of_a_substance_term_resolves_to_it(catalogue, pair, flips, pad):
    """Any upper/lower casing of a substance's name or alias, with surrounding blanks, resolves to it."""
    sid, term = pair
    cased = "".join(
        ch.upper() if index < len(flips) and flips[index] else ch.lower() for index, ch in enumerate(term)
    )
    assert catalogue.resolve_ingredient(pad + cased + pad).id in (
        sid,
        *catalogue.products_by_substance.get(sid, ()),
    )
    assert catalogue.resolve_allergy(pad + cased + pad).id == sid


def test_shipped_source_directory_is_the_checkout_data():
    """In the checkout, meso's data directory is data/ and holds every source file."""
    assert config.data_dir().resolve() == DATA.resolve()
    from mesocli.storage.text import FILES

    assert sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*.toml")) == sorted(FILES)


def test_activity_strengths_follow_the_rule_of_recipes_and_imports(catalogue):
    """The shipped catalogue states an IU strength only for a substance with a mass per IU, and
    USP units only for an enzyme: the rule a recipe and a clinic import are held to, so that
    every strength the catalogue holds can be checked against a dose limit."""
    wrong = []
    for product in catalogue.products.values():
        for component in product.components:
            if component.concentration is None:
                continue
            substance = catalogue.substances[component.substance]
            unit = component.concentration.unit
            if ("IU" in unit and substance.iu_mass is None) or ("USP" in unit and substance.cls != "enzyme"):
                wrong.append((product.id, substance.id, unit))
    assert wrong == []
