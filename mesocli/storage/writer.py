"""Write validated catalogue data into a database through a caller-owned session."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mesocli.domain.catalogue import normalise
from mesocli.domain.model import Product, Provenance
from mesocli.domain.rules import RULE_KINDS
from mesocli.errors import CatalogueDataError
from mesocli.storage import models as m
from mesocli.units import Amount

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from mesocli.storage.text import CatalogueData


def search_text(*parts: object) -> str:
    """The normalised text ``meso ingredients search`` matches against, one term per line."""
    terms: list[str] = []
    for part in parts:
        for text in (part if isinstance(part, tuple | list) else (part,)):
            terms.append(normalise(str(text)))
    return "\n".join(dict.fromkeys(terms))


_UNSOURCED = Provenance("unsourced")


def _evidence(provenance: Provenance | None) -> str:
    """A vocabulary row's grade: one given no provenance is written as unsourced."""
    return (provenance or _UNSOURCED).evidence


def _split(amount: Amount | None) -> tuple[float | None, str | None]:
    return (amount.value, amount.unit) if amount else (None, None)


class _Writer:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.sources: dict[tuple[str | None, str | None], m.SourceRow] = {}
        from sqlalchemy import select

        for row in session.execute(select(m.SourceRow)).scalars():
            self.sources[(row.title, row.url)] = row

    def cite(self, subject: str, provenance: Provenance) -> None:
        for citation in self.citations(subject, provenance):
            self.session.add(m.Citation(**citation))

    def citations(self, subject: str, provenance: Provenance) -> list[dict[str, object]]:
        """The citation rows of ``subject`` (its sources' rows are added where new)."""
        out: list[dict[str, object]] = []
        for position, source in enumerate(provenance.sources):
            key = (source.title, source.url)
            row = self.sources.get(key)
            if row is None:
                row = m.SourceRow(title=source.title, url=source.url, grade=source.grade)
                self.session.add(row)
                self.session.flush()
                self.sources[key] = row
            elif row.grade is None:
                row.grade = source.grade
            elif row.grade != source.grade:
                raise CatalogueDataError(f"{subject}: source {str(source)!r} is graded {source.grade!r}, "
                                         f"but the catalogue grades it {row.grade!r}")
            out.append({"subject": subject, "position": position, "source_id": row.id})
        return out

    def aliases(self, kind: str, target: str, aliases: Iterable[str]) -> None:
        for alias in alias_rows(kind, target, aliases):
            self.session.add(m.Alias(**alias))


def alias_rows(kind: str, target: str, aliases: Iterable[str]) -> list[dict[str, object]]:
    return [{"kind": kind, "target": target, "position": position, "alias": alias, "norm": normalise(alias)}
            for position, alias in enumerate(aliases)]


