"""The patient vocabulary: terms that concern no catalogue item are accepted and reported, and
did-you-mean suggestions never cross a distinction (data/vocabulary.toml)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli import check, load_catalogue
from mesocli.domain.catalogue import normalise
from mesocli.domain.model import Provenance, UnrelatedTerm
from mesocli.domain.patient import Patient
from mesocli.errors import CatalogueDataError, UnknownTermError
from mesocli.render.documents import check_document
from mesocli.storage.text import CatalogueData, validate_references

CAT = load_catalogue()
UNRELATED = sorted(CAT.unrelated.values(), key=lambda u: (u.kind, u.id))
FIELD = {"allergy": "allergies", "condition": "conditions", "medication": "medications"}
ALLERGY_NAMES = sorted({*CAT.groups, *(s for s in CAT.substances if CAT.substances[s].role == "active")})
INGREDIENTS = sorted(CAT.products)[:40]


def _names(row: UnrelatedTerm) -> list[str]:
    return [row.id, row.name, *row.aliases]


def test_penicillin_allergy_is_accepted_and_said_to_affect_no_catalogue_item(meso):
    """The case that used to stop a check: a penicillin allergy with lidocaine exits 0, says so."""
    out = meso("check", "--allergy", "penicillin", "--ingredient", "lidocaine")
    assert out.exit_code == 0
    assert "allergy 'penicillin' (Penicillins): no catalogue item affected" in out.stdout
    doc = meso("check", "--allergy", "penicillin", "--ingredient", "lidocaine", "--json").json()
    assert [(t["kind"], t["term"], t["id"], t["affects"]) for t in doc["unrelated_terms"]] == [
        ("allergy", "penicillin", "penicillins", "no catalogue item")]
    assert doc["unrelated_terms"][0]["sources"] and doc["status"] == "ok"


def test_an_unknown_term_still_fails_closed(meso):
    """A term meso does not know is refused (exit 2) with suggestions, as before."""
    out = meso("check", "--allergy", "penicilin", "--ingredient", "lidocaine")
    assert out.exit_code == 2
    assert "unknown allergy 'penicilin'" in out.stderr and "penicillins" in out.stderr


@pytest.mark.parametrize("term", ["sulfonamide", "sulfa drugs", "bactrim"])
def test_a_sulfonamide_antibiotic_allergy_is_told_it_does_not_imply_sulfites(term):
    """A sulfa allergy affects nothing and carries the sourced note that it is not a sulfite allergy."""
    result = check(Patient(allergies=(term,)), ingredients=["lidocaine-1pct-epinephrine"], catalogue=CAT)
    doc = check_document(result, CAT)
    assert not [f for f in result.findings if f.kind == "allergy"]
    assert [n["id"] for n in doc["term_notes"]] == ["sulfonamide-antibiotics"]
    assert "sulfites" in doc["term_notes"][0]["note"].casefold() and doc["term_notes"][0]["sources"]


def test_a_sulfite_allergy_still_reaches_metabisulfite_and_gets_the_note():
    """The other side of the distinction still works as an allergy, with the same note."""
    result = check(Patient(allergies=("sulfites",)), ingredients=["lidocaine-1pct-epinephrine"], catalogue=CAT)
    assert any(f.kind == "allergy" and f.severity == "contraindicated" for f in result.findings)
    assert [d.a for _, _, _, d in result.patient.distinctions] == ["sulfonamide-antibiotics"]


def test_sulfonamide_typos_never_suggest_sulfites():
    """The classic confusion: a mistyped sulfonamide is never offered as sulfites."""
    for typo in ("sulfonamid", "sulfonamde", "sulfonamides antibiotic", "sulpha drug", "sulfa drug"):
        with pytest.raises(UnknownTermError) as caught:
            CAT.resolve_allergy(typo)
        assert not {"sulfites", "sodium-metabisulfite", "sodium-bisulfite"} & set(caught.value.suggestions), typo


def test_milk_allergy_reaches_lactose_with_a_caution():
    """Milk maps into the catalogue (lactose is of milk origin): a caution, not 'unrelated'."""
    result = check(Patient(allergies=("milk",)), ingredients=["hyaluronidase-ovine-200"], catalogue=CAT)
    assert [(f.kind, f.severity) for f in result.findings if f.kind == "allergy"] == [("allergy", "caution")]
    assert not result.patient.unrelated


@pytest.mark.parametrize("term, word", [("latex", "gloves"), ("chlorhexidine", "antiseptic"),
                                        ("povidone-iodine", "antiseptic"), ("plasters", "plaster")])
def test_procedure_terms_say_how_they_matter_to_the_procedure(term, word):
    """Latex, skin antiseptics and adhesives concern the procedure: the term says so, sourced."""
    doc = check_document(check(Patient(allergies=(term,)), ingredients=["lidocaine"], catalogue=CAT), CAT)
    [entry] = doc["unrelated_terms"]
    assert word in entry["procedure_note"] and entry["sources"]


# ----------------------------------------------------------------------------- invariants
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=st.sampled_from(UNRELATED), data=st.data())
def test_an_unrelated_term_adds_no_finding_and_no_error_whatever_else_is_checked(row, data):
    """Adding a known-not-relevant term to any check changes no finding and raises nothing."""
    name = data.draw(st.sampled_from(_names(row)))
    allergies = tuple(data.draw(st.lists(st.sampled_from(ALLERGY_NAMES), max_size=2)))
    conditions = tuple(data.draw(st.lists(st.sampled_from(sorted(CAT.conditions)), max_size=2)))
    ingredients = data.draw(st.lists(st.sampled_from(INGREDIENTS), min_size=1, max_size=2, unique=True))
    base = Patient(allergies=allergies, conditions=conditions, age=40)
    fields = {"allergies": allergies, "conditions": conditions, "medications": ()}
    fields[FIELD[row.kind]] = (*fields[FIELD[row.kind]], name)
    with_term = Patient(**fields, age=40)
    before = check(base, ingredients=ingredients, catalogue=CAT)
    after = check(with_term, ingredients=ingredients, catalogue=CAT)
    assert after.findings == before.findings and after.status == before.status
    assert [(term, r.id) for term, r in after.patient.unrelated] == [(name, row.id)]


def _typos(word: str) -> st.SearchStrategy[str]:
    """One slip of the keyboard: a letter dropped, doubled, swapped for another, or added."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    index = st.integers(0, max(len(word) - 1, 0))
    return st.one_of(
        index.map(lambda i: word[:i] + word[i + 1:]),
        index.map(lambda i: word[:i] + word[i] + word[i:]),
        st.tuples(index, st.sampled_from(letters)).map(lambda p: word[:p[0]] + p[1] + word[p[0] + 1:]),
        st.tuples(index, st.sampled_from(letters)).map(lambda p: word[:p[0]] + p[1] + word[p[0]:]),
    ).filter(lambda t: len(normalise(t)) >= 2)


