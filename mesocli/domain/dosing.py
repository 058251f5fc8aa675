"""Dose arithmetic and dose limits, all through the one pint registry.

An amount is concentration x volume. Amounts of one substance add up across every syringe
of a session. A per-kg limit is the per-kg dose times the weight, never above its absolute
cap (the lower wins). A per-area limit is the per-area dose times the treated area.

The arithmetic is done on plain numbers in canonical units (mg, mL, mg/mL, cm², mg/kg; IU and
USP units as such): each :class:`~mesocli.units.Amount` carries its canonical number from the
moment it is made (see "canonical numbers" in :mod:`mesocli.units`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesocli.domain.model import Rule, Substance
from mesocli.domain.patient import ResolvedPatient
from mesocli.units import Amount, format_quantity, format_value, from_canonical, same_dimension, settle

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.domain.catalogue import Catalogue
    from mesocli.domain.rules.base import Item


@dataclass(frozen=True, slots=True)
class Limit:
    """The limit a dose rule sets for this patient, and how it was worked out."""

    rule: Rule
    mg: float | None  # the mass allowed, in mg, or None when it cannot be worked out
    working: str
    missing: str | None = None  # what the user must give for the limit to be checked


def amount_of(substance: Substance, concentration: Amount, volume: Amount) -> Amount:
    """The amount of ``substance`` in ``volume`` of a solution at ``concentration``."""
    return Amount(*amount_in(substance, concentration, volume.canonical))


def amount_in(substance: Substance, concentration: Amount, millilitres: float) -> tuple[float, str]:
    """:func:`amount_of` on numbers: the amount of ``substance`` in ``millilitres`` mL at
    ``concentration``, in its canonical unit (``"mg"``, ``"IU"`` or ``"USP"``).

    The concentration in its canonical unit (mg/mL, IU/mL or USP/mL) times the volume in mL
    (settled). An activity is converted to mg with the substance's IU-to-mass factor when it has
    one; otherwise it stays an activity (e.g. USP units).
    """
    value = concentration.canonical * settle(millilitres)
    unit = concentration.canonical_unit.partition("/")[0]
    iu_mass = substance.iu_mass
    if unit == "IU" and iu_mass is not None:
        return value * iu_mass.canonical, "mg"
    return value, unit


def session_amounts(catalogue: Catalogue, items: Iterable[Item]) -> tuple[dict[str, tuple[float, str]], set[str]]:
    """Total amount per dose id across ``items`` (magnitude and units), every form of a
    substance counted under the substance it is dosed as (:meth:`Catalogue.dose_id`); and the
    dose ids whose amount is unknown."""
    return dose_totals(catalogue, *form_amounts(catalogue, items))


def form_amounts(catalogue: Catalogue, items: Iterable[Item]) -> tuple[dict[str, tuple[float, str]], set[str]]:
    """Total amount per substance id across ``items`` (magnitude and units), each form on its
    own; and the substances whose amount is unknown."""
    totals: dict[str, tuple[float, str]] = {}
    unknown: set[str] = set()
    for item in items:
        if item.volume is None:
            continue
        volume = item.volume.canonical  # mL
        for component in item.components:
            if component.concentration is None:
                if component.role == "active":
                    unknown.add(component.substance)
                continue
            amount, unit = amount_in(catalogue.substances[component.substance], component.concentration, volume)
            _add(totals, unknown, component.substance, amount, unit)
    return totals, unknown


def dose_totals(catalogue: Catalogue, amounts: dict[str, tuple[float, str]],
                unknown: set[str]) -> tuple[dict[str, tuple[float, str]], set[str]]:
    """:func:`form_amounts` summed by dose id: the amounts of the forms of one substance add up
    under the substance they are dosed as; one form's unknown amount makes the sum unknown in part."""
    totals: dict[str, tuple[float, str]] = {}
    unknown_ids = {catalogue.dose_id(sid) for sid in unknown}
    for sid in sorted(amounts):
        _add(totals, unknown_ids, catalogue.dose_id(sid), *amounts[sid])
    return totals, unknown_ids


