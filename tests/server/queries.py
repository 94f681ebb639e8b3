"""Queries over the store's tables, each taking an open connection.

Writes must run inside :meth:`tests.server.store.Store.write`; reads may use
:meth:`~tests.server.store.Store.read`. Rows come back as the records of
:mod:`tests.server.store`.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from typing import Any

from tests.server.store import (
    HOLDER_PREFIX,
    Collection,
    Container,
    Part,
    Store,
    Upload,
    User,
    utcnow,
)

__all__ = [
    "add_member",
    "add_user",
    "collection_by_id",
    "collection_by_name",
    "container_by_id",
    "containers_named",
    "containers_of",
    "count_download",
    "count_get",
    "create_collection",
    "create_upload",
    "delete_container",
    "delete_upload",
    "find_by_version",
    "find_container",
    "first_owner",
    "get_setting",
    "get_upload",
    "insert_container",
    "labels_of",
    "list_collections",
    "list_containers",
    "owned_collection_ids",
    "parts_of",
    "record_part",
    "search_collections",
    "search_containers",
    "search_labels",
    "set_labels",
    "set_private",
    "set_setting",
    "touch_add_date",
    "touch_collection",
    "update_container",
    "user_by_id",
    "user_by_name",
    "user_by_token",
]

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
        f"ORDER BY c.blob IS NULL, c.tag LIKE '{HOLDER_PREFIX}%', c.id LIMIT 1",
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


def containers_named(db: sqlite3.Connection, name: str, tag: str) -> list[Container]:
    """Every row called ``name:tag``, whatever its collection."""
    rows = db.execute(
        _CONTAINER_SELECT + "WHERE c.name = ? AND c.tag = ? ORDER BY c.id", (name, tag)
    ).fetchall()
    return [_container(r) for r in rows]


def touch_add_date(db: sqlite3.Connection, container_id: int) -> None:
    """Set ``add_date`` to now, as the real server's pull does (quirk 5)."""
    db.execute("UPDATE containers SET add_date = ? WHERE id = ?", (utcnow(), container_id))


_VISIBLE = f"NOT col.private AND c.blob IS NOT NULL AND c.tag NOT LIKE '{HOLDER_PREFIX}%'"


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
