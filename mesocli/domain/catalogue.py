"""The loaded catalogue: indexes over the plain data, and fail-closed name resolution."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from mesocli.domain.model import (
    AllergenGroup,
    Component,
    CrossReaction,
    FormulationDefault,
    Indication,
    Medication,
    Product,
    Protocol,
    Provenance,
    Rule,
    Substance,
    Term,
)
from mesocli.errors import InputError, UnknownTermError

T = TypeVar("T")

_SEPARATORS = re.compile(r"[\s_\-\u2010-\u2015]+")
MAX_TERM_LENGTH = 200
_ALLERGY_WORDS = re.compile(r"\b(allergy|allergies|allergic(\s+to)?|hypersensitivity(\s+to)?|sensitivity)\b",
                            re.IGNORECASE)


@functools.lru_cache(maxsize=8192)
def normalise(term: str) -> str:
    """Fold a name for matching: Unicode NFKC, case-folded, separators unified to '-'."""
    folded = unicodedata.normalize("NFKC", term).casefold().strip()
    return _SEPARATORS.sub("-", folded).strip("-")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A term resolved to a catalogue entry."""

    kind: str  # substance | product | group | condition | medication | medication-class | indication | area
    id: str


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
        self.memo: dict[object, object] = {}
        # Static facts the engine derives from the catalogue alone (per product, per rule
        # index); bounded by the size of the catalogue, so never evicted.
        self.derived: dict[object, object] = {}
        # Facts about one ingredient and one patient term or request (what an allergy finds in
        # a product, which findings a rule gives on it): products times terms can be many in a
        # large catalogue, so these are kept up to a limit.
        self.pairs: dict[object, object] = {}

    MEMO_LIMIT = 2048
    PAIRS_LIMIT = 4096

    def __getstate__(self) -> dict[str, object]:
        # Derived results are per process; a pickled catalogue (the snapshot cache) starts empty.
        state = {k: v for k, v in self.__dict__.items() if k not in ("memo", "derived", "pairs")}
        state["products"] = _shared_parts(self.products)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.memo = {}
        self.derived = {}
        self.pairs = {}

    def derive(self, key: object, make: Callable[[], T]) -> T:
        """``make()``, worked out once per catalogue and kept under ``key`` (for facts that
        depend on the catalogue alone, which never changes once loaded)."""
        found = self.derived.get(key)
        if found is None:
            found = make()
            self.derived[key] = found
        return found  # type: ignore[return-value]

    def derive_pair(self, key: object, make: Callable[..., T], *args: object) -> T:
        """``make(*args)``, kept under ``key`` like :meth:`derive`, for facts that also depend on
        a patient term or on a request: kept until ``PAIRS_LIMIT`` of them are, then all
        dropped at once and worked out again as needed (cheaper than tracking the oldest)."""
        found = self.pairs.get(key)
        if found is None:
            if len(self.pairs) >= self.PAIRS_LIMIT:
                self.pairs.clear()
            found = make(*args)
            self.pairs[key] = found
        return found  # type: ignore[return-value]

    def remember(self, key: object, value: object) -> None:
        """Keep a derived, deterministic result (bounded, oldest dropped first)."""
        if len(self.memo) >= self.MEMO_LIMIT:
            self.memo.pop(next(iter(self.memo)))
        self.memo[key] = value

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

    def lookup(self, kinds: Sequence[str], term: str) -> Resolved | None:
        """Find ``term`` among ``kinds`` (first match wins), or ``None``."""
        key = normalise(term)
        for kind in kinds:
            found = self._names.get(kind, {}).get(key)
            if found is not None:
                return Resolved(kind, found)
        return None

    def resolve(self, what: str, kinds: Sequence[str], term: object) -> Resolved:
        """Resolve ``term`` or raise :class:`UnknownTermError` naming the closest matches.

        A name once resolved is remembered: the catalogue does not change, so the same name
        always resolves to the same entry. A name that fails is tried afresh each time.
        """
        if not isinstance(term, str):
            raise InputError(f"{what}: expected a name, got {type(term).__name__}")
        memo_key = ("resolve", tuple(kinds), term)
        remembered = self.memo.get(memo_key)
        if remembered is not None:
            return remembered  # type: ignore[return-value]
        if len(term) > MAX_TERM_LENGTH:
            raise InputError(f"{what}: name longer than {MAX_TERM_LENGTH} characters")
        if not term.strip():
            raise InputError(f"{what}: empty name")
        found = self.lookup(kinds, term)
        if found is None:
            raise UnknownTermError(what, term, self.suggest(kinds, term))
        self.remember(memo_key, found)
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
        if len(suggestions) < limit and len(key) >= 3:
            for name, entry_id in sorted(pool.items()):
                if key in name and entry_id not in suggestions:
                    suggestions.append(entry_id)
        return suggestions[:limit]

    def resolve_allergy(self, term: object) -> Resolved:
        if not isinstance(term, str):
            return self._resolve_allergy(term)  # raises
        memo_key = ("resolve-allergy", term)
        remembered = self.memo.get(memo_key)
        if remembered is not None:
            return remembered  # type: ignore[return-value]
        found = self._resolve_allergy(term)
        self.remember(memo_key, found)
        return found

    def _resolve_allergy(self, term: object) -> Resolved:
        # A group wins over a substance of the same name: it is the broader, safer reading.
        kinds = ("group", "substance")
        if isinstance(term, str) and self.lookup(kinds, term) is None:
            # "paraben allergy", "allergic to lidocaine": the words around the name add nothing.
            bare = _ALLERGY_WORDS.sub(" ", term).strip()
            if bare and bare != term.strip() and self.lookup(kinds, bare) is not None:
                return self.resolve("allergy", kinds, bare)
        return self.resolve("allergy", kinds, term)

    def resolve_condition(self, term: object) -> Resolved:
        return self.resolve("condition", ("condition",), term)

    def resolve_medication(self, term: object) -> Resolved:
        return self.resolve("medication", ("medication", "medication-class"), term)

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


def _invert(pairs: Iterable[tuple[str, Iterable[str]]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = defaultdict(list)
    for owner, items in pairs:
        for item in items:
            if owner not in out[item]:
                out[item].append(owner)
    return {k: tuple(v) for k, v in out.items()}


def _group_by(items, key) -> dict:  # type: ignore[no-untyped-def]
    out: dict = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return {k: tuple(v) for k, v in out.items()}