def _side_names(kind: str, entry: str) -> list[str]:
    _ids, names = CAT._side(kind, entry)
    return list(names)


SIDES = [(d, side, other) for d in CAT.distinctions for side, other in ((d.a, d.b), (d.b, d.a))]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_suggestions_never_cross_a_distinction(data):
    """A typo of a name on one side of a distinction is never offered the other side."""
    distinction, side, other = data.draw(st.sampled_from(SIDES))
    name = data.draw(st.sampled_from(_side_names(distinction.kind, side)))
    typo = data.draw(_typos(name))
    other_ids, _ = CAT._side(distinction.kind, other)
    kinds = {"allergy": ("group", "substance", "unrelated-allergy"), "condition": ("condition", "unrelated-condition"),
             "medication": ("medication", "medication-class", "unrelated-medication")}[distinction.kind]
    assert not set(CAT.suggest(kinds, typo)) & other_ids, (typo, CAT.suggest(kinds, typo))


def test_every_distinction_and_unrelated_term_is_sourced_or_marked_unsourced():
    """Vocabulary rows carry a grade, and sources unless the grade says there are none."""
    for row in [*UNRELATED, *CAT.distinctions]:
        assert bool(row.provenance.sources) == (row.provenance.evidence != "unsourced"), row


def test_an_unrelated_name_that_the_catalogue_already_resolves_is_refused():
    """A term cannot be both a catalogue allergen and 'affects nothing': the build refuses it."""
    clash = UnrelatedTerm("allergy", "bisulfite-drugs", "Bisulfite drugs", "none", Provenance("unsourced"),
                          aliases=("sulfites",))
    data = CatalogueData(groups=list(CAT.groups.values()), substances=list(CAT.substances.values()),
                         unrelated=[clash])
    with pytest.raises(CatalogueDataError, match="sulfites"):
        validate_references(data)


# ----------------------------------------------------------------------------- other edges
def test_a_batch_line_with_an_unrelated_term_gives_the_same_document(meso):
    """A batch check with a penicillin allergy is the same document the single command prints."""
    line = json.dumps({"id": "p", "action": "check", "allergies": ["penicillin"], "ingredients": ["lidocaine"]})
    [result] = [json.loads(text) for text in meso("batch", "-", input=line + "\n").stdout.splitlines()]
    single = meso("check", "--allergy", "penicillin", "--ingredient", "lidocaine", "--json").json()
    result.pop("id")
    assert result == single and result["unrelated_terms"][0]["id"] == "penicillins"


