"""The engine's precomputed shortcuts give exactly what the long way round gives."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli.domain.engine import (
    Alternative,
    Finding,
    ResolvedPatient,
    _blocked,
    _reaches,
    allergy_exposures,
    blocked_by_screen,
    suggest_alternatives,
)


def _random_patients(catalogue, count: int, seed: int = 7):
    rng = random.Random(seed)
    allergies = sorted([("group", g) for g in catalogue.groups] + [("substance", s) for s in catalogue.substances])
    conditions = sorted(catalogue.conditions)
    medications = sorted(catalogue.medications)
    classes = sorted(catalogue.medication_classes)
    for _ in range(count):
        meds = tuple(rng.sample(medications, rng.randint(0, 2)))
        named = tuple(rng.sample(classes, rng.randint(0, 1)))
        reached = tuple(dict.fromkeys(c for m in meds for c in catalogue.medication_classes_of(m)))
        yield ResolvedPatient(
            allergies=tuple(rng.sample(allergies, rng.randint(0, 3))),
            conditions=tuple(rng.sample(conditions, rng.randint(0, 2))),
            medications=meds,
            medication_classes=tuple(dict.fromkeys(reached + named)),
            age=rng.choice([None, 5, 16, 17, 18, 40, 66, 80]),
        )


def test_blocked_is_the_union_of_one_screen_per_term(catalogue):
    """What alternatives avoid, worked out term by term, equals one screen of the whole patient."""
    for patient in _random_patients(catalogue, 150):
        assert _blocked(catalogue, patient) == blocked_by_screen(catalogue, patient), patient


def test_exposures_per_allergy_add_up_to_the_patients(catalogue):
    """Each allergy's reach, kept per catalogue and read in order, equals the patient's reach."""
    for patient in _random_patients(catalogue, 150, seed=11):
        reaches = _reaches(catalogue, patient.allergies)
        direct = allergy_exposures(catalogue, patient.allergies)
        for sid in catalogue.substances:
            assert [e for reach in reaches for e in reach.get(sid, ())] == direct.get(sid, []), sid


def test_results_do_not_depend_on_what_was_asked_before(catalogue):
    """A check or build gives the same document on a fresh catalogue and on one that served others."""
    import pickle

    from mesocli import api
    from mesocli.domain.patient import Patient
    from mesocli.render.documents import check_document
    from mesocli.render.recipe import recipe_document

    rng = random.Random(3)
    names = sorted(catalogue.products)[:30]
    requests = []
    for _ in range(40):
        patient = Patient(allergies=tuple(rng.sample(sorted(catalogue.substances), rng.randint(0, 2))),
                          conditions=tuple(rng.sample(sorted(catalogue.conditions), rng.randint(0, 1))),
                          age=rng.choice([None, 30, 70]), weight=rng.choice([None, "70 kg"]))
        ingredients = tuple(rng.sample(names, rng.randint(1, 3)))
        requests.append((patient, ingredients, rng.choice(sorted(catalogue.indications))))

    def answers(cat):
        out = []
        for patient, ingredients, indication in requests:
            out.append(check_document(api.check(patient, ingredients=ingredients, catalogue=cat)))
            try:
                out.append(recipe_document(api.build(indication, patient, volume="4 mL", catalogue=cat), cat))
            except Exception as exc:  # an input error is an answer too
                out.append(repr(exc))
        return out

    warm = answers(catalogue)
    for patient, ingredients, _indication in reversed(requests):  # others first, in another order
        api.check(patient, ingredients=ingredients[::-1], catalogue=catalogue)
    fresh = pickle.loads(pickle.dumps(catalogue))
    assert answers(fresh) == warm
    assert answers(catalogue) == warm


def test_remembered_names_resolve_as_fresh_ones_do(catalogue):
    """A name resolved once resolves the same way again, in any spelling; a bad name fails the same way again."""
    import pickle

    from mesocli.errors import MesoError

    resolvers = {"resolve_allergy": ("group", "substance"), "resolve_condition": ("condition",),
                 "resolve_medication": ("medication", "medication-class"),
                 "resolve_ingredient": ("product", "substance"), "resolve_indication": ("indication",),
                 "resolve_area": ("area",)}
    failing = ["no-such-name", "lidocain", "", "  ", "x" * 201, " lidocaine" + " " * 200, 7, None]

    def outcome(cat, resolver, term):
        try:
            return getattr(cat, resolver)(term)
        except MesoError as exc:
            return (type(exc), exc.message)

    for _ in range(2):  # the second round reads what the first remembered
        fresh = pickle.loads(pickle.dumps(catalogue))
        for resolver, kinds in resolvers.items():
            names = sorted({text for kind in kinds for text in catalogue._names[kind]})
            spellings = [variant for name in names for variant in (name, name.upper(), f" {name.replace('-', ' ')} ")]
            spellings += ["LIDOCAINE allergy", "allergic to parabens"] if resolver == "resolve_allergy" else []
            for term in spellings + failing:
                assert outcome(catalogue, resolver, term) == outcome(fresh, resolver, term), (resolver, term)


def _alternatives_the_long_way(catalogue, patient, findings):
    """Every product or substance compared with every other, for each contraindicated subject."""
    def classes(product):
        return frozenset(catalogue.substances[c.substance].cls for c in product.actives())

    subjects = [s for s in dict.fromkeys(f.subject for f in findings if f.severity == "contraindicated")
                if s != "procedure"]
    blocked = blocked_by_screen(catalogue, patient) if subjects else frozenset()
    out = []
    for subject in subjects:
        if subject in catalogue.products:
            product = catalogue.products[subject]
            role = classes(product)
            mine = {c.substance for c in product.actives()}
            candidates = [p for p in catalogue.products.values()
                          if p.id != subject and classes(p) == role and p.id not in blocked]
            if not candidates:
                candidates = [p for p in catalogue.products.values()
                              if p.id != subject and p.id not in blocked and classes(p) and classes(p) < role]
            candidates.sort(key=lambda p: (0 if {c.substance for c in p.actives()} == mine else 1,
                                           len(p.components), p.id))
            use = tuple(p.id for p in candidates[:5])
            note = "or no anaesthetic at all" if "local-anaesthetic" in role else None
        elif subject in catalogue.substances:
            substance = catalogue.substances[subject]
            use = tuple(s.id for s in sorted(catalogue.substances.values(), key=lambda s: s.id)
                        if s.cls == substance.cls and s.id != subject and s.id not in blocked
                        and s.injectable and s.status not in ("withdrawn", "cosmetic-only"))[:5]
            note = "or no anaesthetic at all" if substance.cls == "local-anaesthetic" else None
        else:
            continue
        out.append(Alternative(subject, use, note))
    return tuple(out)


@st.composite
def _patient_and_findings(draw, catalogue):  # type: ignore[no-untyped-def]
    allergies = sorted([("group", g) for g in catalogue.groups] + [("substance", s) for s in catalogue.substances])
    medications = draw(st.lists(st.sampled_from(sorted(catalogue.medications)), max_size=2, unique=True))
    named = draw(st.lists(st.sampled_from(sorted(catalogue.medication_classes)), max_size=1))
    reached = [c for m in medications for c in catalogue.medication_classes_of(m)]
    patient = ResolvedPatient(
        allergies=tuple(draw(st.lists(st.sampled_from(allergies), max_size=4, unique=True))),
        conditions=tuple(draw(st.lists(st.sampled_from(sorted(catalogue.conditions)), max_size=2, unique=True))),
        medications=tuple(medications),
        medication_classes=tuple(dict.fromkeys(reached + named)),
        age=draw(st.sampled_from([None, 12, 17, 18, 45, 90])),
    )
    subjects = st.sampled_from(sorted(catalogue.products) + sorted(catalogue.substances) + ["procedure", "unknown"])
    findings = [Finding(severity, "allergy", subject, "t", "m", (), "expert")
                for subject, severity in draw(st.lists(st.tuples(subjects, st.sampled_from(["contraindicated",
                                                                                            "caution"])),
                                                       max_size=6))]
    return patient, findings


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_alternatives_from_the_precomputed_orders_equal_a_full_comparison(catalogue, data):
    """Alternatives drawn from orders kept per catalogue equal the product-by-product comparison."""
    patient, findings = data.draw(_patient_and_findings(catalogue))
    assert suggest_alternatives(catalogue, patient, findings) == _alternatives_the_long_way(catalogue, patient,
                                                                                             findings)


def test_alternatives_fall_back_to_products_doing_part_of_the_job(catalogue):
    """With every product of a role blocked, the comparison offers partial-role products, and so do the orders."""
    fell_back = 0
    for patient in _random_patients(catalogue, 150, seed=5):
        findings = [Finding("contraindicated", "allergy", pid, "t", "m", (), "expert") for pid in catalogue.products]
        expected = _alternatives_the_long_way(catalogue, patient, findings)
        assert suggest_alternatives(catalogue, patient, findings) == expected
        blocked = blocked_by_screen(catalogue, patient)
        for alternative in expected:
            product = catalogue.products[alternative.replaces]
            same_role = [p for p in catalogue.products.values() if p.id != product.id and p.id not in blocked
                         and {catalogue.substances[c.substance].cls for c in p.actives()}
                         == {catalogue.substances[c.substance].cls for c in product.actives()}]
            fell_back += bool(alternative.use) and not same_role
    assert fell_back > 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_without_quantities_there_is_nothing_to_dose(catalogue, data):
    """With no volume and no protocol figures, the dose and protocol checks the engine skips find nothing."""
    from mesocli.domain.dosing import check_doses, check_protocol
    from mesocli.domain.engine import CheckOptions, _item, has_quantities
    from mesocli.units import parse_quantity

    entries = [("product", p) for p in sorted(catalogue.products)]
    entries += [("substance", s) for s in sorted(catalogue.substances)]
    items = [_item(catalogue, kind, entry_id, syringe)
             for (kind, entry_id), syringe in data.draw(st.lists(st.tuples(st.sampled_from(entries), st.integers(0, 2)),
                                                                max_size=5))]
    indication = data.draw(st.none() | st.sampled_from(sorted(catalogue.indications)))
    options = CheckOptions(
        indication=indication,
        area=data.draw(st.none() | st.sampled_from(sorted(catalogue.areas))),
        max_products=data.draw(st.integers(1, 4)),
        treatment_area=data.draw(st.none() | st.sampled_from(["10 cm^2", "400 cm^2"])),
    )
    if options.treatment_area is not None:
        options.treatment_area = parse_quantity(options.treatment_area, kind="area", what="treatment area")
    patient = ResolvedPatient(age=data.draw(st.none() | st.integers(0, 130)),
                              weight_kg=data.draw(st.none() | st.floats(0.5, 500)))
    assert not has_quantities(items, options)
    assert check_doses(catalogue, patient, items, options) == []
    assert check_protocol(catalogue, items, options) == []


def test_shared_findings_and_their_texts_equal_fresh_ones(catalogue):
    """Checks answered with findings (and finding texts) made before equal checks made from scratch."""
    from mesocli import api
    from mesocli.domain import engine
    from mesocli.domain.patient import Patient
    from mesocli.render import documents

    rng = random.Random(17)
    names = sorted(catalogue.products) + sorted(catalogue.substances)
    requests = [(Patient(allergies=tuple(rng.sample(sorted(catalogue.substances), rng.randint(0, 2))),
                         conditions=tuple(rng.sample(sorted(catalogue.conditions), rng.randint(0, 2))),
                         age=rng.choice([None, 12, 30, 90])),
                 tuple(rng.sample(names, rng.randint(0, 3))), rng.choice([None, *sorted(catalogue.indications)]))
                for _ in range(60)]

    def answers():
        results = [api.check(patient, ingredients=ingredients, indication=indication, catalogue=catalogue)
                   for patient, ingredients, indication in requests]
        return [(documents.check_document(r), documents.check_json(r)) for r in results]

    warm = answers()
    engine._finding.cache_clear()
    assert answers() == warm


def test_kept_citations_equal_fresh_ones(catalogue):
    """A provenance's kept citation is its own, for catalogue facts, equal copies and passing objects alike."""
    from mesocli.domain import engine
    from mesocli.domain.model import Provenance, Source

    provenances = [rule.provenance for rule in catalogue.rules] + [p.provenance for p in catalogue.products.values()]
    provenances += [Provenance(p.evidence, tuple(Source(s.title, s.url) for s in p.sources)) for p in provenances]
    for _ in range(2):
        for provenance in provenances:
            assert engine._cited(provenance) == tuple(provenance.cited())
    for number in range(3 * engine._CITED_LIMIT):  # passing objects, each cited once, then dropped
        provenance = Provenance("expert", (Source(f"source {number}"),))
        assert engine._cited(provenance) == (f"source {number}",)
    assert len(engine._CITED) <= engine._CITED_LIMIT


