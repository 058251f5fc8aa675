"""The loaded catalogue: indexes over the plain data, and fail-closed name resolution."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from mesocli.domain.model import (
    TERM_KINDS,
    AllergenGroup,
    Component,
    CrossReaction,
    Distinction,
    FhirCode,
    FormulationDefault,
    Indication,
    Medication,
    Product,
    Protocol,
    Provenance,
    Rule,
    Substance,
    Term,
    UnrelatedTerm,
)
from mesocli.errors import InputError, UnknownTermError

_SEPARATORS = re.compile(r"[\s_\-\u2010-\u2015]+")
MAX_TERM_LENGTH = 200
_ALLERGY_WORDS = re.compile(r"\b(allergy|allergies|allergic(\s+to)?|hypersensitivity(\s+to)?|sensitivity)\b",
                            re.IGNORECASE)


def normalise(term: str) -> str:
    """Fold a name for matching: Unicode NFKC, case-folded, separators unified to '-'."""
    folded = unicodedata.normalize("NFKC", term).casefold().strip()
    return _SEPARATORS.sub("-", folded).strip("-")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A term resolved to a catalogue entry."""

    kind: str  # substance | product | group | condition | medication | medication-class | indication | area
    id: str


_NO_NAMES: Mapping[str, str] = MappingProxyType({})  # the names of a kind the catalogue has none of


