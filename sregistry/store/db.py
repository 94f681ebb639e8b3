"""The store's SQLite database: schema, migrations and write transactions.

One file, ``sregistry.db``, opened with the standard library. Writers take
the database lock up front (``BEGIN IMMEDIATE``) and wait up to
:data:`BUSY_TIMEOUT` seconds for another process to finish, so two processes
adding images at once are serialised instead of failing. Transactions hold
no slow work (copies happen before, outside them): they last milliseconds.

The journal stays in SQLite's default rollback mode rather than WAL: WAL
needs shared memory, which network filesystems (the home directories of
most HPC clusters) do not provide across hosts, and our transactions are too
short to profit from WAL's concurrent readers.

``PRAGMA user_version`` holds the schema version; :data:`MIGRATIONS` brings
an older file up to date inside one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sregistry.errors import ConfigError, SregistryError

__all__ = ["BUSY_TIMEOUT", "MIGRATIONS", "SCHEMA_VERSION", "connect", "store_error", "write"]

BUSY_TIMEOUT = 60.0
"""Seconds a process waits for another one's transaction before giving up."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # version 1
    (
        """CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            collection TEXT NOT NULL,
            name TEXT NOT NULL,
            tag TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            size INTEGER NOT NULL CHECK (size >= 0),
            arch TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            source TEXT NOT NULL,
            created TEXT NOT NULL,
            UNIQUE (collection, name, tag)
        )""",
        "CREATE INDEX images_by_sha256 ON images (sha256)",
        """CREATE TABLE labels (
            image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (image_id, key)
        )""",
        "CREATE INDEX labels_by_key ON labels (key)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def store_error(path: Path, exc: sqlite3.Error) -> SregistryError:
    """A one-line error for a database failure (never the SQL)."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return SregistryError(
            f"the image store database {path} stayed locked by another process "
            f"for more than {BUSY_TIMEOUT:.0f} s",
            hint="try again when the other sregistry command has finished",
        )
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
        return ConfigError(
            f"{path} is not an sregistry database",
            hint="point SREGISTRY_DATABASE at another folder",
        )
    return ConfigError(f"cannot use the image store database {path}: {text}")


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the image store folder {path.parent}: {exc.strerror}"
        ) from None
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise store_error(path, exc) from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise store_error(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version == SCHEMA_VERSION:
        return
    with write(conn):
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"the image store database {path} was written by a newer sregistry "
                f"(schema {version}, this one knows {SCHEMA_VERSION})",
                hint="upgrade sregistry",
            )
        if version == 0 and _has_legacy_tables(conn):
            raise ConfigError(
                f"{path} is a sregistry-cli 0.2.x database, which this version does not use",
                hint="unset SREGISTRY_DATABASE (or point it at a new folder)",
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _has_legacy_tables(conn: sqlite3.Connection) -> bool:
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {"container", "collection"} <= names


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction holding the database lock from its first statement."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
