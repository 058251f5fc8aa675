"""The catalogue as plain, immutable data.

Everything the safety engine and the formulator need is held here, loaded once per process
from the database (see :mod:`mesocli.storage.reader`). Nothing in this module imports
SQLAlchemy, pint, typer or rich.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from mesocli.units import Amount

Severity = Literal["contraindicated", "caution", "info"]
SEVERITIES: tuple[str, ...] = ("contraindicated", "caution", "info")
SEVERITY_RANK = {"info": 1, "caution": 2, "contraindicated": 3}
# The evidence grades, strongest first. The catalogue's "evidence-order" default (data/clinical.toml)
# is the order the formulator ranks by; it must list these same grades.
EVIDENCE_GRADES: tuple[str, ...] = (
    "label",
    "peer-reviewed",
    "reference",
    "expert",
    "vendor",
    "unsourced",
)
# A source's own grade: what kind of document it is. "unsourced" grades a fact, never a document.
SOURCE_GRADES: tuple[str, ...] = tuple(g for g in EVIDENCE_GRADES if g != "unsourced")
ROLES = ("active", "excipient", "vehicle")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact comes from: a document title and/or a URL, and the document's own grade
    (one of :data:`SOURCE_GRADES`: a label is ``label`` whatever the fact citing it is graded).

    A source given without a grade takes the grade of the fact that cites it: that happens in
    one place, :class:`Provenance`, so every source of a fact has a grade."""

    title: str | None = None
    url: str | None = None
    grade: str | None = None

    def __str__(self) -> str:
        if self.title and self.url:
            return f"{self.title} <{self.url}>"
        return self.title or self.url or ""


@dataclass(frozen=True, slots=True)
class Provenance:
    """The evidence grade and sources every catalogue fact carries."""

    evidence: str
    sources: tuple[Source, ...] = ()
    # The sources as findings cite them, and the own grade of each, worked out once with the
    # fact (facts are long-lived; every finding's document lists both).
    citations: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    citation_grades: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False,
                                             metadata={"derived": True})  # not content: no part of its hash

    def __post_init__(self) -> None:
        if any(s.grade is None for s in self.sources):
            object.__setattr__(self, "sources", tuple(
                s if s.grade is not None else Source(s.title, s.url, self.evidence) for s in self.sources))
        object.__setattr__(self, "citations", tuple(self.cited()))
        object.__setattr__(self, "citation_grades",
                           tuple([s.grade or self.evidence for s in self.sources]) if self.sources else ("unsourced",))

    def cited(self) -> list[str]:
        if not self.sources:
            return [UNSOURCED_CITATION]
        return [str(s) for s in self.sources]

    def grades(self) -> list[str]:
        """The own grade of each citation :meth:`cited` gives, in the same order."""
        return list(self.citation_grades)


# What a fact with no source cites, so that every finding names where it stands.
UNSOURCED_CITATION = "unsourced: no published source; treat as expert opinion to be verified"


UNSOURCED = Provenance("unsourced", ())


@dataclass(frozen=True, slots=True)
class Substance:
    id: str
    name: str
    cls: str
    role: str
    provenance: Provenance
    aliases: tuple[str, ...] = ()
    origin: str | None = None
    unii: str | None = None
    injectable: bool = True
    status: str = "unknown"
    iu_mass: Amount | None = None
    notes: str | None = None
    local: bool = False
    # For dosing it is this other substance (e.g. a form whose source is not declared): its
    # amounts count under that substance's id, and that substance's dose limits apply to the sum.
    dose_as: str | None = None


@dataclass(frozen=True, slots=True)
class Component:
    """One substance in a product, at a known or unknown concentration."""

    substance: str
    role: str
    concentration: Amount | None = None


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    provenance: Provenance
    components: tuple[Component, ...]
    aliases: tuple[str, ...] = ()
    generic: bool = True
    vehicle: str = "unknown"
    ph: str | None = None
    dose: str = "unknown"
    status: str = "unknown"
    container_volume: Amount | None = None
    do_not_admix: bool = False
    areas: tuple[str, ...] = ()
    notes: str | None = None
    local: bool = False

    def substance_ids(self) -> tuple[str, ...]:
        return tuple(c.substance for c in self.components)

    def actives(self) -> tuple[Component, ...]:
        return tuple(c for c in self.components if c.role == "active")


@dataclass(frozen=True, slots=True)
class AllergenGroup:
    id: str
    name: str
    provenance: Provenance
    aliases: tuple[str, ...] = ()
    members: frozenset[str] = frozenset()
    origins: frozenset[str] = frozenset()
    member_severity: str = "contraindicated"
    origin_severity: str = "contraindicated"
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class CrossReaction:
    source_group: str
    target_group: str
    severity: str
    message: str
    provenance: Provenance


# What a patient term can be: an allergy, a condition or a medication.
TERM_KINDS = ("allergy", "condition", "medication")