def test_shared_named_items_equal_fresh_ones_after_checks(catalogue):
    """Items kept for named ingredients equal freshly made ones, before and after checks have used them."""
    from mesocli import api
    from mesocli.domain.engine import _item, items_from_names
    from mesocli.domain.patient import Patient

    names = sorted(catalogue.products) + sorted(catalogue.substances)

    def fresh(name):
        found = catalogue.resolve_ingredient(name)
        return _item(catalogue, found.kind, found.id)

    assert items_from_names(catalogue, names) == [fresh(n) for n in names]
    rng = random.Random(23)
    for _ in range(100):
        picked = rng.sample(names, rng.randint(1, 5))
        allergies = tuple(rng.sample(sorted(catalogue.substances), rng.randint(0, 2)))
        api.check(Patient(allergies=allergies), ingredients=picked + picked[:1],
                  indication=rng.choice([None, *sorted(catalogue.indications)]), max_products=rng.randint(1, 3),
                  catalogue=catalogue)
    assert items_from_names(catalogue, names) == [fresh(n) for n in names]


def test_kept_fit_findings_equal_fresh_ones(catalogue):
    """What an indication says of an item, kept per catalogue, equals what is worked out afresh."""
    import pickle

    from mesocli.domain.engine import CheckOptions, Component, Item, _Context, _item

    items = [_item(catalogue, "product", pid, 1) for pid in sorted(catalogue.products)]
    items += [_item(catalogue, "substance", sid) for sid in sorted(catalogue.substances)]
    items += [Item(sid, None, (Component(sid, "active"),)) for sid in sorted(catalogue.substances)]  # as in recipes
    for _ in range(2):  # the second round reads what the first kept
        fresh = pickle.loads(pickle.dumps(catalogue))
        for indication in sorted(catalogue.indications):
            warm_context = _Context(catalogue, ResolvedPatient(), items, CheckOptions(indication=indication), False)
            fresh_context = _Context(fresh, ResolvedPatient(), items, CheckOptions(indication=indication), False)
            for item in items:
                assert warm_context.fit_of(item, indication) == fresh_context._fit_of(item, indication), item


