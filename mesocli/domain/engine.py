"""The safety engine: every problem in a patient plus a set of ingredients or a recipe.

One engine, driven by the catalogue's rules, serves ``meso check`` and the formulator's own
final check. It never prints; it returns findings, each with its severity, what it concerns,
what triggered it, why, what to do instead and the sources.

The engine resolves the request, then walks the registry of checks
(:data:`mesocli.domain.rules.CHECKS`), each kind of check one module; see docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mesocli.domain.model import SEVERITY_RANK, Component, Substance
from mesocli.domain.patient import Patient, ResolvedPatient
from mesocli.domain.recipe import RecipeInput
from mesocli.domain.rules import CHECKS
from mesocli.domain.rules.allergy import Exposure
from mesocli.domain.rules.allergy import exposures as allergy_exposures
from mesocli.domain.rules.allergy import item_findings as item_allergy_findings
from mesocli.domain.rules.base import (
    DEFAULT_MAX_PRODUCTS,
    PROCEDURE,
    SCREEN_STAGES,
    STAGES,
    CheckOptions,
    Context,
    Finding,
    Item,
    has_quantities,
)
from mesocli.domain.rules.fit import item_fits
from mesocli.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.domain.catalogue import Catalogue

__all__ = [
    "DEFAULT_MAX_PRODUCTS", "FINDING_KINDS", "PROCEDURE", "Alternative", "CheckOptions",
    "CheckResult", "Exposure", "Finding", "Item", "allergy_exposures", "check_items", "has_quantities",
    "item_allergy_findings", "item_fits", "items_from_names", "items_from_recipe", "resolve_patient",
    "suggest_alternatives",
]

FINDING_KINDS = ("allergy", "condition", "medication", "age", "fit", "regulatory",
                 "incompatibility", "dose", "vehicle", "protocol", "sex", "advisory", "evidence")


@dataclass(frozen=True, slots=True)
class Alternative:
    replaces: str
    use: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    status: str  # ok | caution | contraindicated
    findings: tuple[Finding, ...]
    alternatives: tuple[Alternative, ...] = ()
    screened: bool = False
    patient: ResolvedPatient | None = None
    subjects: tuple[str, ...] = ()

    def at_or_above(self, severity: str) -> tuple[Finding, ...]:
        floor = SEVERITY_RANK[severity]
        return tuple(f for f in self.findings if SEVERITY_RANK[f.severity] >= floor)

    def reaches(self, severity: str) -> bool:
        """Whether any finding is at or above ``severity``."""
        floor = SEVERITY_RANK[severity]
        return any(SEVERITY_RANK[f.severity] >= floor for f in self.findings)


# ------------------------------------------------------------------------------- resolution
def resolve_patient(catalogue: Catalogue, patient: Patient) -> ResolvedPatient:
    """Resolve every term of ``patient``; an unknown one raises (fail closed)."""
    allergies = []
    unrelated: list[tuple[str, Any]] = []
    distinctions: list[tuple[str, str, str, Any]] = []
    notes = catalogue.distinctions_of  # (kind, entry) -> the distinctions the entry is a side of
    for term in patient.allergies:
        found = catalogue.resolve_allergy(term)
        for distinction in notes.get(("allergy", found.id), ()):
            distinctions.append(("allergy", term, found.id, distinction))
        if found.kind == "unrelated-allergy":
            unrelated.append((term, catalogue.unrelated[("allergy", found.id)]))
            continue
        pair = (found.kind, found.id)
        if pair not in allergies:
            allergies.append(pair)
    condition_ids: list[str] = []
    for term in patient.conditions:
        found = catalogue.resolve_condition(term)
        for distinction in notes.get(("condition", found.id), ()):
            distinctions.append(("condition", term, found.id, distinction))
        if found.kind == "unrelated-condition":
            unrelated.append((term, catalogue.unrelated[("condition", found.id)]))
        else:
            condition_ids.append(found.id)
    conditions = _unique(condition_ids) if condition_ids else ()
    medications: list[str] = []
    classes: list[str] = []
    for term in patient.medications:
        found = catalogue.resolve_medication(term)
        for distinction in notes.get(("medication", found.id), ()):
            distinctions.append(("medication", term, found.id, distinction))
        if found.kind == "medication":
            medications.append(found.id)
            classes.extend(catalogue.medication_classes_of(found.id))
        elif found.kind == "unrelated-medication":
            unrelated.append((term, catalogue.unrelated[("medication", found.id)]))
        else:
            classes.append(found.id)
    weight_kg = None
    if patient.weight is not None:
        weight_kg = _weight_kg(catalogue, patient.weight)
    return ResolvedPatient(
        allergies=tuple(allergies),
        conditions=conditions,
        medications=_unique(medications) if medications else (),
        medication_classes=_unique(classes) if classes else (),
        age=patient.age,
        weight_kg=weight_kg,
        sex=patient.sex,
        raw=patient,
        unrelated=tuple(unrelated),
        distinctions=tuple(distinctions),
    )


def _weight_kg(catalogue: Catalogue, raw: Any) -> float:
    """A patient weight in kg, within what a person can weigh."""
    from mesocli.units import mass_in_kg

    weight_kg = mass_in_kg(raw, what="patient weight")
    if not 0.5 <= weight_kg <= 500:
        raise InputError(f"patient weight: {weight_kg:g} kg is outside 0.5-500 kg")
    return weight_kg


def _check_activity_unit(amount: Any, substance: Substance, what: str) -> None:
    """Activity units need a meaning for this substance: IU a mass factor, USP units an enzyme."""
    if amount.canonical_unit == "IU/mL" and substance.iu_mass is None:
        raise InputError(f"{what}: {substance.name} has no IU-to-mass factor in the catalogue; give its "
                         "concentration by mass, e.g. mg/mL")
    if amount.canonical_unit == "USP/mL" and substance.cls != "enzyme":
        raise InputError(f"{what}: USP units apply to enzymes such as hyaluronidase, not to {substance.name}; "
                         "give its concentration by mass, e.g. mg/mL")


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def items_from_names(catalogue: Catalogue, names: Sequence[str]) -> list[Item]:
    """``--ingredient`` terms: each a product or substance, all in one syringe."""
    items = []
    for name in names:
        found = catalogue.resolve_ingredient(name)
        items.append(_item(catalogue, found.kind, found.id))
    return items


def _item(catalogue: Catalogue, kind: str, entry_id: str, syringe: int = 0) -> Item:
    if kind == "product":
        product = catalogue.products[entry_id]
        return Item(product.id, product, product.components, syringe=syringe)
    return Item(entry_id, None, catalogue.lone_components[entry_id], syringe=syringe)


def items_from_recipe(catalogue: Catalogue, recipe: RecipeInput) -> list[Item]:
    """Resolve and parse every component of a recipe, with its volume and concentrations."""
    from mesocli.units import parse_quantity

    items: list[Item] = []
    for number, syringe in enumerate(recipe.syringes, 1):
        for index, component in enumerate(syringe.components, 1):
            where = f"syringe {number} component {index}"
            volume = None
            if component.volume is not None:
                volume = parse_quantity(component.volume, kind="volume", what=f"{where} volume")
            if component.product is not None:
                found = catalogue.resolve("product", ("product",), component.product)
                item = _item(catalogue, "product", found.id, number)
                item.volume = volume
                items.append(item)
                continue
            for sub in component.substances:
                found = catalogue.resolve("substance", ("substance",), sub.id)
                substance = catalogue.substances[found.id]
                concentration = None
                if sub.concentration is not None:
                    what = f"{where} {found.id} concentration"
                    concentration = parse_quantity(sub.concentration, kind="concentration", what=what)
                    _check_activity_unit(concentration, substance, what)
                items.append(Item(found.id, None, (Component(found.id, "active", concentration),),
                                  volume=volume, syringe=number))
    return items


# ------------------------------------------------------------------------------- the check
def check_items(catalogue: Catalogue, patient: ResolvedPatient, items: Sequence[Item] | None,
                options: CheckOptions | None = None, *, patient_state: dict[str, Any] | None = None) -> CheckResult:
    """Run every check on ``items`` (or, when ``None``, screen the whole catalogue).

    ``patient_state`` lets several checks of one patient (the formulator's) share what the
    checks work out from the patient alone; it must not be shared between patients.
    """
    options = options or CheckOptions()
    screened = items is None
    if items is None:
        items = screen_items(catalogue)
    ctx = Context(catalogue, patient, list(items), options, screened)
    if patient_state is not None:
        ctx.state = patient_state
    _run(ctx)
    findings = tuple(sorted(ctx.findings.values(), key=Finding.sort_key))
    status = _status(findings[:1])  # sorted worst first, so the first finding is the worst
    alternatives: tuple[Alternative, ...] = ()
    if options.alternatives and status == "contraindicated":  # alternatives replace contraindicated ones
        blocked = None
        if screened and options == _PLAIN_SCREEN:  # every candidate was just judged for this very patient
            blocked = frozenset([f.subject for f in findings if f.severity == "contraindicated"])
        alternatives = suggest_alternatives(catalogue, patient, findings, blocked=blocked)
    return CheckResult(status, findings, alternatives, screened, patient,
                       tuple(dict.fromkeys([i.subject for i in items])))


# A screen with nothing but the patient: what a candidate's verdict is judged with, but market status.
_PLAIN_SCREEN = CheckOptions()


def _run(ctx: Context) -> None:
    """Every registered check whose stage applies, in the registry's order."""
    add = ctx.add
    for evaluate in _PLANS[ctx.stages()]:
        for finding in evaluate(ctx):
            add(finding)


def _plans() -> dict[frozenset[str], tuple[Any, ...]]:
    """The evaluators of the registered checks whose stage is in each set of stages a check can
    run (every non-empty set of :data:`STAGES`), in the registry's order."""
    from itertools import combinations

    plans = {}
    for size in range(1, len(STAGES) + 1):
        for chosen in combinations(STAGES, size):
            stages = frozenset(chosen)
            plans[stages] = tuple(check.evaluate for check in CHECKS if check.stage in stages)
    return plans


_PLANS = _plans()


def screen_items(catalogue: Catalogue) -> list[Item]:
    """Every product, then every substance: what a screen checks."""
    return ([_item(catalogue, "product", pid) for pid in sorted(catalogue.products)]
            + [_item(catalogue, "substance", sid) for sid in sorted(catalogue.substances)])


def _status(findings: Iterable[Finding]) -> str:
    worst = max([SEVERITY_RANK[f.severity] for f in findings], default=0)
    return _STATUS_BY_RANK.get(worst, "ok")


_STATUS_BY_RANK = {3: "contraindicated", 2: "caution"}


# ------------------------------------------------------------------------------- alternatives
ALTERNATIVES_SHOWN = 5


def suggest_alternatives(catalogue: Catalogue, patient: ResolvedPatient, findings: Sequence[Finding], *,
                         blocked: frozenset[str] | None = None) -> tuple[Alternative, ...]:
    """For each contraindicated ingredient, up to :data:`ALTERNATIVES_SHOWN` safe ones in the same role.

    A candidate is safe when the checks that concern the patient and the ingredient alone (what a
    screen runs: allergies, contraindications, age limits, market status and vehicle) find
    nothing contraindicated about it. Candidates come from the catalogue index, best first:

    - for a product, products whose actives have the same classes (its role), those with its
      very actives first; only when none of them is left, products that do part of its job (an
      anaesthetic with epinephrine: a plain anaesthetic);
    - for a substance, the injectable, marketed substances of its class, by id.

    Candidates are judged one at a time (see :class:`_Safety`), and the walk stops as soon as
    enough are found. ``blocked``, from a screen of the whole catalogue for this very patient
    with no other option, is every ingredient that screen found contraindicated: the screen ran
    the patient's checks on every candidate already, so only market status is left to judge.
    """
    subjects = [s for s in dict.fromkeys(f.subject for f in findings if f.severity == "contraindicated")
                if s != PROCEDURE]
    if not subjects:
        return ()
    safe = _Safety(catalogue, patient, blocked)
    walks = _Walks(catalogue, safe)
    out = []
    for subject in subjects:
        if subject in catalogue.products:
            role = catalogue.product_active_classes[subject]
            use = walks.product(subject)
            note = "or no anaesthetic at all" if "local-anaesthetic" in role else None
        elif subject in catalogue.substances:
            substance = catalogue.substances[subject]
            use = walks.first(("class", substance.cls), catalogue.substances_by_role.get(substance.cls, ()),
                              safe.substance, subject)
            note = "or no anaesthetic at all" if substance.cls == "local-anaesthetic" else None
        else:
            continue
        out.append(Alternative(subject, use, note))
    return tuple(out)


class _Safety:
    """Whether one candidate is safe for the patient: nothing the screen's checks (allergies,
    contraindications, age limits, market status and vehicle) find on it alone is contraindicated.

    Those checks find on one ingredient the union of what each of the patient's terms finds on
    its own: each allergy reaches substances by itself, each condition, medication or class
    fires its own rules, the age its own limits, and market status concerns everyone. So the
    verdict is judged term by term, and each verdict on (ingredient, term) is kept in the one
    memo of the engine (see :data:`VERDICTS_KEPT`): patients differ, their terms recur.

    The verdict with no term (market status, vehicle, and what the checks find on nobody) is
    judged first, and a term is judged only on an ingredient that verdict found safe. So a term
    needs only the checks that read it (``Check.reads``): every other check finds on the
    ingredient what it found with no term, which was nothing contraindicated. The checks a term
    needs, the patient with only that term, and what those checks work out from it once, are
    made at most once per call (:class:`_TermJudge`).

    When a screen of the whole catalogue for the patient gave ``blocked`` (what it found
    contraindicated), the patient's terms have been judged on every candidate at once: what is
    left is the verdict with no term (market status and vehicle), the same for every patient.
    The screen's findings are the union of what each term finds (see above), so the verdicts
    are the same.
    """

    def __init__(self, catalogue: Catalogue, patient: ResolvedPatient, blocked: frozenset[str] | None = None) -> None:
        self.cat = catalogue
        self.terms = _terms(catalogue, patient) if blocked is None else [_NO_TERM]
        self.blocked = blocked or frozenset()
        self.verdicts = _verdicts(catalogue)
        self.tables: dict[str, list[dict[str, bool]]] = {}
        self.judges: list[_TermJudge | None] = [None] * len(self.terms)

    def product(self, entry_id: str) -> bool:
        return self._safe("product", entry_id)

    def substance(self, entry_id: str) -> bool:
        return self._safe("substance", entry_id)

    def _safe(self, kind: str, entry_id: str) -> bool:
        if entry_id in self.blocked:
            return False
        tables = self.tables.get(kind)
        if tables is None:
            tables = self.tables[kind] = self.verdicts.tables(kind, self.terms)
        for index, term in enumerate(self.terms):
            safe = tables[index].get(entry_id)
            if safe is None:
                judge = self.judges[index]
                if judge is None:
                    judge = self.judges[index] = _TermJudge(self.cat, term)
                safe = _judge(self.cat, kind, entry_id, term, judge)
                if self.verdicts.full():
                    self.verdicts.clear()  # cheaper than tracking the oldest; refilled as patients come
                    self.tables.clear()
                    tables = self.tables[kind] = self.verdicts.tables(kind, self.terms)
                tables[index][entry_id] = safe
                self.verdicts.size += 1
            if not safe:
                return False
        return True


class _Verdicts:
    """The engine's one memo for one catalogue: a table of verdicts (entry id -> safe) for each
    (kind of ingredient, patient term), and how many verdicts the tables hold in all.

    Each verdict is one slot in its table, keyed by the catalogue's own id string; the term's
    tuple is hashed once per :func:`suggest_alternatives` call, not once per verdict looked up.
    """

    __slots__ = ("by_term", "size")

    def __init__(self) -> None:
        self.by_term: dict[tuple[str, Term], dict[str, bool]] = {}
        self.size = 0

    def tables(self, kind: str, terms: Sequence[Term]) -> list[dict[str, bool]]:
        """The table of each of ``terms`` for ingredients of ``kind``, in order."""
        by_term = self.by_term
        return [by_term.setdefault((kind, term), {}) for term in terms]

    def full(self) -> bool:
        return self.size >= VERDICTS_KEPT

    def clear(self) -> None:
        self.by_term.clear()
        self.size = 0


# The engine's one memo: verdicts on (ingredient, patient term), per catalogue. Without it, the
# 20,000 generated check requests of `benchmarks/run.py --only batch` take about 1.27x the CPU
# time (3.97 s against 3.12 s in one process, VERDICTS_KEPT = 0 against the default); each verdict
# is one slot of a dict keyed by a catalogue id, and the memo is emptied when it holds this many.
VERDICTS_KEPT = 65_536
_VERDICTS: weakref.WeakKeyDictionary[Any, _Verdicts] = weakref.WeakKeyDictionary()


def _verdicts(catalogue: Catalogue) -> _Verdicts:
    found = _VERDICTS.get(catalogue)
    if found is None:
        found = _VERDICTS[catalogue] = _Verdicts()
    return found


Term = tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], int | None]
_NO_TERM: Term = ((), (), (), (), None)


