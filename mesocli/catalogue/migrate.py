"""Alembic migrations and the building of catalogue databases.

* :func:`build_database` makes the shipped SQLite file from the source text: migrations, then
  the loader, then ``VACUUM`` in rollback-journal mode (never WAL), written atomically.
* :func:`upgrade_database` brings any database (``MESO_DATABASE_URL``) to the newest schema
  and refreshes the shipped catalogue rows, keeping rows a clinic added (``is_local``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mesocli import config
from mesocli.errors import DatabaseError

if TYPE_CHECKING:  # pragma: no cover
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine


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

    from mesocli.catalogue.loader import write_catalogue
    from mesocli.catalogue.source import read_directory

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

    Returns (revision before, revision after, backup path). On SQLite, the file is copied to
    ``<name>.<UTC timestamp>.bak`` before anything changes.
    """
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from mesocli.catalogue.db import writable_engine
    from mesocli.catalogue.loader import write_catalogue
    from mesocli.catalogue.source import read_directory

    data = read_directory(config.data_dir())
    engine = writable_engine(url)
    backup = _backup_sqlite(engine)
    try:
        before = current_revision(engine)
        migrate(engine)
        with Session(engine) as session, session.begin():
            delete_shipped_rows(session)
            write_catalogue(session, data)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        from mesocli.catalogue.db import describe, explain

        raise DatabaseError(explain(exc, describe(url))) from None
    finally:
        engine.dispose()
    assert after is not None
    return before, after, backup


def delete_shipped_rows(session) -> None:  # type: ignore[no-untyped-def]
    """Remove the shipped catalogue's rows, keeping everything a clinic added."""
    from sqlalchemy import delete

    from mesocli.catalogue import models as m

    for model in (m.Citation, m.Alias, m.RuleRow, m.FormulationDefaultRow, m.ProtocolRow,
                  m.IndicationFit, m.IndicationArea, m.IndicationRow, m.MedicationClassLink,
                  m.MedicationRow, m.MedicationClassRow, m.ConditionRow, m.CrossReactionRow,
                  m.AllergenOrigin, m.AllergenMember, m.AllergenGroupRow):
        session.execute(delete(model))
    local_products = session.query(m.ProductRow.id).filter(m.ProductRow.is_local.is_(True))
    session.execute(delete(m.ProductComponent).where(m.ProductComponent.product_id.not_in(local_products)))
    session.execute(delete(m.ProductArea).where(m.ProductArea.product_id.not_in(local_products)))
    session.execute(delete(m.ProductRow).where(m.ProductRow.is_local.is_(False)))
    session.execute(delete(m.AreaRow))
    session.execute(delete(m.SubstanceRow).where(m.SubstanceRow.is_local.is_(False)))
    session.execute(delete(m.SourceRow))
    session.flush()


def _backup_sqlite(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or not Path(database).is_file():
        return None
    path = Path(database)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    shutil.copy2(path, backup)
    return backup
