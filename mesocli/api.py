"""meso's Python API: the functions the CLI and a clinic's own code call.

The catalogue is loaded once per process and per database; the session that reads it is
opened and closed here, by the caller of the repository functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mesocli.domain.catalogue import Catalogue
from mesocli.domain.engine import (
    CheckOptions,
    CheckResult,
    check_items,
    items_from_names,
    items_from_recipe,
    resolve_patient,
)
from mesocli.domain.patient import Patient
from mesocli.domain.recipe import RecipeInput, recipe_from_mapping
from mesocli.domain.request import DEFAULT_MAX_PRODUCTS, Request, max_products_of
from mesocli.errors import InputError

_CACHE: dict[tuple[object, ...], Catalogue] = {}
_LOADED: list[Catalogue] = []  # the catalogue the running command read, for its error documents


def load_catalogue(url: str | None = None, *, refresh: bool = False) -> Catalogue:
    """The catalogue at ``url`` (default: ``MESO_DATABASE_URL``, else the shipped one).

    It is read once per process; a SQLite file that changed since (any commit, in WAL mode
    too, or a replaced file) is read again. A SQLite catalogue is also kept as a snapshot in meso's cache
    directory (see :mod:`mesocli.storage.snapshot`), so a later process need not read the
    database; ``refresh`` reads the database whatever is cached.
    """
    from mesocli import config

    target = config.database_url() if url is None else url
    key = _identity(target)
    if not refresh and key in _CACHE:
        catalogue = _CACHE[key]
    else:
        catalogue = _CACHE[key] = _read_through_snapshot(target, refresh)
    _LOADED[:] = [catalogue]
    return catalogue


def loaded_catalogue() -> Catalogue | None:
    """The catalogue :func:`load_catalogue` gave last since :func:`forget_loaded`, if any: the one
    a command was using when it failed (its error document says which catalogue that was)."""
    return _LOADED[0] if _LOADED else None


def forget_loaded() -> None:
    """Start a new command: no catalogue has been given to it yet."""
    _LOADED.clear()


def _read_through_snapshot(url: str | None, refresh: bool) -> Catalogue:
    from mesocli.storage import snapshot

    path = snapshot.sqlite_path(url)
    identity = snapshot.key(path) if path is not None else None
    if identity is None:
        return _read(url)
    if not refresh:
        found = snapshot.load(identity)
        if found is not None:
            return found  # type: ignore[no-any-return]
    catalogue = _read(url)
    from mesocli.domain.identity import catalogue_identity

    catalogue_identity(catalogue)  # computed once, and kept with the snapshot
    snapshot.store(identity, catalogue)
    return catalogue


def _identity(url: str | None) -> tuple[object, ...]:
    """What makes two reads of a catalogue the same read."""
    from mesocli import config

    path = config.shipped_database() if url is None else config.sqlite_path(url)
    if path is None:
        return (url, _server_state(url))
    from mesocli.storage import snapshot

    return (url, str(path), snapshot.key(path))  # changes with every commit, WAL commits included


def _server_state(url: str | None) -> tuple[object, ...]:
    """What changes in a catalogue on a database server (PostgreSQL) whenever its content does:
    the schema revision (``meso db upgrade``), the import log (every import) and the number of
    clinic rows, FHIR codes included (every removal). One small query, so a long-running process sees another
    process's import or removal without reading the whole catalogue again."""
    from sqlalchemy import func, select

    from mesocli.storage import models as m
    from mesocli.storage.db import reading_session

    with reading_session(url) as (session, revision):
        imports = session.execute(select(func.max(m.ImportRow.id), func.count(m.ImportRow.id))).one()
        substances = session.scalar(select(func.count()).select_from(m.SubstanceRow).where(m.SubstanceRow.is_local))
        products = session.scalar(select(func.count()).select_from(m.ProductRow).where(m.ProductRow.is_local))
        codes = session.scalar(select(func.count()).select_from(m.FhirCodeRow).where(m.FhirCodeRow.is_local))
        return (revision, tuple(imports), substances, products, codes)


