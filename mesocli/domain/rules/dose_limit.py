"""Dose limits. One rule kind, several dose kinds, each one line in :data:`DOSE_KINDS`: how it
is read from the catalogue and how a request is held against it.

Mass limits (per session, per kg with an absolute cap, per area) are compared with the amount
of the substance across every syringe of the session; the others with the request's points,
volume per point, sessions or interval. A substance with mass limits in an item without a
volume gets one finding saying which of its limits could not be applied (fail closed: a check
without volumes is never a silent pass of the dose limits).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesocli.domain.dosing import (
    Limit,
    amounts_text,
    companions_of,
    dose_forms,
    dose_name,
    dose_subject,
    dose_totals,
    dosed_as,
    exceeds,
    form_amounts,
    governing,
    mass_limit,
    mg_text,
    shorter,
)
from mesocli.domain.model import EVIDENCE_GRADES, Rule, Substance
from mesocli.domain.rules.base import Check, Context, Finding, NoParams, finding_on, has_quantities, no_params, wording
from mesocli.units import Amount, format_quantity, format_value, settle

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.domain.catalogue import Catalogue


@dataclass(frozen=True, slots=True)
class Params:
    dose_kind: str
    amount: Amount | None = None  # per kg, per area, volume per point or minimum interval
    cap: Amount | None = None  # the absolute mass cap
    count: int | None = None  # points or sessions
    unless_with: str | None = None  # the limit does not apply when mixed with this substance
    only_with: str | None = None  # the limit applies only when mixed with this substance
    area: str | None = None  # the limit holds at this body area only (a label's area)


# ------------------------------------------------------------------------------- reading
def _count(row: Any, key: str) -> int:
    count = row.integer(key, minimum=1)
    if count is None:
        raise row.fail(f"'{key}' is required")
    return count  # type: ignore[no-any-return]


# dose kind -> the parameters of its TOML table (as keyword arguments of Params)
READERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "per-session": lambda row: {"cap": row.amount("cap", "mass", required=True)},
    "per-kg": lambda row: {"amount": row.amount("per_kg", "mass-per-body-mass", required=True),
                           "cap": row.amount("cap", "mass", required=True)},
    "per-area": lambda row: {"amount": row.amount("per_area", "mass-per-area", required=True),
                             "cap": row.amount("cap", "mass")},
    "per-point-volume": lambda row: {"amount": row.amount("max_volume_per_point", "volume", required=True)},
    "points": lambda row: {"count": _count(row, "max_points")},
    "sessions": lambda row: {"count": _count(row, "max_sessions")},
    "interval": lambda row: {"amount": row.amount("min_interval", "time", required=True)},
}


def read(row: Any) -> Params:
    dose_kind = row.choice("kind", READERS)
    values = READERS[dose_kind](row)
    for key in ("unless_with", "only_with", "area"):
        if row.data.get(key) is not None:
            values[key] = row.slug(key)
    return Params(dose_kind, **values)


def references(params: Params) -> Iterator[tuple[str, str]]:
    for ref in (params.unless_with, params.only_with):
        if ref is not None:
            yield "substance", ref
    if params.area is not None:
        yield "area", params.area


# ------------------------------------------------------------------------------- evaluating
@dataclass(frozen=True, slots=True)
class _Dose:
    """One dose rule held against one substance of the request: ``substance`` is what it is
    dosed as, ``name`` and ``trigger`` name the forms of it the request holds, ``summed`` the
    amount of each form when several were added up."""

    ctx: Context
    rule: Rule
    substance: Substance
    subject: str
    totals: dict[str, Any]
    unknown: set[str]
    name: str
    trigger: str
    summed: str = ""

    def finding(self, message: str, *, kind: str = "dose", severity: str | None = None,
                advice: str | None = None, unassessed: str | None = None) -> Finding:
        provenance = self.rule.provenance
        area = self.rule.params.area
        if area is not None and self.ctx.options.area is None:
            message += (f" This limit holds at the {area} area; the area was not given, so it is applied "
                        "(give --area).")
        return finding_on(provenance, severity or self.rule.severity, kind, self.subject, self.trigger, message,
                          advice, unassessed=unassessed)


def _mass(dose: _Dose) -> Iterator[Finding]:
    rule, name, sid = dose.rule, dose.name, dose.substance.id
    if sid not in dose.totals:
        if sid in dose.unknown:
            yield dose.finding(f"The amount of {name} cannot be worked out (concentration unknown), "
                               f"so its limit could not be checked. {rule.message}", severity="caution",
                               advice="Record the concentration of the product used.",
                               unassessed=f"strength of {name}")
        return
    if sid in dose.unknown:
        yield dose.finding(f"Part of the amount of {name} cannot be worked out (a concentration is "
                           f"unknown), so its limit could not be fully checked. {rule.message}", severity="caution",
                           advice="Record the concentration of every product used.",
                           unassessed=f"strength of {name}")
    limit = mass_limit(rule, dose.ctx.patient, dose.ctx.options.treatment_area)
    total, unit = dose.totals[sid]
    if unit != "mg":  # an activity without a mass factor: no mass limit applies
        return
    amount = f"{name} {format_value(total, unit)}"
    if dose.summed:  # e.g. "Dosed as one substance, A 1500 mg + B 1500 mg = 3000 mg"
        amount = f"{dose.summed} = {format_value(total, unit)}"
    if limit.mg is not None and settle(total) > settle(limit.mg):  # both in mg
        yield dose.finding(f"{amount} exceeds the limit "
                           f"{mg_text(limit.mg)} ({limit.working}). {rule.message}",
                           advice=rule.advice or "Reduce the volume.")
    elif rule.params.dose_kind == "per-kg":
        yield from _per_kg_within(dose, limit, total)
    elif limit.missing:
        yield dose.finding(f"{amount}: give the {limit.missing} to "
                           f"check the {rule.params.dose_kind} limit ({limit.working}).",
                           severity="caution" if rule.params.dose_kind == "per-area" else "info",
                           advice=f"Give the {limit.missing}.", unassessed=limit.missing)


# The formulation default that says how close to a per-kg limit an amount is "near" it (a
# fraction; data/clinical.toml gives its rationale).
NEAR = "dose-near-fraction"


def _per_kg_within(dose: _Dose, limit: Limit, mg: float) -> Iterator[Finding]:
    """An amount within a per-kg limit. Without a weight only the absolute ceiling is applied: the
    finding asks for the weight and says from which weight the amount is within the per-kg limit,
    as a caution when the amount is near the ceiling (:data:`NEAR`), else as information. With a
    weight, an amount near the limit that applies is a caution."""
    rule, name = dose.rule, dose.name
    params = rule.params
    assert limit.mg is not None and params.amount is not None
    near = float(dose.ctx.cat.setting(NEAR))
    close = mg >= near * limit.mg
    share = f"{mg / limit.mg:.0%}"
    if limit.missing:
        per_kg = params.amount.canonical  # mg per kg
        text = (f"{name} {mg_text(mg)}: the patient's weight is not given, so only the absolute ceiling "
                f"{mg_text(limit.mg)} was applied; the {format_quantity(params.amount)} limit needs the weight "
                f"(this amount is within it for a patient of at least {mg / per_kg:.3g} kg).")
        if close:  # near the ceiling, a light patient's per-kg limit may already be exceeded
            text += f" The amount is near the ceiling ({share} of it)."
        yield dose.finding(f"{text} {rule.message}", severity="caution" if close else "info",
                           advice="Give the patient's weight before injecting this amount.",
                           unassessed="patient's weight")
    elif close:
        yield dose.finding(f"{name} {mg_text(mg)} is near the limit {mg_text(limit.mg)} ({share} of it; "
                           f"{limit.working}). {rule.message}", severity="caution",
                           advice=rule.advice or "Reduce the volume.")


def _per_point_volume(dose: _Dose) -> Iterator[Finding]:
    volume_per_point = dose.ctx.options.volume_per_point
    cap = dose.rule.params.amount
    if volume_per_point is not None and exceeds(volume_per_point, cap):
        yield dose.finding(f"{format_quantity(volume_per_point)} per point exceeds "
                           f"{format_quantity(cap)} for {dose.name}. {dose.rule.message}",
                           advice=dose.rule.advice)


def _points(dose: _Dose) -> Iterator[Finding]:
    points, most = dose.ctx.options.points, dose.rule.params.count
    if points is not None and points > most:
        yield dose.finding(f"{points} injection points exceed {most} per session for "
                           f"{dose.name}. {dose.rule.message}", advice=dose.rule.advice)


def _sessions(dose: _Dose) -> Iterator[Finding]:
    sessions, most = dose.ctx.options.sessions, dose.rule.params.count
    if sessions is not None and sessions > most:
        yield dose.finding(f"{sessions} sessions exceed {most} for {dose.name}. {dose.rule.message}",
                           kind="protocol", advice=dose.rule.advice)


def _interval(dose: _Dose) -> Iterator[Finding]:
    interval, minimum = dose.ctx.options.interval, dose.rule.params.amount
    if interval is not None and shorter(interval, minimum):
        yield dose.finding(f"An interval of {format_quantity(interval)} is shorter than "
                           f"{format_quantity(minimum)} for {dose.name}. {dose.rule.message}",
                           kind="protocol", advice=dose.rule.advice)


# dose kind -> how a request is held against a rule of that kind
EVALUATORS: dict[str, Callable[[_Dose], Iterator[Finding]]] = {
    "per-session": _mass,
    "per-kg": _mass,
    "per-area": _mass,
    "per-point-volume": _per_point_volume,
    "points": _points,
    "sessions": _sessions,
    "interval": _interval,
}


def evaluate(ctx: Context) -> Iterator[Finding]:
    """Every dose rule held against the request. The forms of a substance (``dose_as``) are
    one substance here: their amounts add up, and its rules apply to the sum."""
    cat, items = ctx.cat, ctx.items
    ruled, dosed = cat.dose_ruled, any(item.volume is not None for item in items)
    # What a finding can be about: a substance some dose rule concerns and, once there is a
    # volume, any substance (an amount no sourced limit governs is reported too).
    held = [(item, sid) for item in items for sid in item.sids if dosed or sid in ruled]
    if not held:
        return
    forms_of = dose_forms(cat, (sid for _, sid in held))  # by dose id
    amounts: dict[str, tuple[float, str]] = {}
    totals: dict[str, tuple[float, str]] = {}
    unknown: set[str] = set()
    actives: set[str] = set()
    if dosed:  # without any volume there is no amount of anything
        amounts, unknown_forms = form_amounts(cat, items)
        totals, unknown = dose_totals(cat, amounts, unknown_forms)
        actives = {cat.dose_id(c.substance) for item in items for c in item.components if c.role == "active"}
    # Without a volume or a protocol figure no limit can be held against the request: each
    # rule's evaluator would find nothing, and only the limits left unapplied are reported.
    quantities = dosed or has_quantities(items, ctx.options)
    subject_of: dict[str, str] = {}  # dose id -> the first subject holding a form of it
    without_volume: dict[str, set[str]] = {}  # dose id -> the subjects that hold it and have no volume
    for item, sid in held:
        key = cat.dose_id(sid)
        subject_of.setdefault(key, item.subject)
        if item.volume is None:
            without_volume.setdefault(key, set()).add(item.subject)
    companions = companions_of(items, cat)
    for key, substance, forms, rules in governing(cat, forms_of, companions, ctx.options.area):
        if not rules and not (key in actives and key in totals):
            continue  # no limit governs it, and no amount of it to report
        name, trigger = dose_name(cat, key, forms), dose_subject(key, forms)
        summed = amounts_text(cat, forms, amounts)
        if summed:
            summed = f"{dosed_as(cat, key, forms).capitalize()}, {summed}"
        not_applied: list[Rule] = []
        capped = False
        for rule in rules:
            if rule.params.dose_kind in _MASS_KINDS and rule.provenance.evidence != "unsourced":
                capped = True
            if rule.params.dose_kind in _MASS_KINDS and without_volume.get(key):
                not_applied.append(rule)
                if key not in totals and key not in unknown:
                    continue  # no amount at all: the one finding below says so
            if not quantities:
                continue
            dose = _Dose(ctx, rule, substance, subject_of[key], totals, unknown, name, trigger, summed)
            yield from EVALUATORS[rule.params.dose_kind](dose)
        if not_applied:
            subjects = sorted(without_volume[key])  # the first, whatever the order of the items
            yield _without_volume(ctx, name, trigger, subjects[0], not_applied, subjects,
                                  partly=key in totals or key in unknown)
        if not capped and key in actives and key in totals:
            yield _no_limit(ctx, name, trigger, subject_of[key], totals[key], substance)


NO_LIMIT = "no_dose_limit"  # the rule kind that words the finding on an amount with no sourced limit


def _no_limit(ctx: Context, name: str, trigger: str, subject: str, total: tuple[float, Any],
              substance: Substance) -> Finding:
    """The finding on an active whose amount no sourced mass limit of the catalogue governs."""
    rule = wording(ctx.cat, NO_LIMIT)
    area = ctx.options.area
    where = f" at the {area} area" if area else ""
    return finding_on(substance.provenance, rule.severity, "dose", subject, trigger,
                      rule.message.format(name=name, amount=format_value(*total), where=where), rule.advice)


_MASS_KINDS = frozenset({"per-session", "per-kg", "per-area"})


def _without_volume(ctx: Context, name: str, trigger: str, subject: str, rules: list[Rule], subjects: list[str],
                    *, partly: bool) -> Finding:
    """The one finding on a substance (``name``, triggered by ``trigger``): its mass limits
    (``rules``) could not be applied, or (``partly``) were applied to only part of its amount,
    because ``subjects`` have no volume."""
    texts = [ctx.cat.limit_texts[rule.id] for rule in rules]
    if len({rule.severity for rule in rules}) > 1:  # e.g. caution above one, contraindicated above the other
        texts = [f"{text}, {rule.severity} above" for text, rule in zip(texts, rules, strict=True)]
    limits = "; ".join(texts)
    plural = "s" if len(rules) > 1 else ""
    citations = tuple(dict.fromkeys(c for rule in rules for c in rule.provenance.citations))
    references = tuple(dict.fromkeys(r for rule in rules for r in rule.provenance.sources))
    evidence = max((rule.provenance.evidence for rule in rules), key=EVIDENCE_GRADES.index)  # the weakest
    if partly:
        where = ", ".join(subjects)
        return Finding("caution", "dose", subject, trigger,
                       f"{name}: no volume given for {where}, so its dose limit{plural} ({limits}) "
                       "could be applied only to the part of its amount with a volume.",
                       citations, evidence, advice="Give the volume of every item.", references=references,
                       unassessed="volume")
    return Finding("info", "dose", subject, trigger,
                   f"{name}: no volume given, so its dose limit{plural} ({limits}) could not be applied.",
                   citations, evidence, advice="Give the volume to check the dose limits.", references=references,
                   unassessed="volume")


def limit_texts(catalogue: Catalogue) -> dict[int, str]:
    """Each mass limit in a few words, by rule id: worked out with pint when the catalogue is
    indexed and kept with it, so a check that names a limit it could not apply needs no pint."""
    return {rule.id: limit_text(catalogue, rule) for rule in catalogue.rules_by_kind.get("dose_limit", ())
            if rule.params.dose_kind in _MASS_KINDS}


def limit_text(catalogue: Catalogue, rule: Rule) -> str:
    """A mass limit in a few words, e.g. ``4.5 mg/kg up to 300 mg per session without epinephrine``."""
    params = rule.params
    cap = format_quantity(params.cap) if params.cap else None
    if params.dose_kind == "per-session":
        text = f"{cap} per session"
    else:
        text = format_quantity(params.amount) + (f" up to {cap}" if cap else "") + " per session"
    for word, ref in (("with", params.only_with), ("without", params.unless_with)):
        if ref is not None:
            other = catalogue.substances.get(ref)
            text += f" {word} {other.name if other is not None else ref}"
    if params.area is not None:
        area = catalogue.areas.get(params.area)
        text += f" ({area.name if area is not None else params.area} only)"
    return text


# "request": also without any quantity, so that limits a missing volume leaves unapplied are named.
CHECK = Check("dose_limit", "request", evaluate, params=Params, read=read, scoped=True,
              columns={"dose_kind": "dose_kind", "amount": "amount", "cap": "cap", "count": "count",
                       "unless_with": "unless_with", "only_with": "only_with", "area": "area_id"},
              references=references)
# The rule that words the finding on an amount with no sourced limit (data/clinical.toml).
WORDING = Check(NO_LIMIT, None, None, params=NoParams, read=no_params)
