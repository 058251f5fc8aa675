"""The safety engine: every problem in a patient plus a set of ingredients or a recipe.

One engine, driven by the catalogue's rules, serves ``meso check`` and the formulator's own
final check. It never prints; it returns findings, each with its severity, what it concerns,
what triggered it, why, what to do instead and the sources.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.model import (
    SEVERITY_RANK,
    Component,
    Product,
    Provenance,
    Rule,
    Scope,
    Substance,
)
from mesocli.domain.patient import Patient, ResolvedPatient
from mesocli.domain.recipe import RecipeInput
from mesocli.errors import InputError

PROCEDURE = "procedure"
DEFAULT_MAX_PRODUCTS = 3
FINDING_KINDS = ("allergy", "condition", "medication", "age", "fit", "regulatory",
                 "incompatibility", "dose", "vehicle", "protocol")
ADJUNCT_CLASSES = frozenset({"local-anaesthetic", "vehicle", "buffer", "preservative",
                             "antioxidant-excipient", "chelating-agent", "stabiliser"})


@dataclass(frozen=True, slots=True)
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

    def sort_key(self) -> tuple[int, str, str, str, str]:
        return (-SEVERITY_RANK[self.severity], self.kind, self.subject, self.trigger, self.message)


# Findings are immutable values, and the same ones come back for patient after patient:
# equal findings are made once and shared. The most recent 2,048 are kept: mixing findings
# name the other products in the syringe, so a long batch of varied recipes keeps making new
# ones, and a store of 8,192 grew a batch worker's memory by about 7 MiB for 5% more hits.
FINDINGS_KEPT = 2048
_finding = functools.lru_cache(maxsize=FINDINGS_KEPT)(Finding)


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


@dataclass(slots=True)
class Item:
    """One thing in a syringe: a catalogue product, or a single substance."""

    subject: str
    product: Product | None
    components: tuple[Component, ...]
    volume: Any = None  # pint quantity or None
    syringe: int = 0
    sids: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    # What the patient-level rules see of the item: its product, its subject and each
    # component's substance and role (not concentrations, volume or syringe).
    key: tuple[object, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.sids = tuple([c.substance for c in self.components])
        self.key = (self.product.id if self.product is not None else None, self.subject,
                    tuple([(c.substance, c.role) for c in self.components]))

    def substance_ids(self) -> tuple[str, ...]:
        return self.sids

    def shape(self) -> tuple[str | None, tuple[Component, ...]]:
        """What the rules see of this item: its product and its components (not volume or syringe)."""
        return (self.product.id if self.product is not None else None, self.components)


class _Facts:
    """What the rules need to know about one item that depends on the catalogue alone.

    Computed once per product (or per hand-mixed substance) and kept on the catalogue.
    """

    __slots__ = ("classes", "incompatible_as_a", "refs", "statuses", "vehicle_rules")

    def __init__(self, cat: Catalogue, item: Item) -> None:
        self.classes = frozenset(cat.substances[s].cls for s in item.sids)
        refs = set(item.sids) | {f"class:{c}" for c in self.classes}
        if item.product is not None:
            refs.add(item.product.id)
        self.refs = frozenset(refs)
        self.statuses = tuple(_statuses(cat, item))
        self.incompatible_as_a = tuple(rule for rule in cat.rules_by_kind.get("incompatibility", ())
                                       if rule.a is not None and rule.a in self.refs)
        self.vehicle_rules = tuple(rule for rule in cat.rules_by_kind.get("vehicle_rule", ())
                                   if item.product is not None and item.product.vehicle == rule.vehicle)


def _facts(cat: Catalogue, item: Item) -> _Facts:
    return cat.derive(("facts", item.product.id if item.product is not None else item.sids), lambda: _Facts(cat, item))


def _statuses(cat: Catalogue, item: Item) -> list[tuple[str, Substance | Product]]:
    found: list[tuple[str, Substance | Product]] = []
    if item.product is not None and item.product.status in ("withdrawn", "cosmetic-only", "unapproved"):
        found.append((item.product.status, item.product))
    for component in item.components:
        substance = cat.substances[component.substance]
        status = substance.status
        if status not in ("withdrawn", "unapproved", "cosmetic-only"):
            status = "cosmetic-only" if not substance.injectable else ""
        if status and all(status != s for s, _ in found):
            found.append((status, substance))
    return found


def _contraindication_index(cat: Catalogue) -> dict[tuple[str, str], tuple[int, ...]]:
    """Positions of the contraindication rules each condition, medication or class can fire."""
    return cat.derive("contraindication-index", lambda: _index_contraindications(cat))


def _index_contraindications(cat: Catalogue) -> dict[tuple[str, str], tuple[int, ...]]:
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, rule in enumerate(cat.rules_by_kind.get("contraindication", ())):
        if rule.condition is not None:
            index[("condition", rule.condition)].append(position)
        if rule.medication is not None:
            index[("medication", rule.medication)].append(position)
        if rule.medication_class is not None:
            index[("class", rule.medication_class)].append(position)
    return {k: tuple(v) for k, v in index.items()}


def _targeted_conflicts(cat: Catalogue) -> tuple[Rule, ...]:
    """The purpose-conflict rules aimed at a class of ingredient mixed in, in catalogue order."""
    return cat.derive("targeted-conflicts", lambda: tuple(
        rule for rule in cat.rules_by_kind.get("purpose_conflict", ()) if rule.target_class is not None))


def _indication_conflicts(cat: Catalogue, indication_id: str) -> tuple[Rule, ...]:
    """The purpose-conflict rules of one indication, in catalogue order."""
    return cat.derive(("indication-conflicts", indication_id), lambda: tuple(
        rule for rule in cat.rules_by_kind.get("purpose_conflict", ())
        if rule.indication is not None and rule.indication == indication_id))


@dataclass(frozen=True, slots=True)
class Exposure:
    severity: str
    trigger: str
    path: str
    message: str
    provenance: Provenance


# ------------------------------------------------------------------------------- resolution
def resolve_patient(catalogue: Catalogue, patient: Patient) -> ResolvedPatient:
    """Resolve every term of ``patient``; an unknown one raises (fail closed)."""
    allergies = []
    for term in patient.allergies:
        found = catalogue.resolve_allergy(term)
        pair = (found.kind, found.id)
        if pair not in allergies:
            allergies.append(pair)
    conditions = _unique([catalogue.resolve_condition(t).id for t in patient.conditions]) if patient.conditions else ()
    medications: list[str] = []
    classes: list[str] = []
    for term in patient.medications:
        found = catalogue.resolve_medication(term)
        if found.kind == "medication":
            medications.append(found.id)
            classes.extend(catalogue.medication_classes_of(found.id))
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
        raw=patient,
    )


def _weight_kg(catalogue: Catalogue, raw: Any) -> float:
    """A patient weight in kg; the same text always gives the same number, so it is remembered."""
    key = ("weight-kg", raw) if isinstance(raw, str) else None
    if key is not None:
        cached = catalogue.memo.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
    from mesocli.units import mass_in_kg

    weight_kg = mass_in_kg(raw, what="patient weight")
    if not 0.5 <= weight_kg <= 500:
        raise InputError(f"patient weight: {weight_kg:g} kg is outside 0.5-500 kg")
    if key is not None:
        catalogue.remember(key, weight_kg)
    return weight_kg


def _check_activity_unit(quantity: Any, substance: Substance, what: str) -> None:
    """Activity units need a meaning for this substance: IU a mass factor, USP units an enzyme."""
    if quantity.check("[biological_activity] / [volume]") and substance.iu_mass is None:
        raise InputError(f"{what}: {substance.name} has no IU-to-mass factor in the catalogue; give its "
                         "concentration by mass, e.g. mg/mL")
    if quantity.check("[usp_activity] / [volume]") and substance.cls != "enzyme":
        raise InputError(f"{what}: USP units apply to enzymes such as hyaluronidase, not to {substance.name}; "
                         "give its concentration by mass, e.g. mg/mL")


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def items_from_names(catalogue: Catalogue, names: Sequence[str]) -> list[Item]:
    """``--ingredient`` terms: each a product or substance, all in one syringe.

    Like a screen's items, these are kept per catalogue and shared between checks, which only
    read them: change one and every later check of that ingredient would see the change.
    """
    items = []
    for name in names:
        found = catalogue.resolve_ingredient(name)
        items.append(catalogue.derive(("named-item", found.kind, found.id),
                                      lambda found=found: _item(catalogue, found.kind, found.id)))
    return items  # type: ignore[return-value]


def _item(catalogue: Catalogue, kind: str, entry_id: str, syringe: int = 0) -> Item:
    if kind == "product":
        product = catalogue.products[entry_id]
        return Item(product.id, product, product.components, syringe=syringe)
    substance = catalogue.substances[entry_id]
    return Item(substance.id, None, (Component(substance.id, substance.role),), syringe=syringe)


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
                    from mesocli.units import to_amount

                    what = f"{where} {found.id} concentration"
                    quantity = parse_quantity(sub.concentration, kind="concentration", what=what)
                    _check_activity_unit(quantity, substance, what)
                    concentration = to_amount(quantity)
                items.append(Item(found.id, None, (Component(found.id, "active", concentration),),
                                  volume=volume, syringe=number))
    return items


# ------------------------------------------------------------------------------- the check
@dataclass
class CheckOptions:
    indication: str | None = None
    area: str | None = None
    max_products: int = DEFAULT_MAX_PRODUCTS
    treatment_area: Any = None  # pint quantity
    points: int | None = None
    volume_per_point: Any = None
    sessions: int | None = None
    interval: Any = None
    alternatives: bool = True
    # A screen is about the patient; regulatory status (withdrawn, cosmetic-only) is the same
    # for everyone and is reported when a specific ingredient is checked.
    screen_regulatory: bool = False


def check_items(catalogue: Catalogue, patient: ResolvedPatient, items: Sequence[Item] | None,
                options: CheckOptions | None = None) -> CheckResult:
    """Run every rule on ``items`` (or, when ``None``, screen the whole catalogue)."""
    options = options or CheckOptions()
    screened = items is None
    if items is None:
        items = _screen_items(catalogue)
    ctx = _Context(catalogue, patient, list(items), options, screened)
    ctx.run()
    findings = tuple(sorted(ctx.findings.values(), key=Finding.sort_key))
    status = _status(findings[:1])  # sorted worst first, so the first finding is the worst
    alternatives: tuple[Alternative, ...] = ()
    if options.alternatives and status == "contraindicated":  # alternatives replace contraindicated ones
        alternatives = suggest_alternatives(catalogue, patient, findings)
    return CheckResult(status, findings, alternatives, screened, patient,
                       tuple(dict.fromkeys([i.subject for i in items])))


def _screen_items(catalogue: Catalogue) -> list[Item]:
    """Every product, then every substance: what a screen checks (built once per catalogue)."""
    return list(catalogue.derive("screen-items", lambda: tuple(
        [_item(catalogue, "product", pid) for pid in sorted(catalogue.products)]
        + [_item(catalogue, "substance", sid) for sid in sorted(catalogue.substances)])))


def has_quantities(items: Iterable[Item], options: CheckOptions) -> bool:
    """Whether there is anything to dose: a volume, or a protocol's points, volume per point,
    sessions or interval. Without any, no dose limit or protocol can be exceeded or unchecked."""
    return (options.points is not None or options.volume_per_point is not None or options.sessions is not None
            or options.interval is not None or any(item.volume is not None for item in items))


def _status(findings: Iterable[Finding]) -> str:
    worst = max([SEVERITY_RANK[f.severity] for f in findings], default=0)
    return _STATUS_BY_RANK.get(worst, "ok")


_STATUS_BY_RANK = {3: "contraindicated", 2: "caution"}


class _Context:
    def __init__(self, catalogue: Catalogue, patient: ResolvedPatient, items: list[Item],
                 options: CheckOptions, screened: bool) -> None:
        self.cat = catalogue
        self.patient = patient
        self.items = items
        self.options = options
        self.screened = screened
        self.findings: dict[tuple[str, str, str, str], Finding] = {}

    def add(self, finding: Finding) -> None:
        key = (finding.kind, finding.subject, finding.trigger, finding.message)
        old = self.findings.get(key)
        if old is None or SEVERITY_RANK[finding.severity] > SEVERITY_RANK[old.severity]:
            self.findings[key] = finding

    def rule_finding(self, rule: Rule, kind: str, subject: str, trigger: str,
                     message: str | None = None, severity: str | None = None) -> None:
        self.add(_rule_finding(rule, kind, subject, trigger, message, severity))

    def run(self) -> None:
        self.allergies()
        self.contraindications()
        self.ages()
        self.regulatory_and_vehicle()
        if not self.screened:
            self.fit()
            self.mixing()
            if has_quantities(self.items, self.options):
                self.doses()
                self.protocol()

    # ---------------------------------------------------------------- allergies
    def allergies(self) -> None:
        allergies = self.patient.allergies
        if not allergies:
            return
        if len({entry_id for _, entry_id in allergies}) == len(allergies):
            # Every finding an allergy causes has the allergy's id as its trigger, so with no
            # id twice, an item's findings are each allergy's own, kept per item and allergy.
            for item in self.items:
                for allergy in allergies:
                    for finding in _allergy_findings(self.cat, item, allergy):
                        self.add(finding)
            return
        reaches = _reaches(self.cat, allergies)  # a group and a substance of the same id
        for item in self.items:
            for finding in item_allergy_findings(self.cat, item, reaches):
                self.add(finding)

    # ---------------------------------------------------------------- conditions and medications
    def contraindications(self) -> None:
        patient = self.patient
        if not (patient.conditions or patient.medications or patient.medication_classes):
            return
        # Which rules the patient's conditions and medications fire, and what each rule then
        # finds on an item, depend on those terms and the item alone: both are kept.
        terms = (patient.conditions, patient.medications, patient.medication_classes)
        fired = self.cat.derive_pair(("contraindications", terms), _fired_contraindications, self.cat, *terms)
        if not fired:
            return
        for rule, kind, trigger in fired:
            if rule.scope.kind == "procedure":
                self.rule_finding(rule, kind, PROCEDURE, trigger)
        for item in self.items:
            for finding in self.cat.derive_pair(("contraindications", terms, item.key), _fired_on, self.cat,
                                                fired, item):
                self.add(finding)

    def scoped(self, rule: Rule, kind: str, trigger: str, message: str | None = None,
               severity: str | None = None) -> None:
        if rule.scope.kind == "procedure":
            self.rule_finding(rule, kind, PROCEDURE, trigger, message, severity)
            return
        for item in self.items:
            subject = _matches(self.cat, rule.scope, item)
            if subject is not None:
                self.rule_finding(rule, kind, subject, trigger, message, severity)

    # ---------------------------------------------------------------- age
    def ages(self) -> None:
        age = self.patient.age
        for rule in self.cat.rules_by_kind.get("age_limit", ()):
            if age is None:
                if rule.scope.kind == "procedure" and not self.patient.raw.is_empty:
                    self.rule_finding(rule, "age", PROCEDURE, "age",
                                      f"Age not stated; {_age_bounds(rule)}. {rule.message}", "info")
                continue
            too_young = rule.min_age is not None and age < rule.min_age
            too_old = rule.max_age is not None and age > rule.max_age
            if too_young or too_old:
                self.scoped(rule, "age", "age", f"Patient is {age}; {_age_bounds(rule)}. {rule.message}")

    # ---------------------------------------------------------------- regulatory and vehicle
    def regulatory_and_vehicle(self) -> None:
        if self.screened and not self.options.screen_regulatory:
            return
        area = self.options.area
        for item in self.items:
            for finding in self.cat.derive_pair(("regulatory", item.key, area), _regulatory_and_vehicle,
                                                self.cat, item, area):
                self.add(finding)

    # ---------------------------------------------------------------- fit for the indication
    def fit(self) -> None:
        indication_id = self.options.indication
        if indication_id is None:
            return
        for item in self.items:
            for finding in self.fit_of(item, indication_id):
                self.add(finding)
        for rule in _indication_conflicts(self.cat, indication_id):
            self.scoped(rule, "fit", indication_id)

    def fit_of(self, item: Item, indication_id: str) -> tuple[Finding, ...]:
        """What the indication says of ``item``: it depends on the item's make-up alone (its
        subject, product and components with their roles), so it is kept per catalogue."""
        key = ("fit", indication_id, item.subject, item.product.id if item.product is not None else None,
               tuple([(c.substance, c.role) for c in item.components]))
        return self.cat.derive(key, lambda: self._fit_of(item, indication_id))

    def _fit_of(self, item: Item, indication_id: str) -> tuple[Finding, ...]:
        indication = self.cat.indications[indication_id]
        fits = item_fits(self.cat, indication_id, item)
        if fits:
            best = min(fits, key=lambda f: 0 if f.fit == "principal" else 1)
            return (_finding("info", "fit", item.subject, indication_id,
                             f"{self.name(item)}: {best.fit} ingredient for {indication.name} "
                             f"(evidence: {best.provenance.evidence}).",
                             _cited(best.provenance), best.provenance.evidence),)
        if not self.is_adjunct(item):
            return (_finding("caution", "fit", item.subject, indication_id,
                             f"{self.name(item)} has no recorded fit for {indication.name}.",
                             _cited(indication.provenance), indication.provenance.evidence,
                             "Leave it out, or record why it is used."),)
        return ()

    def is_adjunct(self, item: Item) -> bool:
        actives = [c for c in item.components if c.role == "active"] or list(item.components)
        return all(self.cat.substances[c.substance].cls in ADJUNCT_CLASSES for c in actives)

    def name(self, item: Item) -> str:
        return item.product.name if item.product else self.cat.substances[item.subject].name

    # ---------------------------------------------------------------- mixing
    def mixing(self) -> None:
        syringes: dict[int, list[Item]] = defaultdict(list)
        for item in self.items:
            syringes[item.syringe].append(item)
        limit = self.options.max_products
        for members in syringes.values():
            # What is found in one syringe depends on what is in it alone, not on the patient.
            key = ("mixing", limit, tuple([item.key for item in members]))
            for finding in self.cat.derive_pair(key, _mixing, self.cat, members, limit):
                self.add(finding)

    # ---------------------------------------------------------------- doses
    def doses(self) -> None:
        from mesocli.domain.dosing import check_doses

        for finding in check_doses(self.cat, self.patient, self.items, self.options):
            self.add(finding)

    def protocol(self) -> None:
        from mesocli.domain.dosing import check_protocol

        for finding in check_protocol(self.cat, self.items, self.options):
            self.add(finding)


def _fired_contraindications(cat: Catalogue, conditions: tuple[str, ...], medications: tuple[str, ...],
                             classes: tuple[str, ...]) -> tuple[tuple[Rule, str, str], ...]:
    """The contraindication rules these conditions, medications and medication classes fire, in
    catalogue order, each with the kind and the term that fires it (a condition before a
    medication before a class; a class is named by the first medication that belongs to it)."""
    condition_set, medication_set, class_set = set(conditions), set(medications), set(classes)
    index = _contraindication_index(cat)
    positions: set[int] = set()
    for kind, terms in (("condition", condition_set), ("medication", medication_set), ("class", class_set)):
        for term in terms:
            positions.update(index.get((kind, term), ()))
    rules = cat.rules_by_kind.get("contraindication", ())
    fired = []
    for position in sorted(positions):
        rule = rules[position]
        if rule.condition in condition_set:
            kind, trigger = "condition", rule.condition
        elif rule.medication in medication_set:
            kind, trigger = "medication", rule.medication
        elif rule.medication_class in class_set:
            kind = "medication"
            trigger = next((m for m in medications if rule.medication_class in cat.medication_classes_of(m)),
                           rule.medication_class)
        else:
            continue
        assert trigger is not None
        fired.append((rule, kind, trigger))
    return tuple(fired)


def _fired_on(cat: Catalogue, fired: Sequence[tuple[Rule, str, str]], item: Item) -> tuple[Finding, ...]:
    """What the ``fired`` rules that concern ingredients find on ``item``."""
    found = []
    for rule, kind, trigger in fired:
        if rule.scope.kind != "procedure":
            subject = _matches(cat, rule.scope, item)
            if subject is not None:
                found.append(_rule_finding(rule, kind, subject, trigger))
    return tuple(found)


def _matches(cat: Catalogue, scope: Scope, item: Item) -> str | None:
    """The subject a scoped rule concerns in ``item``, or ``None`` when it does not apply."""
    if scope.kind == "product":
        return item.subject if item.product is not None and item.product.id == scope.ref else None
    if scope.kind == "substance":
        return item.subject if scope.ref in item.sids else None
    if scope.kind == "class":
        return item.subject if scope.ref in _facts(cat, item).classes else None
    return item.subject


def _mixing(cat: Catalogue, members: Sequence[Item], limit: int) -> tuple[Finding, ...]:
    """What is wrong with mixing ``members`` in one syringe: too many, or incompatible."""
    found: list[Finding] = []
    distinct = list(dict.fromkeys([i.subject for i in members]))
    if len(distinct) > limit:
        default = cat.default("max-products-per-syringe")
        prov = default.provenance if default else Provenance("expert")
        found.append(_finding(
            "caution", "incompatibility", distinct[limit], "max-products-per-syringe",
            f"{len(distinct)} ingredients in one syringe exceeds the limit of {limit}.",
            _cited(prov), prov.evidence,
            "Split the cocktail across syringes, or raise the limit deliberately."))
    if len(members) == 1:
        return tuple(found)  # a lone ingredient is mixed with nothing
    with_facts = [(item, _facts(cat, item)) for item in members]
    for item, item_facts in with_facts:
        kept_apart = item.product is not None and item.product.do_not_admix
        as_a = item_facts.incompatible_as_a
        if not (kept_apart or as_a):
            continue
        others = [(o, o_facts) for o, o_facts in with_facts if o is not item and o.subject != item.subject]
        if kept_apart and others:
            assert item.product is not None
            found.append(_finding(
                "contraindicated", "incompatibility", item.subject, others[0][0].subject,
                f"{item.product.name} must not be mixed with other products "
                f"(here: {', '.join(o.subject for o, _ in others)}).",
                _cited(item.product.provenance), item.product.provenance.evidence,
                "Give it from its own syringe."))
        for other, other_facts in others:
            for rule in as_a:
                if rule.b == "*" or (rule.b is not None and rule.b in other_facts.refs):
                    found.append(_rule_finding(rule, "incompatibility", item.subject, other.subject))
    conflicts = _targeted_conflicts(cat)
    if not conflicts:
        return tuple(found)
    present = frozenset().union(*[f.classes for _, f in with_facts])
    for rule in conflicts:
        if rule.target_class not in present:
            continue
        targets = [o for o, o_facts in with_facts if rule.target_class in o_facts.classes]
        for item in members:
            subject = _matches(cat, rule.scope, item)
            if subject is not None and item not in targets:
                found.append(_rule_finding(rule, "incompatibility", subject, targets[0].subject))
    return tuple(found)


def _regulatory_and_vehicle(cat: Catalogue, item: Item, area: str | None) -> tuple[Finding, ...]:
    """The item's market status and vehicle, and whether it is labelled for ``area``: the same
    for every patient."""
    found: list[Finding] = []
    facts = _facts(cat, item)
    for status, entry in facts.statuses:
        found.append(_regulatory(item, status, entry))
    product = item.product
    if product is None:
        return tuple(found)
    for rule in facts.vehicle_rules:
        found.append(_rule_finding(rule, "vehicle", item.subject, rule.vehicle or "vehicle",
                                   f"{product.name} has an {rule.vehicle} vehicle. {rule.message}"))
    if product.vehicle == "unknown":
        found.append(_finding(
            "caution", "vehicle", item.subject, "unknown-vehicle",
            f"The vehicle of {product.name} is not recorded in the catalogue; an oily or "
            "alcoholic vehicle must not be injected.",
            _cited(product.provenance), product.provenance.evidence,
            "Confirm from the label that it is an aqueous solution before injecting it."))
    if area and product.areas and area not in product.areas:
        found.append(_finding(
            "caution", "regulatory", item.subject, area,
            f"{product.name} is labelled for {', '.join(product.areas)} only; use in the {area} area is off-label.",
            _cited(product.provenance), product.provenance.evidence,
            "Use an ingredient labelled for this area, or document the off-label use."))
    return tuple(found)


def _regulatory(item: Item, status: str, entry: Substance | Product) -> Finding:
    texts = {
        "withdrawn": ("contraindicated", f"{entry.name} has been withdrawn from the market.",
                      "Do not use; pick a current product in the same role."),
        "cosmetic-only": ("contraindicated",
                          f"{entry.name} has no injectable form; it is for topical cosmetic use only.",
                          "Do not inject topical or cosmetic-grade products."),
        "unapproved": ("caution", f"{entry.name} has no approved injectable product.",
                       "Use only a sterile product with instructions for injection."),
    }
    severity, message, advice = texts[status]
    if entry.notes:
        message += f" {entry.notes}"
    return _finding(severity, "regulatory", item.subject, status, message,
                    _cited(entry.provenance), entry.provenance.evidence, advice)


def _rule_finding(rule: Rule, kind: str, subject: str, trigger: str,
                  message: str | None = None, severity: str | None = None) -> Finding:
    return _finding(severity or rule.severity, kind, subject, trigger, message or rule.message,
                    _cited(rule.provenance), rule.provenance.evidence, rule.advice)


def _cited(provenance: Provenance) -> tuple[str, ...]:
    """The sources of a fact as findings cite them (the same fact always cites the same text).

    Catalogue facts are long-lived objects, so the text is kept per object and found by
    identity, without hashing the provenance. Each entry holds its provenance, so no other
    object can take that identity while the entry is kept.
    """
    entry = _CITED.get(id(provenance))
    if entry is not None and entry[0] is provenance:
        return entry[1]
    if len(_CITED) >= _CITED_LIMIT:
        _CITED.clear()
    cited = tuple(provenance.cited())
    _CITED[id(provenance)] = (provenance, cited)
    return cited


_CITED: dict[int, tuple[Provenance, tuple[str, ...]]] = {}
_CITED_LIMIT = 4096


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


def _age_bounds(rule: Rule) -> str:
    if rule.min_age is not None and rule.max_age is not None:
        return f"allowed from {rule.min_age} to {rule.max_age} years"
    if rule.min_age is not None:
        return f"minimum age {rule.min_age} years"
    return f"maximum age {rule.max_age} years"


def item_fits(catalogue: Catalogue, indication_id: str, item: Item) -> list:  # type: ignore[type-arg]
    indication = catalogue.indications[indication_id]
    actives = {c.substance for c in item.components if c.role == "active"}
    return [f for f in indication.fits
            if (item.product is not None and f.target == item.product.id) or f.target in actives]


# ------------------------------------------------------------------------------- allergy reach
def item_allergy_findings(cat: Catalogue, item: Item,
                          reaches: Sequence[dict[str, list[Exposure]]]) -> list[Finding]:
    """The allergy findings on ``item`` of the allergies whose reaches are ``reaches``: for each
    trigger, the worst way it reaches one of the item's components."""
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
        findings.append(_finding(worst.severity, "allergy", item.subject, trigger, message,
                                 _cited(worst.provenance), worst.provenance.evidence, advice, path, summary))
    return findings


