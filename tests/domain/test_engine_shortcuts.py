"""The engine's behaviour where it takes a short way: alternatives walk the catalogue index
instead of comparing every entry after a full screen; stages skip checks that cannot find
anything; results never depend on what was asked before."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesocli.domain.engine import (
    Alternative,
    CheckOptions,
    Finding,
    ResolvedPatient,
    check_items,
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


def _blocked_by_a_screen(catalogue, patient):
    """Every product and substance a full screen of ``patient`` finds contraindicated."""
    screen = check_items(catalogue, patient, None, CheckOptions(alternatives=False, screen_regulatory=True))
    return frozenset(f.subject for f in screen.findings if f.severity == "contraindicated")


def _alternatives_the_long_way(catalogue, patient, findings):
    """Every product or substance compared with every other, for each contraindicated subject."""
    def classes(product):
        return frozenset(catalogue.substances[c.substance].cls for c in product.actives())

    subjects = [s for s in dict.fromkeys(f.subject for f in findings if f.severity == "contraindicated")
                if s != "procedure"]
    blocked = _blocked_by_a_screen(catalogue, patient) if subjects else frozenset()
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
def test_alternatives_from_the_index_equal_a_full_comparison_after_a_screen(catalogue, data):
    """Alternatives found by walking the index equal comparing every entry with every other after
    a full screen of the patient."""
    patient, findings = data.draw(_patient_and_findings(catalogue))
    assert suggest_alternatives(catalogue, patient, findings) == _alternatives_the_long_way(catalogue, patient,
                                                                                             findings)


def test_offered_alternatives_are_safe_for_the_patient(catalogue):
    """Every alternative offered, checked alone for the patient, has nothing contraindicated."""
    from mesocli.domain.engine import items_from_names

    offered = 0
    for patient in _random_patients(catalogue, 60, seed=23):
        findings = [Finding("contraindicated", "allergy", s, "t", "m", (), "expert")
                    for s in sorted(catalogue.products)[::7] + sorted(catalogue.substances)[::9]]
        for alternative in suggest_alternatives(catalogue, patient, findings):
            for entry in alternative.use:
                offered += 1
                alone = check_items(catalogue, patient, items_from_names(catalogue, [entry]),
                                    CheckOptions(alternatives=False))
                assert not [f for f in alone.findings if f.severity == "contraindicated" and f.subject == entry], (
                    patient, entry)
    assert offered > 100


def test_alternatives_fall_back_to_products_doing_part_of_the_job(catalogue):
    """With every product of a role blocked, the comparison offers partial-role products, and so do the orders."""
    fell_back = 0
    for patient in _random_patients(catalogue, 150, seed=5):
        findings = [Finding("contraindicated", "allergy", pid, "t", "m", (), "expert") for pid in catalogue.products]
        expected = _alternatives_the_long_way(catalogue, patient, findings)
        assert suggest_alternatives(catalogue, patient, findings) == expected
        blocked = _blocked_by_a_screen(catalogue, patient)
        for alternative in expected:
            product = catalogue.products[alternative.replaces]
            same_role = [p for p in catalogue.products.values() if p.id != product.id and p.id not in blocked
                         and {catalogue.substances[c.substance].cls for c in p.actives()}
                         == {catalogue.substances[c.substance].cls for c in product.actives()}]
            fell_back += bool(alternative.use) and not same_role
    assert fell_back > 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_without_quantities_the_dose_check_only_says_which_limits_it_could_not_apply(catalogue, data):
    """With no volume and no protocol figures the engine skips the protocol check (run anyway on
    the same request, it finds nothing, so skipping it loses nothing). The dose check runs: it
    gives one info finding per substance with mass limits, saying they could not be applied, and
    nothing else."""
    from mesocli.domain.dosing import companions_of, dose_forms, dose_subject, rule_applies
    from mesocli.domain.engine import _item
    from mesocli.domain.rules import dose_limit, protocol
    from mesocli.domain.rules.base import Context, has_quantities
    from mesocli.units import parse_quantity

    entries = [("product", p) for p in sorted(catalogue.products)]
    entries += [("substance", s) for s in sorted(catalogue.substances)]
    items = [_item(catalogue, kind, entry_id, syringe)
             for (kind, entry_id), syringe in data.draw(st.lists(st.tuples(st.sampled_from(entries), st.integers(0, 2)),
                                                                min_size=1, max_size=5))]
    options = CheckOptions(
        indication=data.draw(st.none() | st.sampled_from(sorted(catalogue.indications))),
        area=data.draw(st.none() | st.sampled_from(sorted(catalogue.areas))),
        max_products=data.draw(st.integers(1, 4)),
        treatment_area=data.draw(st.none() | st.sampled_from(["10 cm^2", "400 cm^2"])),
    )
    if options.treatment_area is not None:
        options.treatment_area = parse_quantity(options.treatment_area, kind="area", what="treatment area")
    patient = ResolvedPatient(age=data.draw(st.none() | st.integers(0, 130)),
                              weight_kg=data.draw(st.none() | st.floats(0.5, 500)))
    assert not has_quantities(items, options)
    ctx = Context(catalogue, patient, items, options, screened=False)
    assert dose_limit.CHECK.runs(ctx) and not protocol.CHECK.runs(ctx)
    assert list(protocol.evaluate(ctx)) == []
    companions = companions_of(items, catalogue)
    # the forms of one substance (dose_as) are one substance for dosing: one finding for them
    forms_of = dose_forms(catalogue, (sid for item in items for sid in item.sids))
    limited = {dose_subject(key, forms) for key, forms in forms_of.items()
               if any(rule.params.dose_kind in ("per-session", "per-kg", "per-area")
                      and rule_applies(rule, catalogue.substances[key],
                                       [group for sid in forms for group in companions.get(sid, [])],
                                       catalogue.dose_id, area=options.area)
                      for rule in catalogue.dose_rules_for(catalogue.substances[key]))}
    findings = list(dose_limit.evaluate(ctx))
    assert sorted(f.trigger for f in findings) == sorted(limited)  # one per substance with mass limits
    for f in findings:
        assert (f.severity, f.kind) == ("info", "dose")
        assert "no volume given, so its dose limit" in f.message and "could not be applied" in f.message
        assert f.sources and f.evidence


def test_the_dose_check_runs_as_soon_as_there_is_a_volume(catalogue):
    """The same request with a volume: the dose check runs, and a dose over a limit is found."""
    from mesocli.domain.engine import _item
    from mesocli.domain.rules import dose_limit
    from mesocli.domain.rules.base import Context
    from mesocli.units import parse_quantity

    item = _item(catalogue, "product", "lidocaine-1pct-sd")
    item.volume = parse_quantity("40 mL", kind="volume", what="volume")
    ctx = Context(catalogue, ResolvedPatient(weight_kg=60.0), [item], CheckOptions(), screened=False)
    assert dose_limit.CHECK.runs(ctx)
    assert [f.kind for f in dose_limit.evaluate(ctx)] == ["dose"]


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


def test_names_resolve_alike_on_a_fresh_catalogue(catalogue):
    """A name resolves the same way again, in any spelling, on a catalogue that served others and on a
    fresh one; a bad name fails the same way again."""
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

    for _ in range(2):  # the second round asks again what the first asked
        fresh = pickle.loads(pickle.dumps(catalogue))
        for resolver, kinds in resolvers.items():
            names = sorted({text for kind in kinds for text in catalogue._names[kind]})
            spellings = [variant for name in names for variant in (name, name.upper(), f" {name.replace('-', ' ')} ")]
            spellings += ["LIDOCAINE allergy", "allergic to parabens"] if resolver == "resolve_allergy" else []
            for term in spellings + failing:
                assert outcome(catalogue, resolver, term) == outcome(fresh, resolver, term), (resolver, term)


def test_a_group_and_a_substance_of_the_same_id_give_one_finding_per_item(catalogue):
    """Were a clinic to add an allergen group with a substance's id, an allergy to both still gives
    one finding per ingredient for that id, the worse of the two."""
    import dataclasses

    from mesocli.domain.catalogue import Catalogue
    from mesocli.domain.engine import check_items, items_from_names

    group = next(iter(catalogue.groups.values()))
    extra = dataclasses.replace(group, id="lidocaine", members=frozenset({"lidocaine"}), origins=frozenset())
    cat = Catalogue(
        substances=catalogue.substances.values(), products=catalogue.products.values(),
        groups=[*catalogue.groups.values(), extra], crosses=catalogue.crosses,
        conditions=catalogue.conditions.values(), medication_classes=catalogue.medication_classes.values(),
        medications=catalogue.medications.values(), areas=catalogue.areas.values(),
        indications=catalogue.indications.values(), protocols=catalogue.protocols, rules=catalogue.rules,
        defaults=catalogue.defaults.values())
    both = ResolvedPatient(allergies=(("group", "lidocaine"), ("substance", "lidocaine")))
    result = check_items(cat, both, items_from_names(cat, ["lidocaine", "lidocaine-1pct-sd"]))
    allergy = [(f.subject, f.trigger) for f in result.findings if f.kind == "allergy"]
    assert allergy and len(allergy) == len(set(allergy))
    assert {s for s, _ in allergy} == {"lidocaine", "lidocaine-1pct-sd"}
    assert all(f.severity == "contraindicated" for f in result.findings if f.kind == "allergy")




def test_alternatives_do_not_depend_on_what_the_verdict_memo_holds(catalogue, monkeypatch):
    """With the engine's one memo emptied at every verdict, alternatives are the same as with
    it warm, and both equal the full comparison."""
    from mesocli.domain import engine

    patients = list(_random_patients(catalogue, 40, seed=29))
    findings = [Finding("contraindicated", "allergy", s, "t", "m", (), "expert")
                for s in sorted(catalogue.products)[::5] + sorted(catalogue.substances)[::6]]
    warm = [suggest_alternatives(catalogue, patient, findings) for patient in patients]
    monkeypatch.setattr(engine, "VERDICTS_KEPT", 1)
    cold = [suggest_alternatives(catalogue, patient, findings) for patient in patients]
    assert cold == warm
    assert warm[:10] == [_alternatives_the_long_way(catalogue, patient, findings) for patient in patients[:10]]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_check_finds_the_same_whatever_the_terms_it_does_not_read(catalogue, data):
    """Alternatives judge each term with only the checks that read it (``Check.reads``): each
    check that says what it reads finds the same on patients who differ only in other terms."""
    import dataclasses

    from mesocli.domain.engine import _item
    from mesocli.domain.patient import Patient
    from mesocli.domain.rules import CHECKS
    from mesocli.domain.rules.base import PATIENT_TERMS, Context

    patient, _ = data.draw(_patient_and_findings(catalogue))
    patient = dataclasses.replace(patient, sex=data.draw(st.sampled_from([None, "female", "male"])),
                                  raw=data.draw(st.sampled_from([Patient(), Patient(age=30)])))
    kind = data.draw(st.sampled_from(["product", "substance"]))
    entries = sorted(catalogue.products if kind == "product" else catalogue.substances)
    items = [_item(catalogue, kind, entry) for entry in data.draw(st.lists(st.sampled_from(entries), min_size=1,
                                                                              max_size=3))]
    options = CheckOptions(alternatives=False, screen_regulatory=True)
    declared = [check for check in CHECKS if check.reads is not None]
    assert {check.name for check in declared} >= {"allergy", "contraindication", "age_limit", "regulatory"}
    for check in declared:
        unread = {name: (None if name == "age" else ()) for name in PATIENT_TERMS - check.reads}
        findings = [list(check.evaluate(Context(catalogue, someone, items, options, screened=True)))
                    for someone in (patient, dataclasses.replace(patient, **unread))]
        assert findings[0] == findings[1], check.name
