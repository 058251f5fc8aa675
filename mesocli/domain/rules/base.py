"""What every check shares: findings, the items a check concerns, the per-check context, and
the record one kind of check registers in :data:`mesocli.domain.rules.CHECKS`.

A kind of check is one module that defines ``CHECK = Check(...)``. A kind read from the
catalogue's rules (``[[contraindication]]`` in ``data/rules.toml``) also gives its typed
parameters, the reader of one TOML table, the references to validate and the rule-table
columns that store the parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mesocli.domain.model import (
    SEVERITY_RANK,
    UNSOURCED_CITATION,
    Component,
    Product,
    Provenance,
    Rule,
    Scope,
    Source,
)
from mesocli.units import Amount

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.domain.catalogue import Catalogue
    from mesocli.domain.patient import ResolvedPatient

PROCEDURE = "procedure"
DEFAULT_MAX_PRODUCTS = 3


@dataclass(frozen=True, slots=True, init=False)
class Finding:
    severity: str
    kind: str
    subject: str
    trigger: str
    message: str
    sources: tuple[str, ...]
    evidence: str
    advice: str | None = None
    path: str | None = None  # how an allergy was reached: direct, group, excipient, origin, cross
    summary: str | None = None  # a short reason for tables, e.g. "contains lidocaine (excipient)"
    # The sources as records (title, URL), for writers that need them apart (FHIR); ``sources``
    # is their text as the JSON contract has it.
    references: tuple[Source, ...] = field(default=(), compare=False, repr=False)
    # What could not be assessed because it is unknown, in a few words ("strength of Caffeine",
    # "vehicle", "volume"): the verdict says that not everything could be assessed, and names it.
    unassessed: str | None = field(default=None, compare=False)
    # The one fact the finding rests on, when it does (see :func:`sourced`): its sources are the
    # finding's, and it grades them.
    rests_on: Provenance | None = field(default=None, compare=False, repr=False)

    # The __init__ a frozen dataclass would have, setting each slot through its own setter rather
    # than object.__setattr__ by name (half the cost; every check makes findings).
    def __init__(self, severity: str, kind: str, subject: str, trigger: str, message: str,
                 sources: tuple[str, ...], evidence: str, advice: str | None = None, path: str | None = None,
                 summary: str | None = None, references: tuple[Source, ...] = (), unassessed: str | None = None,
                 rests_on: Provenance | None = None) -> None:
        (set_severity, set_kind, set_subject, set_trigger, set_message, set_sources, set_evidence, set_advice,
         set_path, set_summary, set_references, set_unassessed, set_rests_on) = _FINDING_SLOTS
        set_severity(self, severity)
        set_kind(self, kind)
        set_subject(self, subject)
        set_trigger(self, trigger)
        set_message(self, message)
        set_sources(self, sources)
        set_evidence(self, evidence)
        set_advice(self, advice)
        set_path(self, path)
        set_summary(self, summary)
        set_references(self, references)
        set_unassessed(self, unassessed)
        set_rests_on(self, rests_on)

    def source_grades(self) -> tuple[str | None, ...]:
        """The own grade of each entry of ``sources``, in order (a label is ``label`` whatever
        the finding's ``evidence``); None for an entry the finding holds no record of."""
        if self.rests_on is not None:
            return self.rests_on.citation_grades
        graded = {str(r): r.grade for r in self.references}
        return tuple(graded.get(s, "unsourced" if s == UNSOURCED_CITATION else None) for s in self.sources)

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (-SEVERITY_RANK[self.severity], self.kind, self.subject, self.trigger, self.message)


# The setter of each slot of a Finding, in field order (what its __init__ sets).
_FINDING_SLOTS = tuple(Finding.__dict__[f.name].__set__ for f in dataclasses.fields(Finding))


def sourced(provenance: Provenance) -> dict[str, Any]:
    """A finding's ``sources``, ``evidence`` and ``references``, from the fact it rests on (``rests_on``)."""
    return {"sources": provenance.citations, "evidence": provenance.evidence, "references": provenance.sources,
            "rests_on": provenance}


def finding_on(provenance: Provenance, severity: str, kind: str, subject: str, trigger: str, message: str,
               advice: str | None = None, path: str | None = None, summary: str | None = None,
               unassessed: str | None = None) -> Finding:
    """A finding resting on the fact whose provenance is ``provenance``: its ``sources``,
    ``evidence`` and ``references`` are the fact's (what :func:`sourced` gives, without the dict)."""
    return Finding(severity, kind, subject, trigger, message, provenance.citations, provenance.evidence, advice,
                   path, summary, provenance.sources, unassessed, provenance)


def finding_of(rule: Rule, kind: str, subject: str, trigger: str,
               message: str | None = None, severity: str | None = None) -> Finding:
    """The finding ``rule`` gives on ``subject``, with its own message and severity unless overridden."""
    return finding_on(rule.provenance, severity or rule.severity, kind, subject, trigger, message or rule.message,
                      rule.advice)


@dataclass(slots=True)
class Item:
    """One thing in a syringe: a catalogue product, or a single substance."""

    subject: str
    product: Product | None
    components: tuple[Component, ...]
    volume: Any = None  # an Amount or None
    syringe: int = 0
    sids: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.sids = tuple([c.substance for c in self.components])

    def substance_ids(self) -> tuple[str, ...]:
        return self.sids


@dataclass
class CheckOptions:
    indication: str | None = None
    area: str | None = None
    max_products: int = DEFAULT_MAX_PRODUCTS
    treatment_area: Any = None  # an Amount
    points: int | None = None
    volume_per_point: Any = None
    sessions: int | None = None
    interval: Any = None
    alternatives: bool = True
    # A screen is about the patient; regulatory status (withdrawn, cosmetic-only) is the same
    # for everyone and is reported when a specific ingredient is checked.
    screen_regulatory: bool = False


def has_quantities(items: Iterable[Item], options: CheckOptions) -> bool:
    """Whether there is anything to dose: a volume, or a protocol's points, volume per point,
    sessions or interval. Without any, no dose limit or protocol can be exceeded or unchecked."""
    return (options.points is not None or options.volume_per_point is not None or options.sessions is not None
            or options.interval is not None or any(item.volume is not None for item in items))


class Context:
    """One check in progress: the catalogue, the patient, the items and the options, and what
    the checks have found so far (equal findings once, the worst severity kept)."""

    def __init__(self, catalogue: Catalogue, patient: ResolvedPatient, items: list[Item],
                 options: CheckOptions, screened: bool) -> None:
        self.cat = catalogue
        self.patient = patient
        self.items = items
        self.options = options
        self.screened = screened
        self.findings: dict[tuple[str, str, str, str], Finding] = {}
        # What a check works out once from the patient (an allergy's reach, the rules the
        # patient's conditions fire), by the name of the check; dropped with the check.
        self.state: dict[str, Any] = {}
        self._syringes: list[list[Item]] | None = None

    def add(self, finding: Finding) -> None:
        key = (finding.kind, finding.subject, finding.trigger, finding.message)
        old = self.findings.get(key)
        if old is None or SEVERITY_RANK[finding.severity] > SEVERITY_RANK[old.severity]:
            self.findings[key] = finding

    def stages(self) -> frozenset[str]:
        """The stages whose checks run for this check (see :data:`STAGES`)."""
        if self.screened:
            return SCREEN_STAGES[self.options.screen_regulatory]
        return _REQUEST_STAGES[has_quantities(self.items, self.options)]

    def syringes(self) -> list[list[Item]]:
        """The items of each syringe, syringes in order of first appearance: :func:`syringes` of
        the items, grouped once for the checks of this check that need them."""
        if self._syringes is None:
            self._syringes = syringes(self.items)
        return self._syringes

    def rules(self, kind: str) -> tuple[Rule, ...]:
        return self.cat.rules_by_kind.get(kind, ())

    def classes(self, item: Item) -> frozenset[str]:
        """The classes of every substance in ``item``."""
        if item.product is not None and item.components is item.product.components:
            return self.cat.product_classes[item.product.id]
        return frozenset([self.cat.substances[s].cls for s in item.sids])

    def matches(self, scope: Scope, item: Item) -> str | None:
        """The subject a scoped rule concerns in ``item``, or ``None`` when it does not apply."""
        if scope.kind == "product":
            return item.subject if item.product is not None and item.product.id == scope.ref else None
        if scope.kind == "substance":
            return item.subject if scope.ref in item.sids else None
        if scope.kind == "class":
            return item.subject if scope.ref in self.classes(item) else None
        return item.subject

    def scoped(self, rule: Rule, kind: str, trigger: str, message: str | None = None,
               severity: str | None = None) -> Iterator[Finding]:
        """``rule``'s finding on the procedure, or on each item its scope concerns."""
        if rule.scope.kind == PROCEDURE:
            yield finding_of(rule, kind, PROCEDURE, trigger, message, severity)
            return
        for item in self.items:
            subject = self.matches(rule.scope, item)
            if subject is not None:
                yield finding_of(rule, kind, subject, trigger, message, severity)

    def name(self, item: Item) -> str:
        return item.product.name if item.product else self.cat.substances[item.subject].name


def syringes(items: Iterable[Item]) -> list[list[Item]]:
    """The items of each syringe, syringes in order of first appearance."""
    out: dict[int, list[Item]] = {}
    for item in items:
        out.setdefault(item.syringe, []).append(item)
    return list(out.values())


@dataclass(frozen=True, slots=True)
class NoParams:
    """The parameters of a rule kind that has none beyond what every rule has."""


def no_params(row: Any) -> NoParams:
    return NoParams()


def wording(catalogue: Catalogue, kind: str) -> Rule:
    """The one rule of ``kind`` that words a finding (severity, message template, advice).

    A catalogue without it was built before the rule existed: nothing is guessed in its place.
    """
    rules = catalogue.rules_by_kind.get(kind, ())
    if len(rules) != 1:
        from mesocli.errors import DatabaseError

        raise DatabaseError(f"the catalogue has {len(rules)} [[{kind}]] rules instead of one; it was built by "
                            "another version of meso: run 'meso db upgrade'")
    return rules[0]


# When a check runs: for every patient (also in a screen); for the ingredients' market status
# (in a screen only when asked); for a request (ingredients or a recipe, never a screen); for a
# request with something to dose.
STAGES = ("patient", "status", "request", "quantities")
# the stages of a screen, without and with market status (CheckOptions.screen_regulatory)
SCREEN_STAGES = {False: frozenset({"patient"}), True: frozenset({"patient", "status"})}
_REQUEST_STAGES = {False: frozenset({"patient", "status", "request"}), True: frozenset(STAGES)}


# The patient's terms, as :class:`~mesocli.domain.patient.ResolvedPatient` holds them: what a
# verdict on an alternative is judged by, one term at a time (``Check.reads``).
PATIENT_TERMS = frozenset({"allergies", "conditions", "medications", "medication_classes", "age"})


@dataclass(frozen=True)
class Check:
    """One kind of check, as registered in :data:`mesocli.domain.rules.CHECKS`.

    ``evaluate`` gives the findings of this kind for one check in progress (``None`` for a kind
    of rule that another check consults, such as the wording of a market-status finding). A kind read from the
    catalogue's rules also has ``params`` (its frozen parameters dataclass), ``read`` (one TOML
    table to parameters), ``scoped`` (whether a rule names its scope: procedure, class, substance
    or product), ``columns`` (each parameter's column in the rule table; an
    :class:`~mesocli.units.Amount` is stored in ``<column>_value`` and ``<column>_unit``),
    ``references`` (the catalogue entries the parameters name, as (what, id), checked when the
    catalogue is read) and ``triggers`` (the keys under which the catalogue index files a rule,
    as (what, id): a rule is found as ``catalogue.rules_by_trigger[(kind, what, id)]``).

    ``reads`` names the patient's terms (:data:`PATIENT_TERMS`) the check reads, when it says:
    given two patients who differ only in other terms, the check finds the same on both. The
    engine's alternatives judge each term alone with the checks that read it (see
    ``engine._Safety``); a check that does not say (``None``) is taken to read every term.
    """

    name: str
    stage: str | None  # None: a kind of rule other checks consult, with no evaluator of its own
    evaluate: Callable[[Context], Iterable[Finding]] | None
    params: type | None = None
    read: Callable[[Any], Any] | None = None
    scoped: bool = False
    columns: Mapping[str, str] = field(default_factory=dict)
    references: Callable[[Any], Iterable[tuple[str, str]]] | None = None
    triggers: Callable[[Rule], Iterable[tuple[str, str | None]]] | None = None
    reads: frozenset[str] | None = None

    def runs(self, ctx: Context) -> bool:
        """Whether this check runs for the check in progress ``ctx``."""
        return self.evaluate is not None and self.stage in ctx.stages()

    # --------------------------------------------------------------- storage of the parameters
    def to_columns(self, params: Any) -> dict[str, Any]:
        """The rule-table columns that hold ``params``."""
        out: dict[str, Any] = {}
        for name, column in self.columns.items():
            value = getattr(params, name)
            if self._is_amount(name):
                out[f"{column}_value"], out[f"{column}_unit"] = (value.value, value.unit) if value else (None, None)
            else:
                out[column] = value
        return out

    def from_columns(self, row: Any) -> Any:
        """The parameters stored in the rule-table row ``row`` (read by attribute)."""
        assert self.params is not None
        values: dict[str, Any] = {}
        for name, column in self.columns.items():
            if self._is_amount(name):
                value, unit = getattr(row, f"{column}_value"), getattr(row, f"{column}_unit")
                values[name] = Amount(value, unit) if value is not None and unit is not None else None
            else:
                values[name] = getattr(row, column)
        return self.params(**values)

    def _is_amount(self, name: str) -> bool:
        assert self.params is not None
        kinds = {f.name: f.type for f in dataclasses.fields(self.params)}
        return "Amount" in str(kinds[name])
