"""SQLite state shared by the server process and the test process.

One database file (WAL mode) under the data directory. The server opens a
connection per request and keeps no cache, so anything a test changes through
this module is seen by the next request. Writes go through :meth:`Store.write`
(``BEGIN IMMEDIATE``), which also serialises blob placement and removal.

Model (as sregistry 2.1.2, with one store for both APIs, B18): a *collection*
has owners, contributors, a secret and a private flag; a *container* row is one
``(collection, name, tag)`` with a ``version`` (``sha256.<hex>``), a size, a
frozen flag, metadata JSON, an arch and the blob holding its file. Rows whose
tag starts with ``DUMMY-`` are library push holders not tagged yet.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
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


_CONTAINER_SELECT = """
SELECT c.*, col.name AS collection_name, col.private AS collection_private
FROM containers c JOIN collections col ON col.id = c.collection_id
"""


def _container(row: sqlite3.Row) -> Container:
    return Container(
        id=row["id"],
        collection_id=row["collection_id"],
        collection=row["collection_name"],
        private=bool(row["collection_private"]),
        name=row["name"],
        tag=row["tag"],
        version=row["version"],
        size=row["size"],
        frozen=bool(row["frozen"]),
        metadata=json.loads(row["metadata"]),
        arch=row["arch"],
        blob=row["blob"],
        push_secret=row["push_secret"],
        add_date=row["add_date"],
        modify_date=row["modify_date"],
        get_count=row["get_count"],
        downloads=row["downloads"],
    )


def _user(row: sqlite3.Row | None) -> User | None:
    if row is None:
        return None
    return User(
        id=row["id"],
        username=row["username"],
        token=row["token"],
        staff=bool(row["staff"]),
        active=bool(row["active"]),
        date_joined=row["date_joined"],
    )


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


# -- settings ----------------------------------------------------------------------------


def get_setting(db: sqlite3.Connection, key: str, default: str = "") -> str:
    row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return default if row is None else str(row["value"])


def set_setting(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


# -- users -------------------------------------------------------------------------------


def add_user(db: sqlite3.Connection, username: str, token: str, *, staff: bool = False) -> User:
    """Create or update a user (usernames are lowercased, as the server does)."""
    username = username.lower()
    db.execute(
        "INSERT INTO users (username, token, staff, date_joined) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(username) DO UPDATE SET token = excluded.token, staff = excluded.staff",
        (username, token, int(staff), utcnow()),
    )
    user = user_by_name(db, username)
    assert user is not None
    return user


def user_by_token(db: sqlite3.Connection, token: str) -> User | None:
    if not token:
        return None
    return _user(db.execute("SELECT * FROM users WHERE token = ? AND active", (token,)).fetchone())


def user_by_name(db: sqlite3.Connection, username: str) -> User | None:
    return _user(db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone())


def user_by_id(db: sqlite3.Connection, user_id: int) -> User | None:
    return _user(db.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone())


# -- collections -------------------------------------------------------------------------


def _collection(db: sqlite3.Connection, row: sqlite3.Row | None) -> Collection | None:
    if row is None:
        return None
    members = db.execute(
        "SELECT user_id, role FROM members WHERE collection_id = ? ORDER BY rowid", (row["id"],)
    ).fetchall()
    return Collection(
        id=row["id"],
        name=row["name"],
        secret=row["secret"],
        private=bool(row["private"]),
        add_date=row["add_date"],
        modify_date=row["modify_date"],
        get_count=row["get_count"],
        owners=tuple(m["user_id"] for m in members if m["role"] == "owner"),
        contributors=tuple(m["user_id"] for m in members if m["role"] == "contributor"),
    )


def collection_by_name(db: sqlite3.Connection, name: str) -> Collection | None:
    row = db.execute("SELECT * FROM collections WHERE name = ?", (name,)).fetchone()
    return _collection(db, row)


def collection_by_id(db: sqlite3.Connection, collection_id: int) -> Collection | None:
    row = db.execute("SELECT * FROM collections WHERE id = ?", (collection_id,)).fetchone()
    return _collection(db, row)


def create_collection(
    db: sqlite3.Connection, name: str, owner: User, *, private: bool
) -> Collection:
    """A new collection with ``owner`` and a fresh secret (``name`` already normalised)."""
    now = utcnow()
    cursor = db.execute(
        "INSERT INTO collections (name, secret, private, add_date, modify_date) "
        "VALUES (?, ?, ?, ?, ?)",
        (name, str(uuid.uuid4()), int(private), now, now),
    )
    collection_id = cursor.lastrowid
    assert collection_id is not None
    add_member(db, collection_id, owner.id, "owner")
    created = collection_by_id(db, collection_id)
    assert created is not None
    return created


def add_member(db: sqlite3.Connection, collection_id: int, user_id: int, role: str) -> None:
    """Add an ``owner`` or ``contributor`` (idempotent)."""
    db.execute(
        "INSERT OR IGNORE INTO members (collection_id, user_id, role) VALUES (?, ?, ?)",
        (collection_id, user_id, role),
    )


def set_private(db: sqlite3.Connection, collection_id: int, private: bool) -> None:
    db.execute(
        "UPDATE collections SET private = ?, modify_date = ? WHERE id = ?",
        (int(private), utcnow(), collection_id),
    )


def touch_collection(db: sqlite3.Connection, collection_id: int) -> None:
    db.execute("UPDATE collections SET modify_date = ? WHERE id = ?", (utcnow(), collection_id))


def list_collections(
    db: sqlite3.Connection, *, limit: int | None = None, offset: int = 0
) -> tuple[int, list[Collection]]:
    """Public collections by id: ``(total count, one page)``."""
    total = db.execute("SELECT COUNT(*) FROM collections WHERE NOT private").fetchone()[0]
    rows = db.execute(
        "SELECT * FROM collections WHERE NOT private ORDER BY id LIMIT ? OFFSET ?",
        (-1 if limit is None else limit, offset),
    ).fetchall()
    return int(total), [c for c in (_collection(db, r) for r in rows) if c is not None]


def search_collections(db: sqlite3.Connection, query: str) -> list[Collection]:
    """Public collections whose name contains ``query`` (case-insensitive)."""
    rows = db.execute(
        "SELECT * FROM collections WHERE NOT private AND instr(lower(name), lower(?)) > 0 "
        "ORDER BY id",
        (query,),
    ).fetchall()
    return [c for c in (_collection(db, r) for r in rows) if c is not None]


def owned_collection_ids(db: sqlite3.Connection, user_id: int) -> list[int]:
    rows = db.execute(
        "SELECT collection_id FROM members WHERE user_id = ? AND role = 'owner' "
        "ORDER BY collection_id",
        (user_id,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def first_owner(db: sqlite3.Connection, collection: Collection) -> User | None:
    return user_by_id(db, collection.owners[0]) if collection.owners else None


# -- containers --------------------------------------------------------------------------


def container_by_id(db: sqlite3.Connection, container_id: int) -> Container | None:
    row = db.execute(_CONTAINER_SELECT + "WHERE c.id = ?", (container_id,)).fetchone()
    return None if row is None else _container(row)


def find_container(
    db: sqlite3.Connection, collection_id: int, name: str, tag: str
) -> Container | None:
    row = db.execute(
        _CONTAINER_SELECT + "WHERE c.collection_id = ? AND c.name = ? AND c.tag = ?",
        (collection_id, name, tag),
    ).fetchone()
    return None if row is None else _container(row)


def find_by_version(
    db: sqlite3.Connection, collection_id: int, name: str, version: str
) -> Container | None:
    """A row with that version; uploaded, tagged rows first."""
    row = db.execute(
        _CONTAINER_SELECT + "WHERE c.collection_id = ? AND c.name = ? AND c.version = ? "
        "ORDER BY c.blob IS NULL, c.tag LIKE 'DUMMY-%', c.id LIMIT 1",
        (collection_id, name, version),
    ).fetchone()
    return None if row is None else _container(row)


def containers_of(
    db: sqlite3.Connection, collection_id: int, name: str | None = None
) -> list[Container]:
    """Every row of a collection (optionally of one name), holders included."""
    if name is None:
        rows = db.execute(
            _CONTAINER_SELECT + "WHERE c.collection_id = ? ORDER BY c.name, c.id", (collection_id,)
        ).fetchall()
    else:
        rows = db.execute(
            _CONTAINER_SELECT + "WHERE c.collection_id = ? AND c.name = ? ORDER BY c.id",
            (collection_id, name),
        ).fetchall()
    return [_container(r) for r in rows]


_VISIBLE = "NOT col.private AND c.blob IS NOT NULL AND c.tag NOT LIKE 'DUMMY-%'"


def list_containers(
    db: sqlite3.Connection, *, limit: int | None = None, offset: int = 0
) -> tuple[int, list[Container]]:
    """Uploaded, tagged rows of public collections: ``(total count, one page)``."""
    total = db.execute(
        "SELECT COUNT(*) FROM containers c JOIN collections col ON col.id = c.collection_id "
        "WHERE " + _VISIBLE
    ).fetchone()[0]
    rows = db.execute(
        _CONTAINER_SELECT + "WHERE " + _VISIBLE + " ORDER BY c.name, c.id LIMIT ? OFFSET ?",
        (-1 if limit is None else limit, offset),
    ).fetchall()
    return int(total), [_container(r) for r in rows]


def search_containers(
    db: sqlite3.Connection, name: str, tag: str | None = None, collection: str | None = None
) -> list[Container]:
    """Exact (case-insensitive) name/tag/collection match over public, uploaded rows."""
    sql = _CONTAINER_SELECT + "WHERE " + _VISIBLE + " AND lower(c.name) = lower(?)"
    args: list[Any] = [name]
    if tag is not None:
        sql += " AND lower(c.tag) = lower(?)"
        args.append(tag)
    if collection is not None:
        sql += " AND lower(col.name) = lower(?)"
        args.append(collection)
    rows = db.execute(sql + " ORDER BY c.name, c.id", args).fetchall()
    return [_container(r) for r in rows]


def insert_container(
    db: sqlite3.Connection,
    collection_id: int,
    name: str,
    tag: str,
    *,
    version: str | None,
    size: int | None = None,
    blob: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    arch: str | None = None,
    frozen: bool = False,
) -> Container:
    now = utcnow()
    cursor = db.execute(
        "INSERT INTO containers (collection_id, name, tag, version, size, blob, metadata, arch, "
        "frozen, add_date, modify_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            collection_id,
            name,
            tag,
            version,
            size,
            blob,
            json.dumps(dict(metadata or {})),
            arch,
            int(frozen),
            now,
            now,
        ),
    )
    assert cursor.lastrowid is not None
    touch_collection(db, collection_id)
    created = container_by_id(db, cursor.lastrowid)
    assert created is not None
    return created


_UPDATABLE = frozenset({"tag", "size", "blob", "arch", "frozen", "push_secret", "version"})


def update_container(db: sqlite3.Connection, container_id: int, **fields: Any) -> None:
    """Set some of ``tag, size, blob, arch, frozen, push_secret, version``."""
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    if not fields:
        return
    assignments = ", ".join(f"{name} = ?" for name in fields)
    db.execute(
        f"UPDATE containers SET {assignments}, modify_date = ? WHERE id = ?",
        (*fields.values(), utcnow(), container_id),
    )


def delete_container(
    store: Store, db: sqlite3.Connection, container: Container, *, release: bool = True
) -> None:
    """Delete a row and (with ``release``) its blob when nothing else refers to it.

    Call inside :meth:`Store.write`. A caller replacing the row passes
    ``release=False`` and calls :meth:`Store.release_blob` after inserting the
    new row, so content shared by both survives.
    """
    db.execute("DELETE FROM containers WHERE id = ?", (container.id,))
    if release:
        store.release_blob(db, container.blob)


def count_get(db: sqlite3.Connection, container: Container) -> None:
    """Count a registry download (GET or HEAD) toward the weekly limits."""
    db.execute("UPDATE containers SET get_count = get_count + 1 WHERE id = ?", (container.id,))
    db.execute(
        "UPDATE collections SET get_count = get_count + 1 WHERE id = ?", (container.collection_id,)
    )


def count_download(db: sqlite3.Connection, container: Container) -> None:
    """Count a library download (shown as ``downloadCount``)."""
    db.execute("UPDATE containers SET downloads = downloads + 1 WHERE id = ?", (container.id,))


# -- labels ------------------------------------------------------------------------------


def set_labels(db: sqlite3.Connection, container_id: int, labels: Mapping[str, str]) -> None:
    """Attach ``key=value`` labels to a row (creating the label objects)."""
    for key, value in labels.items():
        db.execute("INSERT OR IGNORE INTO labels (key, value) VALUES (?, ?)", (key, value))
        label_id = db.execute(
            "SELECT id FROM labels WHERE key = ? AND value = ?", (key, value)
        ).fetchone()[0]
        db.execute(
            "INSERT OR IGNORE INTO container_labels (label_id, container_id) VALUES (?, ?)",
            (label_id, container_id),
        )


def search_labels(
    db: sqlite3.Connection, key: str | None = None, value: str | None = None
) -> list[tuple[str, str, list[str]]]:
    """``(key, value, [container uri, ...])`` for labels on public rows."""
    sql = (
        "SELECT l.id, l.key, l.value FROM labels l WHERE EXISTS (SELECT 1 FROM container_labels "
        "cl JOIN containers c ON c.id = cl.container_id JOIN collections col "
        "ON col.id = c.collection_id WHERE cl.label_id = l.id AND " + _VISIBLE + ")"
    )
    args: list[str] = []
    if key is not None:
        sql += " AND lower(l.key) = lower(?)"
        args.append(key)
    if value is not None:
        sql += " AND lower(l.value) = lower(?)"
        args.append(value)
    result = []
    for row in db.execute(sql + " ORDER BY l.key, l.value", args).fetchall():
        containers = db.execute(
            _CONTAINER_SELECT + "JOIN container_labels cl ON cl.container_id = c.id "
            "WHERE cl.label_id = ? AND " + _VISIBLE + " ORDER BY c.id",
            (row["id"],),
        ).fetchall()
        result.append((row["key"], row["value"], [_container(c).uri for c in containers]))
    return result


def labels_of(db: sqlite3.Connection, container_id: int) -> dict[str, str]:
    rows = db.execute(
        "SELECT l.key, l.value FROM labels l JOIN container_labels cl ON cl.label_id = l.id "
        "WHERE cl.container_id = ? ORDER BY l.key",
        (container_id,),
    ).fetchall()
    return {r["key"]: r["value"] for r in rows}


# -- multipart uploads -------------------------------------------------------------------


def create_upload(
    db: sqlite3.Connection, container_id: int, filesize: int, part_size: int
) -> Upload:
    total_parts = max(1, -(-filesize // part_size))
    upload = Upload(uuid.uuid4().hex, container_id, filesize, part_size, total_parts)
    db.execute(
        "INSERT INTO uploads (id, container_id, filesize, part_size, total_parts, created) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (upload.id, container_id, filesize, part_size, total_parts, utcnow()),
    )
    return upload


def get_upload(db: sqlite3.Connection, upload_id: str) -> Upload | None:
    row = db.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
    if row is None:
        return None
    return Upload(
        row["id"], row["container_id"], row["filesize"], row["part_size"], row["total_parts"]
    )


def record_part(db: sqlite3.Connection, upload_id: str, part: Part) -> None:
    db.execute(
        "INSERT INTO parts (upload_id, number, size, md5, sha256) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(upload_id, number) DO UPDATE SET size = excluded.size, md5 = excluded.md5, "
        "sha256 = excluded.sha256",
        (upload_id, part.number, part.size, part.md5, part.sha256),
    )


def parts_of(db: sqlite3.Connection, upload_id: str) -> dict[int, Part]:
    rows = db.execute("SELECT * FROM parts WHERE upload_id = ?", (upload_id,)).fetchall()
    return {r["number"]: Part(r["number"], r["size"], r["md5"], r["sha256"]) for r in rows}


def delete_upload(store: Store, db: sqlite3.Connection, upload_id: str) -> None:
    db.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
    store.blobs.remove_parts(upload_id)