def _allergy_findings(cat: Catalogue, item: Item, allergy: tuple[str, str]) -> tuple[Finding, ...]:
    """What one allergy finds on ``item``, kept per catalogue, item make-up and allergy."""
    return cat.derive_pair(("allergy", item.key, allergy), _one_allergy_findings, cat, item, allergy)


def _one_allergy_findings(cat: Catalogue, item: Item, allergy: tuple[str, str]) -> tuple[Finding, ...]:
    return tuple(item_allergy_findings(cat, item, [_exposures_of(cat, allergy)]))


def allergy_exposures(catalogue: Catalogue,
                      allergies: Iterable[tuple[str, str]]) -> dict[str, list[Exposure]]:
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
            origin_groups += [g.id for g in catalogue.groups.values()
                              if substance.origin in g.origins and g.id not in origin_groups]
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


def _reaches(catalogue: Catalogue, allergies: Sequence[tuple[str, str]]) -> list[dict[str, list[Exposure]]]:
    """Each allergy's own reach (worked out once per catalogue), in the patient's order.

    Each allergy reaches substances independently of the others, so the patient's exposures to
    a substance (what :func:`allergy_exposures` gives) are every allergy's, read in this order.
    """
    return [_exposures_of(catalogue, allergy) for allergy in allergies]


