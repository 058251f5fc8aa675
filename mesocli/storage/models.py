"""SQLAlchemy models of the catalogue.

Quantities are stored as a magnitude column and a unit-text column (``*_value``,
``*_unit``); :mod:`mesocli.units` turns them back into quantities. Every fact table has an
``evidence`` column and its sources in ``citation``. Rows a clinic adds have ``is_local``.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Slug = String(100)
Unit = String(40)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SourceRow(Base):
    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("title", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    # The document's own grade (label, peer-reviewed, ...). NULL only in a database migrated from
    # before sources had grades, until 'meso db upgrade' rewrites its rows: read as the grade
    # of the fact that cites it.
    grade: Mapped[str | None] = mapped_column(String(20))


class Citation(Base):
    """Links a fact row (``subject``: e.g. ``substance:lidocaine``, ``rule:12``) to a source."""

    __tablename__ = "citation"

    subject: Mapped[str] = mapped_column(String(300), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"), nullable=False)

    source: Mapped[SourceRow] = relationship(lazy="joined")


class Alias(Base):
    __tablename__ = "alias"
    __table_args__ = (Index("ix_alias_kind_norm", "kind", "norm"),)

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    target: Mapped[str] = mapped_column(Slug, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    alias: Mapped[str] = mapped_column(String(200), nullable=False)
    norm: Mapped[str] = mapped_column(String(200), nullable=False)


class SubstanceRow(Base):
    __tablename__ = "substance"

    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    cls: Mapped[str] = mapped_column("class", String(40), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    origin: Mapped[str | None] = mapped_column(String(40))
    unii: Mapped[str | None] = mapped_column(String(10))
    injectable: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    iu_mass_value: Mapped[float | None] = mapped_column(Float)
    iu_mass_unit: Mapped[str | None] = mapped_column(Unit)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)
    is_local: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    dose_as: Mapped[str | None] = mapped_column(Slug)  # the substance it is dosed as (revision 0006)


class ProductRow(Base):
    __tablename__ = "product"

    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    generic: Mapped[bool] = mapped_column(Boolean, nullable=False)
    vehicle: Mapped[str] = mapped_column(String(20), nullable=False)
    ph: Mapped[str | None] = mapped_column(String(40))
    dose: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    container_volume_value: Mapped[float | None] = mapped_column(Float)
    container_volume_unit: Mapped[str | None] = mapped_column(Unit)
    do_not_admix: Mapped[bool] = mapped_column(Boolean, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)
    is_local: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")

    components: Mapped[list[ProductComponent]] = relationship(
        order_by="ProductComponent.position", cascade="all, delete-orphan"
    )
    areas: Mapped[list[ProductArea]] = relationship(
        order_by="ProductArea.position", cascade="all, delete-orphan"
    )


class ProductComponent(Base):
    __tablename__ = "product_component"

    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"), primary_key=True)
    substance_id: Mapped[str] = mapped_column(ForeignKey("substance.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    concentration_value: Mapped[float | None] = mapped_column(Float)
    concentration_unit: Mapped[str | None] = mapped_column(Unit)


class ProductArea(Base):
    __tablename__ = "product_area"

    product_id: Mapped[str] = mapped_column(ForeignKey("product.id"), primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("area.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class AllergenGroupRow(Base):
    __tablename__ = "allergen_group"

    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    member_severity: Mapped[str] = mapped_column(String(20), nullable=False)
    origin_severity: Mapped[str] = mapped_column(String(20), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


class AllergenMember(Base):
    __tablename__ = "allergen_member"

    group_id: Mapped[str] = mapped_column(ForeignKey("allergen_group.id"), primary_key=True)
    substance_id: Mapped[str] = mapped_column(ForeignKey("substance.id"), primary_key=True)


class AllergenOrigin(Base):
    __tablename__ = "allergen_origin"

    group_id: Mapped[str] = mapped_column(ForeignKey("allergen_group.id"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(40), primary_key=True)


class CrossReactionRow(Base):
    __tablename__ = "cross_reaction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_group_id: Mapped[str] = mapped_column(ForeignKey("allergen_group.id"), nullable=False)
    target_group_id: Mapped[str] = mapped_column(ForeignKey("allergen_group.id"), nullable=False)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


class UnrelatedTermRow(Base):
    """A patient term meso knows that concerns no catalogue item (data/vocabulary.toml)."""

    __tablename__ = "unrelated_term"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    procedure_note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


class DistinctionRow(Base):
    """Two patient terms that must never be taken for one another (data/vocabulary.toml)."""

    __tablename__ = "distinction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    a: Mapped[str] = mapped_column(Slug, nullable=False)
    b: Mapped[str] = mapped_column(Slug, nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


# Conditions, medication classes and medications carry an evidence grade and their sources
# (``citation`` subjects ``condition:<id>``, ``medication-class:<id>``, ``medication:<id>``) from
# revision 0008 on. ``evidence`` is NULL only in a database migrated from an earlier revision,
# until 'meso db upgrade' writes the catalogue again: read as unsourced.


class ConditionRow(Base):
    __tablename__ = "condition"

    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(String(20))


class MedicationClassRow(Base):
    __tablename__ = "medication_class"

    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(String(20))


class MedicationRow(Base):
    __tablename__ = "medication"

    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    evidence: Mapped[str | None] = mapped_column(String(20))


class MedicationClassLink(Base):
    __tablename__ = "medication_class_link"

    medication_id: Mapped[str] = mapped_column(ForeignKey("medication.id"), primary_key=True)
    class_id: Mapped[str] = mapped_column(ForeignKey("medication_class.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class AreaRow(Base):
    __tablename__ = "area"

    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)


class IndicationRow(Base):
    __tablename__ = "indication"

    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


class IndicationArea(Base):
    __tablename__ = "indication_area"

    indication_id: Mapped[str] = mapped_column(ForeignKey("indication.id"), primary_key=True)
    area_id: Mapped[str] = mapped_column(ForeignKey("area.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class IndicationFit(Base):
    __tablename__ = "indication_fit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indication_id: Mapped[str] = mapped_column(ForeignKey("indication.id"), nullable=False, index=True)
    target: Mapped[str] = mapped_column(Slug, nullable=False)
    fit: Mapped[str] = mapped_column(String(20), nullable=False)
    final_concentration_value: Mapped[float | None] = mapped_column(Float)
    final_concentration_unit: Mapped[str | None] = mapped_column(Unit)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


class ProtocolRow(Base):
    __tablename__ = "protocol"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indication_id: Mapped[str] = mapped_column(ForeignKey("indication.id"), nullable=False)
    area_id: Mapped[str] = mapped_column(ForeignKey("area.id"), nullable=False)
    technique: Mapped[str | None] = mapped_column(String(30))
    depth_min_value: Mapped[float | None] = mapped_column(Float)
    depth_min_unit: Mapped[str | None] = mapped_column(Unit)
    depth_max_value: Mapped[float | None] = mapped_column(Float)
    depth_max_unit: Mapped[str | None] = mapped_column(Unit)
    needle: Mapped[str | None] = mapped_column(String(60))
    volume_per_point_value: Mapped[float | None] = mapped_column(Float)
    volume_per_point_unit: Mapped[str | None] = mapped_column(Unit)
    max_volume_per_point_value: Mapped[float | None] = mapped_column(Float)
    max_volume_per_point_unit: Mapped[str | None] = mapped_column(Unit)
    spacing_value: Mapped[float | None] = mapped_column(Float)
    spacing_unit: Mapped[str | None] = mapped_column(Unit)
    max_points: Mapped[int | None] = mapped_column(Integer)
    session_volume_value: Mapped[float | None] = mapped_column(Float)
    session_volume_unit: Mapped[str | None] = mapped_column(Unit)
    sessions_min: Mapped[int | None] = mapped_column(Integer)
    sessions_max: Mapped[int | None] = mapped_column(Integer)
    interval_min_value: Mapped[float | None] = mapped_column(Float)
    interval_min_unit: Mapped[str | None] = mapped_column(Unit)
    interval_max_value: Mapped[float | None] = mapped_column(Float)
    interval_max_unit: Mapped[str | None] = mapped_column(Unit)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


class RuleRow(Base):
    __tablename__ = "rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    severity: Mapped[str] = mapped_column(String(20), nullable=False)
    scope_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    scope_ref: Mapped[str | None] = mapped_column(Slug)
    condition_id: Mapped[str | None] = mapped_column(ForeignKey("condition.id"))
    medication_id: Mapped[str | None] = mapped_column(ForeignKey("medication.id"))
    medication_class_id: Mapped[str | None] = mapped_column(ForeignKey("medication_class.id"))
    indication_id: Mapped[str | None] = mapped_column(ForeignKey("indication.id"))
    area_id: Mapped[str | None] = mapped_column(ForeignKey("area.id"))  # a rule held at one body area only
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    a_ref: Mapped[str | None] = mapped_column(String(110))
    b_ref: Mapped[str | None] = mapped_column(String(110))
    dose_kind: Mapped[str | None] = mapped_column(String(30))
    amount_value: Mapped[float | None] = mapped_column(Float)
    amount_unit: Mapped[str | None] = mapped_column(Unit)
    cap_value: Mapped[float | None] = mapped_column(Float)
    cap_unit: Mapped[str | None] = mapped_column(Unit)
    count: Mapped[int | None] = mapped_column(Integer)
    unless_with: Mapped[str | None] = mapped_column(Slug)
    only_with: Mapped[str | None] = mapped_column(Slug)
    vehicle: Mapped[str | None] = mapped_column(String(20))
    target_class: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text, nullable=False)
    advice: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


class FormulationDefaultRow(Base):
    __tablename__ = "formulation_default"

    key: Mapped[str] = mapped_column(Slug, primary_key=True)
    value: Mapped[str] = mapped_column(String(60), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)


class FhirCodeRow(Base):
    """A coding meso understands in FHIR input (``data/codes/fhir.toml``, or a clinic's import).

    ``kind`` allergy, condition or medication with a ``term``: the catalogue term the coding
    gives; with no ``term``: an absent-or-unknown code, nothing to record. ``kind`` observation:
    an Observation meso reads, and ``reads`` says what for. Sources in ``citation``
    (``fhir-code:<id>``).
    """

    __tablename__ = "fhir_code"
    __table_args__ = (UniqueConstraint("kind", "system", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    system: Mapped[str] = mapped_column(String(200), nullable=False)
    code: Mapped[str] = mapped_column(String(100), nullable=False)
    display: Mapped[str | None] = mapped_column(String(300))
    term: Mapped[str | None] = mapped_column(String(200))
    history: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reads: Mapped[str | None] = mapped_column(String(30))
    evidence: Mapped[str] = mapped_column(String(20), nullable=False)
    is_local: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ImportRow(Base):
    """One ``meso catalogue import``: when, from which file, and what it added (an audit trail)."""

    __tablename__ = "catalogue_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    imported_at: Mapped[str] = mapped_column(String(40), nullable=False)
    file_name: Mapped[str] = mapped_column(String(300), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    substances: Mapped[int] = mapped_column(Integer, nullable=False)
    products: Mapped[int] = mapped_column(Integer, nullable=False)
    replaced: Mapped[int] = mapped_column(Integer, nullable=False)
    codes: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
