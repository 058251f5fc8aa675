"""A clinic's own substances, products and FHIR codes: import, removal and the import log.

An import file is the catalogue's own text format (``data/README.md``) restricted to
``[[substance]]``, ``[[product]]`` and ``[[code]]`` tables. A ``[[code]]`` row maps a coding the
clinic's record system uses to a catalogue term, as ``data/codes/fhir.toml`` does: its system
must be one meso knows, its term must resolve and it needs a source; a code the shipped table
maps already is refused (a clinic adds codes, it does not remap shipped ones). Absent-or-unknown
(``[[none]]``) and Observation rows cannot be imported: a wrong one would hide what a record says.

A file is validated completely, against the catalogue it will join, before anything is
written, and it is written in one transaction: a bad file changes nothing and the error names
the row and the reason. Rows a clinic adds are stored with
``is_local`` and are kept by ``meso db upgrade``.

Writers are serialised (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), and each
one reads the catalogue only after it holds the lock, so two imports at once either both apply
or the second is refused with the reason (e.g. the same id), never half-applied.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mesocli.errors import CatalogueDataError, DatabaseError, InputError
from mesocli.storage.migrate import _rows, lock_catalogue, refuse_packaged, split_rows

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from mesocli.domain.catalogue import Catalogue
    from mesocli.domain.model import FhirCode
    from mesocli.storage.text import CatalogueData

IMPORTABLE = ("substance", "product", "code")
# The largest clinic import file (32 MiB: about 40,000 products). Larger catalogues are imported
# in several files. A larger file is refused before it is parsed.
MAX_IMPORT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import did."""

    file_name: str
    sha256: str
    substances: tuple[str, ...]
    products: tuple[str, ...]
    replaced: tuple[str, ...]
    location: str
    codes: tuple[str, ...] = ()  # "kind system|code" of each FHIR code added or replaced


@dataclass(frozen=True, slots=True)
class ImportLogEntry:
    id: int
    imported_at: str
    file_name: str
    sha256: str
    substances: int
    products: int
    replaced: int
    codes: int = 0


def parse_import(text: str, name: str) -> CatalogueData:
    """Validate an import file on its own (syntax, fields, units); raises CatalogueDataError."""
    from mesocli.storage.text import parse_documents

    if len(text) > MAX_IMPORT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_IMPORT_BYTES:
        raise CatalogueDataError(f"{name}: larger than the {MAX_IMPORT_BYTES:,}-byte (32 MiB) limit for an "
                                 "import file; split it into several imports")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueDataError(f"{name}: invalid TOML ({exc})") from None
    except RecursionError:
        raise CatalogueDataError(f"{name}: nested too deeply") from None
    _check_text(document, name)
    others = sorted(set(document) - set(IMPORTABLE))
    if others:
        raise CatalogueDataError(
            f"{name}: [[{others[0]}]] cannot be imported; a clinic file holds only "
            "[[substance]], [[product]] and [[code]] tables"
        )
    data = parse_documents({name: document}, local=True)
    if not data.substances and not data.products and not data.fhir_codes:
        raise CatalogueDataError(f"{name}: no [[substance]], [[product]] or [[code]] entries to import")
    return data


def code_label(code: FhirCode) -> str:
    """How reports name a FHIR code row: its kind, system and code."""
    return f"{code.kind} {code.system}|{code.code}"


