"""Contraindications: a condition, a medication or a class of medication rules out the
procedure or the ingredients in the rule's scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mesocli.domain.model import Rule
from mesocli.domain.rules.base import PROCEDURE, Check, Context, Finding, finding_of

TRIGGERS = ("condition", "medication", "medication_class")


@dataclass(frozen=True, slots=True)
class Params:
    """Exactly one of the three is set: what fires the rule."""

    condition: str | None = None
    medication: str | None = None
    medication_class: str | None = None


def read(row: Any) -> Params:
    triggers = [k for k in TRIGGERS if row.data.get(k)]
    if len(triggers) != 1:
        raise row.fail("a contraindication needs exactly one of condition, medication, medication_class")
    return Params(**{triggers[0]: row.slug(triggers[0])})


def references(params: Params) -> Iterator[tuple[str, str]]:
    for key in TRIGGERS:
        value = getattr(params, key)
        if value is not None:
            yield key, value


def triggers(rule: Rule) -> Iterator[tuple[str, str]]:
    """The index keys under which ``rule`` is found: ("condition" | "medication" | "class", id)."""
    params = rule.params
    if params.condition is not None:
        yield "condition", params.condition
    if params.medication is not None:
        yield "medication", params.medication
    if params.medication_class is not None:
        yield "class", params.medication_class


def fired(ctx: Context) -> tuple[tuple[Rule, str, str], ...]:
    """The rules the patient's conditions, medications and medication classes fire, in catalogue
    order, each with the kind of finding and the term that fires it (a condition before a
    medication before a class; a class is named by the first medication that belongs to it)."""
    found = ctx.state.get("contraindication")
    if found is not None:
        return found  # type: ignore[no-any-return]
    patient, cat = ctx.patient, ctx.cat
    conditions, medications = patient.conditions, patient.medications  # a few terms each
    by_trigger = cat.rules_by_trigger
    by_id: dict[int, Rule] = {}
    for kind, terms in (("condition", conditions), ("medication", medications), ("class", patient.medication_classes)):
        for term in terms:
            for rule in by_trigger.get(("contraindication", kind, term), ()):
                by_id[rule.id] = rule
    out = []
    for rule_id in sorted(by_id):
        rule = by_id[rule_id]
        params = rule.params
        if params.condition in conditions:
            kind, trigger = "condition", params.condition
        elif params.medication in medications:
            kind, trigger = "medication", params.medication
        else:
            kind = "medication"
            trigger = next((m for m in patient.medications if params.medication_class in cat.medication_classes_of(m)),
                           params.medication_class)
        out.append((rule, kind, trigger))
    ctx.state["contraindication"] = found = tuple(out)
    return found


def evaluate(ctx: Context) -> Iterator[Finding]:
    patient = ctx.patient
    if not (patient.conditions or patient.medications or patient.medication_classes):
        return
    scoped = []
    for rule, kind, trigger in fired(ctx):
        if rule.scope.kind == PROCEDURE:
            yield finding_of(rule, kind, PROCEDURE, trigger)
        else:
            scoped.append((rule, kind, trigger))
    if not scoped:
        return
    for item in ctx.items:
        for rule, kind, trigger in scoped:
            subject = ctx.matches(rule.scope, item)
            if subject is not None:
                yield finding_of(rule, kind, subject, trigger)


CHECK = Check("contraindication", "patient", evaluate, params=Params, read=read, scoped=True,
              columns={"condition": "condition_id", "medication": "medication_id",
                       "medication_class": "medication_class_id"},
              references=references, triggers=triggers,
              reads=frozenset({"conditions", "medications", "medication_classes"}))