def write_catalogue(session: Session, data: CatalogueData, *, first_rule_id: int = 1) -> None:
    """Add every row of ``data`` to ``session`` (the caller commits)."""
    w = _Writer(session)
    add = session.add
    for s in data.substances:
        mass = _split(s.iu_mass)
        add(m.SubstanceRow(id=s.id, name=s.name, cls=s.cls, role=s.role, origin=s.origin, unii=s.unii,
                           injectable=s.injectable, status=s.status, iu_mass_value=mass[0],
                           iu_mass_unit=mass[1], notes=s.notes, evidence=s.provenance.evidence,
                           is_local=s.local, search_text=search_text(s.id, s.name, s.aliases, s.cls),
                           **({"dose_as": s.dose_as} if s.dose_as is not None else {})))
        w.aliases("substance", s.id, s.aliases)
        w.cite(f"substance:{s.id}", s.provenance)
    for a in data.areas:
        add(m.AreaRow(id=a.id, name=a.name, notes=a.notes))
        w.aliases("area", a.id, a.aliases)
    session.flush()
    _write_products(session, w, data.products)
    for g in data.groups:
        add(m.AllergenGroupRow(id=g.id, name=g.name, member_severity=g.member_severity,
                               origin_severity=g.origin_severity, notes=g.notes,
                               evidence=g.provenance.evidence))
        session.flush()
        for member in sorted(g.members):
            add(m.AllergenMember(group_id=g.id, substance_id=member))
        for origin in sorted(g.origins):
            add(m.AllergenOrigin(group_id=g.id, origin=origin))
        w.aliases("group", g.id, g.aliases)
        w.cite(f"group:{g.id}", g.provenance)
    session.flush()
    for index, c in enumerate(data.crosses, 1):
        add(m.CrossReactionRow(id=index, source_group_id=c.source_group, target_group_id=c.target_group,
                               severity=c.severity, message=c.message, evidence=c.provenance.evidence))
        w.cite(f"cross:{index}", c.provenance)
    for u in data.unrelated:
        add(m.UnrelatedTermRow(kind=u.kind, id=u.id, name=u.name, reason=u.reason,
                               procedure_note=u.procedure_note, evidence=u.provenance.evidence))
        w.aliases(f"unrelated-{u.kind}", u.id, u.aliases)
        w.cite(f"unrelated:{u.kind}:{u.id}", u.provenance)
    for index, d in enumerate(data.distinctions, 1):
        add(m.DistinctionRow(id=index, kind=d.kind, a=d.a, b=d.b, message=d.message,
                             evidence=d.provenance.evidence))
        w.cite(f"distinction:{index}", d.provenance)
    for t in data.conditions:
        add(m.ConditionRow(id=t.id, name=t.name, notes=t.notes, evidence=_evidence(t.provenance)))
        w.aliases("condition", t.id, t.aliases)
        w.cite(f"condition:{t.id}", t.provenance or _UNSOURCED)
    for t in data.medication_classes:
        add(m.MedicationClassRow(id=t.id, name=t.name, notes=t.notes, evidence=_evidence(t.provenance)))
        w.aliases("medication-class", t.id, t.aliases)
        w.cite(f"medication-class:{t.id}", t.provenance or _UNSOURCED)
    session.flush()
    for med in data.medications:
        add(m.MedicationRow(id=med.id, name=med.name, evidence=_evidence(med.provenance)))
        session.flush()
        for position, cls in enumerate(med.classes):
            add(m.MedicationClassLink(medication_id=med.id, class_id=cls, position=position))
        w.aliases("medication", med.id, med.aliases)
        w.cite(f"medication:{med.id}", med.provenance or _UNSOURCED)
    for i in data.indications:
        add(m.IndicationRow(id=i.id, name=i.name, notes=i.notes, evidence=i.provenance.evidence))
        session.flush()
        for position, area in enumerate(i.areas):
            add(m.IndicationArea(indication_id=i.id, area_id=area, position=position))
        w.aliases("indication", i.id, i.aliases)
        w.cite(f"indication:{i.id}", i.provenance)
        for f in i.fits:
            conc = _split(f.final_concentration)
            fit_row = m.IndicationFit(indication_id=i.id, target=f.target, fit=f.fit,
                                      final_concentration_value=conc[0],
                                      final_concentration_unit=conc[1], notes=f.notes,
                                      evidence=f.provenance.evidence)
            add(fit_row)
            session.flush()
            w.cite(f"fit:{fit_row.id}", f.provenance)
    session.flush()
    for p in data.protocols:
        values = {}
        for name in ("depth_min", "depth_max", "volume_per_point", "max_volume_per_point", "spacing",
                     "session_volume", "interval_min", "interval_max"):
            values[f"{name}_value"], values[f"{name}_unit"] = _split(getattr(p, name))
        row = m.ProtocolRow(indication_id=p.indication, area_id=p.area, technique=p.technique,
                            needle=p.needle, max_points=p.max_points, sessions_min=p.sessions_min,
                            sessions_max=p.sessions_max, notes=p.notes,
                            evidence=p.provenance.evidence, **values)
        add(row)
        session.flush()
        w.cite(f"protocol:{row.id}", p.provenance)
    for offset, r in enumerate(data.rules):
        rule_id = first_rule_id + offset
        add(m.RuleRow(id=rule_id, kind=r.kind, severity=r.severity, scope_kind=r.scope.kind,
                      scope_ref=r.scope.ref, message=r.message, advice=r.advice, evidence=r.provenance.evidence,
                      **RULE_KINDS[r.kind].to_columns(r.params)))
        w.cite(f"rule:{rule_id}", r.provenance)
    for d in data.defaults:
        add(m.FormulationDefaultRow(key=d.key, value=d.value, notes=d.notes,
                                    evidence=d.provenance.evidence))
        w.cite(f"default:{d.key}", d.provenance)
    for code in data.fhir_codes:
        code_row = m.FhirCodeRow(kind=code.kind, system=code.system, code=code.code, display=code.display,
                                 term=code.term, history=code.history, reads=code.reads,
                                 evidence=code.provenance.evidence, is_local=code.local)
        add(code_row)
        session.flush()
        w.cite(f"fhir-code:{code_row.id}", code.provenance)
    session.flush()


# Products are most of a large clinic catalogue: they are written as plain rows, many to a
# statement, rather than as one ORM object each (the same rows).
_PRODUCT_BATCH = 5_000


def _write_products(session: Session, w: _Writer, products: Iterable[Product]) -> None:
    """Insert the rows of ``products``: each product, its components, areas, aliases and citations."""
    from sqlalchemy import insert

    session.flush()  # the substances and areas they name, and every pending row, come first
    tables: dict[object, list[dict[str, object]]] = {
        m.ProductRow.__table__: [], m.ProductComponent.__table__: [], m.ProductArea.__table__: [],
        m.Alias.__table__: [], m.Citation.__table__: []}
    rows, components, areas, aliases, citations = tables.values()

    def write() -> None:
        session.flush()  # sources added for these citations
        for table, values in tables.items():
            if values:
                session.execute(insert(table), values)  # type: ignore[arg-type]
                values.clear()

    for p in products:
        vol = _split(p.container_volume)
        rows.append({"id": p.id, "name": p.name, "generic": p.generic, "vehicle": p.vehicle, "ph": p.ph,
                     "dose": p.dose, "status": p.status, "container_volume_value": vol[0],
                     "container_volume_unit": vol[1], "do_not_admix": p.do_not_admix, "notes": p.notes,
                     "evidence": p.provenance.evidence, "is_local": p.local,
                     "search_text": search_text(p.id, p.name, p.aliases, "product")})
        for position, c in enumerate(p.components):
            conc = _split(c.concentration)
            components.append({"product_id": p.id, "substance_id": c.substance, "position": position,
                               "role": c.role, "concentration_value": conc[0], "concentration_unit": conc[1]})
        areas.extend({"product_id": p.id, "area_id": area, "position": position}
                     for position, area in enumerate(p.areas))
        aliases.extend(alias_rows("product", p.id, p.aliases))
        citations.extend(w.citations(f"product:{p.id}", p.provenance))
        if len(rows) >= _PRODUCT_BATCH:
            write()
    write()