def _items_of_every_kind(catalogue):
    from mesocli.domain.engine import Component, Item, _item

    items = [_item(catalogue, "product", pid) for pid in sorted(catalogue.products)]
    items += [_item(catalogue, "substance", sid) for sid in sorted(catalogue.substances)]
    items += [Item(sid, None, (Component(sid, "active"),)) for sid in sorted(catalogue.substances)]  # as in recipes
    return items


def test_allergy_findings_kept_per_item_and_allergy_add_up_to_the_patients(catalogue):
    """Each allergy's findings on an item, kept per item and allergy, are together what all the
    patient's allergies find on it at once."""
    from mesocli.domain.engine import _allergy_findings, item_allergy_findings

    items = _items_of_every_kind(catalogue)
    rng = random.Random(5)
    for patient in _random_patients(catalogue, 120, seed=13):
        reaches = _reaches(catalogue, patient.allergies)
        for item in rng.sample(items, 25):
            apart = [f for allergy in patient.allergies for f in _allergy_findings(catalogue, item, allergy)]
            together = item_allergy_findings(catalogue, item, reaches)
            assert sorted(apart, key=Finding.sort_key) == sorted(together, key=Finding.sort_key), (patient, item)


def test_a_group_and_a_substance_of_the_same_id_give_one_finding_per_item(catalogue):
    """Were a clinic to add an allergen group with a substance's id, an allergy to both still gives
    one finding per ingredient for that id, the worse of the two."""
    import dataclasses
    import pickle

    from mesocli.domain.engine import check_items, items_from_names

    cat = pickle.loads(pickle.dumps(catalogue))
    group = next(iter(cat.groups.values()))
    cat.groups["lidocaine"] = dataclasses.replace(group, id="lidocaine", members=("lidocaine",), origins=())
    both = ResolvedPatient(allergies=(("group", "lidocaine"), ("substance", "lidocaine")))
    result = check_items(cat, both, items_from_names(cat, ["lidocaine", "lidocaine-1pct-sd"]))
    allergy = [(f.subject, f.trigger) for f in result.findings if f.kind == "allergy"]
    assert allergy and len(allergy) == len(set(allergy))
    assert {s for s, _ in allergy} == {"lidocaine", "lidocaine-1pct-sd"}
    assert all(f.severity == "contraindicated" for f in result.findings if f.kind == "allergy")