def _exposures_of(catalogue: Catalogue, allergy: tuple[str, str]) -> dict[str, list[Exposure]]:
    return catalogue.derive(("exposures", allergy), lambda: dict(allergy_exposures(catalogue, [allergy])))


# ------------------------------------------------------------------------------- alternatives
def suggest_alternatives(catalogue: Catalogue, patient: ResolvedPatient,
                         findings: Sequence[Finding]) -> tuple[Alternative, ...]:
    """For each contraindicated ingredient, the safe ones in the same role."""
    subjects = [s for s in dict.fromkeys(f.subject for f in findings if f.severity == "contraindicated")
                if s != PROCEDURE]
    if not subjects:
        return ()
    blocked_patient = _blocked(catalogue, patient)
    out = []
    for subject in subjects:
        if subject in catalogue.products:
            product = catalogue.products[subject]
            role = _active_classes(catalogue, product)
            use = _product_alternatives(catalogue, product, blocked_patient)
            note = "or no anaesthetic at all" if "local-anaesthetic" in role else None
        elif subject in catalogue.substances:
            substance = catalogue.substances[subject]
            use = _first(_substance_order(catalogue, substance.cls), blocked_patient, subject)
            note = "or no anaesthetic at all" if substance.cls == "local-anaesthetic" else None
        else:
            continue
        out.append(Alternative(subject, use, note))
    return tuple(out)


