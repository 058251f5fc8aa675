"""Alembic environment for meso's catalogue schema.

meso runs migrations from inside the package (``meso db upgrade``), handing Alembic an open
connection through ``config.attributes["connection"]``; no alembic.ini is needed at run time.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from mesocli.storage.models import Base

target_metadata = Base.metadata


def run_migrations(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can barely ALTER; batch mode copies and moves tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.begin() as connection:
        run_migrations(connection)


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_online()