def import_catalogue(url: str, text: str, name: str, *, replace: bool = False) -> ImportReport:
    """Add the substances and products in ``text`` (TOML) to the catalogue at ``url``.

    An id that the shipped catalogue uses is refused; an id a clinic imported before is refused
    unless ``replace`` is true, when that row is replaced.
    """
    from mesocli.storage import models as m
    from mesocli.storage.db import describe
    from mesocli.storage.text import fhir_code_key

    data = parse_import(text, name)
    incoming = {s.id for s in data.substances} | {p.id for p in data.products}
    incoming_codes = {fhir_code_key(c) for c in data.fhir_codes}
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    replaced: list[str] = []

    def change(current: Catalogue, local: CatalogueData) -> CatalogueData:
        shipped = sorted(i for i in incoming if _is_shipped(current, i))
        if shipped:
            raise CatalogueDataError(
                f"{name}: {_kind(current, shipped[0])} {shipped[0]!r} is in the shipped catalogue; "
                "a clinic row needs an id of its own"
            )
        existing = sorted(i for i in incoming if i in current.substances or i in current.products)
        if existing and not replace:
            raise CatalogueDataError(
                f"{name}: {_kind(current, existing[0])} {existing[0]!r} was imported before; "
                "use --replace to replace it"
            )
        replaced.extend(existing)
        codes = {fhir_code_key(c): c for c in current.fhir_codes}
        for code in data.fhir_codes:
            found = codes.get(fhir_code_key(code))
            if found is not None and not found.local:
                shipped = f"maps it to {found.term!r}" if found.term is not None else "says it records nothing"
                raise CatalogueDataError(
                    f"{name}: FHIR code {code.system}|{code.code} ({code.kind}) is in the shipped code table, "
                    f"which {shipped}; a clinic adds codes, it cannot remap a shipped one")
            if found is not None and not replace:
                raise CatalogueDataError(f"{name}: FHIR code {code.system}|{code.code} ({code.kind}) was imported "
                                         "before; use --replace to replace it")
            if found is not None:
                replaced.append(code_label(code))
        _check_against(current, data, name)
        return _rows([s for s in local.substances if s.id not in incoming] + data.substances,
                     [p for p in local.products if p.id not in incoming] + data.products,
                     [c for c in local.fhir_codes if fhir_code_key(c) not in incoming_codes] + data.fhir_codes)

    with _rewriting_local_rows(url, change, label=name) as session:
        session.add(m.ImportRow(
            imported_at=datetime.now(UTC).isoformat(timespec="seconds"), file_name=_shown(name)[:300],
            sha256=digest, substances=len(data.substances), products=len(data.products),
            replaced=len(replaced), codes=len(data.fhir_codes),
        ))
    return ImportReport(name, digest, tuple(s.id for s in data.substances),
                        tuple(p.id for p in data.products), tuple(replaced), describe(url),
                        tuple(code_label(c) for c in data.fhir_codes))


def remove_local(url: str, ids: Iterable[str]) -> tuple[str, ...]:
    """Remove rows a clinic imported; shipped rows cannot be removed. An id ``SYSTEM|CODE``
    names the FHIR codes the clinic imported with that system and code (of any kind)."""
    wanted = tuple(dict.fromkeys(ids))
    codes = {row_id for row_id in wanted if "|" in row_id}

    def change(current: Catalogue, local: CatalogueData) -> CatalogueData:
        for row_id in sorted(codes):
            found = [c for c in current.fhir_codes if f"{c.system}|{c.code}" == row_id]
            if any(not c.local for c in found):
                raise InputError(f"FHIR code {row_id!r} is in the shipped code table; only codes a clinic "
                                 "imported can be removed")
            if not found:
                raise InputError(f"no clinic FHIR code {row_id!r}")
        for row_id in wanted:
            if row_id in codes:
                continue
            if _is_shipped(current, row_id):
                raise InputError(f"{_kind(current, row_id)} {row_id!r} is in the shipped catalogue; "
                                 "only rows a clinic imported can be removed")
            if row_id not in current.substances and row_id not in current.products:
                raise InputError(f"no clinic substance or product with id {row_id!r}")
        return _rows([s for s in local.substances if s.id not in wanted],
                     [p for p in local.products if p.id not in wanted],
                     [c for c in local.fhir_codes if f"{c.system}|{c.code}" not in codes])

    with _rewriting_local_rows(url, change, label=f"cannot remove {', '.join(wanted)}"):
        pass
    return wanted


def import_log(url: str) -> list[ImportLogEntry]:
    """Every import into the database at ``url`` so far, oldest first."""
    from sqlalchemy import select

    from mesocli.storage import models as m
    from mesocli.storage.db import reading_session

    with reading_session(url) as (session, _revision):
        rows = session.execute(select(m.ImportRow).order_by(m.ImportRow.id)).scalars()
        return [ImportLogEntry(r.id, r.imported_at, r.file_name, r.sha256, r.substances, r.products, r.replaced,
                               r.codes) for r in rows]


