"""Engines for the catalogue database.

The shipped catalogue is a SQLite file opened read-only (``mode=ro``), never in WAL mode. Any
other database comes from ``MESO_DATABASE_URL``. A database that is missing, damaged, or at a
schema revision this meso does not know raises :class:`DatabaseError` (exit 3) with a message
saying what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mesocli import config
from mesocli.errors import DatabaseError

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

# The newest migration this code knows; a test keeps it equal to Alembic's head.
SCHEMA_HEAD = "0008"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")


def describe(url: str | None) -> str:
    """The database location without any password, for messages."""
    if url is None:
        return str(config.shipped_database())
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def readonly_sqlite_engine(path: Path) -> Engine:
    """An engine over a SQLite file that can never write to it."""
    import sqlite3  # here, not at the top: the snapshot's key reads this module's SCHEMA_HEAD at every start

    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    if not path.is_file():
        raise DatabaseError(
            f"catalogue database not found at {path}; reinstall meso or run 'meso db build'"
        )
    uri = path.resolve().as_uri() + "?mode=ro"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    return create_engine("sqlite://", creator=connect, poolclass=StaticPool)


def writable_engine(url: str, *, immediate: bool = False) -> Engine:
    """An engine for a database meso may change (``meso db upgrade``, imports).

    With ``immediate``, every SQLite transaction starts with ``BEGIN IMMEDIATE``: a writer takes
    the database's write lock before it reads, so two writers queue (for up to 30 s) instead of
    both reading the same state and one of them failing half-way.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()
                if immediate:
                    dbapi_connection.isolation_level = None  # transactions are begun below

            if immediate:
                @event.listens_for(engine, "begin")
                def _begin(connection):  # type: ignore[no-untyped-def]
                    connection.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        connect_args = {"connect_timeout": 3} if "+psycopg" in url else {}
        return create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(f"{config.DATABASE_ENV} is not a usable database URL: {exc}") from None
    except ImportError as exc:
        raise DatabaseError(
            f"the driver for {describe(url)} is not installed ({exc.name}); "
            "install it, e.g. pip install 'meso[postgres]'"
        ) from None


def open_engine(url: str | None = None, *, immediate: bool = False) -> Engine:
    """The engine meso works on an existing catalogue through; it never creates a database.

    ``immediate`` is passed on to :func:`writable_engine` (for writers such as imports).
    """
    url = config.database_url() if url is None else url
    if url is None:
        return readonly_sqlite_engine(config.shipped_database())
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseError(f"no database at {path}; to create it, run 'meso db upgrade' "
                            f"with {config.DATABASE_ENV} set to it")
    return writable_engine(url, immediate=immediate)


@contextmanager
def reading_session(url: str | None) -> Iterator[tuple[Session, str]]:
    """A session on the catalogue at ``url`` with its checked revision; closed afterwards.

    Any driver failure becomes a :class:`DatabaseError` saying what to do.
    """
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError
    from sqlalchemy.orm import Session

    engine = open_engine(url)
    try:
        revision = check_revision(engine, url)
        with Session(engine) as session:
            yield session, revision
    except DBAPIError as exc:
        raise DatabaseError(explain(exc, describe(url))) from None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read the catalogue at {describe(url)}: {exc.__class__.__name__}") from None
    finally:
        engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL, or ``None`` for other URLs and in-memory SQLite."""
    return config.sqlite_path(url)


def check_upgradable(url: str) -> None:
    """Raise :class:`DatabaseError`, before anything is written, if ``meso db upgrade`` cannot work on ``url``.

    A SQLite file needs a directory to live in, and a database at a schema revision this meso
    does not know was made by a newer meso: migrating it would fail halfway.
    """
    from sqlalchemy.exc import SQLAlchemyError

    path = sqlite_file(url)
    where = describe(url)
    if path is not None:
        if path.is_dir():
            raise DatabaseError(f"{path} is a directory; set {config.DATABASE_ENV} to a database file in it")
        parent = path.parent
        if not parent.is_dir():
            problem = "is not a directory" if parent.exists() else "does not exist"
            raise DatabaseError(f"cannot create the database at {path}: {parent} {problem}; "
                                f"set {config.DATABASE_ENV} to a file in a writable directory")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise DatabaseError(f"cannot write the database at {path}: it or its directory is read-only; make "
                                f"both writable or set {config.DATABASE_ENV} to a file in a writable directory")
        if not path.exists():
            return
    engine = writable_engine(url)
    try:
        from alembic.migration import MigrationContext

        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise DatabaseError(explain(exc, where)) from None
    finally:
        engine.dispose()
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise DatabaseError(
            f"the database at {where} is at schema revision {revision}, which this meso does not "
            f"know (newest known: {SCHEMA_HEAD}); upgrade meso instead of the database"
        )


def check_revision(engine: Engine, url: str | None) -> str:
    """Return the schema revision, or raise :class:`DatabaseError` saying what to do."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    where = describe(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError as exc:
        raise DatabaseError(explain(exc, where)) from None
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read the catalogue at {where}: {exc.__class__.__name__}") from None
    if not rows:
        raise DatabaseError(f"the database at {where} has no catalogue schema; run 'meso db upgrade'")
    revision = str(rows[0][0])
    if revision not in KNOWN_REVISIONS:
        raise DatabaseError(
            f"the database at {where} is at schema revision {revision}, which this meso does not "
            f"know (newest known: {SCHEMA_HEAD}); upgrade meso"
        )
    if revision != SCHEMA_HEAD:
        raise DatabaseError(
            f"the database at {where} is at schema revision {revision}; run 'meso db upgrade' "
            f"to bring it to {SCHEMA_HEAD}"
        )
    return revision


def explain(exc: Exception, where: str) -> str:
    text = str(getattr(exc, "orig", exc)).lower()
    if "no such table" in text or ("does not exist" in text and "relation" in text):
        return f"the database at {where} has no catalogue schema; run 'meso db upgrade'"
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return f"the file at {where} is not a valid catalogue database (damaged or not SQLite); " \
               "restore it or rebuild it with 'meso db build'"
    if "readonly" in text or "read-only" in text:
        return f"the catalogue database at {where} is read-only; make it writable (for SQLite, the file and " \
               f"its directory) or point {config.DATABASE_ENV} at a writable copy"
    if "unable to open" in text:
        return f"cannot open the catalogue database at {where}; check that it exists and is readable"
    if "connection" in text or "connect" in text or "timeout" in text:
        return f"cannot connect to the catalogue database at {where}; check that the server is " \
               f"running and {config.DATABASE_ENV} is right"
    first = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
    return f"cannot read the catalogue at {where}: {first}"
