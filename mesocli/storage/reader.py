"""Read the whole catalogue from a caller-owned session into plain, immutable data."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.model import (
    AllergenGroup,
    Component,
    CrossReaction,
    Distinction,
    FhirCode,
    Fit,
    FormulationDefault,
    Indication,
    Medication,
    Product,
    Protocol,
    Provenance,
    Rule,
    Scope,
    Source,
    Substance,
    Term,
    UnrelatedTerm,
)
from mesocli.domain.rules import RULE_KINDS
from mesocli.storage import models as m
from mesocli.units import Amount

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session


def _amount(value: float | None, unit: str | None) -> Amount | None:
    return Amount(value, unit) if value is not None and unit is not None else None


def read_catalogue(session: Session, *, revision: str | None = None,
                   location: str | None = None) -> Catalogue:
    from sqlalchemy import select

    def rows(model):  # type: ignore[no-untyped-def]
        return session.execute(select(model)).scalars().all()

    sources = {s.id: Source(s.title, s.url, s.grade) for s in rows(m.SourceRow)}
    cited: dict[str, list[tuple[int, Source]]] = defaultdict(list)
    for c in rows(m.Citation):
        cited[c.subject].append((c.position, sources[c.source_id]))

    def prov(subject: str, evidence: str) -> Provenance:
        return Provenance(evidence, tuple(s for _, s in sorted(cited.get(subject, []), key=lambda x: x[0])))

    aliases: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for a in rows(m.Alias):
        aliases[(a.kind, a.target)].append((a.position, a.alias))

    def names(kind: str, target: str) -> tuple[str, ...]:
        return tuple(alias for _, alias in sorted(aliases.get((kind, target), [])))

    substances = [
        Substance(id=s.id, name=s.name, cls=s.cls, role=s.role, origin=s.origin, unii=s.unii,
                  injectable=s.injectable, status=s.status,
                  iu_mass=_amount(s.iu_mass_value, s.iu_mass_unit), notes=s.notes,
                  aliases=names("substance", s.id), provenance=prov(f"substance:{s.id}", s.evidence),
                  local=s.is_local, dose_as=s.dose_as)
        for s in sorted(rows(m.SubstanceRow), key=lambda r: r.id)
    ]
    components: dict[str, list[m.ProductComponent]] = defaultdict(list)
    for c in rows(m.ProductComponent):
        components[c.product_id].append(c)
    product_areas: dict[str, list[m.ProductArea]] = defaultdict(list)
    for pa in rows(m.ProductArea):
        product_areas[pa.product_id].append(pa)
    products = [
        Product(
            id=p.id, name=p.name, generic=p.generic, vehicle=p.vehicle, ph=p.ph, dose=p.dose,
            status=p.status, container_volume=_amount(p.container_volume_value, p.container_volume_unit),
            do_not_admix=p.do_not_admix, notes=p.notes, local=p.is_local,
            aliases=names("product", p.id), provenance=prov(f"product:{p.id}", p.evidence),
            components=tuple(
                Component(substance=c.substance_id, role=c.role,
                          concentration=_amount(c.concentration_value, c.concentration_unit))
                for c in sorted(components[p.id], key=lambda c: c.position)
            ),
            areas=tuple(a.area_id for a in sorted(product_areas[p.id], key=lambda a: a.position)),
        )
        for p in sorted(rows(m.ProductRow), key=lambda r: r.id)
    ]
    members: dict[str, set[str]] = defaultdict(set)
    for mem in rows(m.AllergenMember):
        members[mem.group_id].add(mem.substance_id)
    origins: dict[str, set[str]] = defaultdict(set)
    for o in rows(m.AllergenOrigin):
        origins[o.group_id].add(o.origin)
    groups = [
        AllergenGroup(id=g.id, name=g.name, member_severity=g.member_severity,
                      origin_severity=g.origin_severity, notes=g.notes,
                      members=frozenset(members[g.id]), origins=frozenset(origins[g.id]),
                      aliases=names("group", g.id), provenance=prov(f"group:{g.id}", g.evidence))
        for g in sorted(rows(m.AllergenGroupRow), key=lambda r: r.id)
    ]
    crosses = [
        CrossReaction(source_group=c.source_group_id, target_group=c.target_group_id,
                      severity=c.severity, message=c.message, provenance=prov(f"cross:{c.id}", c.evidence))
        for c in sorted(rows(m.CrossReactionRow), key=lambda r: r.id)
    ]
    # A vocabulary row's evidence is NULL only in a database migrated from before revision 0008
    # and not yet upgraded: unsourced.
    conditions = [Term(c.id, c.name, names("condition", c.id), c.notes,
                       prov(f"condition:{c.id}", c.evidence or "unsourced"))
                  for c in sorted(rows(m.ConditionRow), key=lambda r: r.id)]
    med_classes = [Term(c.id, c.name, names("medication-class", c.id), c.notes,
                        prov(f"medication-class:{c.id}", c.evidence or "unsourced"))
                   for c in sorted(rows(m.MedicationClassRow), key=lambda r: r.id)]
    links: dict[str, list[m.MedicationClassLink]] = defaultdict(list)
    for link in rows(m.MedicationClassLink):
        links[link.medication_id].append(link)
    medications = [
        Medication(id=med.id, name=med.name, aliases=names("medication", med.id),
                   classes=tuple(link.class_id for link in sorted(links[med.id], key=lambda x: x.position)),
                   provenance=prov(f"medication:{med.id}", med.evidence or "unsourced"))
        for med in sorted(rows(m.MedicationRow), key=lambda r: r.id)
    ]
    areas = [Term(a.id, a.name, names("area", a.id), a.notes) for a in sorted(rows(m.AreaRow), key=lambda r: r.id)]
    ind_areas: dict[str, list[m.IndicationArea]] = defaultdict(list)
    for ia in rows(m.IndicationArea):
        ind_areas[ia.indication_id].append(ia)
    fits: dict[str, list[m.IndicationFit]] = defaultdict(list)
    for f in rows(m.IndicationFit):
        fits[f.indication_id].append(f)
    indications = [
        Indication(
            id=i.id, name=i.name, notes=i.notes, aliases=names("indication", i.id),
            provenance=prov(f"indication:{i.id}", i.evidence),
            areas=tuple(a.area_id for a in sorted(ind_areas[i.id], key=lambda a: a.position)),
            fits=tuple(
                Fit(target=f.target, fit=f.fit, notes=f.notes, provenance=prov(f"fit:{f.id}", f.evidence),
                    final_concentration=_amount(f.final_concentration_value, f.final_concentration_unit))
                for f in sorted(fits[i.id], key=lambda f: f.id)
            ),
        )
        for i in sorted(rows(m.IndicationRow), key=lambda r: r.id)
    ]
    protocols = [
        Protocol(
            indication=p.indication_id, area=p.area_id, technique=p.technique, needle=p.needle,
            max_points=p.max_points, sessions_min=p.sessions_min, sessions_max=p.sessions_max,
            notes=p.notes, provenance=prov(f"protocol:{p.id}", p.evidence),
            **{name: _amount(getattr(p, f"{name}_value"), getattr(p, f"{name}_unit"))
               for name in ("depth_min", "depth_max", "volume_per_point", "max_volume_per_point",
                            "spacing", "session_volume", "interval_min", "interval_max")},
        )
        for p in sorted(rows(m.ProtocolRow), key=lambda r: r.id)
    ]
    rules = [
        Rule(
            id=r.id, kind=r.kind, severity=r.severity, message=r.message, advice=r.advice,
            provenance=prov(f"rule:{r.id}", r.evidence), scope=Scope(r.scope_kind, r.scope_ref),
            params=RULE_KINDS[r.kind].from_columns(r),
        )
        for r in sorted(rows(m.RuleRow), key=lambda r: r.id)
    ]
    defaults = [
        FormulationDefault(key=d.key, value=d.value, notes=d.notes,
                           provenance=prov(f"default:{d.key}", d.evidence))
        for d in sorted(rows(m.FormulationDefaultRow), key=lambda r: r.key)
    ]
    unrelated = [
        UnrelatedTerm(kind=u.kind, id=u.id, name=u.name, reason=u.reason, procedure_note=u.procedure_note,
                      aliases=names(f"unrelated-{u.kind}", u.id),
                      provenance=prov(f"unrelated:{u.kind}:{u.id}", u.evidence))
        for u in sorted(rows(m.UnrelatedTermRow), key=lambda r: (r.kind, r.id))
    ]
    distinctions = [
        Distinction(kind=d.kind, a=d.a, b=d.b, message=d.message,
                    provenance=prov(f"distinction:{d.id}", d.evidence))
        for d in sorted(rows(m.DistinctionRow), key=lambda r: r.id)
    ]
    fhir_codes = [
        FhirCode(kind=c.kind, system=c.system, code=c.code, display=c.display, term=c.term, history=c.history,
                 reads=c.reads, provenance=prov(f"fhir-code:{c.id}", c.evidence), local=c.is_local)
        for c in sorted(rows(m.FhirCodeRow), key=lambda r: r.id)
    ]
    return Catalogue(
        substances=substances, products=products, groups=groups, crosses=crosses,
        conditions=conditions, medication_classes=med_classes, medications=medications,
        areas=areas, indications=indications, protocols=protocols, rules=rules,
        defaults=defaults, unrelated=unrelated, distinctions=distinctions, fhir_codes=fhir_codes,
        revision=revision, location=location,
    )