class Catalogue:
    """Everything meso knows, indexed for the engine; built once per process."""

    def __init__(
        self,
        *,
        substances: Iterable[Substance],
        products: Iterable[Product],
        groups: Iterable[AllergenGroup],
        crosses: Iterable[CrossReaction],
        conditions: Iterable[Term],
        medication_classes: Iterable[Term],
        medications: Iterable[Medication],
        areas: Iterable[Term],
        indications: Iterable[Indication],
        protocols: Iterable[Protocol],
        rules: Iterable[Rule],
        defaults: Iterable[FormulationDefault],
        unrelated: Iterable[UnrelatedTerm] = (),
        distinctions: Iterable[Distinction] = (),
        fhir_codes: Iterable[FhirCode] = (),
        revision: str | None = None,
        location: str | None = None,
    ) -> None:
        self.substances: dict[str, Substance] = {s.id: s for s in substances}
        self.products: dict[str, Product] = {p.id: p for p in products}
        self.groups: dict[str, AllergenGroup] = {g.id: g for g in groups}
        self.crosses: tuple[CrossReaction, ...] = tuple(crosses)
        self.conditions: dict[str, Term] = {c.id: c for c in conditions}
        self.medication_classes: dict[str, Term] = {c.id: c for c in medication_classes}
        self.medications: dict[str, Medication] = {m.id: m for m in medications}
        self.areas: dict[str, Term] = {a.id: a for a in areas}
        self.indications: dict[str, Indication] = {i.id: i for i in indications}
        self.protocols: tuple[Protocol, ...] = tuple(protocols)
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.defaults: dict[str, FormulationDefault] = {d.key: d for d in defaults}
        # patient terms that concern no catalogue item, by (kind, id); and the distinctions
        self.unrelated: dict[tuple[str, str], UnrelatedTerm] = {(u.kind, u.id): u for u in unrelated}
        self.distinctions: tuple[Distinction, ...] = tuple(distinctions)
        # The FHIR code rows (data/codes/fhir.toml and a clinic's imported codes), in catalogue order.
        self.fhir_codes: tuple[FhirCode, ...] = tuple(fhir_codes)
        self.revision = revision
        self.location = location

        self.products_by_substance: dict[str, tuple[str, ...]] = _invert(
            (p.id, p.substance_ids()) for p in self.products.values()
        )
        self.groups_by_substance: dict[str, tuple[str, ...]] = _invert(
            (g.id, g.members) for g in self.groups.values()
        )
        self.substances_by_origin: dict[str, tuple[str, ...]] = _invert(
            (s.id, (s.origin,)) for s in self.substances.values() if s.origin
        )
        self.crosses_from: dict[str, tuple[CrossReaction, ...]] = _group_by(
            self.crosses, lambda c: c.source_group
        )
        self.rules_by_kind: dict[str, tuple[Rule, ...]] = _group_by(self.rules, lambda r: r.kind)
        self._names: dict[str, dict[str, str]] = {}
        self._index_names()
        self._index()

    def _index(self) -> None:
        """What can be known before any patient arrives, worked out once per catalogue and kept
        with the snapshot; the engine and the formulator only look things up here."""
        substances = self.substances
        self.groups_by_origin: dict[str, tuple[str, ...]] = _invert((g.id, g.origins) for g in self.groups.values())
        self.class_members: dict[str, tuple[str, ...]] = _invert((s.id, (s.cls,)) for s in substances.values())
        # substance id -> the components of an item that is that substance alone (engine._item)
        self.lone_components: dict[str, tuple[Component, ...]] = {
            s.id: (Component(s.id, s.role),) for s in substances.values()}
        # product id -> the classes of all its substances / of its actives, and its active ids;
        # equal sets are one object (many products share them), which keeps the snapshot small
        pool: dict[frozenset[str], frozenset[str]] = {}

        def shared(values: Iterable[str]) -> frozenset[str]:
            found = frozenset(values)
            return pool.setdefault(found, found)

        self.product_classes: dict[str, frozenset[str]] = {
            p.id: shared([substances[c.substance].cls for c in p.components]) for p in self.products.values()}
        self.product_active_ids: dict[str, frozenset[str]] = {
            p.id: shared([c.substance for c in p.actives()]) for p in self.products.values()}
        self.product_active_classes: dict[str, frozenset[str]] = {
            pid: shared([substances[s].cls for s in ids]) for pid, ids in self.product_active_ids.items()}
        self.rules_by_trigger: dict[tuple[str, str, str | None], tuple[Rule, ...]] = _rules_by_trigger(self.rules)
        self._dose_rules = _dose_rules(self.rules_by_kind.get("dose_limit", ()))
        # substance id -> the dose rules whose scope can concern it, in catalogue order (only the
        # substances that have one besides the procedure's)
        self._dose_rules_of: dict[str, tuple[Rule, ...]] = {
            s.id: found for s in substances.values()
            if len(found := self._dose_rules_in_scope(s)) > len(self._dose_rules.get(("procedure", None), ()))}
        # For dosing, a substance with dose_as is that other substance: its id -> the other's id
        # (only the substances that have one; every other substance is dosed as itself).
        self.dose_ids: dict[str, str] = {s.id: s.dose_as for s in substances.values() if s.dose_as is not None}
        # The substances some dose rule can concern, as what they are dosed as: a request holding
        # none of them, and no volume, can have no dose finding.
        self.dose_ruled: frozenset[str] = frozenset(
            s.id for s in substances.values() if self.dose_rules_for(substances[self.dose_id(s.id)]))
        from mesocli.domain.rules import dose_limit

        self.limit_texts: dict[int, str] = dose_limit.limit_texts(self)  # rule id -> the limit in words
        from mesocli.domain.dosing import companion_minimums

        self.companion_minimums: dict[str, float] = companion_minimums(self)  # substance -> mg/mL
        self._index_candidates()
        self._index_rules()
        # Products whose actives are all local anaesthetics, without a vasoconstrictor (the
        # formulator's anaesthetic candidates), in catalogue order.
        vasoconstrictor = self.defaults.get("vasoconstrictor-class")
        self.plain_anaesthetics: tuple[str, ...] = tuple(
            pid for pid in self.products
            if self.product_active_classes[pid] == {"local-anaesthetic"}
            and (vasoconstrictor is None or vasoconstrictor.value not in self.product_classes[pid]))
        from mesocli.domain.codes import code_table  # what a FHIR Bundle's codings map to

        self.code_table = code_table(self.fhir_codes)
        from mesocli.domain import formulate  # the formulator's ranked candidates

        self.formulation: dict[str, Any] = formulate.index(self)

    def _index_candidates(self) -> None:
        """Every product in the order alternatives are offered (fewest components first, then
        id), grouped by the classes of its actives (its role) and by the actives themselves; and
        the injectable, marketed substances of each class, by id."""
        self.candidate_products: tuple[str, ...] = tuple(
            p.id for p in sorted(self.products.values(), key=lambda p: (len(p.components), p.id)))
        same_role: dict[frozenset[str], list[str]] = defaultdict(list)
        same_actives: dict[tuple[frozenset[str], frozenset[str]], list[str]] = defaultdict(list)
        for pid in self.candidate_products:
            role = self.product_active_classes[pid]
            same_role[role].append(pid)
            same_actives[(role, self.product_active_ids[pid])].append(pid)
        self.products_by_role: dict[frozenset[str], tuple[str, ...]] = {k: tuple(v) for k, v in same_role.items()}
        self.products_by_actives: dict[tuple[frozenset[str], frozenset[str]], tuple[str, ...]] = {
            k: tuple(v) for k, v in same_actives.items()}
        self.substances_by_role: dict[str, tuple[str, ...]] = _invert(
            (s.id, (s.cls,)) for s in sorted(self.substances.values(), key=lambda s: s.id)
            if s.injectable and s.status not in ("withdrawn", "cosmetic-only"))

    def _index_rules(self) -> None:
        """What the patient-independent checks need per product: the incompatibility rules it is
        the ``a`` of (and those of a lone substance), its flagged market statuses; and each
        allergen's reach (for every group and substance: which substances it reaches, and how)."""
        from mesocli.domain.rules import allergy, incompatibility, regulatory

        # only the products that have some (the others: none)
        as_a = {p.id: incompatibility.as_a(self, self.product_refs(p.id)) for p in self.products.values()}
        self.product_incompatible_as_a: dict[str, tuple[Rule, ...]] = {pid: r for pid, r in as_a.items() if r}
        # the same for a substance checked on its own (it and its class), again only those with some
        alone = {s.id: incompatibility.as_a(self, incompatibility.refs_of(None, (s.id,), (s.cls,)))
                 for s in self.substances.values()}
        self.substance_incompatible_as_a: dict[str, tuple[Rule, ...]] = {sid: r for sid, r in alone.items() if r}
        statuses = {p.id: tuple(regulatory.statuses_of(self, p, p.components)) for p in self.products.values()}
        self.product_statuses = {pid: found for pid, found in statuses.items() if found}
        self.allergy_reach: dict[tuple[str, str], dict[str, tuple[allergy.Exposure, ...]]] = {
            key: {sid: tuple(found) for sid, found in allergy.exposures(self, [key]).items()}
            for key in [*(("group", g) for g in self.groups), *(("substance", s) for s in self.substances)]}

    # The shape of a pickled catalogue (its index and the dataclasses in it). Change it whenever
    # either changes: a snapshot of another shape is refused, and the catalogue read afresh.
    SNAPSHOT_SHAPE = 16

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["products"] = _shared_parts(self.products)
        state["snapshot_shape"] = self.SNAPSHOT_SHAPE
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        if state.pop("snapshot_shape", None) != self.SNAPSHOT_SHAPE:
            raise ValueError("a catalogue snapshot of another shape")
        self.__dict__.update(state)

    def product_refs(self, product_id: str) -> frozenset[str]:
        """What an incompatibility rule can name in a product: it, its substances, their classes."""
        from mesocli.domain.rules.incompatibility import refs_of

        return refs_of(product_id, self.products[product_id].substance_ids(), self.product_classes[product_id])

    def dose_id(self, sid: str) -> str:
        """The id ``sid``'s amounts count under for dosing: its ``dose_as``, or itself."""
        return self.dose_ids.get(sid, sid)

    def dose_rules_for(self, substance: Substance) -> tuple[Rule, ...]:
        """The dose rules whose scope can concern ``substance``, in catalogue order."""
        found = self._dose_rules_of.get(substance.id)
        if found is not None:
            return found
        if self.substances.get(substance.id) is substance:  # indexed: only the procedure's
            return self._dose_rules.get(("procedure", None), ())
        return self._dose_rules_in_scope(substance)

    def _dose_rules_in_scope(self, substance: Substance) -> tuple[Rule, ...]:
        rules = (*self._dose_rules.get(("procedure", None), ()), *self._dose_rules.get(("substance", substance.id), ()),
                 *self._dose_rules.get(("class", substance.cls), ()))
        return tuple(sorted(rules, key=lambda r: r.id)) if len(rules) > 1 else rules

    # ----------------------------------------------------------------- name resolution
    def _index_names(self) -> None:
        def index(kind: str, entries: Iterable[tuple[str, str, Sequence[str]]]) -> None:
            table = self._names.setdefault(kind, {})
            for entry_id, name, aliases in entries:
                for text in (entry_id, name, *aliases):
                    table.setdefault(normalise(text), entry_id)

        index("substance", ((s.id, s.name, s.aliases) for s in self.substances.values()))
        index("product", ((p.id, p.name, p.aliases) for p in self.products.values()))
        index("group", ((g.id, g.name, g.aliases) for g in self.groups.values()))
        index("condition", ((c.id, c.name, c.aliases) for c in self.conditions.values()))
        index("medication", ((m.id, m.name, m.aliases) for m in self.medications.values()))
        index(
            "medication-class",
            ((c.id, c.name, c.aliases) for c in self.medication_classes.values()),
        )
        index("indication", ((i.id, i.name, i.aliases) for i in self.indications.values()))
        index("area", ((a.id, a.name, a.aliases) for a in self.areas.values()))
        for kind in TERM_KINDS:
            index(f"unrelated-{kind}", ((u.id, u.name, u.aliases) for u in self.unrelated.values() if u.kind == kind))
        self._index_distinctions()

    def _index_distinctions(self) -> None:
        """Each distinction's two sides, as the ids a suggestion can be and the folded names the
        typed term is measured against: a side is its term, and for an allergen group its member
        substances too (a suggestion of sodium metabisulfite is on the sulfites side)."""
        sides: list[tuple[str, frozenset[str], tuple[str, ...], frozenset[str], tuple[str, ...]]] = []
        for d in self.distinctions:
            a_ids, a_names = self._side(d.kind, d.a)
            b_ids, b_names = self._side(d.kind, d.b)
            sides.append((d.kind, a_ids, a_names, b_ids, b_names))
        self._distinction_sides = tuple(sides)
        notes: dict[tuple[str, str], list[Distinction]] = defaultdict(list)
        for d, (_, a_ids, _, b_ids, _) in zip(self.distinctions, sides, strict=True):
            for entry in (*a_ids, *b_ids):
                if d not in notes[(d.kind, entry)]:
                    notes[(d.kind, entry)].append(d)
        self.distinctions_of: dict[tuple[str, str], tuple[Distinction, ...]] = {k: tuple(v) for k, v in notes.items()}

    def _side(self, kind: str, entry: str) -> tuple[frozenset[str], tuple[str, ...]]:
        ids = {entry}
        group = self.groups.get(entry) if kind == "allergy" else None
        if group is not None:
            ids.update(group.members)
        pools = [f"unrelated-{kind}", *{"allergy": ("group", "substance"), "condition": ("condition",),
                                        "medication": ("medication", "medication-class")}[kind]]
        names = sorted({name for pool in pools for name, owner in self._names.get(pool, {}).items() if owner in ids})
        return frozenset(ids), tuple(names)

    def lookup(self, kinds: Sequence[str], term: str) -> Resolved | None:
        """Find ``term`` among ``kinds`` (first match wins), or ``None``.

        The names index holds folded names, and folding a folded name changes nothing: a term
        found as it is (an id, usually) is what its folded form finds, so only other spellings
        are folded.
        """
        names = self._names
        for kind in kinds:
            found = names.get(kind, _NO_NAMES).get(term)
            if found is not None:
                return Resolved(kind, found)
        key = normalise(term)
        if key != term:
            for kind in kinds:
                found = names.get(kind, _NO_NAMES).get(key)
                if found is not None:
                    return Resolved(kind, found)
        return None

    def resolve(self, what: str, kinds: Sequence[str], term: object) -> Resolved:
        """Resolve ``term`` or raise :class:`UnknownTermError` naming the closest matches."""
        if not isinstance(term, str):
            raise InputError(f"{what}: expected a name, got {type(term).__name__}")
        if len(term) > MAX_TERM_LENGTH:
            raise InputError(f"{what}: name longer than {MAX_TERM_LENGTH} characters")
        if not term.strip():
            raise InputError(f"{what}: empty name")
        found = self.lookup(kinds, term)
        if found is None:
            raise UnknownTermError(what, term, self.suggest(kinds, term))
        return found

    def suggest(self, kinds: Sequence[str], term: str, limit: int = 3) -> list[str]:
        key = normalise(term)
        pool: dict[str, str] = {}
        for kind in kinds:
            for name, entry_id in self._names.get(kind, {}).items():
                pool.setdefault(name, entry_id)
        suggestions: list[str] = []
        for name in difflib.get_close_matches(key, list(pool), n=limit * 3, cutoff=0.6):
            if pool[name] not in suggestions:
                suggestions.append(pool[name])
        if len(suggestions) < limit * 3 and len(key) >= 3:
            for name, entry_id in sorted(pool.items()):
                if key in name and entry_id not in suggestions:
                    suggestions.append(entry_id)
        crossing = self._crossing(kinds, key)
        return [entry for entry in suggestions if entry not in crossing][:limit]

    # How much nearer one side of a distinction a typed term must be before that side is
    # offered: a slip of the keyboard moves a term less than this towards the other side.
    SIDE_MARGIN = 0.15

    def _crossing(self, kinds: Sequence[str], key: str) -> frozenset[str]:
        """The entries a suggestion for the folded term ``key`` must not offer: each side of a
        distinction that ``key`` is not clearly nearer to than to the other side."""
        if not self._distinction_sides:
            return frozenset()
        # only a patient term's resolution (its kinds include the unrelated terms of its kind);
        # an ingredient or a recipe substance is no patient term
        term_kind = next((k.removeprefix("unrelated-") for k in kinds if k.startswith("unrelated-")), None)
        barred: set[str] = set()
        for kind, a_ids, a_names, b_ids, b_names in self._distinction_sides:
            if kind != term_kind:
                continue
            a, b = _nearness(key, a_names), _nearness(key, b_names)
            if a < b + self.SIDE_MARGIN:
                barred.update(a_ids)
            if b < a + self.SIDE_MARGIN:
                barred.update(b_ids)
        return frozenset(barred)

    def distinction_notes(self, kind: str, entry: str) -> tuple[Distinction, ...]:
        """The distinctions a patient term of ``kind`` resolved to ``entry`` is one side of."""
        return self.distinctions_of.get((kind, entry), ())

    def resolve_allergy(self, term: object) -> Resolved:
        # A group wins over a substance of the same name: it is the broader, safer reading.
        # A term that concerns no catalogue item resolves as kind "unrelated-allergy".
        kinds = ("group", "substance", "unrelated-allergy")
        if isinstance(term, str) and len(term) <= MAX_TERM_LENGTH and term.strip():
            found = self.lookup(kinds, term)
            if found is not None:
                return found
        if isinstance(term, str) and self.lookup(kinds, term) is None:
            # "paraben allergy", "allergic to lidocaine": the words around the name add nothing.
            bare = _ALLERGY_WORDS.sub(" ", term).strip()
            if bare and bare != term.strip() and self.lookup(kinds, bare) is not None:
                return self.resolve("allergy", kinds, bare)
        return self.resolve("allergy", kinds, term)

    def resolve_condition(self, term: object) -> Resolved:
        return self.resolve("condition", ("condition", "unrelated-condition"), term)

    def resolve_medication(self, term: object) -> Resolved:
        return self.resolve("medication", ("medication", "medication-class", "unrelated-medication"), term)

    def resolve_ingredient(self, term: object) -> Resolved:
        return self.resolve("ingredient", ("product", "substance"), term)

    def resolve_indication(self, term: object) -> Resolved:
        return self.resolve("indication", ("indication",), term)

    def resolve_area(self, term: object) -> Resolved:
        return self.resolve("area", ("area",), term)

    # ----------------------------------------------------------------- helpers
    def medication_classes_of(self, medication_id: str) -> tuple[str, ...]:
        med = self.medications.get(medication_id)
        return med.classes if med else (medication_id,)

    def classes_of_product(self, product: Product) -> frozenset[str]:
        return frozenset(self.substances[c.substance].cls for c in product.components)

    def protocol_for(self, indication: str, area: str | None) -> Protocol | None:
        candidates = [p for p in self.protocols if p.indication == indication]
        if area is not None:
            candidates = [p for p in candidates if p.area == area]
        return candidates[0] if candidates else None

    def default(self, key: str) -> FormulationDefault | None:
        return self.defaults.get(key)

    def setting(self, key: str) -> str:
        """The value of the formulation default ``key`` the code relies on (data/clinical.toml).

        A catalogue without it was built by another version of meso: nothing is guessed."""
        found = self.defaults.get(key)
        if found is None:
            from mesocli.errors import DatabaseError

            raise DatabaseError(f"the catalogue has no formulation default {key!r}; it was built by another "
                                "version of meso: run 'meso db upgrade'")
        return found.value


