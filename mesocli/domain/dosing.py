"""Dose arithmetic and dose limits, all through the one pint registry.

An amount is concentration x volume. Amounts of one substance add up across every syringe
of a session. A per-kg limit is the per-kg dose times the weight, never above its absolute
cap (the lower wins). A per-area limit is the per-area dose times the treated area.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.model import Rule, Substance
from mesocli.domain.patient import ResolvedPatient
from mesocli.units import Q_, Amount, format_quantity

if TYPE_CHECKING:  # pragma: no cover
    import pint

    from mesocli.domain.engine import CheckOptions, Finding, Item


@dataclass(frozen=True, slots=True)
class Limit:
    """The limit a dose rule sets for this patient, and how it was worked out."""

    rule: Rule
    value: Any  # pint quantity (mass), or None when it cannot be worked out
    working: str
    missing: str | None = None  # what the user must give for the limit to be checked


def amount_of(substance: Substance, concentration: Amount, volume: pint.Quantity) -> pint.Quantity:
    """The amount of ``substance`` in ``volume`` of a solution at ``concentration``."""
    from mesocli.units import activity_to_mass

    amount = (Q_(concentration.value, concentration.unit) * volume)
    if amount.check("[biological_activity]") and substance.iu_mass is not None:
        return activity_to_mass(amount, substance.iu_mass).to("mg")
    if amount.check("[mass]"):
        return amount.to("mg")
    return amount.to_reduced_units()


def session_amounts(catalogue: Catalogue, items: Iterable[Item]) -> tuple[dict[str, Any], set[str]]:
    """Total amount per substance across ``items``; and the substances whose amount is unknown."""
    totals: dict[str, Any] = {}
    unknown: set[str] = set()
    for item in items:
        if item.volume is None:
            continue
        for component in item.components:
            if component.concentration is None:
                if component.role == "active":
                    unknown.add(component.substance)
                continue
            amount = amount_of(catalogue.substances[component.substance], component.concentration, item.volume)
            previous = totals.get(component.substance)
            if previous is not None and not amount.is_compatible_with(previous):
                unknown.add(component.substance)  # activity without a mass factor cannot be added to mass
                continue
            totals[component.substance] = amount if previous is None else previous + amount.to(previous.units)
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
    key = ("dose-rules", substance.id)
    found = catalogue.derived.get(key)
    if found is None:
        found = tuple(rule for rule in catalogue.rules_by_kind.get("dose_limit", ())
                      if rule.scope.kind == "procedure"
                      or (rule.scope.kind == "substance" and rule.scope.ref == substance.id)
                      or (rule.scope.kind == "class" and rule.scope.ref == substance.cls))
        catalogue.derived[key] = found
    return found  # type: ignore[return-value]


def companions_of(items: Iterable[Any]) -> dict[str, list[set[str]]]:
    """For each substance, the set of substances in each syringe that contains it."""
    by_syringe: dict[int, set[str]] = {}
    for item in items:
        by_syringe.setdefault(item.syringe, set()).update(item.substance_ids())
    out: dict[str, list[set[str]]] = {}
    for members in by_syringe.values():
        for sid in members:
            out.setdefault(sid, []).append(members)
    return out


def mass_limit(rule: Rule, patient: ResolvedPatient, treatment_area: Any) -> Limit:
    """The mass a per-session, per-kg or per-area rule allows for this patient."""
    cap = Q_(rule.cap.value, rule.cap.unit).to("mg") if rule.cap else None
    if rule.dose_kind == "per-session":
        return Limit(rule, cap, f"per-session cap {format_quantity(cap)}")
    if rule.dose_kind == "per-kg":
        assert rule.amount is not None and cap is not None
        per_kg = Q_(rule.amount.value, rule.amount.unit)
        if patient.weight_kg is None:
            return Limit(rule, cap, f"absolute cap {format_quantity(cap)} (weight not given, so the "
                         f"{format_quantity(per_kg)} limit could not be applied)", missing="weight")
        by_weight = (per_kg * Q_(patient.weight_kg, "kg")).to("mg")
        lower = min(by_weight, cap)
        return Limit(rule, lower,
                     f"{format_quantity(per_kg)} x {patient.weight_kg:g} kg = {format_quantity(by_weight)}; "
                     f"absolute cap {format_quantity(cap)}; the lower, {format_quantity(lower)}, applies")
    if rule.dose_kind == "per-area":
        assert rule.amount is not None
        per_area = Q_(rule.amount.value, rule.amount.unit)
        if treatment_area is None:
            return Limit(rule, cap, f"{format_quantity(per_area)} (treatment area not given)",
                         missing="treatment area")
        by_area = (per_area * treatment_area).to("mg")
        lower = by_area if cap is None else min(by_area, cap)
        working = f"{format_quantity(per_area)} x {format_quantity(treatment_area)} = {format_quantity(by_area)}"
        if cap is not None:
            working += f"; cap {format_quantity(cap)}; the lower, {format_quantity(lower)}, applies"
        return Limit(rule, lower, working)
    raise ValueError(rule.dose_kind)


MASS_KINDS = ("per-session", "per-kg", "per-area")


def check_doses(catalogue: Catalogue, patient: ResolvedPatient, items: Sequence[Item],
                options: CheckOptions) -> list[Finding]:
    from mesocli.domain.engine import Finding

    findings: list[Finding] = []
    totals, unknown = session_amounts(catalogue, items)
    present = {s for item in items for s in item.substance_ids()}
    subject_of: dict[str, str] = {}
    for item in items:
        for sid in item.substance_ids():
            subject_of.setdefault(sid, item.subject)
    companions = companions_of(items)
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
                total = totals[sid]
                if not total.check("[mass]"):
                    continue
                if limit.value is not None and total > limit.value * (1 + 1e-9):
                    findings.append(Finding(
                        rule.severity, "dose", subject, sid,
                        f"{substance.name} {format_quantity(total)} exceeds the limit "
                        f"{format_quantity(limit.value)} ({limit.working}). {rule.message}",
                        cited, rule.provenance.evidence, rule.advice or "Reduce the volume."))
                elif limit.missing:
                    findings.append(Finding(
                        "caution" if rule.dose_kind == "per-area" else "info", "dose", subject, sid,
                        f"{substance.name} {format_quantity(total)}: give the patient's {limit.missing} to "
                        f"check the {rule.dose_kind} limit ({limit.working}).",
                        cited, rule.provenance.evidence))
            elif rule.dose_kind == "per-point-volume" and options.volume_per_point is not None:
                assert rule.amount is not None
                cap = Q_(rule.amount.value, rule.amount.unit)
                if options.volume_per_point > cap * (1 + 1e-9):
                    findings.append(Finding(
                        rule.severity, "dose", subject, sid,
                        f"{format_quantity(options.volume_per_point)} per point exceeds "
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
                minimum = Q_(rule.amount.value, rule.amount.unit)
                if options.interval < minimum * (1 - 1e-9):
                    findings.append(Finding(
                        rule.severity, "protocol", subject, sid,
                        f"An interval of {format_quantity(options.interval)} is shorter than "
                        f"{format_quantity(minimum)} for {substance.name}. {rule.message}",
                        cited, rule.provenance.evidence, rule.advice))
    return findings


def check_protocol(catalogue: Catalogue, items: Sequence[Item], options: CheckOptions) -> list[Finding]:
    """Compare the recipe's schedule and technique with the catalogue protocol, when both exist."""
    from mesocli.domain.engine import PROCEDURE, Finding

    if options.indication is None:
        return []
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
        minimum = Q_(protocol.interval_min.value, protocol.interval_min.unit)
        if options.interval < minimum * (1 - 1e-9):
            findings.append(Finding("caution", "protocol", PROCEDURE, "interval",
                                    f"An interval of {format_quantity(options.interval)} is shorter than "
                                    f"{format_quantity(minimum)} in {where}.", cited, protocol.provenance.evidence))
    if options.volume_per_point is not None and protocol.max_volume_per_point is not None:
        cap = Q_(protocol.max_volume_per_point.value, protocol.max_volume_per_point.unit)
        if options.volume_per_point > cap * (1 + 1e-9):
            findings.append(Finding("caution", "protocol", PROCEDURE, "volume-per-point",
                                    f"{format_quantity(options.volume_per_point)} per point exceeds "
                                    f"{format_quantity(cap)} in {where}.", cited, protocol.provenance.evidence))
    if options.points is not None and protocol.max_points is not None and options.points > protocol.max_points:
        findings.append(Finding("caution", "protocol", PROCEDURE, "points",
                                f"{options.points} points exceed {protocol.max_points} in {where}.",
                                cited, protocol.provenance.evidence))
    return findings