ALTERNATIVES_SHOWN = 5


def _first(ordered: Iterable[str], blocked: frozenset[str], subject: str,
           limit: int = ALTERNATIVES_SHOWN) -> tuple[str, ...]:
    """The first ``limit`` entries of ``ordered`` that are neither blocked nor ``subject`` itself."""
    use: list[str] = []
    if limit > 0:
        for entry_id in ordered:
            if entry_id != subject and entry_id not in blocked:
                use.append(entry_id)
                if len(use) == limit:
                    break
    return tuple(use)


def _product_alternatives(catalogue: Catalogue, product: Product, blocked: frozenset[str]) -> tuple[str, ...]:
    """Products in the same role as ``product``, those with its very actives first, none blocked.

    Only when no product in the same role is left, products that do part of its job (an
    anaesthetic with epinephrine: a plain anaesthetic) are offered instead.
    """
    order = _product_order(catalogue)
    role = _active_classes(catalogue, product)
    mine = _active_ids(catalogue, product)
    use = _first(order.same_actives[(role, mine)], blocked, product.id)
    if len(use) < ALTERNATIVES_SHOWN:
        others = (pid for pid, actives in order.same_role[role] if actives != mine)
        use += _first(others, blocked, product.id, ALTERNATIVES_SHOWN - len(use))
    if not use:
        use = _first(_partial_role_order(catalogue, role), blocked, product.id)
    return use