def _read(url: str | None) -> Catalogue:
    """Read the catalogue at ``url`` and build its index, with the cyclic garbage collector paused.

    Reading makes hundreds of thousands of objects at once, none of them garbage, and the
    collector would pass over them again and again while they are made: at +10,000 and
    +100,000 clinic products, a third of the read (1.7 s against 1.0 s, 14.3 s against 8.8 s),
    for the same peak memory. The snapshot is unpickled the same way (storage/snapshot.py).
    """
    import gc

    from mesocli.storage.db import describe, reading_session
    from mesocli.storage.reader import read_catalogue

    paused = gc.isenabled()
    gc.disable()
    try:
        with reading_session(url) as (session, revision):
            return read_catalogue(session, revision=revision, location=describe(url))
    finally:
        if paused:
            gc.enable()


def check(
    patient: Patient | None = None,
    *,
    ingredients: Sequence[str] = (),
    recipe: RecipeInput | Mapping[str, Any] | None = None,
    indication: str | None = None,
    area: str | None = None,
    treatment_area: str | Mapping[str, Any] | None = None,
    max_products: int = DEFAULT_MAX_PRODUCTS,
    catalogue: Catalogue | None = None,
) -> CheckResult:
    """Check ``patient`` against ``ingredients`` (one syringe) or ``recipe``.

    With neither, screen the patient against the whole catalogue. Unknown names, bad units
    and malformed recipes raise :class:`mesocli.errors.InputError`.
    """
    cat = catalogue or load_catalogue()
    resolved = resolve_patient(cat, patient or Patient())
    if ingredients and recipe is not None:
        raise InputError("give ingredients or a recipe, not both")
    max_products = max_products_of(max_products)
    recipe_input: RecipeInput | None = None
    if recipe is not None:
        recipe_input = recipe if isinstance(recipe, RecipeInput) else recipe_from_mapping(recipe)
    if indication is None and recipe_input is not None:
        indication = recipe_input.indication
    if area is None and recipe_input is not None:
        area = recipe_input.area
    options = CheckOptions(max_products=max_products)
    if indication is not None:
        options.indication = cat.resolve_indication(indication).id
    if area is not None:
        options.area = cat.resolve_area(area).id
    raw_area = treatment_area if treatment_area is not None else (recipe_input.treatment_area if recipe_input else None)
    if raw_area is not None:
        from mesocli.units import parse_quantity

        options.treatment_area = parse_quantity(raw_area, kind="area", what="treatment area")
    if recipe_input is not None:
        _refuse_foreign_descriptions(cat, recipe_input)
        items = items_from_recipe(cat, recipe_input)
        _recipe_protocol(recipe_input, options)
    elif ingredients:
        items = items_from_names(cat, ingredients)
    else:
        items = None
    return check_items(cat, resolved, items, options)


def _refuse_foreign_descriptions(cat: Catalogue, recipe: RecipeInput) -> None:
    """Refuse a product component whose listed 'substances' name one the product does not hold.

    Such a document is ambiguous (a hand mix, or the product?) and answering for the product
    alone would skip the listed substance: an allergy to it would go unseen.
    """
    for number, syringe in enumerate(recipe.syringes, 1):
        for index, component in enumerate(syringe.components, 1):
            if component.product is None or not component.described:
                continue
            product = cat.products[cat.resolve("product", ("product",), component.product).id]
            holds = set(product.substance_ids())
            foreign = sorted({cat.resolve("substance", ("substance",), name).id for name in component.described}
                             - holds)
            if foreign:
                raise InputError(
                    f"recipe syringe {number} component {index}: product {product.id} does not contain "
                    f"{', '.join(foreign)}, which its 'substances' list; give 'id' (a catalogue product) or "
                    "'substances' (a hand mix), not both")


