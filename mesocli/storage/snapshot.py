"""A snapshot of a SQLite catalogue on disk, so a command can skip SQLAlchemy entirely.

The loaded :class:`~mesocli.domain.catalogue.Catalogue` is immutable, so it is pickled into
meso's cache directory (``$MESO_HOME/cache``, else the platform's user cache directory) the
first time a SQLite catalogue is read. The snapshot is keyed by meso's version, the schema
revision this meso reads, the snapshot format, and the database file's resolved path, size,
inode, modification and change times, and the state of its WAL and journal files: any
change to the database gives a different key, and it is read again. A missing, stale,
unreadable or corrupt snapshot is silently replaced; a cache directory that cannot be written
only means the database is read every time. A snapshot is unpickled only from this user's own
files that no one else can write, and never through a link.

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

    return config.shipped_database() if url is None else config.sqlite_path(url)


def cache_dir() -> Path:
    from mesocli import config

    return config.home_dir() / "cache"


def key(path: Path) -> tuple[Any, ...] | None:
    """What identifies one version of the database file; ``None`` if it cannot be read.

    Besides the file's identity (path, inode, size, times), the key holds the state of its
    write-ahead log and journal: in WAL mode a commit only appends to ``-wal`` and the main file
    does not change at all. So a file replaced by another, a commit by another process and a
    WAL commit each give a new key. The database file itself is only looked at, never opened:
    closing a descriptor of it would drop the locks SQLite holds on it in this process.
    """
    from mesocli.storage.db import SCHEMA_HEAD

    try:
        resolved = path.resolve()
        info = resolved.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return (FORMAT, __version__, SCHEMA_HEAD, str(resolved), info.st_size, info.st_ino,
            info.st_mtime_ns, info.st_ctime_ns, _side_file(resolved, "-wal"), _side_file(resolved, "-journal"))


def _side_file(database: Path, suffix: str) -> tuple[Any, ...] | None:
    """The state of SQLite's ``-wal`` or ``-journal`` file next to ``database`` (``None``: none).

    The WAL header's salts change whenever the log starts over, and the log grows with every
    commit, so (size, header) changes with every commit, whatever the clock's resolution.
    (SQLite takes no locks on these files, so reading them disturbs no connection.)
    """
    side = database.with_name(database.name + suffix)
    try:
        info = side.stat()
        if suffix != "-wal" or not info.st_size:
            return (info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
        with open(side, "rb") as handle:
            return (info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns, handle.read(32))
    except FileNotFoundError:
        return None
    except OSError:
        return ("unreadable",)


def _file_for(identity: tuple[Any, ...]) -> Path:
    digest = hashlib.sha256(identity[3].encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return cache_dir() / f"{_PREFIX}{digest}.pickle"


def _private(info: os.stat_result) -> bool:
    """Whether a file or folder is this user's and no one else may write it."""
    owner = os.getuid() if hasattr(os, "getuid") else info.st_uid
    return info.st_uid == owner and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _trusted_dir(folder: Path) -> bool:
    """Whether ``folder`` is a real directory (not a link) of this user that no one else can
    write: only then is a snapshot read from it or written into it."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and _private(info)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def load(identity: tuple[Any, ...]) -> Any | None:
    """The snapshot stored for ``identity``, or ``None`` when there is no usable one.

    Unpickling runs code, so only a regular file of this user's that no one else can write, in
    a folder of this user's that no one else can write, is read; a link is never followed.
    """
    try:
        if not _trusted_dir(cache_dir()):
            return None
        fd = os.open(_file_for(identity), os.O_RDONLY | _NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or not _private(info):
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
    """Write the snapshot atomically (a new private temporary file, then a rename, so no link is
    ever written through); ``False`` if it cannot be."""
    temporary = None
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _trusted_dir(folder):
            return False
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