def test_kept_syringe_and_product_findings_equal_fresh_ones(catalogue):
    """Findings kept per syringe (mixing) and per ingredient (market status, vehicle, labelled
    areas) are what a catalogue that has answered nothing before finds."""
    import pickle

    from mesocli import api
    from mesocli.domain.patient import Patient
    from mesocli.render.documents import check_document

    rng = random.Random(31)
    products = sorted(catalogue.products)
    substances = sorted(catalogue.substances)
    areas = [None, *sorted(catalogue.areas)]
    recipes = []
    for _ in range(60):
        syringes = []
        for _syringe in range(rng.randint(1, 3)):
            components = [{"id": p, "volume": "1 mL"} for p in rng.sample(products, rng.randint(1, 4))]
            components += [{"substances": [{"id": s, "concentration": "2 mg/mL"}], "volume": "0.5 mL"}
                           for s in rng.sample(substances, rng.randint(0, 2))]
            if rng.random() < 0.3:
                components.append(dict(components[0]))  # the same ingredient twice in one syringe
            syringes.append({"components": components})
        area = rng.choice(areas)
        recipes += [({"syringes": syringes}, area, limit) for limit in (4, 1, 2)]  # limits change the findings

    def answer(cat, recipe, area, limit):
        try:
            return check_document(api.check(Patient(), recipe=recipe, area=area, max_products=limit, catalogue=cat))
        except Exception as exc:  # an input error is an answer too
            return repr(exc)

    warm = [answer(catalogue, *r) for r in recipes]
    assert sum(isinstance(a, dict) for a in warm) > 120  # most recipes are checked, not refused
    again = [answer(catalogue, *r) for r in reversed(recipes)][::-1]
    fresh = [answer(pickle.loads(pickle.dumps(catalogue)), *r) for r in recipes]
    assert warm == again == fresh


