"""Dose arithmetic and dose limits, all through the one pint registry.

An amount is concentration x volume. Amounts of one substance add up across every syringe
of a session. A per-kg limit is the per-kg dose times the weight, never above its absolute
cap (the lower wins). A per-area limit is the per-area dose times the treated area.

The arithmetic is done on magnitudes with conversion factors from the registry (see "arithmetic
in floats" in :mod:`mesocli.units`), so it gives pint's numbers without building a quantity
for every step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.model import Rule, Substance
from mesocli.domain.patient import ResolvedPatient
from mesocli.units import (
    Amount,
    Units,
    as_quantity,
    comparable,
    compatible,
    factor,
    format_quantity,
    format_value,
    has_dimension,
    per,
    reduction,
    times,
    units_of,
)

if TYPE_CHECKING:  # pragma: no cover
    import pint

    from mesocli.domain.engine import CheckOptions, Finding, Item


@dataclass(frozen=True, slots=True)
class Limit:
    """The limit a dose rule sets for this patient, and how it was worked out."""

    rule: Rule
    mg: float | None  # the mass allowed, in mg, or None when it cannot be worked out
    working: str
    missing: str | None = None  # what the user must give for the limit to be checked


def amount_of(substance: Substance, concentration: Amount, volume: pint.Quantity) -> pint.Quantity:
    """The amount of ``substance`` in ``volume`` of a solution at ``concentration``."""
    value, unit = amount_in(substance, concentration, volume.magnitude, units_of(volume))
    return as_quantity(value, unit)


def amount_in(substance: Substance, concentration: Amount, volume: float,
              volume_unit: Units) -> tuple[float, Units]:
    """:func:`amount_of` on magnitudes: the amount of ``substance`` in ``volume`` (in
    ``volume_unit``) at ``concentration``, and its units.

    A mass is given in mg. An activity is converted to mg with the substance's IU-to-mass
    factor when it has one; otherwise it stays an activity (e.g. USP units).
    """
    iu_mass = substance.iu_mass
    per_iu, factors, unit = _amount_steps(concentration.unit, volume_unit, iu_mass.unit if iu_mass else None)
    value = concentration.value * volume
    if per_iu and iu_mass is not None:
        value = value * (iu_mass.value / 1.0)  # the mass per IU, divided by 1 IU as pint does
    for step in factors:
        value = value * step
    return value, unit


_STEPS: dict[tuple[Units, Units, str | None], tuple[bool, tuple[float, ...], Units]] = {}


def _amount_steps(concentration_unit: Units, volume_unit: Units,
                  iu_unit: str | None) -> tuple[bool, tuple[float, ...], Units]:
    """How an amount is worked out for these units, as pint does it step by step: whether the
    IU-to-mass factor applies, the conversion factors in order, and the units of the result
    (worked out once per combination of units)."""
    key = (concentration_unit, volume_unit, iu_unit)
    found = _STEPS.get(key)
    if found is None:
        found = _work_out_steps(concentration_unit, volume_unit, iu_unit)
        if len(_STEPS) < 4096:  # bounded: a few dozen unit combinations occur in practice
            _STEPS[key] = found
    return found


def _work_out_steps(concentration_unit: Units, volume_unit: Units,
                    iu_unit: str | None) -> tuple[bool, tuple[float, ...], Units]:
    units = times(concentration_unit, volume_unit)
    if iu_unit is not None and has_dimension(units, "[biological_activity]"):
        # activity_to_mass(amount, iu_mass).to("mg"): x (mass per IU), reduce, then to mg
        first, reduced = reduction(times(units, per(iu_unit, "IU")))
        return True, (first, factor(reduced, "mg")), units_of("mg")
    if has_dimension(units, "[mass]"):
        return False, (factor(units, "mg"),), units_of("mg")
    first, reduced = reduction(units)
    return False, (first,), reduced


def session_amounts(catalogue: Catalogue, items: Iterable[Item]) -> tuple[dict[str, tuple[float, Units]], set[str]]:
    """Total amount per substance across ``items`` (magnitude and units); and the substances
    whose amount is unknown."""
    totals: dict[str, tuple[float, Units]] = {}
    unknown: set[str] = set()
    for item in items:
        if item.volume is None:
            continue
        volume, volume_unit = item.volume.magnitude, units_of(item.volume)
        for component in item.components:
            if component.concentration is None:
                if component.role == "active":
                    unknown.add(component.substance)
                continue
            amount, unit = amount_in(catalogue.substances[component.substance], component.concentration,
                                     volume, volume_unit)
            previous = totals.get(component.substance)
            if previous is None:
                totals[component.substance] = (amount, unit)
            elif not compatible(unit, previous[1]):
                unknown.add(component.substance)  # activity without a mass factor cannot be added to mass
            else:
                totals[component.substance] = (previous[0] + amount * factor(unit, previous[1]), previous[1])
    return totals, unknown


def rule_applies(rule: Rule, substance: Substance, companions: Iterable[set[str]]) -> bool:
    """Whether a dose rule governs ``substance``.

    ``companions`` holds, for each syringe containing the substance, the substances it is mixed
    with. A limit "unless with X" applies when any syringe has the substance without X; a limit
    "only with X" when any syringe has it with X. With both kinds of syringe in one session both
    limits apply to the session total, so the stricter one wins.
    """
    if rule.scope.kind == "substance" and rule.scope.ref != substance.id:
        return False
    if rule.scope.kind == "class" and rule.scope.ref != substance.cls:
        return False
    if rule.scope.kind == "product":
        return False
    groups = list(companions) or [set()]
    if rule.unless_with is not None and all(rule.unless_with in group for group in groups):
        return False
    return not (rule.only_with is not None and not any(rule.only_with in group for group in groups))


def dose_rules_for(catalogue: Catalogue, substance: Substance) -> tuple[Rule, ...]:
    """The dose rules whose scope can concern ``substance``, in catalogue order (kept per catalogue)."""
    return catalogue.derive(("dose-rules", substance.id), lambda: tuple(
        rule for rule in catalogue.rules_by_kind.get("dose_limit", ())
        if rule.scope.kind == "procedure"
        or (rule.scope.kind == "substance" and rule.scope.ref == substance.id)
        or (rule.scope.kind == "class" and rule.scope.ref == substance.cls)))


def companions_of(items: Iterable[Any], catalogue: Catalogue | None = None) -> dict[str, list[set[str]]]:
    """For each substance, the set of substances in each syringe that contains it.

    With ``catalogue``, a companion below the minimum concentration the catalogue sets for it
    (see :func:`below_minimum`) is left out of the sets: it does not make a syringe "with" it.
    """
    by_syringe: dict[int, list[Any]] = {}
    for item in items:
        by_syringe.setdefault(item.syringe, []).append(item)
    out: dict[str, list[set[str]]] = {}
    for syringe in by_syringe.values():
        members = {sid for item in syringe for sid in item.substance_ids()}
        counted = members
        if catalogue is not None:
            counted = members - below_minimum(catalogue, _parts(syringe))
        for sid in members:
            out.setdefault(sid, []).append(counted)
    return out


# ----------------------------------------------------------------------- companion minimum concentration
# A dose limit "only with X" (or "unless with X") is about solutions that hold X at a clinically
# meaningful strength: lidocaine's with-epinephrine limit is that of lidocaine with epinephrine
# 1:200,000 or 1:100,000, not of a syringe with a trace of it. A formulation default with key
# COMPANION_MINIMUM + X gives that strength (a concentration). In a syringe where X is weaker,
# or its strength cannot be worked out, X does not count as a companion; either way the stricter
# limit then applies.
COMPANION_MINIMUM = "companion-minimum-"


def companion_minimum(catalogue: Catalogue, sid: str) -> float | None:
    """The minimum concentration (mg/mL) for ``sid`` to count as a companion, if the catalogue sets one."""
    def work() -> tuple[float | None]:
        from mesocli.units import parse_quantity

        default = catalogue.default(COMPANION_MINIMUM + sid)
        if default is None:
            return (None,)
        quantity = parse_quantity(default.value, kind="concentration", what=f"default {default.key}")
        return (float(quantity.to("mg/mL").magnitude),)

    return catalogue.derive(("companion-minimum", sid), work)[0]


def below_minimum(catalogue: Catalogue, parts: Sequence[tuple[Iterable[Any], float | None]]) -> set[str]:
    """The substances of one syringe (its ``parts``: components and volume in mL) that are weaker
    in it than their :func:`companion_minimum`, or whose strength in it is unknown."""
    present = {c.substance for components, _ in parts for c in components}
    weak: set[str] = set()
    for sid in present:
        minimum = companion_minimum(catalogue, sid)
        if minimum is None:
            continue
        volume = mass = 0.0
        known = True
        for components, millilitres in parts:
            if millilitres is None:
                known = False
                break
            volume += millilitres
            for c in components:
                if c.substance != sid:
                    continue
                if c.concentration is None or not has_dimension(c.concentration.unit, "[mass] / [length] ** 3"):
                    known = False
                else:
                    mass += c.concentration.value * factor(c.concentration.unit, "mg/mL") * millilitres
        if not known or volume <= 0 or mass / volume < minimum * (1 - 1e-9):
            weak.add(sid)
    return weak


def _parts(syringe: Sequence[Any]) -> list[tuple[list[Any], float | None]]:
    """The components and volume (mL) of each part of a syringe. The items made from one recipe
    component (several substances in one volume) share that component's volume object, so they
    are one part: its volume is counted once."""
    parts: dict[int, tuple[list[Any], float | None]] = {}
    for index, item in enumerate(syringe):
        key = id(item.volume) if item.volume is not None else -1 - index
        parts.setdefault(key, ([], _millilitres(item.volume)))[0].extend(item.components)
    return list(parts.values())


def _millilitres(volume: Any) -> float | None:
    if volume is None:
        return None
    return float(volume.magnitude) * factor(units_of(volume), "mL")


def mass_limit(rule: Rule, patient: ResolvedPatient, treatment_area: Any) -> Limit:
    """The mass a per-session, per-kg or per-area rule allows for this patient."""
    cap = rule.cap.value * factor(rule.cap.unit, "mg") if rule.cap else None
    if rule.dose_kind == "per-session":
        return Limit(rule, cap, f"per-session cap {_mg(cap)}")
    if rule.dose_kind == "per-kg":
        assert rule.amount is not None and cap is not None
        per_kg = rule.amount
        if patient.weight_kg is None:
            return Limit(rule, cap, f"absolute cap {_mg(cap)} (weight not given, so the "
                         f"{format_quantity(per_kg)} limit could not be applied)", missing="weight")
        by_weight = per_kg.value * patient.weight_kg * factor(times(per_kg.unit, "kg"), "mg")
        lower = min(by_weight, cap)
        return Limit(rule, lower,
                     f"{format_quantity(per_kg)} x {patient.weight_kg:g} kg = {_mg(by_weight)}; "
                     f"absolute cap {_mg(cap)}; the lower, {_mg(lower)}, applies")
    if rule.dose_kind == "per-area":
        assert rule.amount is not None
        per_area = rule.amount
        if treatment_area is None:
            return Limit(rule, cap, f"{format_quantity(per_area)} (treatment area not given)",
                         missing="treatment area")
        area_unit = units_of(treatment_area)
        by_area = per_area.value * treatment_area.magnitude * factor(times(per_area.unit, area_unit), "mg")
        lower = by_area if cap is None else min(by_area, cap)
        working = (f"{format_quantity(per_area)} x {format_quantity(treatment_area)} = "
                   f"{_mg(by_area)}")
        if cap is not None:
            working += f"; cap {_mg(cap)}; the lower, {_mg(lower)}, applies"
        return Limit(rule, lower, working)
    raise ValueError(rule.dose_kind)


def _mg(value: float | None) -> str:
    assert value is not None
    return format_value(value, "mg")


MASS_KINDS = ("per-session", "per-kg", "per-area")


def _exceeds(value: float, unit: Units, limit: float, limit_unit: Units) -> bool:
    """``Q_(value, unit) > Q_(limit, limit_unit)``, compared as pint compares quantities."""
    left, right = comparable(value, unit, limit, limit_unit)
    return left > right


def check_doses(catalogue: Catalogue, patient: ResolvedPatient, items: Sequence[Item],
                options: CheckOptions) -> list[Finding]:
    if (options.volume_per_point is None and options.points is None and options.sessions is None
            and options.interval is None and all(item.volume is None for item in items)):
        return []  # every dose rule needs a volume or one of these to compare with
    from mesocli.domain.engine import Finding

    findings: list[Finding] = []
    totals, unknown = session_amounts(catalogue, items)
    present = {s for item in items for s in item.substance_ids()}
    subject_of: dict[str, str] = {}
    for item in items:
        for sid in item.substance_ids():
            subject_of.setdefault(sid, item.subject)
    companions = companions_of(items, catalogue)
    for sid in sorted(present):
        substance = catalogue.substances[sid]
        for rule in dose_rules_for(catalogue, substance):
            if not rule_applies(rule, substance, companions.get(sid, [])):
                continue
            subject = subject_of[sid]
            cited = tuple(rule.provenance.cited())
            if rule.dose_kind in MASS_KINDS:
                if sid not in totals:
                    if sid in unknown:
                        findings.append(Finding(
                            "caution", "dose", subject, sid,
                            f"The amount of {substance.name} cannot be worked out (concentration unknown), "
                            f"so its limit could not be checked. {rule.message}",
                            cited, rule.provenance.evidence, "Record the concentration of the product used."))
                    continue
                if sid in unknown:
                    findings.append(Finding(
                        "caution", "dose", subject, sid,
                        f"Part of the amount of {substance.name} cannot be worked out (a concentration is "
                        f"unknown), so its limit could not be fully checked. {rule.message}",
                        cited, rule.provenance.evidence, "Record the concentration of every product used."))
                limit = mass_limit(rule, patient, options.treatment_area)
                total, unit = totals[sid]
                if not has_dimension(unit, "[mass]"):
                    continue
                if limit.mg is not None and _exceeds(total, unit, limit.mg * (1 + 1e-9), "mg"):
                    findings.append(Finding(
                        rule.severity, "dose", subject, sid,
                        f"{substance.name} {format_value(total, unit)} exceeds the limit "
                        f"{_mg(limit.mg)} ({limit.working}). {rule.message}",
                        cited, rule.provenance.evidence, rule.advice or "Reduce the volume."))
                elif limit.missing:
                    findings.append(Finding(
                        "caution" if rule.dose_kind == "per-area" else "info", "dose", subject, sid,
                        f"{substance.name} {format_value(total, unit)}: give the patient's {limit.missing} to "
                        f"check the {rule.dose_kind} limit ({limit.working}).",
                        cited, rule.provenance.evidence))
            elif rule.dose_kind == "per-point-volume" and options.volume_per_point is not None:
                assert rule.amount is not None
                cap = rule.amount
                volume_per_point = options.volume_per_point
                if _exceeds(volume_per_point.magnitude, units_of(volume_per_point),
                            cap.value * (1 + 1e-9), cap.unit):
                    findings.append(Finding(
                        rule.severity, "dose", subject, sid,
                        f"{format_quantity(volume_per_point)} per point exceeds "
                        f"{format_quantity(cap)} for {substance.name}. {rule.message}",
                        cited, rule.provenance.evidence, rule.advice))
            elif rule.dose_kind == "points" and options.points is not None:
                assert rule.count is not None
                if options.points > rule.count:
                    findings.append(Finding(
                        rule.severity, "dose", subject, sid,
                        f"{options.points} injection points exceed {rule.count} per session for "
                        f"{substance.name}. {rule.message}", cited, rule.provenance.evidence, rule.advice))
            elif rule.dose_kind == "sessions" and options.sessions is not None:
                assert rule.count is not None
                if options.sessions > rule.count:
                    findings.append(Finding(
                        rule.severity, "protocol", subject, sid,
                        f"{options.sessions} sessions exceed {rule.count} for {substance.name}. {rule.message}",
                        cited, rule.provenance.evidence, rule.advice))
            elif rule.dose_kind == "interval" and options.interval is not None:
                assert rule.amount is not None
                minimum = rule.amount
                if _exceeds(minimum.value * (1 - 1e-9), minimum.unit,
                            options.interval.magnitude, units_of(options.interval)):
                    findings.append(Finding(
                        rule.severity, "protocol", subject, sid,
                        f"An interval of {format_quantity(options.interval)} is shorter than "
                        f"{format_quantity(minimum)} for {substance.name}. {rule.message}",
                        cited, rule.provenance.evidence, rule.advice))
    return findings


def check_protocol(catalogue: Catalogue, items: Sequence[Item], options: CheckOptions) -> list[Finding]:
    """Compare the recipe's schedule and technique with the catalogue protocol, when both exist."""
    from mesocli.domain.engine import PROCEDURE, Finding

    if options.indication is None or (options.sessions is None and options.interval is None
                                      and options.volume_per_point is None and options.points is None):
        return []  # nothing of the recipe's schedule or technique to compare
    protocol = catalogue.protocol_for(options.indication, options.area)
    if protocol is None:
        return []
    findings = []
    cited = tuple(protocol.provenance.cited())
    where = f"the {options.indication} protocol for the {protocol.area}"
    if options.sessions is not None and protocol.sessions_max is not None and options.sessions > protocol.sessions_max:
        findings.append(Finding("caution", "protocol", PROCEDURE, "sessions",
                                f"{options.sessions} sessions exceed {protocol.sessions_max} in {where}.",
                                cited, protocol.provenance.evidence))
    if options.interval is not None and protocol.interval_min is not None:
        minimum = protocol.interval_min
        if _exceeds(minimum.value * (1 - 1e-9), minimum.unit,
                    options.interval.magnitude, units_of(options.interval)):
            findings.append(Finding("caution", "protocol", PROCEDURE, "interval",
                                    f"An interval of {format_quantity(options.interval)} is shorter than "
                                    f"{format_quantity(minimum)} in {where}.", cited, protocol.provenance.evidence))
    if options.volume_per_point is not None and protocol.max_volume_per_point is not None:
        cap = protocol.max_volume_per_point
        volume_per_point = options.volume_per_point
        if _exceeds(volume_per_point.magnitude, units_of(volume_per_point), cap.value * (1 + 1e-9), cap.unit):
            findings.append(Finding("caution", "protocol", PROCEDURE, "volume-per-point",
                                    f"{format_quantity(options.volume_per_point)} per point exceeds "
                                    f"{format_quantity(cap)} in {where}.", cited, protocol.provenance.evidence))
    if options.points is not None and protocol.max_points is not None and options.points > protocol.max_points:
        findings.append(Finding("caution", "protocol", PROCEDURE, "points",
                                f"{options.points} points exceed {protocol.max_points} in {where}.",
                                cited, protocol.provenance.evidence))
    return findings


