"""The local image store: named, tagged images over content-addressed files.

Layout under the storage root (``$SREGISTRY_STORAGE``, else the platform's
user data directory)::

    <root>/sregistry.db              SQLite: one row per collection/name:tag
    <root>/store-id                  binds the files to their database
    <root>/blobs/sha256/<hex>.sif    one read-only file per distinct content
    <root>/blobs/sha256/tmp.*        files being written (swept when abandoned)

``$SREGISTRY_DATABASE`` may move ``sregistry.db`` to another folder; the
``store-id`` file then keeps two databases from sharing (and garbage
collecting) one set of files.

Invariants, held across crashes and concurrent processes:

* a row is committed only after its file is complete, flushed and renamed
  into place (inside the same transaction, so no other process can remove
  the file in between);
* a file is deleted only inside a transaction that sees no row using it,
  after the transaction that dropped its last row has committed;
* so a crash can leave an unused file or a temporary file, never a row
  without its file. :meth:`ImageStore.sweep` removes both; it runs once,
  cheaply (one directory listing, one query), before the first change an
  :class:`ImageStore` makes.

An :class:`ImageStore` holds one SQLite connection: use it from one thread.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from sregistry.config import DATABASE_FILE, default_storage_dir, store_database
from sregistry.errors import (
    DestinationExists,
    IntegrityError,
    InvalidName,
    NotFound,
    SregistryError,
)
from sregistry.names import ImageName
from sregistry.results import Label, ProgressCallback, destination
from sregistry.store import db
from sregistry.store.blobs import BlobDir, Staged, is_digest
from sregistry.store.files import (
    copy_hashing,
    create_temp,
    file_errors,
    hash_fd,
    place,
    remove_quietly,
)
from sregistry.store.identity import STORE_ID_FILE, bind
from sregistry.store.records import (
    COLUMNS,
    StoreCheck,
    StoredImage,
    SweepResult,
    digest_of,
    from_row,
    labels_of,
    now,
    parse_name,
    query_condition,
    tag_given,
)

__all__ = ["DATABASE_FILE", "SWEEP_MIN_AGE", "ImageStore"]

log = logging.getLogger(__name__)

SWEEP_MIN_AGE = 600.0
"""Seconds a dead writer's temporary file is left alone by the automatic sweep."""

PathLike = str | os.PathLike[str]


