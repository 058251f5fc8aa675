"""The session plan of a build: how much cocktail, in how many points, and what bounds it.

A plan starts from one basis, in this order:

1. ``requested-volume``: the session volume the user gave (``--volume``);
2. ``treatment-area``: the treated surface the user gave (``--treatment-area``), at the
   protocol's spacing (one point per spacing squared) and volume per point;
3. ``protocol-session-volume``: the session volume the catalogue protocol records from a source;
4. ``one-syringe``: with none of these, the recipe is a formula for one standard syringe: a
   pre-filled or single-dose presentation used as supplied is one container, any other syringe
   :data:`FORMULA_SYRINGE` (a unit for writing a formula, not a clinical dose). The plan then
   says how far it may be repeated: the largest session volume under every bound.

The volume is then bounded, the smallest bound deciding:

- ``protocol-session-volume``: the protocol's sourced session volume;
- ``protocol-points``: the protocol's most points x its largest volume per point;
- ``treatment-area``: the points the treated surface holds x the largest volume per point;
- ``presentation``: a pre-filled syringe (a single-dose gel) is one container per syringe;
- ``dose-cap``: every per-session, per-kg or per-area mass limit for this patient, worked out
  from the amount of the substance in each mL of the cocktail (see :func:`dose_cap_bounds`).

A basis above a bound is planned at the bound, with a caution finding that says so. No
typical surface of an area is recorded from a source, so without ``--treatment-area`` the
surface is unknown and the plan says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesocli.domain.dosing import (
    amount_in,
    dose_subject,
    held_limits,
)
from mesocli.domain.model import UNSOURCED, Product, Protocol, Provenance
from mesocli.domain.rules.base import PROCEDURE, Finding, sourced
from mesocli.units import Amount, format_quantity, format_value, settle

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.domain.catalogue import Catalogue
    from mesocli.domain.patient import ResolvedPatient

ML = "mL"
FORMULA_SYRINGE = 1.0  # mL: the volume a formula is written for when no source gives a session volume
BASES = ("requested-volume", "treatment-area", "protocol-session-volume", "one-syringe")
BOUNDS = ("protocol-session-volume", "protocol-points", "treatment-area", "presentation", "dose-cap")
# mL: the most meso accepts as one session, however it is asked for (--volume, or a treated area
# at the protocol's spacing and volume per point). An input limit, not a clinical dose: the
# sourced bounds below are what plan a session.
MAX_SESSION_ML = 100.0


@dataclass(frozen=True, slots=True)
class Bound:
    """One upper bound on the session volume."""

    name: str  # one of BOUNDS
    ml: float
    detail: str  # how it was worked out, in words
    subject: str = PROCEDURE  # what the bound concerns: the procedure, or a substance (dose caps)
    provenance: Provenance | None = None


@dataclass(frozen=True, slots=True)
class Start:
    """Where a plan starts, before the dose caps are known."""

    basis: str
    ml: float
    surface: Any = None  # Amount: the treated surface, when known
    spacing: Any = None  # Amount
    area_points: int | None = None  # the points the treated surface holds at the spacing
    bounds: tuple[Bound, ...] = ()
    working: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what the plan could not use, in words


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """The finished plan, as the recipe reports it."""

    basis: str
    planned: Any  # Amount: the volume the basis gave
    session_volume: Any  # Amount: the total of the syringes
    points: int | None
    volume_per_point: Any
    spacing: Any
    surface: Any
    decided_by: str  # the basis, or the name of the bound that capped it
    max_session_volume: Any  # Amount, or None when no bound is known
    max_bound: str | None  # the bound that gives max_session_volume
    bounds: tuple[Bound, ...]
    notes: tuple[str, ...] = ()

    @property
    def capped(self) -> bool:
        return self.decided_by != self.basis


def _ml(value: float) -> str:
    return format_value(value, ML)


def _in_ml(amount: Amount) -> float:
    """An amount of volume, in mL."""
    return amount.canonical


def _in_cm(amount: Amount) -> float:
    return amount.canonical / 10  # mm to cm


def prefilled(product: Product) -> bool:
    """A pre-filled syringe: a single-dose gel whose container volume is recorded."""
    return product.dose == "single" and product.vehicle == "gel" and product.container_volume is not None


def standard_syringe(group: Sequence[Product]) -> tuple[float, str]:
    """The volume (mL) of one standard syringe of ``group`` and why: one container of a
    product used as supplied in a syringe of its own, or the formula unit."""
    if len(group) == 1 and group[0].container_volume is not None and group[0].dose == "single" \
            and (group[0].do_not_admix or prefilled(group[0])):
        container = group[0].container_volume
        return _in_ml(container), f"one {format_quantity(container)} container of {group[0].id}"
    return FORMULA_SYRINGE, f"a formula for {_ml(FORMULA_SYRINGE)} of cocktail"


def start(protocol: Protocol | None, volume: Any, treatment_area: Any,
          groups: Sequence[Sequence[Product]]) -> Start:
    """The basis of the plan and every bound that does not depend on the doses."""
    working: list[str] = []
    notes: list[str] = []
    bounds: list[Bound] = []
    where = f"the {protocol.indication} protocol for the {protocol.area} area" if protocol else "the protocol"
    spacing = protocol.spacing if protocol is not None else None
    per_point = protocol.volume_per_point if protocol is not None else None
    largest_point = (protocol.max_volume_per_point or per_point) if protocol is not None else None
    area_points = None
    if treatment_area is not None:
        if spacing is None:
            notes.append(f"No injection spacing is recorded in {where}, so the treated area cannot give "
                         "a number of points.")
        else:
            square = treatment_area.canonical  # cm²
            step = _in_cm(spacing)
            area_points = max(1, math.floor(settle(square / (step * step))))
            working.append(f"Points the treated area holds = {format_quantity(treatment_area)} / "
                           f"({format_quantity(spacing)})^2 = {area_points}.")
            if largest_point is not None:
                limit = area_points * _in_ml(largest_point)
                bounds.append(Bound("treatment-area", limit,
                                    f"{area_points} points in {format_quantity(treatment_area)} at "
                                    f"{format_quantity(spacing)} spacing x at most "
                                    f"{format_quantity(largest_point)} per point = {_ml(limit)}",
                                    provenance=protocol.provenance if protocol else None))
    elif protocol is not None:
        notes.append(f"No typical surface of the {protocol.area} area is recorded from a source; "
                     "give --treatment-area to plan points from the treated surface.")
    if protocol is not None and protocol.session_volume is not None:
        bounds.append(Bound("protocol-session-volume", _in_ml(protocol.session_volume),
                            f"the session volume of {where}, {format_quantity(protocol.session_volume)}",
                            provenance=protocol.provenance))
    if protocol is not None and protocol.max_points is not None and largest_point is not None:
        limit = protocol.max_points * _in_ml(largest_point)
        bounds.append(Bound("protocol-points", limit,
                            f"at most {protocol.max_points} points x {format_quantity(largest_point)} per "
                            f"point in {where} = {_ml(limit)}", provenance=protocol.provenance))
    for group in groups:
        if len(group) == 1 and group[0].dose == "single" and group[0].vehicle == "gel" \
                and group[0].container_volume is None:
            notes.append(f"{group[0].id} is a single-dose gel whose syringe volume is not recorded from a "
                         "source, so the plan could not be held to its presentation.")
        if len(group) == 1 and prefilled(group[0]):
            container = group[0].container_volume
            assert container is not None
            limit = _in_ml(container) * len(groups)
            bounds.append(Bound("presentation", limit,
                                f"{group[0].id} comes as a pre-filled {format_quantity(container)} syringe; "
                                f"meso plans at most one per session"
                                + (f" ({len(groups)} syringes share the session)" if len(groups) > 1 else ""),
                                subject=group[0].id, provenance=group[0].provenance))
    if volume is not None:
        ml = volume.canonical
        working.append(f"Session volume {format_quantity(volume)} as requested (--volume).")
        return Start("requested-volume", ml, treatment_area, spacing, area_points, tuple(bounds),
                     tuple(working), tuple(notes))
    if area_points is not None and per_point is not None:
        ml = area_points * _in_ml(per_point)
        if settle(ml) > MAX_SESSION_ML:
            from mesocli.errors import InputError

            raise InputError(f"--treatment-area: {format_quantity(treatment_area)} at {format_quantity(spacing)} "
                             f"spacing is {area_points} points of {format_quantity(per_point)}, {_ml(ml)}: more "
                             f"than the {_ml(MAX_SESSION_ML)} meso accepts for one session")
        working.append(f"Session volume = {area_points} points x {format_quantity(per_point)} per point "
                       f"({where}) = {_ml(ml)}.")
        return Start("treatment-area", ml, treatment_area, spacing, area_points, tuple(bounds),
                     tuple(working), tuple(notes))
    if area_points is not None:
        notes.append(f"No volume per point is recorded in {where}, so the treated area cannot give a "
                     "session volume.")
    if protocol is not None and protocol.session_volume is not None:
        ml = _in_ml(protocol.session_volume)
        working.append(f"Session volume {format_quantity(protocol.session_volume)} from the protocol: {where} "
                       f"(evidence: {protocol.provenance.evidence}).")
        return Start("protocol-session-volume", ml, treatment_area, spacing, area_points, tuple(bounds),
                     tuple(working), tuple(notes))
    sizes = [standard_syringe(group) for group in groups] or [(FORMULA_SYRINGE, "")]
    ml = sum(size for size, _ in sizes)
    what = "; ".join(f"syringe {number}: {why}" for number, (_, why) in enumerate(sizes, 1))
    working.append(f"No source gives a session volume for this indication and area, so the recipe is a "
                   f"formula for one standard syringe each ({what}): {_ml(ml)} in all. Repeat it as "
                   "needed, never above the largest session volume.")
    return Start("one-syringe", ml, treatment_area, spacing, area_points, tuple(bounds),
                 tuple(working), tuple(notes))


def dose_cap_bounds(cat: Catalogue, patient: ResolvedPatient, treatment_area: Any,
                    syringes: Sequence[Sequence[tuple[Product, float]]], volume_ml: float, *,
                    area: str | None) -> list[Bound]:
    """The session volume each mass limit allows for this patient, for a cocktail whose syringes
    (products and volumes in mL) make up ``volume_ml``: the limit / the amount in each mL.

    Every volume of the formulator is proportional to the session volume, so the amount of a
    substance per mL of cocktail is the same at any volume."""
    if volume_ml <= 0:
        return []
    found = []
    for held in held_limits(cat, patient, treatment_area, area, syringes):
        total = total_mg(cat, held.key, syringes)
        if total is None or total <= 0:
            continue
        per_ml = total / volume_ml
        ml = held.limit.mg / per_ml
        found.append(Bound("dose-cap", ml,
                           f"{held.name} is limited to {format_value(held.limit.mg, 'mg')} ({held.limit.working}); "
                           f"the cocktail holds {format_value(per_ml, 'mg')} per mL, so at most "
                           f"{_ml(ml)}", subject=dose_subject(held.key, held.forms), provenance=held.rule.provenance))
    return found


def total_mg(cat: Catalogue, key: str, syringes: Iterable[Iterable[tuple[Product, float]]]) -> float | None:
    """The mass (mg) of every form dosed as ``key`` in ``syringes``; ``None`` when part of it is an
    activity without a mass factor (no mass limit applies)."""
    total = 0.0
    for parts in syringes:
        for product, vol in parts:
            for c in product.components:
                if cat.dose_id(c.substance) == key and c.concentration is not None:
                    amount, unit = amount_in(cat.substances[c.substance], c.concentration, vol)
                    if unit != "mg":
                        return None  # an activity without a mass factor: no mass limit applies
                    total += amount
    return total


def decide(basis_ml: float, bounds: Sequence[Bound]) -> tuple[float, Bound | None]:
    """The planned volume: the basis, or the smallest bound below it (which then decides)."""
    lowest = min(bounds, key=_order, default=None)
    if lowest is not None and settle(lowest.ml) < settle(basis_ml):
        return lowest.ml, lowest
    return basis_ml, None


def _order(bound: Bound) -> tuple[float, int]:
    """Bounds by volume; of equal bounds (to a part in a million) a dose cap is named first."""
    return (round(bound.ml, 6), 0 if bound.name == "dose-cap" else 1)


def capped_finding(first: Start, bound: Bound, planned_ml: float) -> Finding:
    """The caution a bound gives when it truncates the plan."""
    what = {"requested-volume": "the requested session volume",
            "treatment-area": "the volume the treated area would take",
            "protocol-session-volume": "the protocol's session volume",
            "one-syringe": "one standard syringe"}[first.basis]
    kind = "dose" if bound.name == "dose-cap" else "protocol"
    cites = sourced(bound.provenance) if bound.provenance is not None else {"sources": (), "evidence": "unsourced"}
    return Finding("caution", kind, bound.subject, f"plan:{bound.name}",
                   f"The session was planned at {_ml(planned_ml)}, not {_ml(first.ml)} ({what}): "
                   f"{bound.detail}.",
                   advice="Do not inject more than the plan; treat the rest of the area in another session "
                          "if the protocol allows.", **cites)


def unbounded_finding(first: Start, bounds: Sequence[Bound], area: str | None) -> Finding | None:
    """The caution on a requested session volume that only dose caps could bound: no protocol
    session volume, treated area or presentation is recorded for this indication and area, so
    nothing says whether that volume suits the area (unknown is never ok). None otherwise."""
    if first.basis != "requested-volume" or any(b.name != "dose-cap" for b in bounds):
        return None
    where = f"the {area} area" if area else "this area"
    return Finding("caution", "protocol", PROCEDURE, "plan:no-volume-bound",
                   f"The requested session volume {_ml(first.ml)} was held only to the dose caps: no sourced "
                   f"session volume, treated-area or presentation bound is recorded for {where}, so meso cannot "
                   "tell whether this volume suits it.",
                   advice="Check the volume against the product's instructions for use and the protocol you follow.",
                   unassessed="session volume bound", **sourced(UNSOURCED))


def finish(first: Start, bounds: Sequence[Bound], planned_ml: float, decided: Bound | None,
           total_ml: float, points: int | None, per_point: Any) -> SessionPlan:
    lowest = min(bounds, key=_order, default=None)
    return SessionPlan(
        basis=first.basis,
        planned=Amount(first.ml, ML),
        session_volume=Amount(total_ml, ML),
        points=points,
        volume_per_point=per_point,
        spacing=first.spacing,
        surface=first.surface,
        decided_by=decided.name if decided is not None else first.basis,
        max_session_volume=Amount(lowest.ml, ML) if lowest is not None else None,
        max_bound=lowest.name if lowest is not None else None,
        bounds=tuple(bounds),
        notes=first.notes,
    )


def working(plan: SessionPlan) -> list[str]:
    """The plan's arithmetic in words, for --explain."""
    lines = []
    for bound in plan.bounds:
        lines.append(f"Bound ({bound.name}): {bound.detail}.")
    if plan.max_session_volume is not None:
        lines.append(f"Largest session volume for this patient under every bound: "
                     f"{format_quantity(plan.max_session_volume)} ({plan.max_bound}).")
    else:
        lines.append("No sourced bound limits the session volume for this indication and area.")
    if plan.capped:
        lines.append(f"The plan ({plan.basis}, {format_quantity(plan.planned)}) is capped by the "
                     f"{plan.decided_by} bound.")
    return lines