@dataclass(frozen=True, slots=True)
class UnrelatedTerm:
    """A patient term meso knows and that concerns no catalogue item (data/vocabulary.toml).

    ``reason`` says why no catalogue item is affected; ``procedure_note``, when present, says
    how the term matters to the procedure itself (gloves, skin antisepsis, dressings).
    """

    kind: str  # allergy | condition | medication
    id: str
    name: str
    reason: str
    provenance: Provenance
    aliases: tuple[str, ...] = ()
    procedure_note: str | None = None


@dataclass(frozen=True, slots=True)
class Distinction:
    """Two patient terms that must never be taken for one another (data/vocabulary.toml).

    ``a`` and ``b`` are ids of one kind of term (for an allergy: an allergen group, a
    substance or an unrelated allergy); a suggestion for a mistyped term never crosses from one
    side to the other, and a patient with either side is told that it does not imply the other.
    """

    kind: str
    a: str
    b: str
    message: str
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class Term:
    """A vocabulary entry: a condition, medication class, area.

    ``provenance`` sources a condition or medication class (its name and aliases are clinical
    claims: an alias says two terms are one); an area carries none (``None``)."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    notes: str | None = None
    provenance: Provenance | None = None


@dataclass(frozen=True, slots=True)
class Medication:
    """A named drug: its aliases and the medication classes it belongs to, with the sources
    that say so (``provenance``)."""

    id: str
    name: str
    classes: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    provenance: Provenance | None = None


@dataclass(frozen=True, slots=True)
class Fit:
    target: str
    fit: str  # principal | complementary
    provenance: Provenance
    final_concentration: Amount | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class Indication:
    id: str
    name: str
    provenance: Provenance
    aliases: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    fits: tuple[Fit, ...] = ()
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class Protocol:
    indication: str
    area: str
    technique: str | None  # None: no source gives one (unknown)
    provenance: Provenance
    depth_min: Amount | None = None
    depth_max: Amount | None = None
    needle: str | None = None
    volume_per_point: Amount | None = None
    max_volume_per_point: Amount | None = None
    spacing: Amount | None = None
    max_points: int | None = None
    session_volume: Amount | None = None
    sessions_min: int | None = None
    sessions_max: int | None = None
    interval_min: Amount | None = None
    interval_max: Amount | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """What a rule concerns: the whole procedure, a class, a substance or a product."""

    kind: str  # procedure | class | substance | product
    ref: str | None = None

    def __str__(self) -> str:
        return "procedure" if self.kind == "procedure" else f"{self.kind}:{self.ref}"


@dataclass(frozen=True, slots=True)
class Rule:
    """One catalogue rule: what every kind shares, and ``params``, the kind's own typed parameters
    (a frozen dataclass defined by the kind's module in :mod:`mesocli.domain.rules`)."""

    id: int
    kind: str  # a name in mesocli.domain.rules.RULE_KINDS
    severity: str
    message: str
    provenance: Provenance
    params: Any
    scope: Scope = field(default_factory=lambda: Scope("procedure"))
    advice: str | None = None


@dataclass(frozen=True, slots=True)
class FormulationDefault:
    key: str
    value: str
    provenance: Provenance
    notes: str | None = None


# The kinds of a FHIR code row: the patient list its term joins, or an Observation meso reads.
FHIR_CODE_KINDS = ("allergy", "condition", "medication")
FHIR_KINDS = (*FHIR_CODE_KINDS, "observation")
# What meso reads from an Observation whose code is an "observation" row.
OBSERVATION_READS = ("pregnancy-status", "body-weight")


@dataclass(frozen=True, slots=True)
class FhirCode:
    """One coding meso understands in FHIR input (``data/codes/fhir.toml``).

    ``kind`` allergy, condition or medication: a coding with this ``system`` and ``code`` gives
    the catalogue ``term`` of that kind, or nothing to record when ``term`` is None (an
    absent-or-unknown code). ``history``: the term counts even when the Condition is resolved.
    ``kind`` observation: an Observation with this code is read for ``reads``.
    """

    kind: str
    system: str
    code: str
    provenance: Provenance
    display: str | None = None
    term: str | None = None
    history: bool = False
    reads: str | None = None
    local: bool = False

    @property
    def nothing(self) -> bool:
        """Whether the code says there is nothing (or nothing known) to record."""
        return self.kind != "observation" and self.term is None


def _quick_setstate(cls: type) -> None:
    """Give ``cls`` the ``__setstate__`` dataclasses gives a slotted class, with each field's slot
    looked up once instead of by name on every object read back from the catalogue snapshot
    (tens of thousands of objects in a large clinic catalogue). The state is the same list of
    field values in field order, so snapshots written either way read the same."""
    setters = tuple(cls.__dict__[f.name].__set__ for f in fields(cls))  # the slots' own setters

    def __setstate__(self: object, state: list[object]) -> None:  # noqa: N807 - the pickle protocol's name
        for set_slot, value in zip(setters, state, strict=False):
            set_slot(self, value)

    cls.__setstate__ = __setstate__  # type: ignore[attr-defined]


for _cls in (Source, Provenance, Substance, Component, Product, AllergenGroup, CrossReaction, Term, Medication,
             Fit, Indication, Protocol, Scope, Rule, FormulationDefault, FhirCode, Amount):
    _quick_setstate(_cls)