def _terms(catalogue: Catalogue, patient: ResolvedPatient) -> list[Term]:
    """The patient as single terms: nothing (market status), each allergy, condition, medication
    (with its classes), class and the age; each as (allergies, conditions, medications, classes, age)."""
    terms: list[Term] = [_NO_TERM]
    terms += [((allergy,), (), (), (), None) for allergy in patient.allergies]
    terms += [((), (condition,), (), (), None) for condition in patient.conditions]
    terms += [((), (), (medication,), catalogue.medication_classes_of(medication), None)
              for medication in patient.medications]
    terms += [((), (), (), (cls,), None) for cls in patient.medication_classes]
    if patient.age is not None:
        terms.append(((), (), (), (), patient.age))
    return terms


_NOBODY = Patient()  # the raw patient of a single term: only its resolved term is judged
_JUDGING = CheckOptions(alternatives=False, screen_regulatory=True)
# The fields of a Term, in order, as ResolvedPatient names them (the terms of Check.reads).
_TERM_FIELDS = ("allergies", "conditions", "medications", "medication_classes", "age")


class _TermJudge:
    """What judging ingredients for a patient with only ``term`` needs, made once per term in one
    :func:`suggest_alternatives` call: the patient, the screen's checks that read the term (all
    of them with no term; see :class:`_Safety`), and ``state``, what those checks work out from
    the patient (as :attr:`Context.state`, shared like a build's checks of one patient share it)."""

    __slots__ = ("patient", "plan", "state")

    def __init__(self, catalogue: Catalogue, term: Term) -> None:
        allergies, conditions, medications, classes, age = term
        self.patient = ResolvedPatient(allergies=allergies, conditions=conditions, medications=medications,
                                       medication_classes=classes, age=age, raw=_NOBODY)
        given = frozenset(name for name, value in zip(_TERM_FIELDS, term, strict=True) if value not in (None, ()))
        self.plan = _JUDGE_PLANS[given]
        self.state: dict[str, Any] = {}


