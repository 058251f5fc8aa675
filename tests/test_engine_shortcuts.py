"""The engine's precomputed shortcuts give exactly what the long way round gives."""

from __future__ import annotations

import random

from mesocli.domain.engine import (
    ResolvedPatient,
    _blocked,
    _exposures,
    allergy_exposures,
    blocked_by_screen,
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
    """Each allergy's reach, kept per catalogue and joined in order, equals the patient's reach."""
    for patient in _random_patients(catalogue, 150, seed=11):
        joined = {k: v for k, v in _exposures(catalogue, patient.allergies).items() if v}
        direct = {k: v for k, v in allergy_exposures(catalogue, patient.allergies).items() if v}
        assert joined == direct


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


def test_remembered_name_lookups_equal_fresh_ones(catalogue):
    """A name found once is found the same way again, in any spelling, and unknown names stay unknown."""
    import pickle

    kinds = [("group", "substance"), ("condition",), ("medication", "medication-class"), ("product", "substance"),
             ("indication",), ("area",), ("substance",), ("product",)]
    names = sorted({text for table in catalogue._names.values() for text in table})
    spellings = [variant for name in names for variant in (name, name.upper(), f" {name.replace('-', ' ')} ")]
    spellings += ["no-such-name", "lidocain", "LIDOCAINE allergy"]
    for _ in range(2):  # the second round reads what the first remembered
        fresh = pickle.loads(pickle.dumps(catalogue))
        for kind in kinds:
            for term in spellings:
                assert catalogue.lookup(kind, term) == fresh.lookup(kind, term), (kind, term)