@contextmanager
def _rewriting_local_rows(
    url: str, change: Callable[[Catalogue, CatalogueData], CatalogueData], *, label: str
) -> Iterator[Session]:
    """One locked transaction that replaces the clinic's rows with ``change(current, local)``.

    The new set is validated against the rest of the catalogue before anything is deleted (a
    problem is reported after ``label``); any error rolls the whole transaction back. Only what
    changes is written: the rows ``change`` kept (the very objects of ``local``) stay as they
    are, so an import costs what it adds, not what the clinic imported before.
    """
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from mesocli.storage.db import check_revision, describe, explain, open_engine
    from mesocli.storage.reader import read_catalogue
    from mesocli.storage.text import validate_references
    from mesocli.storage.writer import write_catalogue

    refuse_packaged(url)
    engine = open_engine(url, immediate=True)
    try:
        check_revision(engine, url)
        with Session(engine) as session, session.begin():
            lock_catalogue(session)
            current = read_catalogue(session)
            local, shipped = split_rows(current)
            new_local = change(current, local)
            try:
                validate_references(new_local, known=shipped)
            except CatalogueDataError as exc:
                raise CatalogueDataError(f"{label}: {exc.message}") from None
            gone, added = _difference(local, new_local)
            _delete_local_rows(session, gone)
            write_catalogue(session, added)
            yield session
    except SQLAlchemyError as exc:
        raise DatabaseError(explain(exc, describe(url))) from None
    finally:
        engine.dispose()


# Characters no text field of an import may hold: control characters (a terminal would obey
# them), invisible format characters (bidirectional overrides that reorder a name on screen),
# separators and unassigned or private code points. Free-text notes may hold newlines and tabs.
_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_MULTILINE_KEYS = frozenset({"notes"})


def _check_text(document: Any, name: str) -> None:
    """Refuse an import whose keys or text values hold a character of ``_FORBIDDEN``."""
    import unicodedata

    stack: list[tuple[str, Any, str]] = [("", document, "")]
    while stack:
        where, value, key = stack.pop()
        if isinstance(value, dict):
            for child_key, child in value.items():
                stack.append((f"{where}.{child_key}" if where else str(child_key), child_key, ""))
                stack.append((f"{where}.{child_key}" if where else str(child_key), child, str(child_key)))
        elif isinstance(value, list):
            stack.extend((f"{where}[{index}]", child, key) for index, child in enumerate(value))
        elif isinstance(value, str):
            if value.isprintable():  # no character of _FORBIDDEN (all of them are unprintable): no need to look
                continue
            allowed = "\n\t" if key in _MULTILINE_KEYS else ""
            for char in value:
                if char not in allowed and unicodedata.category(char) in _FORBIDDEN:
                    raise CatalogueDataError(f"{_shown(name)}: {_shown(where)} holds the control or invisible "
                                             f"character U+{ord(char):04X}; remove it")


def _shown(text: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)[:120]


def _check_against(current: Catalogue, data: CatalogueData, name: str) -> None:
    """Checks an import needs the catalogue for: activity units only where they mean something
    for the substance, and no new substance of a class whose safety rules meso cannot extend."""
    from mesocli.storage.text import dose_as_valid
    from mesocli.units import has_dimension

    substances = {**current.substances, **{s.id: s for s in data.substances}}
    for product in data.products:
        for component in product.components:
            amount, substance = component.concentration, substances.get(component.substance)
            if amount is None or substance is None:
                continue
            what = f"{_shown(name)}: product {product.id!r} component {substance.id!r}"
            if has_dimension(amount.unit, "[biological_activity] / [length] ** 3") and substance.iu_mass is None:
                raise CatalogueDataError(f"{what}: {substance.name} has no IU-to-mass factor in the catalogue; "
                                         "give its concentration by mass, e.g. mg/mL")
            if has_dimension(amount.unit, "[usp_activity] / [length] ** 3") and substance.cls != "enzyme":
                raise CatalogueDataError(f"{what}: USP units apply to enzymes such as hyaluronidase, not to "
                                         f"{substance.name}; give its concentration by mass, e.g. mg/mL")
    for substance in data.substances:
        try:
            dose_as_valid(substance, substances)
        except CatalogueDataError as exc:
            raise CatalogueDataError(f"{_shown(name)}: {exc.message}") from None
        reasons = class_safety(current, substance.cls, dosed_as=substance.dose_as)
        if reasons:
            raise CatalogueDataError(
                f"{_shown(name)}: substance {substance.id!r} is of class {substance.cls!r}, whose safety rules "
                f"meso cannot extend to a clinic's substance ({'; '.join(reasons)}); it would escape them, so "
                "it is refused. Import a product made of the shipped substance instead, or ask for the "
                "substance to be added to the catalogue")