@dataclass(frozen=True, slots=True)
class _ProductOrder:
    """Every product in the order alternatives are offered (fewest components first, then id),
    grouped by the classes of its actives and by the actives themselves. Built once per catalogue."""

    products: tuple[tuple[str, frozenset[str]], ...]  # (id, classes of its actives)
    same_role: dict[frozenset[str], tuple[tuple[str, frozenset[str]], ...]]  # classes -> (id, active ids)
    same_actives: dict[tuple[frozenset[str], frozenset[str]], tuple[str, ...]]  # (classes, active ids) -> ids


def _product_order(catalogue: Catalogue) -> _ProductOrder:
    return catalogue.derive("product-order", lambda: _order_products(catalogue))


def _order_products(catalogue: Catalogue) -> _ProductOrder:
    products: list[tuple[str, frozenset[str]]] = []
    same_role: dict[frozenset[str], list[tuple[str, frozenset[str]]]] = defaultdict(list)
    same_actives: dict[tuple[frozenset[str], frozenset[str]], list[str]] = defaultdict(list)
    for product in sorted(catalogue.products.values(), key=lambda p: (len(p.components), p.id)):
        role = _active_classes(catalogue, product)
        actives = _active_ids(catalogue, product)
        products.append((product.id, role))
        same_role[role].append((product.id, actives))
        same_actives[(role, actives)].append(product.id)
    return _ProductOrder(tuple(products), {k: tuple(v) for k, v in same_role.items()},
                         {k: tuple(v) for k, v in same_actives.items()})


