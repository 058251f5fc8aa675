"""``meso db``: build, upgrade and locate the catalogue database."""

from __future__ import annotations

from pathlib import Path

import typer

from mesocli.cli.io import show_text, write_json
from mesocli.cli.output import JSON_OPTION, choose, format_option

REPORT_FORMATS = ("table", "json")

db = typer.Typer(help="Build, upgrade and locate the catalogue database.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db, name="db")


@db.command("build")
def db_build(
    output: Path = typer.Option(None, "--output", "-o", help="Where to write (default: the shipped file)."),
    source: Path = typer.Option(None, "--source", help="Directory of catalogue TOML (default: data/)."),
) -> None:
    """Build the catalogue SQLite file from the TOML sources (migrations + loader)."""
    from mesocli import config
    from mesocli.errors import DatabaseError, InputError
    from mesocli.storage.migrate import build_database

    if source is not None and not source.is_dir():
        problem = "is not a directory" if source.exists() else "does not exist"
        raise InputError(f"--source: {source} {problem}; give the directory of catalogue TOML files")
    target = output or config.shipped_database()
    if target.is_dir():
        raise InputError(f"--output: {target} is a directory; give the path of the database file to write")
    blocking = next((parent for parent in target.parents if parent.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise DatabaseError(f"cannot write the catalogue database to {target}: {blocking} is a file, not a "
                            "directory; choose a writable location with --output")
    try:
        built = build_database(target, source)
    except OSError as exc:
        raise DatabaseError(f"cannot write the catalogue database to {target} ({exc.strerror or exc}); "
                            "choose a writable location with --output") from None
    typer.echo(f"built {show_text(built)}")


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database at MESO_DATABASE_URL and load the catalogue into it.

    Rows a clinic added (catalogue import) are kept. On SQLite a backup copy of the file is
    written next to it first, with SQLite's online backup while holding the write lock; a
    backup that fails is removed and nothing is changed.
    """
    from mesocli import config
    from mesocli.errors import DatabaseError, InputError
    from mesocli.storage.db import check_upgradable, describe
    from mesocli.storage.migrate import backup_failure, upgrade_database

    url = config.database_url()
    if url is None:
        raise InputError(
            f"set {config.DATABASE_ENV} to the database to upgrade; the shipped catalogue is "
            "read-only and is rebuilt with 'meso db build'"
        )
    check_upgradable(url)
    try:
        before, after, backup = upgrade_database(url)
    except OSError as exc:
        raise DatabaseError(f"cannot upgrade the database at {describe(url)} ({backup_failure(exc)})") from None
    typer.echo(f"{show_text(describe(url))}: {before or 'empty'} -> {after}")
    if backup is not None:
        typer.echo(f"backup: {show_text(backup)}")


@db.command("path")
def db_path(output_format: str = format_option(*REPORT_FORMATS), as_json: bool = JSON_OPTION) -> None:
    """Print where the catalogue database is."""
    as_json = choose(output_format, as_json, REPORT_FORMATS) == "json"
    from mesocli import config
    from mesocli.storage.db import describe

    url = config.database_url()
    location = describe(url)
    if as_json:
        from mesocli.cli.output import catalogue_or_none
        from mesocli.render.documents import envelope

        write_json(envelope("db-path", catalogue=catalogue_or_none(), location=location, shipped=url is None,
                            read_only=url is None))
    else:
        typer.echo(show_text(location))


@db.command("current")
def db_current(output_format: str = format_option(*REPORT_FORMATS), as_json: bool = JSON_OPTION) -> None:
    """Print the schema revision of the catalogue database."""
    as_json = choose(output_format, as_json, REPORT_FORMATS) == "json"
    from mesocli.api import load_catalogue
    from mesocli.storage.db import SCHEMA_HEAD

    cat = load_catalogue()
    if as_json:
        from mesocli.render.documents import envelope

        write_json(envelope("db-current", catalogue=cat, revision=cat.revision, head=SCHEMA_HEAD,
                            location=cat.location))
    else:
        typer.echo(f"{show_text(cat.revision)} (head: {SCHEMA_HEAD})")
