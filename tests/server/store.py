"""SQLite state shared by the server process and the test process.

One database file (WAL mode) under the data directory. The server keeps no
cache: every request reads the tables again, so anything a test changes through
:class:`Store` and :mod:`tests.server.queries` is seen by the next request.
Writes go through :meth:`Store.write` (``BEGIN IMMEDIATE``), which also
serialises blob placement and removal.

Model (as sregistry 2.1.2, with one store for both APIs, B18): a *collection*
has owners, contributors, a secret and a private flag; a *container* row is one
``(collection, name, tag)`` with a ``version`` (``sha256.<hex>``), a size, a
frozen flag, metadata JSON, an arch and the blob holding its file. Rows whose
tag starts with ``DUMMY-`` are library push holders not tagged yet.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.server.blobs import BlobStore

__all__ = [
    "HOLDER_PREFIX",
    "Collection",
    "Container",
    "Part",
    "Store",
    "Upload",
    "User",
    "utcnow",
]

HOLDER_PREFIX = "DUMMY-"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,
    staff INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    date_joined TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret TEXT NOT NULL,
    private INTEGER NOT NULL DEFAULT 0,
    add_date TEXT NOT NULL,
    modify_date TEXT NOT NULL,
    get_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS members (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'contributor')),
    PRIMARY KEY (collection_id, user_id, role)
);
CREATE TABLE IF NOT EXISTS containers (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    tag TEXT NOT NULL,
    version TEXT,
    size INTEGER,
    frozen INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT '{}',
    arch TEXT,
    blob TEXT,
    push_secret TEXT,
    add_date TEXT NOT NULL,
    modify_date TEXT NOT NULL,
    get_count INTEGER NOT NULL DEFAULT 0,
    downloads INTEGER NOT NULL DEFAULT 0,
    UNIQUE (collection_id, name, tag)
);
CREATE INDEX IF NOT EXISTS containers_blob ON containers(blob);
CREATE INDEX IF NOT EXISTS containers_listed ON containers(name, id);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (key, value)
);
CREATE TABLE IF NOT EXISTS container_labels (
    label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    container_id INTEGER NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    PRIMARY KEY (label_id, container_id)
);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    container_id INTEGER NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    filesize INTEGER NOT NULL,
    part_size INTEGER NOT NULL,
    total_parts INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (upload_id, number)
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY,
    method TEXT NOT NULL,
    path_regex TEXT NOT NULL,
    status INTEGER,
    body BLOB,
    headers TEXT NOT NULL DEFAULT '{}',
    cut_after INTEGER,
    delay REAL NOT NULL DEFAULT 0,
    passthrough INTEGER NOT NULL DEFAULT 0,
    remaining INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def utcnow() -> str:
    """The current UTC time as stored: ISO 8601 with microseconds and ``+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    token: str
    staff: bool
    active: bool
    date_joined: str


@dataclass(frozen=True)
class Collection:
    id: int
    name: str
    secret: str
    private: bool
    add_date: str
    modify_date: str
    get_count: int
    owners: tuple[int, ...]
    contributors: tuple[int, ...]

    def is_owner(self, user: User | None) -> bool:
        return user is not None and user.id in self.owners

    def can_read(self, user: User | None, *, staff_bypass: bool = False) -> bool:
        """Public, or the user owns/contributes (staff too when ``staff_bypass``)."""
        if not self.private:
            return True
        if user is None:
            return False
        if staff_bypass and user.staff:
            return True
        return user.id in self.owners or user.id in self.contributors


@dataclass(frozen=True)
class Container:
    id: int
    collection_id: int
    collection: str
    private: bool
    name: str
    tag: str
    version: str | None
    size: int | None
    frozen: bool
    metadata: dict[str, Any] = field(compare=False)
    arch: str | None
    blob: str | None
    push_secret: str | None
    add_date: str
    modify_date: str
    get_count: int
    downloads: int

    @property
    def uploaded(self) -> bool:
        return self.blob is not None

    @property
    def holder(self) -> bool:
        """A library push placeholder not tagged yet."""
        return self.tag.startswith(HOLDER_PREFIX)

    @property
    def listed(self) -> bool:
        """Uploaded and tagged: what lists, searches and pulls see."""
        return self.uploaded and not self.holder

    @property
    def uri(self) -> str:
        """``collection/name:tag``; a frozen row uses its version (the storage form)."""
        if self.frozen and self.version:
            return f"{self.collection}/{self.name}:{self.version}"
        return f"{self.collection}/{self.name}:{self.tag}"


@dataclass(frozen=True)
class Upload:
    id: str
    container_id: int
    filesize: int
    part_size: int
    total_parts: int


@dataclass(frozen=True)
class Part:
    number: int
    size: int
    md5: str
    sha256: str


class Store:
    """Connections to the database plus the blob files, for one data directory.

    Idle connections are reused (opening one costs milliseconds); they hold no
    state between uses, and every statement outside a transaction sees the
    latest commit, so nothing is cached.
    """

    MAX_IDLE = 8

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.db_path = data_dir / "registry.db"
        self.blobs = BlobStore(data_dir)
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connect(self) -> sqlite3.Connection:
        """A new connection (callers close it)."""
        db = sqlite3.connect(
            self.db_path, timeout=30, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        # WAL + NORMAL: commits are atomic and survive a process crash, without
        # an fsync per request (nothing here must survive a power cut).
        db.execute("PRAGMA synchronous = NORMAL")
        return db

    def initialize(self) -> None:
        """Create the schema (idempotent) and switch the database to WAL mode."""
        db = self.connect()
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO settings (key, value) VALUES ('secret', ?)",
                (secrets.token_hex(32),),
            )
        finally:
            db.close()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = self.connect()
        try:
            yield db
        except BaseException:
            db.close()
            raise
        with self._lock:
            if not db.in_transaction and len(self._idle) < self.MAX_IDLE:
                self._idle.append(db)
                return
        db.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads (autocommit)."""
        with self._connection() as db:
            yield db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on an exception."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    # -- blobs ---------------------------------------------------------------------

    def release_blob(self, db: sqlite3.Connection, digest: str | None) -> None:
        """Delete a blob no row refers to any more (call inside :meth:`write`)."""
        if digest is None:
            return
        row = db.execute("SELECT 1 FROM containers WHERE blob = ? LIMIT 1", (digest,)).fetchone()
        if row is None:
            self.blobs.remove(digest)