def _add(totals: dict[str, tuple[float, str]], unknown: set[str], key: str, amount: float, unit: str) -> None:
    previous = totals.get(key)
    if previous is None:
        totals[key] = (amount, unit)
    elif unit != previous[1]:
        unknown.add(key)  # activity without a mass factor cannot be added to mass
    else:
        totals[key] = (previous[0] + amount, unit)


def dose_forms(catalogue: Catalogue, sids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The substances of ``sids`` by the dose id they count under, each id's forms sorted."""
    out: dict[str, set[str]] = {}
    for sid in sids:
        out.setdefault(catalogue.dose_id(sid), set()).add(sid)
    return {key: tuple(sorted(forms)) for key, forms in out.items()}


def dose_name(catalogue: Catalogue, key: str, forms: Sequence[str]) -> str:
    """How a finding names the substances dosed together under ``key``: the substance's name
    alone, or the forms present and what they are dosed as."""
    if tuple(forms) == (key,):
        return catalogue.substances[key].name
    names = " and ".join(catalogue.substances[sid].name for sid in forms)
    return f"{names} ({dosed_as(catalogue, key, forms)})"


def dosed_as(catalogue: Catalogue, key: str, forms: Sequence[str]) -> str:
    """``dosed as one substance`` (``key`` is among ``forms``) or ``dosed as <key's name>``."""
    return "dosed as one substance" if key in forms else f"dosed as {catalogue.substances[key].name}"


def dose_subject(key: str, forms: Sequence[str]) -> str:
    """The substance id a dose finding is triggered by: the dose id, or its one form present."""
    return forms[0] if len(forms) == 1 else key


def amounts_text(catalogue: Catalogue, forms: Sequence[str], amounts: dict[str, tuple[float, str]]) -> str:
    """The amount of each form that was summed, e.g. ``Phosphatidylcholine (soy) 1,500 mg +
    Phosphatidylcholine (source not declared) 1,500 mg``; empty for one form."""
    counted = [sid for sid in forms if sid in amounts]
    if len(counted) < 2:
        return ""
    return " + ".join(f"{catalogue.substances[sid].name} {format_value(*amounts[sid])}" for sid in counted)


def rule_applies(rule: Rule, substance: Substance, companions: Iterable[set[str]],
                 dose_id: Callable[[str], str] | None = None, *, area: str | None) -> bool:
    """Whether a dose rule governs ``substance`` at ``area`` (the request's body area).

    ``companions`` holds, for each syringe containing the substance, the substances it is mixed
    with. A limit "unless with X" applies when any syringe has the substance without X; a limit
    "only with X" when any syringe has it with X. With both kinds of syringe in one session both
    limits apply to the session total, so the stricter one wins. A limit held at one area (a
    label's area) applies at that area, and also when the area is not given (fail closed). With
    ``dose_id`` (:meth:`Catalogue.dose_id`), a form dosed as X counts as X for "only with X" (the
    limit then applies) but never for "unless with X" (it never lifts a limit): fail closed either way.
    """
    if rule.params.area is not None and area is not None and area != rule.params.area:
        return False
    if rule.scope.kind == "substance" and rule.scope.ref != substance.id:
        return False
    if rule.scope.kind == "class" and rule.scope.ref != substance.cls:
        return False
    if rule.scope.kind == "product":
        return False
    groups = list(companions) or [set()]
    unless_with, only_with = rule.params.unless_with, rule.params.only_with
    if unless_with is not None and all(unless_with in group for group in groups):
        return False
    if only_with is None:
        return True
    if dose_id is None:
        return any(only_with in group for group in groups)
    return any(only_with in group or any(dose_id(member) == only_with for member in group) for group in groups)


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
        if catalogue is not None and not catalogue.companion_minimums.keys().isdisjoint(members):
            counted = members - below_minimum(catalogue, syringe_parts(syringe))  # only those can be too weak
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


def companion_minimums(catalogue: Catalogue) -> dict[str, float]:
    """Each substance's minimum concentration (mg/mL) to count as a companion, for those the
    catalogue sets one for (epinephrine): read when the catalogue is indexed."""
    from mesocli.units import parse_amount

    found = {}
    for key, default in catalogue.defaults.items():
        if key.startswith(COMPANION_MINIMUM):
            amount = parse_amount(default.value, kind="concentration", what=f"default {key}")
            found[key[len(COMPANION_MINIMUM):]] = amount.canonical
    return found


def companion_minimum(catalogue: Catalogue, sid: str) -> float | None:
    """The minimum concentration (mg/mL) for ``sid`` to count as a companion, if the catalogue sets one."""
    return catalogue.companion_minimums.get(sid)


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
                if c.concentration is None or c.concentration.canonical_unit != "mg/mL":
                    known = False
                else:
                    mass += c.concentration.canonical * millilitres
        if not known or volume <= 0 or settle(mass / volume) < minimum:
            weak.add(sid)
    return weak


def syringe_parts(syringe: Sequence[Any]) -> list[tuple[list[Any], float | None]]:
    """The components and volume (mL) of each part of a syringe. The items made from one recipe
    component (several substances in one volume) share that component's volume object, so they
    are one part: its volume is counted once."""
    parts: dict[int, tuple[list[Any], float | None]] = {}
    for index, item in enumerate(syringe):
        key = id(item.volume) if item.volume is not None else -1 - index
        parts.setdefault(key, ([], _millilitres(item.volume)))[0].extend(item.components)
    return list(parts.values())


def strength_in(parts: Sequence[tuple[Iterable[Any], float | None]], sid: str, unit: str) -> float | None:
    """The concentration of ``sid`` in one mixed syringe (its ``parts``: components and volume
    in mL), in ``unit``: every part's amount of it over the syringe's volume. ``None`` when it
    cannot be worked out: a volume or a concentration of it unknown, or not in ``unit``'s dimension."""
    wanted = Amount(1, unit).canonical_unit
    volume = amount = 0.0
    for components, millilitres in parts:
        if millilitres is None:
            return None
        volume += millilitres
        for c in components:
            if c.substance != sid:
                continue
            if c.concentration is None or c.concentration.canonical_unit != wanted:
                return None
            amount += c.concentration.canonical * millilitres
    return from_canonical(amount / volume, unit) if volume > 0 else None


def _millilitres(volume: Amount | None) -> float | None:
    return None if volume is None else volume.canonical


def mass_limit(rule: Rule, patient: ResolvedPatient, treatment_area: Amount | None) -> Limit:
    """The mass a per-session, per-kg or per-area rule allows for this patient."""
    params = rule.params
    cap = params.cap.canonical if params.cap else None
    return MASS_LIMITS[params.dose_kind](rule, cap, patient, treatment_area)


def _per_session(rule: Rule, cap: float | None, patient: ResolvedPatient, treatment_area: Any) -> Limit:
    return Limit(rule, cap, f"per-session cap {mg_text(cap)}")


def _per_kg(rule: Rule, cap: float | None, patient: ResolvedPatient, treatment_area: Any) -> Limit:
    per_kg = rule.params.amount
    assert per_kg is not None and cap is not None
    if patient.weight_kg is None:
        return Limit(rule, cap, f"absolute cap {mg_text(cap)} (weight not given, so the "
                     f"{format_quantity(per_kg)} limit could not be applied)", missing="weight")
    by_weight = per_kg.canonical * patient.weight_kg  # mg/kg x kg
    lower = min(by_weight, cap)
    return Limit(rule, lower,
                 f"{format_quantity(per_kg)} x {patient.weight_kg:g} kg = {mg_text(by_weight)}; "
                 f"absolute cap {mg_text(cap)}; the lower, {mg_text(lower)}, applies")


def _per_area(rule: Rule, cap: float | None, patient: ResolvedPatient, treatment_area: Any) -> Limit:
    per_area = rule.params.amount
    assert per_area is not None
    if treatment_area is None:
        return Limit(rule, cap, f"{format_quantity(per_area)} (treatment area not given)",
                     missing="treatment area")
    by_area = per_area.canonical * treatment_area.canonical  # mg/cm² x cm²
    lower = by_area if cap is None else min(by_area, cap)
    working = (f"{format_quantity(per_area)} x {format_quantity(treatment_area)} = "
               f"{mg_text(by_area)}")
    if cap is not None:
        working += f"; cap {mg_text(cap)}; the lower, {mg_text(lower)}, applies"
    return Limit(rule, lower, working)


# dose kind -> the mass a rule of that kind allows (the mass kinds only)
MASS_LIMITS = {"per-session": _per_session, "per-kg": _per_kg, "per-area": _per_area}
MASS_KINDS = tuple(MASS_LIMITS)


@dataclass(frozen=True, slots=True)
class HeldLimit:
    """A mass limit that governs one substance of a planned session, for this patient."""

    key: str  # the substance the forms are dosed as
    forms: tuple[str, ...]  # the forms of it the session holds
    name: str  # how a finding or a working line names them (:func:`dose_name`)
    rule: Rule
    limit: Limit  # its ``mg`` is known


def governing(catalogue: Catalogue, forms_of: dict[str, tuple[str, ...]], companions: dict[str, list[set[str]]],
              area: str | None) -> Iterator[tuple[str, Substance, tuple[str, ...], list[Rule]]]:
    """The one walk of dose rules over what a session holds: for each substance it is dosed as
    (the keys of ``forms_of``, in order), the substance, the forms of it present, and the dose
    rules of every kind that govern it at ``area`` given its ``companions`` (for each form, the
    substances in each syringe that holds it: :func:`companions_of`). Both the check
    (``rules/dose_limit.py``) and the build's dose caps (:func:`held_limits`) walk this."""
    for key in sorted(forms_of):
        substance, forms = catalogue.substances[key], forms_of[key]
        candidates = catalogue.dose_rules_for(substance)
        groups = [group for sid in forms for group in companions.get(sid, [])] if candidates else []
        rules = [rule for rule in candidates if rule_applies(rule, substance, groups, catalogue.dose_id, area=area)]
        yield key, substance, forms, rules


def held_limits(catalogue: Catalogue, patient: ResolvedPatient, treatment_area: Any, area: str | None,
                syringes: Sequence[Sequence[tuple[Any, float]]]) -> Iterator[HeldLimit]:
    """Every mass limit that governs a substance of ``syringes`` (products and volumes in mL, the
    formulator's plan) at ``area`` for this patient, substance by substance (:func:`governing`):
    the forms of a substance (``dose_as``) count as the substance, and a companion below its
    minimum concentration counts as absent. Limits whose mass cannot be worked out (a missing
    weight or area) are left out. The companions are read from ``syringes`` once, before the
    first limit."""
    forms_of = dose_forms(catalogue, {c.substance for parts in syringes for p, _ in parts for c in p.components})
    companions: dict[str, list[set[str]]] = {}
    for parts in syringes:
        members = {c.substance for p, _ in parts for c in p.components}
        counted = members - below_minimum(catalogue, [(p.components, volume) for p, volume in parts])
        for sid in members:
            companions.setdefault(sid, []).append(counted)
    for key, _, forms, rules in governing(catalogue, forms_of, companions, area):
        name = dose_name(catalogue, key, forms)
        for rule in rules:
            if rule.params.dose_kind not in MASS_KINDS:
                continue
            limit = mass_limit(rule, patient, treatment_area)
            if limit.mg is not None:
                yield HeldLimit(key, forms, name, rule, limit)


def mg_text(value: float | None) -> str:
    assert value is not None
    return format_value(value, "mg")



def exceeds(amount: Amount, limit: Amount) -> bool:
    """``amount > limit``, compared as settled numbers in canonical units (see "canonical
    numbers" in :mod:`mesocli.units`); amounts of different dimensions raise ``UnitError``."""
    same_dimension(amount, limit)
    return amount.canonical > limit.canonical


def shorter(amount: Amount, minimum: Amount) -> bool:
    """``amount < minimum``, compared as :func:`exceeds` compares."""
    same_dimension(amount, minimum)
    return amount.canonical < minimum.canonical