def class_safety(current: Catalogue, cls: str, *, dosed_as: str | None = None) -> list[str]:
    """Why a new substance of class ``cls`` could not be checked like the shipped ones: the
    allergen groups that reach every shipped substance of the class (a new one would not be
    in them), and the dose limits set for its members one by one (a new one would have none,
    unless it is ``dosed_as`` one of them: then that one's limits hold for their sum).
    Empty when the class carries no such rule (its class-wide rules reach a new member anyway)."""
    members = [sid for sid in current.class_members.get(cls, ()) if not current.substances[sid].local]
    if not members:
        return []
    reasons = []
    reach = [set(current.groups_by_substance.get(member, ())) for member in members]
    if all(reach):
        groups = sorted(set().union(*reach))
        reasons.append(f"every shipped {cls} is in an allergen group ({', '.join(groups)})")
    dosed = sorted({rule.scope.ref for rule in current.rules_by_kind.get("dose_limit", ())
                    if rule.scope.kind == "substance" and rule.scope.ref in members})
    if dosed and dosed_as not in members:  # dosed as a shipped member: its limits hold
        reasons.append(f"dose limits are set substance by substance ({', '.join(dosed)})")
    return reasons


def _is_shipped(current: Catalogue, row_id: str) -> bool:
    row = current.substances.get(row_id) or current.products.get(row_id)
    return row is not None and not row.local


def _kind(current: Catalogue, row_id: str) -> str:
    return "substance" if row_id in current.substances else "product"


def _difference(old: CatalogueData, new: CatalogueData) -> tuple[CatalogueData, CatalogueData]:
    """The clinic rows of ``old`` that ``new`` does not keep, and those ``new`` adds (a row is
    kept when ``new`` holds the very object: changed rows are new objects)."""

    def split(before: list[Any], after: list[Any]) -> tuple[list[Any], list[Any]]:
        kept = {id(row) for row in before} & {id(row) for row in after}
        return [row for row in before if id(row) not in kept], [row for row in after if id(row) not in kept]

    (gone_s, new_s), (gone_p, new_p), (gone_c, new_c) = (
        split(old.substances, new.substances), split(old.products, new.products),
        split(old.fhir_codes, new.fhir_codes))
    return _rows(gone_s, gone_p, gone_c), _rows(new_s, new_p, new_c)


def _delete_local_rows(session: Session, local: CatalogueData) -> None:
    """Delete the clinic rows ``local`` names (substances, products, FHIR codes) and what hangs on them."""
    from sqlalchemy import delete, or_, select

    from mesocli.storage import models as m
    from mesocli.storage.text import fhir_code_key

    substances = [s.id for s in local.substances]
    products = [p.id for p in local.products]
    subjects = [f"substance:{i}" for i in substances] + [f"product:{i}" for i in products]
    session.execute(delete(m.Citation).where(m.Citation.subject.in_(subjects)))
    keys = {fhir_code_key(c) for c in local.fhir_codes}
    rows = session.execute(select(m.FhirCodeRow.id, m.FhirCodeRow.kind, m.FhirCodeRow.system, m.FhirCodeRow.code)
                           .where(m.FhirCodeRow.is_local))
    codes = [code_id for code_id, *key in rows if tuple(key) in keys]
    session.execute(delete(m.Citation).where(m.Citation.subject.in_([f"fhir-code:{code_id}" for code_id in codes])))
    session.execute(delete(m.FhirCodeRow).where(m.FhirCodeRow.id.in_(codes)))
    session.execute(delete(m.Alias).where(or_(
        (m.Alias.kind == "substance") & m.Alias.target.in_(substances),
        (m.Alias.kind == "product") & m.Alias.target.in_(products),
    )))
    session.execute(delete(m.ProductComponent).where(m.ProductComponent.product_id.in_(products)))
    session.execute(delete(m.ProductArea).where(m.ProductArea.product_id.in_(products)))
    session.execute(delete(m.ProductRow).where(m.ProductRow.id.in_(products)))
    session.execute(delete(m.SubstanceRow).where(m.SubstanceRow.id.in_(substances)))
    session.execute(delete(m.SourceRow).where(m.SourceRow.id.not_in(select(m.Citation.source_id))))
    session.flush()
