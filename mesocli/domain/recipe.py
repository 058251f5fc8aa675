"""What is checked: a recipe of syringes and components, as the JSON contract describes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mesocli.errors import InputError
from mesocli.strictjson import refuse_both, refuse_unknown_keys

MAX_SYRINGES = 50
MAX_COMPONENTS = 50

# Every key a recipe document may hold: those a check reads, and those ``meso build --json``
# writes only to describe the recipe (recomputed from the catalogue, never trusted). Any other
# key is refused: a misspelled "Volume" would otherwise be ignored and the check pass without it.
RECIPE_KEYS = frozenset({
    "syringes", "components", "indication", "area", "protocol", "treatment_area",
    "schema_version", "kind", "status", "disclaimer", "excluded", "explain", "findings", "reasons",
    "use_by", "meso_version", "catalogue", "plan", "refusal",
})
PROTOCOL_KEYS = frozenset({"points", "volume_per_point", "sessions", "interval",
                           "depth", "evidence", "needle", "sources", "source_grades", "spacing",
                           "technique"})
RANGE_KEYS = frozenset({"min", "max"})
SYRINGE_KEYS = frozenset({"components", "points", "total_volume", "volume_per_point"})
COMPONENT_KEYS = frozenset({"id", "substances", "volume", "local", "name", "purpose", "reason"})
SUBSTANCE_KEYS = frozenset({"id", "concentration", "amount", "final_concentration", "name", "role"})


@dataclass(frozen=True, slots=True)
class SubstanceInput:
    id: str
    concentration: Any = None  # text or {"value", "unit"}; parsed with the catalogue at hand


@dataclass(frozen=True, slots=True)
class ComponentInput:
    """Either a catalogue product (``product``) or substances mixed by hand (``substances``)."""

    product: str | None = None
    substances: tuple[SubstanceInput, ...] = ()
    volume: Any = None
    described: tuple[str, ...] = ()  # a product's substances as the document lists them (checked, not used)


@dataclass(frozen=True, slots=True)
class SyringeInput:
    components: tuple[ComponentInput, ...]


@dataclass(frozen=True, slots=True)
class RecipeInput:
    syringes: tuple[SyringeInput, ...]
    indication: str | None = None
    area: str | None = None
    points: Any = None
    volume_per_point: Any = None
    sessions: Any = None
    interval: Any = None
    treatment_area: Any = None


def recipe_from_mapping(data: Any, *, what: str = "recipe") -> RecipeInput:
    """Read the recipe contract (``meso build --json`` output or the hand-written shape)."""
    if not isinstance(data, Mapping):
        raise InputError(f"{what}: expected a JSON object with 'syringes' or 'components'")
    if data.get("kind") not in (None, "recipe"):
        raise InputError(f"{what}: a document of kind {data.get('kind')!r} is not a recipe")
    if data.get("status") == "refused":
        raise InputError(f"{what}: this recipe was refused by meso build and has nothing to check")
    refuse_unknown_keys(data, RECIPE_KEYS, what)
    refuse_both(data, "syringes", "components", what)
    if "syringes" in data:
        raw_syringes = data["syringes"]
        if not isinstance(raw_syringes, list) or not raw_syringes:
            raise InputError(f"{what}: 'syringes' must be a non-empty list")
    elif "components" in data:
        raw_syringes = [{"components": data["components"]}]
    else:
        raise InputError(f"{what}: needs 'syringes' (a list) or 'components' (one syringe)")
    if len(raw_syringes) > MAX_SYRINGES:
        raise InputError(f"{what}: more than {MAX_SYRINGES} syringes")
    syringes = tuple(_syringe(s, f"{what} syringe {i}") for i, s in enumerate(raw_syringes, 1))
    protocol = data.get("protocol") or {}
    if not isinstance(protocol, Mapping):
        raise InputError(f"{what}: 'protocol' must be an object")
    refuse_unknown_keys(protocol, PROTOCOL_KEYS, f"{what} protocol")
    sessions = protocol.get("sessions")
    interval = protocol.get("interval")
    for name, value in (("sessions", sessions), ("interval", interval)):
        if isinstance(value, Mapping):
            refuse_unknown_keys(value, RANGE_KEYS, f"{what} protocol {name}")
    return RecipeInput(
        syringes=syringes,
        indication=_optional_text(data, "indication", what),
        area=_optional_text(data, "area", what),
        points=protocol.get("points"),
        volume_per_point=protocol.get("volume_per_point"),
        sessions=sessions.get("max") if isinstance(sessions, Mapping) else sessions,
        interval=interval.get("min") if isinstance(interval, Mapping) else interval,
        treatment_area=data.get("treatment_area"),
    )


def _optional_text(data: Mapping[str, Any], key: str, what: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{what}: '{key}' must be text")
    return value


def _syringe(raw: Any, what: str) -> SyringeInput:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("components"), list):
        raise InputError(f"{what}: expected an object with a 'components' list")
    refuse_unknown_keys(raw, SYRINGE_KEYS, what)
    components = raw["components"]
    if not components:
        raise InputError(f"{what}: has no components")
    if len(components) > MAX_COMPONENTS:
        raise InputError(f"{what}: more than {MAX_COMPONENTS} components")
    return SyringeInput(tuple(_component(c, f"{what} component {i}") for i, c in enumerate(components, 1)))


def _component(raw: Any, what: str) -> ComponentInput:
    if not isinstance(raw, Mapping):
        raise InputError(f"{what}: expected an object")
    refuse_unknown_keys(raw, COMPONENT_KEYS, what)
    # A component with an 'id' is a catalogue product; any 'substances' beside it (as
    # ``meso build --json`` writes them) only describe it: the product's composition comes from
    # the catalogue, and a listed substance that is not in it is refused when the recipe is
    # checked (the document would be ambiguous: a hand mix or the product?).
    has_id, has_substances = "id" in raw, "substances" in raw
    if not has_id and not has_substances:
        raise InputError(f"{what}: give 'id' (a product) or 'substances' (a hand mix)")
    if has_id:
        if not isinstance(raw["id"], str):
            raise InputError(f"{what}: 'id' must be text")
        described = ()
        if has_substances:
            listed = raw["substances"]
            if not isinstance(listed, list):
                raise InputError(f"{what}: 'substances' must be a list")
            for index, sub in enumerate(listed, 1):
                if not isinstance(sub, Mapping) or not isinstance(sub.get("id"), str):
                    raise InputError(f"{what} substance {index}: expected an object with an 'id'")
                refuse_unknown_keys(sub, SUBSTANCE_KEYS, f"{what} substance {index}")
            described = tuple(sub["id"] for sub in listed)
        return ComponentInput(product=raw["id"], volume=raw.get("volume"), described=described)
    subs = raw["substances"]
    if not isinstance(subs, list) or not subs:
        raise InputError(f"{what}: 'substances' must be a non-empty list")
    parsed = []
    for index, sub in enumerate(subs, 1):
        if not isinstance(sub, Mapping) or not isinstance(sub.get("id"), str):
            raise InputError(f"{what} substance {index}: expected an object with an 'id'")
        refuse_unknown_keys(sub, SUBSTANCE_KEYS, f"{what} substance {index}")
        parsed.append(SubstanceInput(sub["id"], sub.get("concentration")))
    return ComponentInput(substances=tuple(parsed), volume=raw.get("volume"))
