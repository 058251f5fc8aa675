"""A full screen's alternatives: the screen has judged the patient's terms on every candidate
already, so only market status is judged again; the alternatives are the ones the patient's
terms, judged one by one, give."""

from __future__ import annotations

import random

from mesocli.domain import engine
from mesocli.domain.engine import CheckOptions, ResolvedPatient, check_items, suggest_alternatives


def _patients(catalogue, count: int, seed: int):
    rng = random.Random(seed)
    allergies = sorted([("group", g) for g in catalogue.groups] + [("substance", s) for s in catalogue.substances])
    conditions, medications = sorted(catalogue.conditions), sorted(catalogue.medications)
    for _ in range(count):
        meds = tuple(rng.sample(medications, rng.randint(0, 2)))
        yield ResolvedPatient(
            allergies=tuple(rng.sample(allergies, rng.randint(1, 3))),
            conditions=tuple(rng.sample(conditions, rng.randint(0, 2))),
            medications=meds,
            medication_classes=tuple(dict.fromkeys(c for m in meds for c in catalogue.medication_classes_of(m))),
            age=rng.choice([None, 5, 16, 17, 18, 40, 66, 80]),
            sex=rng.choice([None, "female", "male"]),
        )


def test_a_screen_gives_the_alternatives_of_the_terms_judged_one_by_one(catalogue, monkeypatch):
    screened = 0
    for patient in _patients(catalogue, 30, seed=41):
        result = check_items(catalogue, patient, None)
        if result.status != "contraindicated":
            continue
        screened += 1
        assert result.alternatives == suggest_alternatives(catalogue, patient, result.findings)
    assert screened >= 10  # the comparison is not empty


def test_a_screen_with_other_options_judges_every_term(catalogue, monkeypatch):
    """A screen with an indication or area is not the plain screen the verdicts rest on: every
    term is judged (one call per term and candidate at least)."""
    judged: list[object] = []
    judge = engine._judge
    monkeypatch.setattr(engine, "_judge", lambda *args: judged.append(args[3]) or judge(*args))
    engine._VERDICTS.pop(catalogue, None)
    monkeypatch.setattr(engine, "VERDICTS_KEPT", 1)  # nothing kept: every verdict is judged
    patient = ResolvedPatient(allergies=(("substance", "lidocaine"),))
    plain = check_items(catalogue, patient, None)
    assert plain.alternatives and set(judged) == {engine._NO_TERM}
    judged.clear()
    other = check_items(catalogue, patient, None, CheckOptions(max_products=2))
    assert other.alternatives == plain.alternatives
    assert set(judged) == {engine._NO_TERM, ((("substance", "lidocaine"),), (), (), (), None)}
