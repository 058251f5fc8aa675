"""Allergies: each of the patient's allergies reaches substances directly, through its allergen
group (siblings, source organisms) and through cross-reacting groups; an item is reached when
any of its components is."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from mesocli.domain.model import SEVERITY_RANK, Component, Provenance
from mesocli.domain.rules.base import Check, Context, Finding, Item, finding_on


@dataclass(frozen=True, slots=True)
class Exposure:
    """How one of the patient's allergies reaches one substance."""

    severity: str
    trigger: str
    path: str  # direct | group | origin | cross
    message: str
    provenance: Provenance


def exposures(catalogue, allergies: Iterable[tuple[str, str]]) -> dict[str, list[Exposure]]:  # type: ignore[no-untyped-def]
    """For each substance, how the patient's allergies reach it."""
    out: dict[str, list[Exposure]] = defaultdict(list)
    by_origin = catalogue.substances_by_origin

    def reach_group(group_id: str, trigger: str, severity: str | None, how: str,
                    provenance: Provenance, skip: str | None = None, path: str = "group") -> None:
        group = catalogue.groups[group_id]
        for member in sorted(group.members):
            if member != skip:
                suffix = "" if group.name in how else f" ({group.name})"
                out[member].append(Exposure(severity or "contraindicated", trigger, path,
                                            f"{how}{suffix}.", provenance))
        for origin in sorted(group.origins):
            for sid in by_origin.get(origin, ()):
                if sid != skip:
                    sev = severity if severity is not None else group.origin_severity
                    out[sid].append(Exposure(sev, trigger, "origin",
                                             f"{how}: derived from {origin.replace('-', ' ')} ({group.name}).",
                                             provenance))

    for kind, entry_id in allergies:
        if kind == "group":
            group = catalogue.groups[entry_id]
            reach_group(entry_id, entry_id, None, f"patient is allergic to {group.name}", group.provenance)
            origin_groups = [entry_id]
        else:
            substance = catalogue.substances[entry_id]
            out[entry_id].append(Exposure("contraindicated", entry_id, "direct",
                                          f"patient is allergic to {substance.name}.", substance.provenance))
            origin_groups = list(catalogue.groups_by_substance.get(entry_id, ()))
            origin_groups += [g for g in catalogue.groups_by_origin.get(substance.origin, ())
                              if g not in origin_groups]
            for group_id in origin_groups:
                group = catalogue.groups[group_id]
                siblings = set(group.members)
                for origin in group.origins:
                    siblings.update(by_origin.get(origin, ()))
                for member in sorted(siblings - {entry_id}):
                    out[member].append(Exposure(
                        group.member_severity, entry_id, "group",
                        f"cross-reacts with {substance.name} in the group {group.name}.", group.provenance))
        for group_id in origin_groups:
            for cross in catalogue.crosses_from.get(group_id, ()):
                reach_group(cross.target_group, entry_id, cross.severity,
                            cross.message.rstrip("."), cross.provenance, path="cross")
    return out


def _short(exposure: Exposure) -> str:
    """A few words on how an allergy reaches a substance, for tables."""
    if exposure.path == "cross":
        first = exposure.message.split(";")[0].split(". ")[0].rstrip(".")
        return first if len(first) <= 70 else first[:69] + "\u2026"
    return {
        "direct": "allergen itself",
        "group": "same allergen group",
        "origin": "source organism",
    }.get(exposure.path, exposure.path)


def item_findings(cat, item: Item,  # type: ignore[no-untyped-def]
                  reaches: Sequence[Mapping[str, Sequence[Exposure]]]) -> list[Finding]:
    """The allergy findings on ``item`` of the allergies whose reaches are ``reaches`` (each
    allergy's, in the patient's order): for each trigger, the worst way it reaches one of the
    item's components."""
    by_trigger: dict[str, list[tuple[Component, Exposure]]] = {}
    for component in item.components:
        for reach in reaches:
            for exposure in reach.get(component.substance, ()):
                by_trigger.setdefault(exposure.trigger, []).append((component, exposure))
    findings = []
    for trigger, hits in by_trigger.items():
        component, worst = max(hits, key=lambda h: SEVERITY_RANK[h[1].severity])
        substance = cat.substances[component.substance]
        if item.product is not None and (component.role != "active" or len(item.product.actives()) > 1
                                         or worst.path != "direct"):
            path = "excipient" if component.role != "active" else (
                "pre-mixed" if len(item.product.actives()) > 1 else worst.path)
            what = f"{item.product.name} contains {substance.name}"
            if component.role != "active":
                what += f" ({component.role})"
            message = f"{what}: {worst.message}"
            summary = f"contains {substance.id}" + (f" ({path})" if path in ("excipient", "pre-mixed")
                                                     else f"; {_short(worst)}")
        elif item.product is not None:
            path = "direct"
            message = f"{item.product.name} contains {substance.name}: {worst.message}"
            summary = f"contains {substance.id}"
        else:
            path = worst.path
            message = f"{substance.name}: {worst.message}"
            summary = _short(worst)
        advice = ("Do not use; choose an alternative below."
                  if worst.severity == "contraindicated"
                  else "Use only after confirming tolerance with the patient's allergist.")
        findings.append(finding_on(worst.provenance, worst.severity, "allergy", item.subject, trigger, message,
                                   advice, path, summary))
    return findings


def evaluate(ctx: Context) -> Iterator[Finding]:
    if not ctx.patient.allergies:
        return
    reaches = [ctx.cat.allergy_reach[allergy] for allergy in ctx.patient.allergies]  # from the index
    for item in ctx.items:
        yield from item_findings(ctx.cat, item, reaches)


CHECK = Check("allergy", "patient", evaluate, reads=frozenset({"allergies"}))