def test_a_fhir_allergy_entry_meso_cannot_code_is_read_by_its_text_and_affects_nothing():
    """A FHIR AllergyIntolerance for penicillin (text only) gives no finding and no error."""
    from mesocli.fhir_input import patient_from_fhir

    allergy = {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
               "code": {"text": "Penicillin"}}
    patient = patient_from_fhir({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": allergy}]})
    result = check(patient, ingredients=["lidocaine"], catalogue=CAT)
    assert [r.id for _, r in result.patient.unrelated] == ["penicillins"]
    assert not [f for f in result.findings if f.kind == "allergy"]


def test_distinctions_only_shape_patient_term_suggestions():
    """A recipe substance or ingredient typo is no patient term: distinctions bar nothing there,
    while the same ambiguous text as an allergy bars both sides."""
    allergy = ("group", "substance", "unrelated-allergy")
    assert {"sulfites", "sulfonamide-antibiotics"} <= CAT._crossing(allergy, "sulfi")
    assert CAT._crossing(("substance",), "sulfi") == frozenset()
    assert CAT._crossing(("product", "substance"), "sulfi") == frozenset()


@pytest.mark.parametrize("term", ["seafood", "nuts", "pollen"])
def test_broad_words_that_cover_a_catalogue_allergen_still_fail_closed(term):
    """'Seafood' takes in fish, 'nuts' often means peanuts, pollen includes birch: never 'unrelated'."""
    with pytest.raises(UnknownTermError):
        CAT.resolve_allergy(term)


# ----------------------------------------------------------------------------- NSAID allergy
@pytest.mark.parametrize("term", ["NSAIDs", "non-steroidal anti-inflammatory drugs", "ibuprofen", "naproxen",
                                  "diclofenac"])
def test_an_nsaid_allergy_maps_into_the_catalogue_and_reaches_salicylates(term):
    """An NSAID allergy is not 'unrelated': it reaches the salicylate-stabilised silanol, a caution."""
    result = check(Patient(allergies=(term,)), ingredients=["organic-silicium"], catalogue=CAT)
    assert not result.patient.unrelated
    assert [(f.kind, f.severity, f.subject) for f in result.findings if f.kind == "allergy"] == [
        ("allergy", "caution", "organic-silicium")]


def test_an_nsaid_allergy_leaves_an_ingredient_without_salicylate_alone():
    result = check(Patient(allergies=("ibuprofen",)), ingredients=["lidocaine", "ha-nonxl-booster"], catalogue=CAT)
    assert [f for f in result.findings if f.kind == "allergy"] == []


@pytest.mark.parametrize("term", ["celecoxib", "etoricoxib", "cox-2 inhibitor", "coxib"])
def test_a_cox2_inhibitor_allergy_is_its_own_group_and_asks_on_the_salicylates(term):
    """Most NSAID-hypersensitive patients tolerate a COX-2 inhibitor but not all (19 of 91 in the
    Malskat 2013 challenge study): a coxib allergy is neither unrelated nor an NSAID allergy. It is
    its own group whose only reach is a caution on the salicylate-stabilised silanol that asks
    which kind of reaction the patient had."""
    resolved = CAT.resolve_allergy(term)
    assert (resolved.kind, resolved.id) == ("group", "cox-2-inhibitors")
    assert not any(term in (u.id, *u.aliases) for u in UNRELATED)
    result = check(Patient(allergies=(term,)), ingredients=["organic-silicium"], catalogue=CAT)
    assert not result.patient.unrelated
    [finding] = [f for f in result.findings if f.kind == "allergy"]
    assert (finding.severity, finding.subject, finding.trigger) == ("caution", "organic-silicium", "cox-2-inhibitors")
    assert "ask which kind of reaction" in finding.message


def test_a_cox2_inhibitor_allergy_leaves_an_ingredient_without_salicylate_alone():
    result = check(Patient(allergies=("celecoxib",)), ingredients=["lidocaine", "ha-nonxl-booster"], catalogue=CAT)
    assert [f for f in result.findings if f.kind == "allergy"] == []


def test_no_vocabulary_row_is_unsourced():
    """Every known-not-relevant term and every distinction cites a source; a row that speaks only
    of this catalogue (statins, paracetamol) still sources the names it lists."""
    rows = [*UNRELATED, *CAT.distinctions]
    assert [(getattr(r, "id", None), r.provenance.evidence) for r in rows
            if r.provenance.evidence == "unsourced" or not r.provenance.sources] == []
    for term in ("statins", "paracetamol"):
        row = CAT.unrelated[("medication", term)]
        assert "statement about this catalogue" in row.reason and row.provenance.evidence == "reference"