def _judge(catalogue: Catalogue, kind: str, entry_id: str, term: Term, judge: _TermJudge) -> bool:
    """Whether the checks of ``judge`` (made for ``term``) find nothing contraindicated on the
    ingredient alone for a patient with only ``term``."""
    ctx = Context(catalogue, judge.patient, [_item(catalogue, kind, entry_id)], _JUDGING, screened=True)
    ctx.state = judge.state
    # One contraindicated finding on the ingredient decides (the check would keep it: the worst
    # of equal findings is kept), so the findings need not be gathered.
    for evaluate in judge.plan:
        for finding in evaluate(ctx):
            if finding.severity == "contraindicated" and finding.subject == entry_id:
                return False
    return True


def _judge_plans() -> dict[frozenset[str], tuple[Any, ...]]:
    """For each set of term fields a term can give (none: the verdict with no term), the
    evaluators of the checks a screen with market status runs (what :data:`_JUDGING` runs) that
    judge it, in the registry's order: all of them with no term, else those that read one of
    the fields (or do not say what they read)."""
    from itertools import combinations

    stages = SCREEN_STAGES[_JUDGING.screen_regulatory]
    screen = [check for check in CHECKS if check.stage in stages]
    plans = {frozenset(): tuple(check.evaluate for check in screen)}
    for size in range(1, len(_TERM_FIELDS) + 1):
        for chosen in combinations(_TERM_FIELDS, size):
            given = frozenset(chosen)
            plans[given] = tuple(check.evaluate for check in screen if check.reads is None or check.reads & given)
    return plans