class ImageStore:
    """The local image store (see the module documentation for its layout).

    ``root`` is the storage folder; without it ``$SREGISTRY_STORAGE`` (else
    the user data directory) holds the files and ``$SREGISTRY_DATABASE``
    (else the same folder) holds ``sregistry.db``. ``env`` replaces
    ``os.environ`` for those lookups. Reading a store that does not exist yet
    creates nothing.
    """

    def __init__(self, root: PathLike | None = None, *, env: Mapping[str, str] | None = None):
        environ = os.environ if env is None else env
        if root is None:
            self.root = _absolute(default_storage_dir(environ))
            self.database = _absolute(store_database(environ))
        else:
            self.root = _absolute(Path(root).expanduser())
            self.database = self.root / DATABASE_FILE
        self.blobs = BlobDir(self.root / "blobs" / "sha256")
        self._conn: sqlite3.Connection | None = None
        self._ready = False

    def __repr__(self) -> str:
        return f"ImageStore({str(self.root)!r})"

    # -- lifecycle ----------------------------------------------------------
    def close(self) -> None:
        """Close the database connection (the store can be used again after)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ImageStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _reader(self) -> sqlite3.Connection | None:
        """The connection, or ``None`` when the database does not exist yet."""
        if self._conn is None:
            if not self.database.exists():
                return None
            self._conn = db.connect(self.database)
        return self._conn

    def _writer(self) -> sqlite3.Connection:
        """The connection, creating the store if needed and sweeping it once."""
        if self._conn is None:
            self._conn = db.connect(self.database)
        if not self._ready:
            self._ready = True
            self._sweep(self._conn, SWEEP_MIN_AGE)
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the (created, swept) store."""
        conn = self._writer()
        with self._write_raw(conn):
            yield conn

    @contextmanager
    def _write_raw(self, conn: sqlite3.Connection) -> Iterator[None]:
        """A write transaction, first checking that this database owns the
        files (a file read: cheap); database failures become one-line errors."""
        try:
            with db.write(conn):
                bind(conn, self.root, self.database, lambda: bool(self.blobs.digests()))
                yield
        except sqlite3.Error as exc:
            raise db.store_error(self.database, exc) from None

    # -- maintenance --------------------------------------------------------
    @file_errors("cannot clean the image store up")
    def sweep(self, *, min_age: float = SWEEP_MIN_AGE) -> SweepResult:
        """Remove abandoned temporary files and files no tag uses any more.

        A temporary file is abandoned when its writer, a process of this host,
        has exited and the file has not changed for ``min_age`` seconds (or
        when it has not changed for a day). Cost: one directory listing and
        one query. The first change an :class:`ImageStore` makes runs it.
        """
        return self._sweep(self._writer(), min_age)

    def _sweep(self, conn: sqlite3.Connection, min_age: float) -> SweepResult:
        temps = tuple(self.blobs.sweep_temps(min_age=min_age))
        with self._write_raw(conn):
            used = {row[0] for row in conn.execute("SELECT DISTINCT sha256 FROM images")}
            orphans = tuple(sorted(self.blobs.digests() - used))
            for digest in orphans:
                self.blobs.remove(digest)
        if temps or orphans:
            log.info(
                "image store %s: removed %d abandoned temporary file(s) and %d unused file(s)",
                self.root,
                len(temps),
                len(orphans),
            )
        return SweepResult(temps, orphans)

    @file_errors("cannot check the image store")
    def check(self, *, verify: bool = False) -> StoreCheck:
        """Compare rows and files; with ``verify`` also hash every file (slow)."""
        conn = self._reader()
        images = self._select(conn, "", ()) if conn is not None else []
        present = self.blobs.digests()
        missing = tuple(image.uri for image in images if image.sha256 not in present)
        corrupt: list[str] = []
        if verify:
            checked: dict[str, bool] = {}
            for image in images:
                if image.sha256 not in present:
                    continue
                if image.sha256 not in checked:
                    with open(image.path, "rb") as reader:
                        digest, _size = hash_fd(reader.fileno())
                    checked[image.sha256] = digest == image.sha256
                if not checked[image.sha256]:
                    corrupt.append(image.uri)
        used = {image.sha256 for image in images}
        return StoreCheck(
            images=len(images),
            missing=missing,
            corrupt=tuple(corrupt),
            orphans=tuple(sorted(present - used)),
            temps=tuple(self.blobs.temps()),
        )

    # -- reading ------------------------------------------------------------
    def _select(
        self, conn: sqlite3.Connection, where: str, params: tuple[Any, ...]
    ) -> list[StoredImage]:
        # ``where`` is built from constant fragments; values are bound parameters.
        sql = f"SELECT {COLUMNS} FROM images {where} ORDER BY collection, name, tag"  # noqa: S608
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise db.store_error(self.database, exc) from None
        return [from_row(row, self.blobs.path(row[3])) for row in rows]

    def get(self, name: str) -> StoredImage:
        """The stored image ``name`` (``collection/name:tag[@sha256.<hex>]``).

        With ``@sha256.<hex>`` and no tag, any tag of ``collection/name``
        holding those bytes is chosen. Raises :class:`NotFound`.
        """
        ref = parse_name(name)
        conn = self._reader()
        found: list[StoredImage] = []
        if conn is not None:
            if ref.version and not tag_given(name):
                found = self._select(
                    conn,
                    "WHERE collection = ? AND name = ? AND sha256 = ?",
                    (ref.collection, ref.name, digest_of(ref.version, name)),
                )
            else:
                found = self._select(
                    conn,
                    "WHERE collection = ? AND name = ? AND tag = ?",
                    (ref.collection, ref.name, ref.tag),
                )
        if ref.version and found and found[0].sha256 != digest_of(ref.version, name):
            raise NotFound(
                f"{ref.uri} is not in the local store ({found[0].uri} has {found[0].version})"
            )
        if not found:
            raise NotFound(
                f"{ref.uri} is not in the local store",
                hint="`sregistry images` lists what it holds",
            )
        return found[0]

    def find_blob(self, sha256: str) -> Path | None:
        """The stored file with these bytes, if any (for "already have it" checks)."""
        digest = sha256.lower()
        if digest.startswith("sha256."):
            digest = digest[len("sha256.") :]
        if not is_digest(digest):
            return None
        return self.blobs.find(digest)

    def _intact(self, digest: str, size: int) -> bool:
        """Whether the blob of ``digest`` exists and is unchanged since placed (no hashing)."""
        try:
            return self.blobs.intact(digest, size)
        except FileNotFoundError:
            return False

    @file_errors("cannot check the stored file")
    def verify(self, image: StoredImage) -> Path:
        """The path of ``image``'s stored file, checked before it is handed out.

        A stored file is hashed only when its size or stamp says it changed
        since it was placed (see :mod:`sregistry.store.blobs`: a pulled file
        sharing its inode with the store can be edited through its own
        name); found intact, it is stamped again. Raises :class:`NotFound`
        when the file is missing, :class:`IntegrityError` when it is damaged.
        """
        path = self.blobs.path(image.sha256)
        try:
            if self.blobs.intact(image.sha256, image.size):
                return path
        except FileNotFoundError:
            raise NotFound(
                f"the file of {image.uri} is missing from the store ({path})",
                hint=f"`sregistry rm {image.uri}` drops the record",
            ) from None
        with self._open_blob(image.sha256) as reader:
            before = os.fstat(reader.fileno())
            digest, _size = hash_fd(reader.fileno())
            after = os.fstat(reader.fileno())
        if digest != image.sha256:
            raise IntegrityError(
                f"the stored file of {image.uri} ({path}) was changed after it was stored "
                f"(its sha256 is {digest})",
                hint=f"`sregistry rm {image.uri}` and pull or add it again",
            )
        if (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size):
            self.blobs.stamp(image.sha256)
        return path

    def search(self, query: str | None = None) -> list[StoredImage]:
        """Stored images matching ``query``, sorted by name.

        ``None``/``""``/``*``: everything. ``sha256.<hex prefix>``: by content.
        ``collection/``, ``/name[:tag]``, ``collection/name[:tag]``,
        ``name:tag``: those fields exactly. Any other word: a substring of
        collection, name, tag or ``collection/name:tag``.
        """
        conn = self._reader()
        if conn is None:
            return []
        return self._select(conn, *query_condition(query))

    def labels(self, key: str | None = None, value: str | None = None) -> list[Label]:
        """Labels of stored images (from their metadata), filtered by key and/or
        value (exact, case-insensitive), each with the tags carrying it."""
        conn = self._reader()
        if conn is None:
            return []
        sql = (
            "SELECT l.key, l.value, i.collection || '/' || i.name || ':' || i.tag "
            "FROM labels l JOIN images i ON i.id = l.image_id "
            "WHERE (? IS NULL OR lower(l.key) = lower(?)) "
            "AND (? IS NULL OR lower(l.value) = lower(?)) "
            "ORDER BY l.key, l.value, 3"
        )
        try:
            rows = conn.execute(sql, (key, key, value, value)).fetchall()
        except sqlite3.Error as exc:
            raise db.store_error(self.database, exc) from None
        grouped: dict[tuple[str, str], list[str]] = {}
        for label_key, label_value, uri in rows:
            grouped.setdefault((label_key, label_value), []).append(uri)
        return [Label(k, v, tuple(uris)) for (k, v), uris in grouped.items()]

    # -- changing -----------------------------------------------------------
    @file_errors("cannot add the image to the store")
    def add(
        self,
        path: PathLike,
        name: str,
        *,
        copy: bool = True,
        share: bool = False,
        metadata: Mapping[str, Any] | None = None,
        source: str = "local",
        sha256: str | None = None,
        arch: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> StoredImage:
        """Store the file at ``path`` as ``name`` (replacing what that tag held).

        ``copy=False`` moves the file in: a hard link on the same filesystem
        (instant), else a copy; the original name is removed only once the
        image is recorded. Bytes already stored are not stored twice.
        ``sha256``, when given, is the caller's verified digest of the file
        (e.g. a checked download): the bytes are then not hashed again, and
        ``share=True`` (with ``copy``) keeps the file where it is while the
        store shares its bytes instead of copying them: a reflink clone where
        the filesystem can, else a hard link (the file then becomes the
        read-only stored file under a second name), else a copy.
        ``name@sha256.<hex>`` checks the file against that digest.
        """
        ref = parse_name(name)
        expected = digest_of(ref.version, name) if ref.version else None
        source_path = Path(path)
        _require_file(source_path)
        given = digest_of(sha256.lower(), sha256) if sha256 else None
        self._writer()
        if source_path.resolve().parent == self.blobs.directory.resolve():
            copy, share = True, False  # a stored file given back: leave it in its own place
        if given is not None and expected is not None and given != expected:
            raise IntegrityError(f"{source_path} has sha256 {given}, not the {expected} named")
        recorded = None
        if given is not None and self._intact(given, source_path.stat().st_size):
            # Same bytes already stored: record the tag without copying anything.
            size = source_path.stat().st_size
            recorded = self._record(
                ref, given, size, None, metadata=metadata, source=source, arch=arch
            )
        if recorded is None:
            with ExitStack() as stack:
                staged: Staged | None = None
                if not copy:
                    staged = stack.enter_context(
                        self.blobs.stage_link(source_path, sha256=given, progress=progress)
                    )
                elif share and given is not None:
                    staged = stack.enter_context(self.blobs.stage_share(source_path, sha256=given))
                if staged is None:
                    staged = stack.enter_context(
                        self.blobs.stage_copy(source_path, sha256=given, progress=progress)
                    )
                if expected is not None and staged.sha256 != expected:
                    raise IntegrityError(
                        f"{source_path} has sha256 {staged.sha256}, not the {expected} named "
                        f"in {name!r}"
                    )
                recorded = self._record(
                    ref,
                    staged.sha256,
                    staged.size,
                    staged,
                    metadata=metadata,
                    source=source,
                    arch=arch,
                )
        if recorded is None:
            raise NotFound(f"the stored file {given} vanished while {ref.uri} was being added")
        image, replaced = recorded
        if replaced is not None:
            self._collect(replaced)
        if not copy:
            try:
                os.unlink(source_path)
            except OSError as exc:
                log.warning("stored %s but could not remove %s: %s", image.uri, source_path, exc)
        return image

    def _record(
        self,
        ref: ImageName,
        digest: str,
        size: int,
        staged: Staged | None,
        *,
        metadata: Mapping[str, Any] | None,
        source: str,
        arch: str | None,
    ) -> tuple[StoredImage, str | None] | None:
        """Insert or update the row (placing ``staged`` first). ``None`` when
        there is nothing staged and the stored file vanished meanwhile."""
        meta = dict(metadata or {})
        created = now()
        key = (ref.collection, ref.name, ref.tag)
        with self._write() as conn:
            if staged is not None:
                # A stored file changed since it was placed is replaced by the staged bytes.
                damaged = self.blobs.find(digest) is not None and not self._intact(digest, size)
                self.blobs.place(staged, replace=damaged)
            elif self.blobs.find(digest) is None:
                return None
            old = conn.execute(
                "SELECT sha256 FROM images WHERE collection = ? AND name = ? AND tag = ?", key
            ).fetchone()
            conn.execute(
                f"INSERT INTO images ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "  # noqa: S608
                "ON CONFLICT (collection, name, tag) DO UPDATE SET sha256 = excluded.sha256, "
                "size = excluded.size, arch = excluded.arch, metadata = excluded.metadata, "
                "source = excluded.source, created = excluded.created",
                (*key, digest, size, arch, json.dumps(meta, default=str), source, created),
            )
            (image_id,) = conn.execute(
                "SELECT id FROM images WHERE collection = ? AND name = ? AND tag = ?", key
            ).fetchone()
            conn.execute("DELETE FROM labels WHERE image_id = ?", (image_id,))
            conn.executemany(
                "INSERT OR REPLACE INTO labels (image_id, key, value) VALUES (?, ?, ?)",
                [(image_id, k, v) for k, v in labels_of(meta)],
            )
        image = StoredImage(
            *key,
            sha256=digest,
            size=size,
            path=self.blobs.path(digest),
            metadata=meta,
            source=source,
            created=created,
            arch=arch,
        )
        replaced = old[0] if old is not None and old[0] != digest else None
        return image, replaced

    def _collect(self, *digests: str) -> None:
        """Delete the files of ``digests`` that no row uses (after their rows went)."""
        with self._write() as conn:
            for digest in digests:
                used = conn.execute(
                    "SELECT 1 FROM images WHERE sha256 = ? LIMIT 1", (digest,)
                ).fetchone()
                if used is None:
                    self.blobs.remove(digest)

    @file_errors("cannot remove the image from the store")
    def remove(self, name: str) -> StoredImage:
        """Remove the tag ``name``; its file goes too unless another tag uses it."""
        image = self.get(name)
        with self._write() as conn:
            deleted = conn.execute(
                "DELETE FROM images WHERE collection = ? AND name = ? AND tag = ? AND sha256 = ?",
                (image.collection, image.name, image.tag, image.sha256),
            ).rowcount
        if not deleted:
            raise NotFound(f"{image.uri} was removed from the local store meanwhile")
        self._collect(image.sha256)
        return image

    @file_errors("cannot rename the image")
    def rename(self, name: str, new_name: str) -> StoredImage:
        """Give the tag ``name`` another ``collection/name:tag`` (the file stays).

        Raises :class:`DestinationExists` when ``new_name`` is already taken.
        """
        image = self.get(name)
        new = parse_name(new_name)
        if new.version:
            raise InvalidName(f"invalid new name {new_name!r}: a version cannot be given")
        if (new.collection, new.name, new.tag) == (image.collection, image.name, image.tag):
            return image
        with self._write() as conn:
            taken = conn.execute(
                "SELECT 1 FROM images WHERE collection = ? AND name = ? AND tag = ?",
                (new.collection, new.name, new.tag),
            ).fetchone()
            if taken is not None:
                raise DestinationExists(
                    f"{new.uri} is already in the local store",
                    hint=f"remove it first (`sregistry rm {new.uri}`)",
                )
            renamed = conn.execute(
                "UPDATE images SET collection = ?, name = ?, tag = ? "
                "WHERE collection = ? AND name = ? AND tag = ?",
                (new.collection, new.name, new.tag, image.collection, image.name, image.tag),
            ).rowcount
        if not renamed:
            raise NotFound(f"{image.uri} was removed from the local store meanwhile")
        return self.get(new.uri)

    @file_errors("cannot write the image out of the store")
    def export(
        self,
        name: str,
        dest: PathLike | None = None,
        *,
        move: bool = False,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Write the image ``name`` to ``dest`` (a file, or a folder for the
        default file name; default: the current folder) and return the path.

        The copy is checked against the stored digest and renamed into place
        when complete; an existing file is replaced only with ``force``.
        ``move=True`` also drops the tag from the store (``sregistry mv``): its
        file is hard-linked out when no other tag uses it and the target is on
        the same filesystem, copied otherwise.
        """
        image = self.get(name)
        target = self.target_path(image, dest)
        self._check_target(target, force)
        if move and self._move_out(image, target, force):
            return target
        self.copy_out(image.sha256, target, force=force, progress=progress)
        if move:
            with self._write() as conn:
                conn.execute(
                    "DELETE FROM images WHERE collection = ? AND name = ? AND tag = ? "
                    "AND sha256 = ?",
                    (image.collection, image.name, image.tag, image.sha256),
                )
            self._collect(image.sha256)
        return target

    def target_path(self, image: StoredImage, dest: PathLike | None) -> Path:
        """Where :meth:`export` writes: ``dest``, or the default name inside a folder."""
        filename = f"{image.collection}-{image.name}_{image.tag}.sif"
        return Path(os.path.abspath(destination(dest, filename)))

    def _check_target(self, target: Path, force: bool) -> None:
        resolved = target.resolve()
        own = {self.database.resolve(), (self.root / STORE_ID_FILE).resolve()}
        if resolved.parent == self.blobs.directory.resolve() or resolved in own:
            raise SregistryError(f"{target} belongs to the image store; choose another place")
        if not target.parent.is_dir():
            raise NotFound(f"the folder {target.parent} does not exist")
        if target.is_dir():
            raise DestinationExists(f"{target} is a folder")
        if not force and os.path.lexists(target):
            raise DestinationExists.at(target)

    @file_errors("cannot copy the image out of the store")
    def copy_out(
        self,
        sha256: str,
        target: Path,
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Copy the stored file ``sha256`` to ``target``, checked against its
        digest, through a temporary file beside it. Returns the size.

        Raises :class:`NotFound` when no such file is stored (any more).
        """
        with self._open_blob(sha256) as reader:
            total = os.fstat(reader.fileno()).st_size
            fd, temp = create_temp(target.parent, f".{target.name}.", ".incomplete")
            try:
                digest, size = copy_hashing(reader.fileno(), fd, total=total, progress=progress)
                os.fsync(fd)
                os.close(fd)
                fd = -1
                if digest != sha256:
                    raise IntegrityError(
                        f"the stored file {self.blobs.path(sha256)} is damaged "
                        f"(its sha256 is {digest})",
                        hint="remove the image from the store and fetch it again",
                    )
                place(temp, target, force=force)
            finally:
                if fd >= 0:
                    os.close(fd)
                remove_quietly(temp)
        return size

    @file_errors("cannot repair the stored file")
    def restore(self, sha256: str, path: PathLike, *, share: bool = False) -> bool:
        """Replace the stored file of ``sha256`` (found damaged by
        :meth:`copy_out`) with a copy of ``path``, whose digest the caller
        verified (a fresh download); ``share`` as for :meth:`add`. The copy is
        renamed over the damaged file inside a transaction; a reader that
        already opened the old file keeps reading it. ``False`` (nothing
        done) when no such file is stored.
        """
        digest = digest_of(sha256.lower(), sha256)
        if self.blobs.find(digest) is None:
            return False
        source = Path(path)
        _require_file(source)
        self._writer()
        with ExitStack() as stack:
            staged = (
                stack.enter_context(self.blobs.stage_share(source, sha256=digest))
                if share
                else None
            )
            if staged is None:
                staged = stack.enter_context(self.blobs.stage_copy(source, sha256=digest))
            stack.enter_context(self._write())
            if self.blobs.find(digest) is None:
                return False  # removed meanwhile: nothing left to repair
            self.blobs.place(staged, replace=True)
        log.info("image store %s: replaced the damaged file %s", self.root, digest)
        return True

    def _open_blob(self, sha256: str) -> BinaryIO:
        path = self.blobs.path(sha256)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise NotFound(
                f"the stored file {path} is missing",
                hint="`sregistry images --check` reports the store's state",
            ) from None

    def _move_out(self, image: StoredImage, target: Path, force: bool) -> bool:
        """Hard-link the only copy out and drop the tag; ``False`` when a copy is needed."""
        blob = self.blobs.path(image.sha256)
        try:
            if os.stat(blob).st_nlink != 1 or not self.blobs.intact(image.sha256, image.size):
                return False  # shared with a pulled file, or to be checked: copy (hashing)
        except FileNotFoundError:
            raise NotFound(f"the stored file {blob} is missing") from None
        with self._write() as conn:
            users = conn.execute(
                "SELECT collection, name, tag FROM images WHERE sha256 = ?", (image.sha256,)
            ).fetchall()
            if users != [(image.collection, image.name, image.tag)]:
                return False
            fd, temp = create_temp(target.parent, f".{target.name}.", ".incomplete")
            os.close(fd)
            os.unlink(temp)
            try:
                os.link(blob, temp)
            except FileNotFoundError:
                raise NotFound(f"the stored file {blob} is missing") from None
            except OSError:
                return False
            try:
                place(temp, target, force=force)
            finally:
                remove_quietly(temp)
            conn.execute(
                "DELETE FROM images WHERE collection = ? AND name = ? AND tag = ?",
                (image.collection, image.name, image.tag),
            )
        with self._write() as conn:
            shared = conn.execute(
                "SELECT 1 FROM images WHERE sha256 = ? LIMIT 1", (image.sha256,)
            ).fetchone()
            if shared is None:
                self.blobs.remove(image.sha256)
        if shared is None:
            mode = stat.S_IMODE(os.stat(target).st_mode)
            os.chmod(target, mode | stat.S_IWUSR)
        else:
            # Another process stored the same bytes meanwhile: give the moved
            # file its own inode so editing it can never change the store.
            self.copy_out(image.sha256, target, force=True)
        return True


def _absolute(path: Path) -> Path:
    """``path`` made absolute (symlinks kept: the user chose them)."""
    return Path(os.path.abspath(path))


def _require_file(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise NotFound(f"{path} does not exist") from None
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise NotFound(f"{path} is not a regular file")
