"""Where meso's files are, and which database it uses; all injectable through the environment.

* ``MESO_DATABASE_URL``: any SQLAlchemy URL; default is the catalogue shipped in the package,
  opened read-only.
* ``MESO_HOME``: a directory for meso's own files (cache); default is the platform's user
  cache directory.
"""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_ENV = "MESO_DATABASE_URL"
HOME_ENV = "MESO_HOME"
DB_FILENAME = "ingredients.sqlite"


def package_dir(name: str) -> Path:
    """A directory shipped with meso: inside the installed package, else in the checkout."""
    # The package's own folder, as importlib.resources.files would give it for a package on
    # disk (importing importlib.resources costs every command about 1 % of its start-up).
    inside = Path(__file__).parent / name
    if inside.is_dir():
        return inside
    return Path(__file__).resolve().parent.parent / name


def data_dir() -> Path:
    return package_dir("data")


def migrations_dir() -> Path:
    return package_dir("migrations")


def shipped_database() -> Path:
    return data_dir() / DB_FILENAME


def database_url(environ: dict[str, str] | None = None) -> str | None:
    """The URL from ``MESO_DATABASE_URL``, normalised; ``None`` means the shipped catalogue."""
    env = os.environ if environ is None else environ
    url = env.get(DATABASE_ENV, "").strip()
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def home_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("meso"))


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (``sqlite:///relative``, ``sqlite:////absolute``, any
    ``sqlite+driver``, a ``file:`` URI name), or ``None`` for other URLs and in-memory SQLite.

    Read as SQLAlchemy reads the URL's database part (query dropped, %-escapes decoded), without
    importing SQLAlchemy, so the snapshot path stays free of it.
    """
    scheme, found, rest = url.partition("://")
    if not found or scheme.split("+", 1)[0].lower() != "sqlite":
        return None
    _host, slash, database = rest.partition("/")
    if not slash:
        return None
    from urllib.parse import unquote

    name = unquote(database.split("?", 1)[0])
    if name.startswith("file:"):
        name = name[len("file:"):]
    if not name or name == ":memory:":
        return None
    return Path(name)
