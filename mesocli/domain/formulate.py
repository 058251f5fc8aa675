"""The formulator: a dosed recipe for an indication, safe by construction.

Steps, each recorded so the output can say why:

1. Procedure-wide contraindications for the patient (pregnancy, ...) refuse at once.
2. Candidates come from the indication's fits: principal before complementary, then by
   evidence grade. Each candidate product is checked alone with the patient by the safety
   engine; anything contraindicated is excluded with its reason.
3. Anaesthesia: none where the catalogue says it defeats the purpose, none where a chosen
   product already contains one, otherwise the first safe plain local anaesthetic.
4. Syringes: do-not-admix products alone, incompatible pairs apart, never more products in
   one syringe than the limit.
5. The session plan (:mod:`mesocli.domain.session_plan`): the session volume and points, held
   to every bound of the protocol, the treated area, the presentation and the patient's dose
   caps; a bound that truncates the plan is a caution finding.
   Doses: volumes from the studied final concentrations, the rest shared; then every dose
   limit (per session, per kg with its absolute cap, per area) may truncate a volume.
6. The safety engine checks the finished recipe; a contraindicated finding removes the
   offending product and the recipe is rebuilt, or the build is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mesocli.domain import session_plan
from mesocli.domain.dosing import (
    amount_in,
    dose_subject,
    held_limits,
    strength_in,
)
from mesocli.domain.engine import (
    PROCEDURE,
    CheckOptions,
    Finding,
    Item,
    check_items,
)
from mesocli.domain.model import Component, Fit, Product, Protocol, Provenance
from mesocli.domain.patient import ResolvedPatient
from mesocli.domain.rules import purpose_conflict, studied_strength
from mesocli.domain.rules.base import Context, sourced
from mesocli.units import Amount, format_quantity, format_value, from_canonical, same_dimension, settle

if TYPE_CHECKING:  # pragma: no cover
    from mesocli.domain.catalogue import Catalogue

MAX_REBUILDS = 10


@dataclass(frozen=True, slots=True)
class BuildRequest:
    indication: str
    area: str | None = None
    volume: Amount | None = None  # total cocktail volume for the session
    treatment_area: Amount | None = None
    max_products: int = 3


@dataclass(frozen=True, slots=True)
class DosedSubstance:
    id: str
    name: str
    role: str
    concentration: Amount | None  # in the product
    amount: Amount | None  # in the component's volume
    final_concentration: Amount | None  # in the mixed syringe


@dataclass(frozen=True, slots=True)
class RecipeComponent:
    product: Product
    volume: Amount
    substances: tuple[DosedSubstance, ...]
    purpose: str  # active | anaesthetic | diluent
    reason: str


@dataclass(frozen=True, slots=True)
class Syringe:
    components: tuple[RecipeComponent, ...]
    total_volume: Any
    points: int | None = None
    volume_per_point: Any = None


@dataclass(frozen=True, slots=True)
class Exclusion:
    id: str
    reason: str
    trigger: str


@dataclass(frozen=True, slots=True)
class Recipe:
    status: str  # ok | refused
    indication: str
    area: str | None
    syringes: tuple[Syringe, ...]
    protocol: Protocol | None
    findings: tuple[Finding, ...]
    excluded: tuple[Exclusion, ...]
    reasons: tuple[str, ...]
    explanations: tuple[str, ...] = ()
    use_by: str | None = None
    use_by_provenance: Provenance | None = None
    patient: ResolvedPatient | None = None
    sources: tuple[str, ...] = ()
    treatment_area: Any = None
    plan: Any = None  # session_plan.SessionPlan: volume, points and the bound that decided
    refusal_kind: str | None = None  # patient | evidence | volume | safety, when refused


@dataclass
class _Plan:
    """Mutable working state while a recipe is put together."""

    cat: Catalogue
    patient: ResolvedPatient
    request: BuildRequest
    options: CheckOptions
    excluded: list[Exclusion] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)
    banned: set[str] = field(default_factory=set)
    alone: dict[str, list[Finding]] = field(default_factory=dict)  # findings per product checked alone
    # What the build's checks work out from the patient alone (an allergy's reach, the rules the
    # patient's conditions fire): the same for every check of this build, so worked out once.
    patient_state: dict[str, Any] = field(default_factory=dict)
    # The session plan of the current attempt and the cautions it gives (a cap that truncates it).
    session: Any = None
    plan_findings: list[Finding] = field(default_factory=list)
    # Candidates excluded for want of evidence (an unsourced fit, an unknown strength), not for the patient.
    for_evidence: set[str] = field(default_factory=set)
    chose_actives: bool = False

    def exclude(self, entry_id: str, reason: str, trigger: str) -> None:
        if all(e.id != entry_id for e in self.excluded):
            self.excluded.append(Exclusion(entry_id, reason, trigger))

    def exclude_for_evidence(self, entry_id: str, reason: str, trigger: str) -> None:
        self.for_evidence.add(entry_id)
        self.exclude(entry_id, reason, trigger)


def formulate(cat: Catalogue, patient: ResolvedPatient, request: BuildRequest) -> Recipe:
    indication = cat.indications[request.indication]
    area = request.area or (indication.areas[0] if indication.areas else None)
    request = replace(request, area=area)
    options = CheckOptions(indication=indication.id, area=area, max_products=request.max_products,
                           treatment_area=request.treatment_area, alternatives=False)
    plan = _Plan(cat, patient, request, options)
    protocol = cat.protocol_for(indication.id, area)

    # 1. Procedure-wide contraindications refuse the whole build.
    procedure = check_items(cat, patient, [], options, patient_state=plan.patient_state)
    blocking = [f for f in procedure.findings if f.severity == "contraindicated"]
    if blocking:
        return _refuse(plan, protocol, [f"{f.message} (triggered by {f.trigger})" for f in blocking],
                       procedure.findings, "patient")
    if area is not None and indication.areas and area not in indication.areas:
        from mesocli.errors import InputError

        raise InputError(f"{indication.id} is not recorded for the {area} area; its areas are: "
                         f"{', '.join(indication.areas)}")

    for _attempt in range(MAX_REBUILDS):
        syringes = _compose(plan, protocol)
        if not syringes:
            kind = _refusal_kind(plan)
            reasons = [*plan.reasons, REFUSAL_HEADLINES[kind].format(indication=indication.name)]
            reasons += [f"{e.id}: {e.reason}" for e in plan.excluded]
            return _refuse(plan, protocol, reasons, procedure.findings, kind)
        final = _final_check(plan, syringes, protocol)
        bad = [f for f in final.findings if f.severity == "contraindicated"]
        if not bad:
            mixed = any(len(s.components) > 1 for s in syringes)
            use_by = cat.default("use-by") if mixed else None
            sources = sorted({s for f in final.findings for s in f.sources}
                             | set(protocol.provenance.cited() if protocol else ())
                             | {str(src) for p, _ in _chosen(syringes) for src in p.provenance.sources})
            findings = _with_plan_findings(final.findings, plan.plan_findings)
            sources = sorted(set(sources) | {s for f in plan.plan_findings for s in f.sources})
            return Recipe("ok", indication.id, area, tuple(syringes), protocol, findings,
                          tuple(plan.excluded), tuple(plan.reasons), tuple(plan.explain),
                          use_by.value if use_by else None, use_by.provenance if use_by else None,
                          patient, tuple(sources), request.treatment_area, plan.session)
        procedure_bad = [f for f in bad if f.subject == PROCEDURE]
        if procedure_bad:
            return _refuse(plan, protocol, [f.message for f in procedure_bad], final.findings, "patient")
        for f in bad:
            plan.banned.add(f.subject)
            plan.exclude(f.subject, f.message, f.trigger)
        plan.explain.clear()
        plan.plan_findings.clear()
        plan.session = None
    return _refuse(plan, protocol, ["No combination passed the safety check."], procedure.findings, "safety")


# Why a build is refused, by kind: the patient (a contraindication), missing evidence (no
# sourced, dosable ingredient whatever the patient), a session volume too small to dose, or
# no combination passing the safety check.
REFUSAL_KINDS = ("patient", "evidence", "volume", "safety")
REFUSAL_HEADLINES = {
    "patient": "No ingredient for {indication} can be used safely for this patient and dosed from sourced data.",
    "evidence": ("Missing evidence: no ingredient for {indication} has a published source for its fit and a "
                 "known strength, so meso cannot dose one for any patient."),
    "volume": "No ingredient for {indication} has a measurable volume in this session plan.",
}


def _refusal_kind(plan: _Plan) -> str:
    """Why no syringe could be composed: the patient when any candidate was excluded for the
    patient, missing evidence when every exclusion (or the want of any candidate) is about sources."""
    if plan.chose_actives:
        return "volume"
    if any(e.id not in plan.for_evidence for e in plan.excluded):
        return "patient"
    return "evidence"


def _with_plan_findings(findings: Sequence[Finding], extra: Sequence[Finding]) -> tuple[Finding, ...]:
    """The final check's findings and the plan's own cautions, once each, worst first."""
    merged = list(findings)
    merged += [f for f in extra if f not in merged]
    return tuple(sorted(merged, key=Finding.sort_key))


def _chosen(syringes: Sequence[Syringe]) -> list[tuple[Product, Any]]:
    return [(c.product, c.volume) for s in syringes for c in s.components]


def _refuse(plan: _Plan, protocol: Protocol | None, reasons: Sequence[str],
            findings: Sequence[Finding], kind: str) -> Recipe:
    return Recipe("refused", plan.request.indication, plan.request.area, (), protocol,
                  tuple(findings), tuple(plan.excluded), tuple(dict.fromkeys(reasons)), (),
                  patient=plan.patient, refusal_kind=kind)


# ----------------------------------------------------------------------------- candidates
def _alone(plan: _Plan, product: Product) -> list[Finding]:
    """The findings for ``product`` checked alone with the patient (once per build: a rebuild
    asks again about the same products)."""
    found = plan.alone.get(product.id)
    if found is None:
        item = Item(product.id, product, product.components, syringe=1)
        result = check_items(plan.cat, plan.patient, [item], plan.options, patient_state=plan.patient_state)
        found = [f for f in result.findings if f.subject != PROCEDURE]
        plan.alone[product.id] = found
    return found


def _first_blocking(findings: Sequence[Finding]) -> Finding | None:
    blocking = [f for f in findings if f.severity == "contraindicated"]
    return min(blocking, key=Finding.sort_key) if blocking else None


def _products_for(cat: Catalogue, fit: Fit) -> tuple[tuple[Product, ...], tuple[str, ...]]:
    """Products that deliver ``fit``, in order of preference; and the ids of those passed over
    because their records have no published source (no strength of theirs is known from a
    source, so none can be dosed: see :func:`_undosable`).

    The candidates are the named product, or the products with the fit's substance as an
    active. Single-active generic presentations come first; when the fit records a studied
    final concentration, a stock that can reach it (the weakest such) beats one that cannot.
    The order depends on the catalogue alone: it is part of the catalogue index (see :func:`index`).
    """
    found = cat.formulation["products-for"].get(fit)
    if found is not None:
        ranked, passed_over = found
        return tuple(cat.products[pid] for pid in ranked), passed_over
    return _rank_products_for(cat, fit)


def _rank_products_for(cat: Catalogue, fit: Fit) -> tuple[tuple[Product, ...], tuple[str, ...]]:
    if fit.target in cat.products:
        return (cat.products[fit.target],), ()  # named outright: excluded with its reason if undosable
    with_target = [cat.products[p] for p in cat.products_by_substance.get(fit.target, ())
                   if any(c.substance == fit.target and c.role == "active" for c in cat.products[p].components)]
    found = [p for p in with_target if not _unsourced(p)]

    def reach(product: Product) -> tuple[int, float]:
        stock = next((c.concentration for c in product.components if c.substance == fit.target), None)
        target = fit.final_concentration
        if stock is None or target is None or stock.unit != target.unit:
            return (1, 0.0)
        return (0, stock.value) if stock.value >= target.value else (2, -stock.value)

    ranked = sorted(found, key=lambda p: (len(p.actives()), not p.generic, reach(p), len(p.components), p.id))
    return tuple(ranked), tuple(p.id for p in with_target if _unsourced(p))


def index(cat: Catalogue) -> dict[str, Any]:
    """The formulator's part of the catalogue index, built when a catalogue is loaded: each
    fit's products in order of preference (product ids) and the ranked anaesthetic candidates.
    Plain ids and catalogue facts only, so the snapshot reads back without this module."""
    out: dict[str, Any] = {"products-for": {}}
    for indication in cat.indications.values():
        for fit in indication.fits:
            ranked, passed_over = _rank_products_for(cat, fit)
            out["products-for"][fit] = (tuple(p.id for p in ranked), passed_over)
    if "amide-anaesthetic-group" in cat.defaults and "vasoconstrictor-class" in cat.defaults:
        undosable, ranked, unsourced = _rank_anaesthetics(cat)
        out["anaesthetics"] = (tuple(p.id for p in undosable), tuple(p.id for p in ranked), unsourced)
    return out


def _choose_actives(plan: _Plan) -> list[tuple[Product, Fit]]:
    cat = plan.cat
    chosen: list[tuple[Product, Fit]] = []
    covered: set[str] = set()
    limit = plan.request.max_products
    for fit in _fits_in_order(cat, plan.request.indication):
        if fit.target in covered:
            continue
        if fit.provenance.evidence == "unsourced":
            plan.exclude_for_evidence(fit.target, UNSOURCED_FIT, plan.request.indication)
            continue
        picked = None
        redundant = False
        candidates, passed_over = _products_for(cat, fit)
        for product in candidates:
            if product.id in plan.banned or any(p.id == product.id for p, _ in chosen):
                continue
            actives, undosable = _active_facts(cat, product)
            if actives <= covered:
                plan.reasons.append(f"{product.id} was not added: its actives are already in the recipe.")
                redundant = True
                break
            if undosable is not None:
                plan.exclude_for_evidence(product.id, *undosable)
                continue
            blocking = _first_blocking(_alone(plan, product))
            if blocking is not None:
                plan.exclude(product.id, blocking.message, blocking.trigger)
                continue
            picked = product
            break
        if picked is None:
            if passed_over and not redundant:
                plan.reasons.append(_passed_over(fit.target, passed_over))
            elif not candidates:
                plan.reasons.append(f"{fit.target}: {NO_PRODUCT}.")
            continue
        if len(chosen) >= limit:
            plan.reasons.append(f"{picked.id} ({fit.fit}) was not added: the recipe already has {limit} "
                                "active products (raise --max-products to add more).")
            continue
        chosen.append((picked, fit))
        covered.add(fit.target)
        covered.update(_active_facts(cat, picked)[0])
    return chosen


def _passed_over(target: str, ids: Sequence[str], named: int = 3) -> str:
    """One line for the unsourced products of ``target`` that were not considered (however
    many a catalogue holds, the first few are named)."""
    shown = ", ".join(ids[:named]) + (f" and {len(ids) - named} more" if len(ids) > named else "")
    what = "product has" if len(ids) == 1 else "products have"
    return (f"{target}: {len(ids)} {what} no published source and cannot be dosed from sourced data "
            f"({shown}).")


UNSOURCED_FIT = "its fit for this indication has no published source; meso does not build on unsourced fits"
NO_PRODUCT = "no product in the catalogue holds it, so it cannot be dosed"


def fit_dosability(cat: Catalogue, fit: Fit) -> tuple[tuple[str, ...], str | None]:
    """The products a build could dose for ``fit`` (in the formulator's order of preference),
    and, when there is none, why: an unsourced fit, no product holding the target, or products
    whose strength is not known from a source. Before any patient: a patient may still rule a
    dosable product out."""
    if fit.provenance.evidence == "unsourced":
        return (), UNSOURCED_FIT
    candidates, passed_over = _products_for(cat, fit)
    dosable = tuple(p.id for p in candidates if _undosable(p) is None)
    if dosable:
        return dosable, None
    undosable = [p.id for p in candidates] + list(passed_over)
    if not undosable:
        return (), NO_PRODUCT
    shown = ", ".join(undosable[:3]) + (f" and {len(undosable) - 3} more" if len(undosable) > 3 else "")
    what = "its one product has no" if len(undosable) == 1 else "none of its products has a"
    return (), f"{what} strength known from a source ({shown}), so it cannot be dosed"


def _fits_in_order(cat: Catalogue, indication_id: str) -> tuple[Fit, ...]:
    """The indication's fits, principal before complementary, then by evidence grade (in the
    catalogue's one order of grades, strongest first) and target."""
    rank = {grade: number for number, grade in enumerate(cat.setting("evidence-order").split())}
    return tuple(sorted(
        cat.indications[indication_id].fits,
        key=lambda f: (0 if f.fit == "principal" else 1, rank.get(f.provenance.evidence, len(rank)), f.target)))


def _active_facts(cat: Catalogue, product: Product) -> tuple[frozenset[str], tuple[str, str] | None]:
    """A product's active substances, and why it cannot be dosed (reason and trigger), or
    ``None`` when it can."""
    return cat.product_active_ids[product.id], _undosable(product)


UNSOURCED_PRODUCT = ("its record has no published source, so its strength is not known from a source "
                     "and it cannot be dosed")
UNKNOWN_CONCENTRATION = "its concentration is not known from a source, so it cannot be dosed"


def _unsourced(product: Product) -> bool:
    return product.provenance.evidence == "unsourced"


def _undosable(product: Product) -> tuple[str, str] | None:
    """Why a recipe cannot dose ``product`` from sourced data (reason and trigger), or ``None``.

    A strength is a fact like any other: on a row with no published source it is unknown, so
    such a product is never dosed (``meso check`` still checks it when a recipe names it).
    """
    if _unsourced(product):
        return UNSOURCED_PRODUCT, "unsourced"
    undosed = next((c.substance for c in product.actives() if c.concentration is None), None)
    return (UNKNOWN_CONCENTRATION, undosed) if undosed is not None else None


# ----------------------------------------------------------------------------- anaesthesia
def _anaesthetic_needed(plan: _Plan, actives: Sequence[Product]) -> tuple[bool, str]:
    """Whether to add a local anaesthetic: not when a purpose-conflict rule would concern one
    mixed with these actives for this indication, matched as the engine matches it."""
    cat = plan.cat
    probe = next((Item(sid, None, (Component(sid, "active"),), syringe=1)
                  for sid in cat.class_members.get("local-anaesthetic", ())), None)
    if probe is None:
        return True, ""
    items = [*(Item(p.id, p, p.components, syringe=1) for p in actives), probe]
    ctx = Context(cat, plan.patient, items, CheckOptions(indication=plan.request.indication), screened=False)
    for rule in cat.rules_by_kind.get("purpose_conflict", ()):
        if rule.params.indication not in (None, plan.request.indication):
            continue
        if any(subject == probe.subject for subject, _ in purpose_conflict.conflicts(ctx, rule, items)):
            return False, f"No local anaesthetic: {rule.message}"
    return True, ""


def _choose_anaesthetic(plan: _Plan) -> Product | None:
    undosable, ranked, unsourced = _anaesthetic_candidates(plan.cat)
    for product in undosable:
        if product.id not in plan.banned:
            plan.exclude(product.id, *_undosable(product))  # type: ignore[misc]
    for product in ranked:
        if product.id in plan.banned:
            continue
        blocking = _first_blocking(_alone(plan, product))
        if blocking is None:
            return product
        plan.exclude(product.id, blocking.message, blocking.trigger)
    if unsourced:
        plan.reasons.append(_passed_over("local anaesthetic", unsourced))
    return None


def _anaesthetic_candidates(cat: Catalogue) -> tuple[tuple[Product, ...], tuple[Product, ...], tuple[str, ...]]:
    """The plain anaesthetics with a published source that cannot be dosed (a concentration is
    unknown), in catalogue order; the others in order of preference: fewest excipients,
    single-dose, amide, weakest; and the ids of those passed over for having no published
    source, as :func:`_products_for` passes them over (from the catalogue index)."""
    found = cat.formulation.get("anaesthetics")
    if found is None:
        return _rank_anaesthetics(cat)
    undosable, ranked, unsourced = found
    return tuple(cat.products[p] for p in undosable), tuple(cat.products[p] for p in ranked), unsourced


def _rank_anaesthetics(cat: Catalogue) -> tuple[tuple[Product, ...], tuple[Product, ...], tuple[str, ...]]:
    group = cat.groups.get(cat.setting("amide-anaesthetic-group"))
    amides = group.members if group is not None else frozenset()
    undosable = []
    candidates = []
    unsourced = []
    for product in _plain_anaesthetics(cat):
        if _unsourced(product):
            unsourced.append(product.id)
            continue
        if _undosable(product) is not None:
            undosable.append(product)
            continue
        excipients = sum(1 for c in product.components if c.role == "excipient")
        amide = any(c.substance in amides for c in product.actives())
        concentration = product.actives()[0].concentration
        strength = concentration.value if concentration else 0
        candidates.append(((excipients, product.dose != "single", 0 if amide else 1, strength, product.id),
                           product))
    return (tuple(undosable), tuple(product for _, product in sorted(candidates, key=lambda c: c[0])),
            tuple(unsourced))


def _plain_anaesthetics(cat: Catalogue) -> tuple[Product, ...]:
    """Products whose actives are all local anaesthetics, without a vasoconstrictor, in catalogue
    order (from the catalogue index)."""
    cat.setting("vasoconstrictor-class")  # refuses a catalogue that cannot say what is plain
    return tuple(cat.products[pid] for pid in cat.plain_anaesthetics)


# ----------------------------------------------------------------------------- syringes
def _incompatible(plan: _Plan, members: Sequence[Product], candidate: Product) -> bool:
    items = [Item(p.id, p, p.components, syringe=1) for p in [*members, candidate]]
    options = replace(plan.options, max_products=100)
    result = check_items(plan.cat, plan.patient, items, options, patient_state=plan.patient_state)
    return any(f.kind == "incompatibility" and f.severity == "contraindicated" for f in result.findings)


def _assign(plan: _Plan, actives: list[tuple[Product, Fit]], anaesthetic: Product | None) -> list[list[Product]]:
    limit = plan.request.max_products
    syringes: list[list[Product]] = []
    fits = {p.id: f for p, f in actives}

    def closed(members: list[Product]) -> bool:
        """Whether a syringe takes nothing more: do-not-admix, or a product kept at its studied strength."""
        return members[0].do_not_admix or _undilutable(plan.cat, members[0], fits[members[0].id]) is not None

    for product, fit in actives:
        if product.do_not_admix:
            syringes.append([product])
            plan.reasons.append(f"{product.id} is labelled do-not-admix, so it has a syringe of its own.")
            continue
        at_strength = _undilutable(plan.cat, product, fit)
        if at_strength is not None:
            syringes.append([product])
            plan.reasons.append(_own_syringe_reason(product, *at_strength))
            continue
        placed = False
        for members in syringes:
            if closed(members):
                continue
            needs = _slots_needed(plan, [*members, product], anaesthetic, fits)
            if needs > limit:
                continue
            if _incompatible(plan, members, product):
                plan.reasons.append(f"{product.id} is incompatible with {', '.join(m.id for m in members)} "
                                    "in one syringe, so it goes in another.")
                continue
            members.append(product)
            placed = True
            break
        if not placed:
            if syringes and not all(closed(m) for m in syringes):
                plan.reasons.append(f"{product.id} goes in syringe {len(syringes) + 1}: it cannot join the others "
                                    f"within the limit of {limit} products per syringe or the mixing rules.")
            syringes.append([product])
    return syringes


def _undilutable(cat: Catalogue, product: Product, fit: Fit) -> tuple[Amount, Amount] | None:
    """(stock, studied strength) when ``product`` delivers a principal active whose stock is
    no stronger than the final concentration its sources studied: anything drawn up with it
    would dilute it below that strength, so it is used alone. ``None`` otherwise."""
    if not studied_strength.holds_to_strength(cat, fit):
        return None
    stock = next((c.concentration for c in product.components
                  if c.substance == fit.target and c.role == "active" and c.concentration is not None), None)
    studied = fit.final_concentration
    if stock is None or studied is None or stock.canonical_unit != studied.canonical_unit:
        return None
    return (stock, studied) if _at_most(stock, studied) else None


def _own_syringe_reason(product: Product, stock: Amount, studied: Amount) -> str:
    strength = "already at" if _at_most(studied, stock) else "weaker than"
    return (f"{product.id} is {strength} the strength its sources studied as supplied (stock "
            f"{format_quantity(stock)}, studied {format_quantity(studied)}), so it has a syringe of its own: "
            "an anaesthetic or another product drawn up with it would dilute it.")


def _slots_needed(plan: _Plan, members: Sequence[Product], anaesthetic: Product | None,
                  fits: dict[str, Fit]) -> int:
    slots = len(members)
    if anaesthetic is not None and not _has_anaesthetic(plan.cat, members):
        slots += 1
    if all(fits.get(p.id) is not None and fits[p.id].final_concentration is not None for p in members):
        slots += 1  # a diluent makes up the volume
    return slots


def _has_anaesthetic(cat: Catalogue, products: Sequence[Product]) -> bool:
    return any(cat.substances[c.substance].cls == "local-anaesthetic" for p in products for c in p.components)


# ----------------------------------------------------------------------------- dosing
# Volumes are worked out as numbers in mL and amounts in mg (see "canonical numbers" in
# mesocli.units); the syringes of the finished recipe carry them as quantities (the output edge).
ML = "mL"
Part = tuple[Product, float, str, str]  # product, volume in mL, purpose, reason


def _compose(plan: _Plan, protocol: Protocol | None) -> list[Syringe]:
    actives = _choose_actives(plan)
    if not actives:
        return []
    plan.chose_actives = True
    needed, why = _anaesthetic_needed(plan, [p for p, _ in actives])
    anaesthetic = None
    if needed:
        anaesthetic = _choose_anaesthetic(plan)
        if anaesthetic is None:
            plan.reasons.append("No local anaesthetic in the catalogue can be used for this patient (see the "
                                "exclusions); the cocktail has none. Consider topical anaesthesia or none.")
    else:
        plan.reasons.append(why)
    groups = _assign(plan, actives, anaesthetic)
    fits = {p.id: f for p, f in actives}
    volume_ml, first = _plan_volume(plan, protocol, groups, fits, anaesthetic)
    share = volume_ml / len(groups)
    syringes = []
    for number, members in enumerate(groups, 1):
        syringes.append(_dose_syringe(plan, number, members, fits, anaesthetic, share, protocol))
    syringes = _apply_caps(plan, syringes)
    syringes = [_keep_studied_strength(plan, number, parts) for number, parts in enumerate(syringes, 1)]
    kept = []
    for number, parts in enumerate(syringes, 1):
        measurable = [part for part in parts if part[1] >= VOLUME_STEP / 2]
        for product, *_ in (part for part in parts if part not in measurable):
            plan.reasons.append(f"{product.id} was left out of syringe {number}: its volume rounds to 0 mL.")
        if not any(purpose == "active" for _, _, purpose, _ in measurable):
            if parts:
                plan.reasons.append(f"Syringe {number} was dropped: no active ingredient has a measurable volume "
                                    f"(the session volume is too small to share).")
            continue
        kept.append(measurable)
    built = [_points(plan, s, protocol) for s in kept]
    for number, syringe in enumerate(built, 1):
        _explain_final_concentrations(plan, number, syringe)
    _finish_plan(plan, first, built, protocol)
    return built


def _explain_final_concentrations(plan: _Plan, number: int, syringe: Syringe) -> None:
    """The final concentration of each substance in the mixed syringe: its amount over the
    syringe's total volume."""
    total = format_quantity(syringe.total_volume)
    for component in syringe.components:
        for s in component.substances:
            if s.final_concentration is not None:
                final = format_quantity(s.final_concentration)
                plan.explain.append(f"Syringe {number}: {s.id} from {component.product.id}, final concentration = "
                                    f"{format_quantity(s.amount)} / {total} = {final}.")


def _plan_volume(plan: _Plan, protocol: Protocol | None, groups: list[list[Product]],
                 fits: dict[str, Fit], anaesthetic: Product | None) -> tuple[float, Any]:
    """The session volume in mL: the plan's basis (see :mod:`mesocli.domain.session_plan`),
    bounded by the protocol, the treated area, the presentation and every dose cap for this
    patient. The dose caps are worked out from a trial dosing at the basis volume (every volume
    is proportional to the session volume), which is then set aside."""
    request = plan.request
    first = session_plan.start(protocol, request.volume, request.treatment_area, groups)
    plan.explain.extend(first.working)
    marks = len(plan.reasons), len(plan.explain), len(plan.excluded)
    share = first.ml / len(groups)
    trial = [_dose_syringe(plan, number, members, fits, anaesthetic, share, protocol)
             for number, members in enumerate(groups, 1)]
    del plan.reasons[marks[0]:], plan.explain[marks[1]:], plan.excluded[marks[2]:]
    parts = [[(product, volume) for product, volume, _, _ in syringe] for syringe in trial]
    total = sum(volume for syringe in parts for _, volume in syringe)
    caps = session_plan.dose_cap_bounds(plan.cat, plan.patient, request.treatment_area, parts, total,
                                        area=request.area)
    bounds = [*first.bounds, *caps]
    volume_ml, decided = session_plan.decide(first.ml, bounds)
    if decided is not None:
        plan.explain.append(f"Session volume capped at {_ml(volume_ml)} by the "
                            f"{decided.name.replace('-', ' ')} bound: {decided.detail}.")
        what = "A dose cap" if decided.name == "dose-cap" else f"The {decided.name.replace('-', ' ')} bound"
        plan.reasons.append(f"{what} truncated the plan to {_ml(volume_ml)}: {decided.detail}.")
        plan.plan_findings.append(session_plan.capped_finding(first, decided, volume_ml))
    unbounded = session_plan.unbounded_finding(first, bounds, request.area)
    if unbounded is not None:
        plan.plan_findings.append(unbounded)
    plan.session = (first, bounds, decided, volume_ml)
    return volume_ml, first


def _finish_plan(plan: _Plan, first: Any, syringes: Sequence[Syringe], protocol: Protocol | None) -> None:
    _, bounds, decided, volume_ml = plan.session
    total: float = 0
    for syringe in syringes:
        total = total + syringe.total_volume.value
    counted = [s.points for s in syringes if s.points is not None]
    points = sum(counted) if counted else None
    per_point = protocol.volume_per_point if protocol is not None else None
    vpps = [s.volume_per_point for s in syringes if s.volume_per_point is not None]
    shown = max(vpps, key=_by_size) if vpps else per_point
    plan.session = session_plan.finish(first, bounds, volume_ml, decided, total, points, shown)
    plan.explain.extend(session_plan.working(plan.session))
    if points is not None:
        plan.explain.append(f"Plan: {_ml(total)} in {points} points of {format_quantity(shown)}.")


VOLUME_STEP = 0.01  # mL: the finest graduation a practitioner can measure
GRADUATIONS_PER_ML = 100


def _floor_volume(ml: float) -> float:
    """Round a volume in mL down to the syringe graduation, so rounding never raises a dose: the
    volume in whole graduations is the settled number of hundredths of a mL, rounded down (a
    volume that is a whole number of graduations as a decimal is kept as it is)."""
    return math.floor(settle(ml * GRADUATIONS_PER_ML)) / GRADUATIONS_PER_ML


def _ml(value: float) -> str:
    return format_value(value, ML)


def _by_size(amount: Amount) -> float:
    return amount.canonical


def _diluted_volume(target: Amount, share: float, stock: Amount) -> float:
    """The volume in mL of ``stock`` that brings ``share`` mL to the ``target`` concentration:
    target x share / stock."""
    return target.canonical * share / stock.canonical


def _dose_syringe(plan: _Plan, number: int, members: list[Product], fits: dict[str, Fit],
                  anaesthetic: Product | None, share: float,
                  protocol: Protocol | None) -> list[Part]:
    """Volumes for one syringe of ``share`` mL.

    A product whose stock is stronger than its studied final concentration is diluted to it
    (volume = target x syringe volume / stock). The anaesthetic is dosed the same way from the
    catalogue's default final concentration. Products used as supplied (no studied target, or
    a stock already at or below it) share what is left; with none, a diluent makes up the
    volume. Every volume is rounded down to 0.01 mL.
    """
    cat = plan.cat
    mixable = not members[0].do_not_admix and _undilutable(cat, members[0], fits[members[0].id]) is None
    fixed: list[Part] = []
    supplied: list[tuple[Product, str]] = []
    for product in members:
        fit = fits[product.id]
        active = next((c for c in product.actives() if c.concentration is not None), None)
        if not mixable or fit.final_concentration is None or active is None:
            supplied.append((product, _why(fit, "used as supplied")))
            continue
        target = fit.final_concentration
        stock = active.concentration
        assert stock is not None
        if stock.canonical_unit != target.canonical_unit or _at_most(stock, target):
            supplied.append((product, _why(fit, f"stock {format_quantity(stock)} is not stronger than the "
                                                 f"studied {format_quantity(target)}, so it is used as supplied "
                                                 "and mixing dilutes it")))
            continue
        volume = _diluted_volume(target, share, stock)
        plan.explain.append(f"Syringe {number}: {product.id} volume = studied final concentration x syringe "
                            f"volume / stock = {format_quantity(target)} x {_ml(share)} / "
                            f"{format_quantity(stock)} = {_ml(volume)}.")
        fixed.append((product, volume, "active", _why(fit, "diluted to the studied final concentration")))
    limit = plan.request.max_products
    diluent = None
    if mixable and not supplied:
        diluent = cat.products.get(cat.setting("diluent"))
        if diluent is not None and diluent.id in plan.banned:
            diluent = None
        elif diluent is not None:
            blocking = _first_blocking(_alone(plan, diluent))
            if blocking is not None:
                plan.exclude(diluent.id, blocking.message, blocking.trigger)
                diluent = None
    slots = len(members) + (1 if diluent is not None else 0)
    if anaesthetic is not None and mixable and not _has_anaesthetic(cat, members) and slots + 1 > limit:
        plan.reasons.append(f"Syringe {number} has no anaesthetic: no room within the limit of {limit} "
                            "products per syringe.")
        anaesthetic = None
    if diluent is not None and slots > limit:
        diluent = None
    if anaesthetic is not None and mixable and not _has_anaesthetic(cat, members):
        default = cat.default("anaesthetic-final-concentration")
        stock_c = anaesthetic.actives()[0].concentration
        if default is not None and stock_c is not None:
            final = _anaesthetic_final_concentration(cat, default.value)
            volume = _diluted_volume(final, share, stock_c)
            plan.explain.append(f"Syringe {number}: {anaesthetic.id} volume = {format_quantity(final)} final x "
                                f"{_ml(share)} / {format_quantity(stock_c)} = {_ml(volume)} "
                                f"(catalogue default anaesthetic-final-concentration, evidence "
                                f"{default.provenance.evidence}).")
            fixed.append((anaesthetic, volume, "anaesthetic",
                          "local anaesthetic for comfort: the first safe plain presentation for this patient"))
    used: float = 0
    for _, volume, _, _ in fixed:
        used = used + volume
    if used > share:
        scale = share / used
        plan.explain.append(f"Syringe {number}: these volumes need {_ml(used)}, more than "
                            f"{_ml(share)}; each is scaled by {scale:.3g}, so each ends below its "
                            "target concentration.")
        fixed = [(p, v * scale, purpose, why) for p, v, purpose, why in fixed]
        used = share
    remaining = share - used
    parts = [(p, _floor_volume(v), purpose, why) for p, v, purpose, why in fixed]
    if supplied:
        each = remaining / len(supplied)
        if len(supplied) > 1 or fixed:
            plan.explain.append(f"Syringe {number}: the remaining {_ml(remaining)} is shared by the "
                                f"{len(supplied)} product(s) used as supplied: {_ml(each)} each.")
        parts += [(p, _floor_volume(each), "active", why) for p, why in supplied]
    elif mixable and remaining > VOLUME_STEP / 2:
        if diluent is not None:
            parts.append((diluent, _floor_volume(remaining), "diluent", "diluent q.s. to the syringe volume"))
            plan.explain.append(f"Syringe {number}: {diluent.id} q.s. = {_ml(share)} - "
                                f"{_ml(used)} = {_ml(remaining)}.")
        else:
            plan.reasons.append(f"Syringe {number} holds {_ml(used)} rather than "
                                f"{_ml(share)}: no diluent can be added (limit of {limit} products "
                                "per syringe, or the patient cannot have it).")
    kept = []
    for product, volume, purpose, why in parts:
        if volume < VOLUME_STEP / 2:
            plan.reasons.append(f"{product.id} was left out of syringe {number}: no measurable volume remained.")
            continue
        kept.append((product, volume, purpose, why))
    return kept


def _at_most(stock: Amount, other: Amount) -> bool:
    """``stock <= other``, compared as settled numbers in canonical units (see "canonical
    numbers" in :mod:`mesocli.units`)."""
    same_dimension(stock, other)
    return stock.canonical <= other.canonical


def _anaesthetic_final_concentration(cat: Catalogue, text: str) -> Amount:
    """The catalogue default anaesthetic-final-concentration as an amount."""
    from mesocli.units import parse_quantity

    return parse_quantity(text, kind="concentration", what="anaesthetic-final-concentration")


def _why(fit: Fit, how: str) -> str:
    return f"{fit.fit} ingredient for the indication (evidence: {fit.provenance.evidence}); {how}"


def _apply_caps(plan: _Plan, syringes: list[list[Part]]) -> list[list[Part]]:
    """Scale down any product whose substance total exceeds a per-session, per-kg or per-area
    limit. The forms of a substance (``dose_as``) count as the one substance they are dosed as."""
    cat = plan.cat
    dose_id = cat.dose_id
    planned = [[(product, vol) for product, vol, _, _ in parts] for parts in syringes]
    for held in held_limits(cat, plan.patient, plan.request.treatment_area, plan.request.area, planned):
        key, name, limit = held.key, held.name, held.limit
        assert limit.mg is not None
        total = session_plan.total_mg(cat, key, [[(product, vol) for product, vol, _, _ in parts]
                                                 for parts in syringes])
        if total is None:  # an activity without a mass factor
            continue
        if settle(total) <= settle(limit.mg):
            plan.explain.append(f"{name}: planned {_mg(total)} is within the limit "
                                f"{_mg(limit.mg)} ({limit.working}).")
            continue
        scale = limit.mg / total
        plan.explain.append(f"{name}: planned {_mg(total)} exceeds the limit "
                            f"{_mg(limit.mg)} ({limit.working}); volumes containing it are "
                            f"scaled by {scale:.3g}.")
        plan.reasons.append(f"A dose cap truncated the plan: {name} is limited to "
                            f"{_mg(limit.mg)} ({limit.working}).")
        plan.plan_findings.append(_truncated(dose_subject(key, held.forms), name, total, limit, held.rule))
        for parts in syringes:
            for index, (product, vol, purpose, why) in enumerate(parts):
                if any(dose_id(c.substance) == key for c in product.components):
                    parts[index] = (product, _floor_volume(vol * scale), purpose,
                                    why + "; volume reduced by a dose cap")
    return syringes


def _keep_studied_strength(plan: _Plan, number: int, parts: list[Part]) -> list[Part]:
    """The syringe's parts with every principal active at least at the strength its sources
    studied, where taking volume from the other parts can get it there.

    Shares, rounding to the syringe graduation and dose caps can leave a principal active
    weaker than studied. The parts that hold no such active give up volume, the diluent first,
    then the others (anaesthetic, co-actives) in proportion; no amount rises, so no dose cap is
    crossed. Where even that cannot reach the studied strength the parts are left as they are,
    and the final check says so (rules/studied_strength.py).
    """
    cat = plan.cat
    studied = studied_strength.studied_strengths(cat, plan.request.indication)
    for sid, fit in sorted(studied.items()):
        target = fit.final_concentration
        assert target is not None
        carries = [any(c.substance in studied for c in p.components) for p, _, _, _ in parts]
        if not any(any(c.substance == sid for c in p.components) for p, _, _, _ in parts):
            continue
        strength = strength_in([(p.components, volume) for p, volume, _, _ in parts], sid, target.unit)
        if strength is None or not studied_strength.below_studied(strength, fit):
            continue
        total = sum(volume for _, volume, _, _ in parts)
        most = strength * total / target.value  # the largest syringe volume at the studied strength
        excess = total - most
        free = [index for index, carrying in enumerate(parts) if not carries[index]]
        if sum(parts[index][1] for index in free) < excess:
            continue  # out of reach: the final check gives both strengths
        plan.explain.append(f"Syringe {number}: {cat.substances[sid].name} would end at "
                            f"{format_value(strength, target.unit)}, below the studied {format_quantity(target)}; "
                            f"the syringe is brought to at most {_ml(total)} x {format_value(strength, target.unit)} / "
                            f"{format_quantity(target)} = {_ml(most)} by taking volume from the other products.")
        diluents = [index for index in free if parts[index][2] == "diluent"]
        others = [index for index in free if parts[index][2] != "diluent"]
        for index in diluents:
            product, volume, purpose, why = parts[index]
            taken = min(volume, excess)
            parts[index] = (product, _floor_volume(volume - taken), purpose, why)
            excess -= taken
        if excess > 0 and others:
            pool = sum(parts[index][1] for index in others)
            keep = (pool - excess) / pool
            for index in others:
                product, volume, purpose, why = parts[index]
                parts[index] = (product, _floor_volume(volume * keep), purpose,
                                why + f"; volume reduced to keep {sid} at its studied strength")
    return parts


def _truncated(sid: str, name: str, total: float, limit: Any, rule: Any) -> Finding:
    """The caution a dose cap gives when it truncates a planned volume."""
    return Finding("caution", "dose", sid, "plan:dose-cap",
                   f"A dose cap truncated the plan: {name} {_mg(total)} was planned, {_mg(limit.mg)} is the "
                   f"limit ({limit.working}); the volumes that hold it were reduced.",
                   advice=rule.advice, **sourced(rule.provenance))


def _mg(value: float) -> str:
    return format_value(value, "mg")


def _points(plan: _Plan, parts: list[Part], protocol: Protocol | None) -> Syringe:
    cat = plan.cat
    total: float = 0  # mL
    for _, vol, _, _ in parts:
        total = total + vol
    components = []
    for product, vol, purpose, why in parts:
        dosed = []
        for c in product.components:
            if c.concentration is None:
                dosed.append(DosedSubstance(c.substance, cat.substances[c.substance].name, c.role, None, None, None))
                continue
            amount, unit = amount_in(cat.substances[c.substance], c.concentration, vol)
            final = None
            if total > 0:
                final = Amount(from_canonical(amount / total, c.concentration.unit), c.concentration.unit)
            dosed.append(DosedSubstance(c.substance, cat.substances[c.substance].name, c.role,
                                        c.concentration, Amount(amount, unit), final))
            plan.explain.append(f"{product.id}: {c.substance} amount = {format_quantity(c.concentration)} x "
                                f"{_ml(vol)} = {format_value(amount, unit)}.")
        components.append(RecipeComponent(product, Amount(vol, ML), tuple(dosed), purpose, why))
    points = per_point = None
    if protocol is not None and protocol.volume_per_point is not None and total > 0:
        per_point = protocol.volume_per_point.canonical
        points = max(1, math.ceil(settle(total / per_point)))
        plan.explain.append(f"Points = {_ml(total)} / {_ml(per_point)} per point = {points}.")
        if protocol.max_points is not None and points > protocol.max_points:
            per_point = total / protocol.max_points
            points = protocol.max_points
            plan.explain.append(f"Capped at {points} points by the protocol: {_ml(per_point)} per point.")
    return Syringe(tuple(components), Amount(total, ML), points,
                   Amount(per_point, ML) if per_point is not None else None)


# ----------------------------------------------------------------------------- final check
def _final_check(plan: _Plan, syringes: Sequence[Syringe], protocol: Protocol | None) -> Any:
    items = []
    for number, syringe in enumerate(syringes, 1):
        for component in syringe.components:
            p = component.product
            items.append(Item(p.id, p, p.components, volume=component.volume, syringe=number))
    options = replace(plan.options)
    points = sum(s.points or 0 for s in syringes)
    options.points = points or None
    vpps = [s.volume_per_point for s in syringes if s.volume_per_point is not None]
    options.volume_per_point = max(vpps, key=_by_size) if vpps else None
    if protocol is not None:
        options.sessions = protocol.sessions_max
        if protocol.interval_min is not None:
            options.interval = protocol.interval_min
    result = check_items(plan.cat, plan.patient, items, options, patient_state=plan.patient_state)
    return result
