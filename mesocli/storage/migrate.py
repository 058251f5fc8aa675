"""Alembic migrations and the building of catalogue databases.

* :func:`build_database` makes the shipped SQLite file from the source text: migrations, then
  the loader, then ``VACUUM`` in rollback-journal mode (never WAL), written atomically.
* :func:`upgrade_database` brings any database (``MESO_DATABASE_URL``) to the newest schema
  and replaces the shipped catalogue rows, keeping the rows a clinic added (``is_local``):
  those are read, checked against the new catalogue, and written back in the same transaction.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesocli import config
from mesocli.errors import DatabaseError

if TYPE_CHECKING:  # pragma: no cover
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.orm import Session

    from mesocli.domain.catalogue import Catalogue
    from mesocli.storage.text import CatalogueData

# The key of the PostgreSQL advisory lock that serialises writers of the catalogue.
CATALOGUE_LOCK = 0x6D65736F  # "meso"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(config.migrations_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    from alembic import command

    with engine.begin() as connection:
        cfg = alembic_config(connection)
        if down:
            command.downgrade(cfg, revision)
        else:
            command.upgrade(cfg, revision)


def build_database(target: Path, source_dir: Path | None = None) -> Path:
    """Build a fresh catalogue SQLite file at ``target`` from the TOML sources."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from mesocli.storage.text import read_directory
    from mesocli.storage.writer import write_catalogue

    data = read_directory(source_dir or config.data_dir())
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".ingredients-", suffix=".sqlite", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        engine = create_engine(f"sqlite:///{tmp}")
        migrate(engine)
        with Session(engine) as session, session.begin():
            write_catalogue(session, data)
        engine.dispose()
        connection = sqlite3.connect(tmp)
        try:
            connection.execute("PRAGMA journal_mode=DELETE")
            connection.execute("VACUUM")
        finally:
            connection.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def upgrade_database(url: str) -> tuple[str | None, str, Path | None]:
    """Migrate the database at ``url`` and reload the shipped catalogue into it.

    Returns (revision before, revision after, backup path). On SQLite, the file is first
    backed up to ``<name>.<UTC timestamp>.bak`` (see :func:`_backup_sqlite`).
    """
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from mesocli.storage.db import writable_engine
    from mesocli.storage.reader import read_catalogue
    from mesocli.storage.text import read_directory
    from mesocli.storage.writer import write_catalogue

    refuse_packaged(url)
    data = read_directory(config.data_dir())
    engine = writable_engine(url, immediate=True)
    backup = _backup_sqlite(engine)
    try:
        before = current_revision(engine)
        migrate(engine)
        with Session(engine) as session, session.begin():
            lock_catalogue(session)
            local, _shipped = split_rows(read_catalogue(session))
            _check_local_rows(local, data)
            delete_catalogue_rows(session)
            write_catalogue(session, data)
            write_catalogue(session, local)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        from mesocli.storage.db import describe, explain

        raise DatabaseError(explain(exc, describe(url))) from None
    finally:
        engine.dispose()
    assert after is not None
    return before, after, backup


def refuse_packaged(url: str) -> None:
    """Raise :class:`InputError` when ``url`` points at the catalogue shipped inside the package,
    however it is spelled (a relative path, a ``file:`` URI, a link or a second hard link): that
    file is read-only, whatever its permissions say."""
    from urllib.parse import unquote

    from mesocli.errors import InputError
    from mesocli.storage.db import sqlite_file

    path = sqlite_file(url)
    if path is None:
        return
    shipped = config.shipped_database()
    candidates = {path, Path(unquote(str(path)))}
    for candidate in candidates:
        try:
            same = candidate.exists() and os.path.samefile(candidate, shipped)
        except OSError:
            same = False
        if same or candidate.resolve() == shipped.resolve():
            raise InputError(f"{config.DATABASE_ENV} points at the catalogue shipped with meso, which is read-only; "
                             "point it at the clinic's own database (create one with 'meso db upgrade')")


def lock_catalogue(session: Session) -> None:
    """Serialise writers: the first statement of a writing transaction takes the lock.

    SQLite engines from :func:`mesocli.storage.db.writable_engine` begin with ``BEGIN
    IMMEDIATE`` already; on PostgreSQL a transaction-scoped advisory lock does the same.
    """
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CATALOGUE_LOCK})


def _check_local_rows(local: CatalogueData, shipped: CatalogueData) -> None:
    """Refuse an update that would break a clinic's rows (a clash of ids or names, a removed
    substance or area they use): nothing is changed and the message says which row."""
    from mesocli.errors import CatalogueDataError
    from mesocli.storage.text import validate_references

    try:
        validate_references(local, known=shipped)
    except CatalogueDataError as exc:
        raise CatalogueDataError(
            f"the updated catalogue conflicts with rows this clinic added ({exc.message}); "
            "export them with 'meso catalogue export', fix them and import them again"
        ) from None