# Beyond these a count is a typing error, not a protocol: it would make per-point and
# per-session figures meaningless, so it is refused like an implausible area or interval.
MAX_POINTS = 10_000  # injection points in one session
MAX_SESSIONS = 1_000  # sessions in one course


def _recipe_protocol(recipe: RecipeInput, options: CheckOptions) -> None:
    from mesocli.units import parse_quantity

    if recipe.points is not None:
        options.points = _count(recipe.points, "recipe protocol points", MAX_POINTS)
    if recipe.sessions is not None:
        options.sessions = _count(recipe.sessions, "recipe protocol sessions", MAX_SESSIONS)
    if recipe.volume_per_point is not None:
        options.volume_per_point = parse_quantity(recipe.volume_per_point, kind="volume",
                                                  what="recipe volume per point")
    if recipe.interval is not None:
        options.interval = parse_quantity(recipe.interval, kind="time", what="recipe interval")


def _count(value: Any, what: str, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{what}: expected a whole number >= 1")
    if value > most:
        raise InputError(f"{what}: {value} is more than {most:,}; check for a typing error")
    return value


def answer(request: Request, catalogue: Catalogue | None = None) -> Any:
    """Answer one :class:`~mesocli.domain.request.Request`: a :class:`CheckResult` for a check,
    a recipe for a build (see :func:`check` and :func:`build`)."""
    if request.action == "check":
        return check(request.patient, ingredients=request.ingredients, recipe=request.recipe,
                     indication=request.indication, area=request.area, treatment_area=request.treatment_area,
                     max_products=request.max_products, catalogue=catalogue)
    assert request.indication is not None  # a build request always names one
    return build(request.indication, request.patient, area=request.area, volume=request.volume,
                 treatment_area=request.treatment_area, max_products=request.max_products, catalogue=catalogue)


def search(text: str, *, limit: int = 25, url: str | None = None) -> list[Any]:
    """Ranked substances and products matching ``text`` (SQL in the catalogue database)."""
    from mesocli import config
    from mesocli.storage.db import reading_session
    from mesocli.storage.repository import search as run_search

    with reading_session(config.database_url() if url is None else url) as (session, _revision):
        return run_search(session, text, limit)


def build(
    indication: str,
    patient: Patient | None = None,
    *,
    area: str | None = None,
    volume: str | Mapping[str, Any] | None = None,
    treatment_area: str | Mapping[str, Any] | None = None,
    max_products: int = DEFAULT_MAX_PRODUCTS,
    catalogue: Catalogue | None = None,
) -> Any:
    """A dosed recipe for ``indication`` that is safe for ``patient``, or a refusal.

    Returns a :class:`mesocli.domain.formulate.Recipe`; ``recipe.status`` is ``"ok"`` or
    ``"refused"`` (then ``recipe.reasons`` says why and there are no syringes).
    """
    from mesocli.domain.formulate import BuildRequest, formulate
    from mesocli.domain.session_plan import MAX_SESSION_ML
    from mesocli.units import parse_quantity

    cat = catalogue or load_catalogue()
    resolved = resolve_patient(cat, patient or Patient())
    max_products = max_products_of(max_products)
    ind = cat.resolve_indication(indication).id
    area_id = cat.resolve_area(area).id if area is not None else None
    request = BuildRequest(
        indication=ind,
        area=area_id,
        volume=parse_quantity(volume, kind="volume", what="--volume") if volume is not None else None,
        treatment_area=(parse_quantity(treatment_area, kind="area", what="--treatment-area")
                        if treatment_area is not None else None),
        max_products=max_products,
    )
    if request.volume is not None and request.volume.canonical > MAX_SESSION_ML:
        raise InputError(f"--volume: more than {MAX_SESSION_ML:g} mL is not a mesotherapy session")
    return formulate(cat, resolved, request)
