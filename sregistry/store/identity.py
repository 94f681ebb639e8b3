"""The ``store-id`` file: ties a folder of image files to one database, so
that garbage collection through one database never deletes files another
database records (possible when ``$SREGISTRY_DATABASE`` points elsewhere)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sregistry.errors import ConfigError
from sregistry.store.files import fsync_dir

__all__ = ["STORE_ID_FILE", "bind"]

STORE_ID_FILE = "store-id"


def bind(
    conn: sqlite3.Connection, root: Path, database: Path, has_files: Callable[[], bool]
) -> None:
    """Check, or record on first use, that ``database`` owns the files in ``root``.

    Run inside every write transaction. A new database takes the folder over
    only when it holds no image files; any other mismatch raises
    :class:`ConfigError`.
    """
    id_file = root / STORE_ID_FILE
    row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
    db_id: str | None = row[0] if row else None
    file_id = _read_id(id_file)
    if db_id is not None:
        if file_id is None:
            file_id = _create_id(id_file, db_id)
        if file_id != db_id:
            raise _foreign(root, database)
        return
    if file_id is not None and has_files():
        raise _foreign(root, database)
    # A new database: the folder is new, or holds no image files any more (a
    # new id then locks out the database that used it before).
    fresh = os.urandom(16).hex()
    if file_id is None:
        file_id = _create_id(id_file, fresh)
        if file_id != fresh and has_files():
            raise _foreign(root, database)
    if file_id != fresh:
        _replace_id(id_file, fresh)
    conn.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?)", (fresh,))


def _foreign(root: Path, database: Path) -> ConfigError:
    return ConfigError(
        f"the image files in {root} are recorded in another database, not {database}",
        hint="set SREGISTRY_DATABASE to that database's folder, or SREGISTRY_STORAGE "
        "to another folder",
    )


def _read_id(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return text or None


def _create_id(path: Path, value: str) -> str:
    """Write ``value`` to a new ``path``; if another process won, return its value."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return _read_id(path) or value
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(path.parent)
    return value


def _replace_id(path: Path, value: str) -> None:
    """Atomically give ``path`` a new id."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temp, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)