def test_pairs_are_kept_up_to_their_limit(catalogue, monkeypatch):
    """Facts kept per ingredient and term stay bounded: at the limit they are dropped and worked
    out again, with the same answers."""
    import pickle

    from mesocli import api
    from mesocli.domain.patient import Patient
    from mesocli.render.documents import check_document

    cat = pickle.loads(pickle.dumps(catalogue))
    monkeypatch.setattr(type(cat), "PAIRS_LIMIT", 8)
    names = sorted(cat.products)[:20]
    allergies = sorted(cat.substances)[:10]
    documents = []
    for name in names:
        result = api.check(Patient(allergies=tuple(allergies)), ingredients=[name], catalogue=cat)
        documents.append(check_document(result))
        assert len(cat.pairs) <= 8
    fresh = pickle.loads(pickle.dumps(catalogue))
    patient = Patient(allergies=tuple(allergies))
    assert documents == [check_document(api.check(patient, ingredients=[n], catalogue=fresh)) for n in names]


def test_contraindications_kept_per_item_equal_those_rule_by_rule(catalogue):
    """What the patient's conditions and medications find, kept per item, equals firing each
    rule on every item in catalogue order, on a warm catalogue and on a fresh one."""
    import pickle

    from mesocli.domain.engine import CheckOptions, _Context, _fired_contraindications

    items = _items_of_every_kind(catalogue)
    rng = random.Random(17)
    fresh = pickle.loads(pickle.dumps(catalogue))
    patients = list(_random_patients(catalogue, 150, seed=19))
    assert sum(bool(p.conditions or p.medications or p.medication_classes) for p in patients) > 100
    for patient in patients:
        chosen = rng.sample(items, rng.randint(1, 5))
        chosen += chosen[:1]  # the same ingredient twice
        rule_by_rule = _Context(fresh, patient, chosen, CheckOptions(), False)
        for rule, kind, trigger in _fired_contraindications(fresh, patient.conditions, patient.medications,
                                                            patient.medication_classes):
            rule_by_rule.scoped(rule, kind, trigger)
        kept = _Context(catalogue, patient, chosen, CheckOptions(), False)
        kept.contraindications()
        assert (sorted(kept.findings.values(), key=Finding.sort_key)
                == sorted(rule_by_rule.findings.values(), key=Finding.sort_key)), patient