def _nearness(key: str, names: Sequence[str]) -> float:
    """How near the folded term ``key`` is to the nearest of ``names`` (difflib's ratio, 0-1)."""
    matcher = difflib.SequenceMatcher(b=key, autojunk=False)
    best = 0.0
    for name in names:
        matcher.set_seq1(name)
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            best = max(best, matcher.ratio())
    return best


def _shared_parts(products: dict[str, Product]) -> dict[str, Product]:
    """The same products, with equal components, amounts and provenances as one object each.

    A clinic catalogue repeats these a great deal (thousands of products citing the same
    source, at the same few concentrations); sharing them makes the pickled snapshot smaller
    and quicker to load. Values are unchanged: the parts are immutable and compared by value.
    """
    pool: dict[object, object] = {}

    def one(part):  # type: ignore[no-untyped-def]
        return None if part is None else pool.setdefault(part, part)

    out = {}
    for pid, product in products.items():
        components = tuple(one(Component(c.substance, c.role, one(c.concentration))) for c in product.components)
        provenance = one(Provenance(product.provenance.evidence, tuple(one(s) for s in product.provenance.sources)))
        out[pid] = replace(product, components=components, provenance=provenance,
                           container_volume=one(product.container_volume))
    return out


def _rules_by_trigger(rules: Iterable[Rule]) -> dict[tuple[str, str, str | None], tuple[Rule, ...]]:
    """Rules by what brings them into play, in catalogue order: (kind, what, id), the keys each
    rule kind's ``triggers`` gives."""
    from mesocli.domain.rules import RULE_KINDS

    out: dict[tuple[str, str, str | None], list[Rule]] = defaultdict(list)
    for rule in rules:
        triggers = RULE_KINDS[rule.kind].triggers
        for what, ref in triggers(rule) if triggers is not None else ():
            out[(rule.kind, what, ref)].append(rule)
    return {k: tuple(v) for k, v in out.items()}


def _dose_rules(rules: Iterable[Rule]) -> dict[tuple[str, str | None], tuple[Rule, ...]]:
    return _group_by(rules, lambda r: (r.scope.kind, r.scope.ref))


def _invert(pairs: Iterable[tuple[str, Iterable[str]]]) -> dict[str, tuple[str, ...]]:
    """item -> its owners, each once, in the order first met (a dict per item keeps the order and
    finds a repeat at once: a list searched for each owner would grow with the square of a
    substance's products)."""
    out: dict[str, dict[str, None]] = defaultdict(dict)
    for owner, items in pairs:
        for item in items:
            out[item][owner] = None
    return {k: tuple(v) for k, v in out.items()}


def _group_by(items, key) -> dict:  # type: ignore[no-untyped-def]
    out: dict = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return {k: tuple(v) for k, v in out.items()}