def delete_catalogue_rows(session: Session) -> None:
    """Empty every catalogue table (children first); the import log and schema version stay."""
    from sqlalchemy import delete

    from mesocli.storage import models as m

    for model in (m.Citation, m.Alias, m.FhirCodeRow, m.UnrelatedTermRow, m.DistinctionRow, m.RuleRow,
                  m.FormulationDefaultRow, m.ProtocolRow,
                  m.IndicationFit, m.IndicationArea, m.IndicationRow, m.MedicationClassLink,
                  m.MedicationRow, m.MedicationClassRow, m.ConditionRow, m.CrossReactionRow,
                  m.AllergenOrigin, m.AllergenMember, m.AllergenGroupRow, m.ProductComponent,
                  m.ProductArea, m.ProductRow, m.AreaRow, m.SubstanceRow, m.SourceRow):
        session.execute(delete(model))
    session.flush()


def split_rows(current: Catalogue) -> tuple[CatalogueData, CatalogueData]:
    """The clinic's substances, products and FHIR codes, and the shipped ones (with the areas
    products may use and the vocabulary a code's term may name)."""
    substances, products, codes = current.substances.values(), current.products.values(), current.fhir_codes
    local = _rows([s for s in substances if s.local], [p for p in products if p.local],
                  [c for c in codes if c.local])
    shipped = _rows([s for s in substances if not s.local], [p for p in products if not p.local],
                    [c for c in codes if not c.local])
    shipped.areas = list(current.areas.values())
    shipped.groups = list(current.groups.values())
    shipped.conditions = list(current.conditions.values())
    shipped.medications = list(current.medications.values())
    shipped.medication_classes = list(current.medication_classes.values())
    return local, shipped


def _rows(substances: list[Any], products: list[Any], fhir_codes: list[Any] | None = None) -> CatalogueData:
    from mesocli.storage.text import CatalogueData

    return CatalogueData(substances=substances, products=products, fhir_codes=list(fhir_codes or []))


BACKUP_WAIT = 30.0  # seconds to wait for another writer before the backup gives up


def _backup_sqlite(engine: Engine) -> Path | None:
    """Copy the SQLite database behind ``engine`` to ``<name>.<UTC timestamp>.bak`` beside it.

    The copy is made with SQLite's online backup API while this process holds the database's
    write lock (``BEGIN IMMEDIATE``): no import or other writer can change the file half-way
    through, so the backup is always a consistent database, WAL contents included. It is
    written under a temporary name and renamed when complete; a backup that fails is removed,
    and the error names the cause (disk full, locked by another writer, permission denied).
    """
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or not Path(database).is_file():
        return None
    path = Path(database)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    partial = path.with_name(f".{path.name}.{stamp}.bak.tmp")
    lock = source = target = None
    try:
        # One connection holds the write lock (readers go on, writers wait); another reads the
        # pages: SQLite refuses to back up through the connection that holds the write lock.
        lock = sqlite3.connect(path, timeout=BACKUP_WAIT, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        source = sqlite3.connect(path, timeout=BACKUP_WAIT, isolation_level=None)
        target = sqlite3.connect(partial, isolation_level=None)
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
        target.close()
        target = None
        os.chmod(partial, stat.S_IMODE(path.stat().st_mode))
        os.replace(partial, backup)
    except (sqlite3.Error, OSError) as exc:
        raise DatabaseError(f"cannot back up {path} before upgrading it ({backup_failure(exc)}); "
                            "nothing was changed") from None
    finally:
        if target is not None:
            target.close()
        if source is not None:
            source.close()
        if lock is not None:
            with contextlib.suppress(sqlite3.Error):
                lock.execute("ROLLBACK")
            lock.close()
        for leftover in (partial, partial.with_name(partial.name + "-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return backup


def backup_failure(exc: BaseException) -> str:
    """The cause of a failed backup or write, in words a clinic can act on."""
    import errno

    text = str(exc).lower()
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or "disk is full" in text \
            or "disk full" in text:
        return "disk full"
    if "locked" in text or "busy" in text:
        return (f"the database is locked by another writer (an import?) for more than {BACKUP_WAIT:g} s; "
                "try again when it has finished")
    if isinstance(exc, PermissionError) or "readonly" in text or "read-only" in text \
            or (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)):
        return "permission denied: the database's directory is not writable"
    if "unable to open" in text:
        return "cannot create the backup file beside the database"
    if "malformed" in text or "not a database" in text:
        return "the database file is damaged"
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__