_JUDGE_PLANS = _judge_plans()


class _Walks:
    """The walks of one :func:`suggest_alternatives` call, each done once.

    Contraindicated ingredients of one role share their candidates: a full screen may find
    thousands of products with the same actives contraindicated, and walking the role once for
    each of them, past the same blocked products, would grow with their number times the role's
    size. A walk keeps one more safe entry than it shows, so that the ingredient itself can be
    left out of its own list.
    """

    def __init__(self, catalogue: Catalogue, safe: _Safety) -> None:
        self.cat = catalogue
        self.safe = safe
        self.walked: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def first(self, key: tuple[Any, ...], ordered: Iterable[str], safe: Any, subject: str,
              limit: int = ALTERNATIVES_SHOWN) -> tuple[str, ...]:
        """The first ``limit`` entries of ``ordered``, other than ``subject``, that ``safe`` accepts
        (``key`` names ``ordered``: the same key, the same entries in the same order)."""
        walked = self.walked.get((key, limit))
        if walked is None:
            walked = self.walked[(key, limit)] = _first(ordered, safe, "", limit + 1)
        return tuple(entry_id for entry_id in walked if entry_id != subject)[:limit]

    def product(self, product_id: str) -> tuple[str, ...]:
        """Safe products in the role of ``product_id``: its very actives first, then the rest of
        its role; when there are none, products that do part of its job."""
        cat, safe = self.cat, self.safe.product
        role = cat.product_active_classes[product_id]
        mine = cat.product_active_ids[product_id]
        use = self.first(("actives", role, mine), cat.products_by_actives.get((role, mine), ()), safe, product_id)
        if len(use) < ALTERNATIVES_SHOWN:
            others = (pid for pid in cat.products_by_role.get(role, ()) if cat.product_active_ids[pid] != mine)
            use += self.first(("others", role, mine), others, safe, product_id, ALTERNATIVES_SHOWN - len(use))
        if not use:
            use = self.first(("part", role), _partial_role(cat, role), safe, product_id)
        return use


def _first(ordered: Iterable[str], safe: Any, subject: str, limit: int = ALTERNATIVES_SHOWN) -> tuple[str, ...]:
    """The first ``limit`` entries of ``ordered``, other than ``subject``, that ``safe`` accepts."""
    use: list[str] = []
    if limit > 0:
        for entry_id in ordered:
            if entry_id != subject and safe(entry_id):
                use.append(entry_id)
                if len(use) == limit:
                    break
    return tuple(use)


def _partial_role(catalogue: Catalogue, role: frozenset[str]) -> Iterator[str]:
    """Products whose actives do part of ``role`` (their classes a smaller, non-empty set), in order."""
    for pid in catalogue.candidate_products:
        classes = catalogue.product_active_classes[pid]
        if classes and classes < role:
            yield pid
