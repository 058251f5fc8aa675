"""A snapshot of a SQLite catalogue on disk, so a command can skip SQLAlchemy entirely.

The loaded :class:`~mesocli.domain.catalogue.Catalogue` is immutable, so it is pickled into
meso's cache directory (``$MESO_HOME/cache``, else the platform's user cache directory) the
first time a SQLite catalogue is read. The snapshot is keyed by meso's version, the schema
revision this meso reads, the snapshot format, and the database file's resolved path, size,
inode, modification and change times: any change to the file gives a different key, and the
database is read again. A missing, stale, unreadable or corrupt snapshot is silently replaced;
a cache directory that cannot be written only means the database is read every time.

Only SQLite files are snapshotted; a server database (PostgreSQL) is always read.
Nothing here imports SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import tempfile
from pathlib import Path
from typing import Any

from mesocli import __version__

FORMAT = 1
_PREFIX = "catalogue-"


def sqlite_path(url: str | None) -> Path | None:
    """The database file behind ``url`` (``None``: the shipped catalogue), or ``None``."""
    from mesocli import config

    if url is None:
        return config.shipped_database()
    if not url.startswith("sqlite:///"):
        return None
    name = url[len("sqlite:///"):].split("?")[0]
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def cache_dir() -> Path:
    from mesocli import config

    return config.home_dir() / "cache"


def key(path: Path) -> tuple[Any, ...] | None:
    """What identifies one version of the database file; ``None`` if it cannot be read."""
    from mesocli.catalogue.db import SCHEMA_HEAD

    try:
        resolved = path.resolve()
        info = resolved.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return (FORMAT, __version__, SCHEMA_HEAD, str(resolved), info.st_size, info.st_ino,
            info.st_mtime_ns, info.st_ctime_ns)


def _file_for(identity: tuple[Any, ...]) -> Path:
    digest = hashlib.sha256(identity[3].encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return cache_dir() / f"{_PREFIX}{digest}.pickle"


def load(identity: tuple[Any, ...]) -> Any | None:
    """The snapshot stored for ``identity``, or ``None`` when there is no usable one."""
    try:
        target = _file_for(identity)
        with target.open("rb") as handle:
            info = os.fstat(handle.fileno())
            # Only a file of ours that nobody else can write is trusted.
            owner = os.getuid() if hasattr(os, "getuid") else info.st_uid
            if info.st_uid != owner or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return None
            stored_key, catalogue = _unpickle(handle)
    except Exception:  # missing, unreadable, truncated, corrupt or from another meso: rebuild
        return None
    if stored_key != identity:
        return None
    from mesocli.domain.catalogue import Catalogue

    return catalogue if isinstance(catalogue, Catalogue) else None


def _unpickle(handle: Any) -> Any:
    """``pickle.load``, with the cyclic garbage collector paused: a large catalogue is some
    hundred thousand new objects, none of them garbage, and the collector would otherwise pass
    over them again and again while they are made (a third of the load time)."""
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        return pickle.load(handle)
    finally:
        if paused:
            gc.enable()


def store(identity: tuple[Any, ...], catalogue: Any) -> bool:
    """Write the snapshot atomically (temporary file, then rename); ``False`` if it cannot be."""
    temporary = None
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = _file_for(identity)
        handle, temporary = tempfile.mkstemp(prefix=f".{_PREFIX}", suffix=".tmp", dir=folder)
        with os.fdopen(handle, "wb") as out:
            if hasattr(os, "fchmod"):
                os.fchmod(out.fileno(), 0o600)
            pickle.dump((identity, catalogue), out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)
        return True
    except Exception:  # a cache that cannot be written only costs time
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return False