def _partial_role_order(catalogue: Catalogue, role: frozenset[str]) -> tuple[str, ...]:
    """Products whose actives do part of ``role`` (their classes a smaller, non-empty set), in order."""
    return catalogue.derive(("partial-role-order", role), lambda: (
        tuple(pid for pid, classes in _product_order(catalogue).products if classes and classes < role)))


def _substance_order(catalogue: Catalogue, cls: str) -> tuple[str, ...]:
    """The injectable, marketed substances of class ``cls``, by id."""
    return catalogue.derive(("substance-order", cls), lambda: tuple(
        s.id for s in sorted(catalogue.substances.values(), key=lambda s: s.id)
        if s.cls == cls and s.injectable and s.status not in ("withdrawn", "cosmetic-only")))


def _active_ids(catalogue: Catalogue, product: Product) -> frozenset[str]:
    return catalogue.derive(("active-ids", product.id), lambda: frozenset(c.substance for c in product.actives()))


def _active_classes(catalogue: Catalogue, product: Product) -> frozenset[str]:
    return catalogue.derive(("active-classes", product.id), lambda: (
        frozenset(catalogue.substances[c.substance].cls for c in product.actives())))


def _blocked(catalogue: Catalogue, patient: ResolvedPatient) -> frozenset[str]:
    """Every product and substance with a contraindicated patient-level finding.

    A screen's contraindicated findings are the union of what each of the patient's terms
    causes on its own: each allergy reaches substances by itself, each condition, medication
    or class fires its own rules, the age its age limits, and regulatory status concerns
    everyone. So the answer is the union of one screen per term, and each of those is worked
    out once per catalogue (the catalogue is immutable, the engine deterministic).
    """
    blocked = set(_blocked_by(catalogue, ((), (), (), (), None)))
    for allergy in patient.allergies:
        blocked.update(_blocked_by(catalogue, ((allergy,), (), (), (), None)))
    for condition in patient.conditions:
        blocked.update(_blocked_by(catalogue, ((), (condition,), (), (), None)))
    for medication in patient.medications:
        classes = catalogue.medication_classes_of(medication)
        blocked.update(_blocked_by(catalogue, ((), (), (medication,), classes, None)))
    for cls in patient.medication_classes:
        blocked.update(_blocked_by(catalogue, ((), (), (), (cls,), None)))
    if patient.age is not None:
        blocked.update(_blocked_by(catalogue, ((), (), (), (), patient.age)))
    return frozenset(blocked)


def _blocked_by(catalogue: Catalogue, key: tuple[Any, ...]) -> frozenset[str]:
    """What a screen of a patient with only the terms in ``key`` finds contraindicated."""
    allergies, conditions, medications, classes, age = key
    return catalogue.derive(("blocked", key), lambda: blocked_by_screen(catalogue, ResolvedPatient(
        allergies=allergies, conditions=conditions, medications=medications, medication_classes=classes,
        age=age)))


def blocked_by_screen(catalogue: Catalogue, patient: ResolvedPatient) -> frozenset[str]:
    """What one full screen of ``patient`` finds contraindicated (what :func:`_blocked` must equal)."""
    screen = check_items(catalogue, patient, None, CheckOptions(alternatives=False, screen_regulatory=True))
    return frozenset(f.subject for f in screen.findings if f.severity == "contraindicated")
