"""Pytest fixtures running the reference server as a real subprocess.

``registry_server`` gives a :class:`RegistryServer` with default switches;
``make_registry_server(**flags)`` starts more (or differently configured)
servers. Each runs ``python -m tests.server --port 0`` with a fresh data
directory and is stopped (SIGTERM, expecting a clean exit) after the test;
its image files are then deleted (the database and ``server.log`` stay).

The handle talks to the server's SQLite database directly (the server keeps
no cache), so users, collaborators, frozen tags, clock skew and faults set up
through it apply to the next request. Flags (keyword arguments):
``profile`` (``sregistry-2.1.2`` or ``fixed``; default: the
``server_profile`` fixture, ``fixed`` unless overridden), ``quirks``
(``{name: bool}``, see :class:`tests.server.config.Quirks`),
``user_collections``, ``private_default``, ``page_size``, ``redirect_status``,
``ranges``, ``api_version`` (``None`` = no ``/version``), ``multipart``,
``part_size``, ``throttle`` (``"N/day"``), ``registry_range``, ``get_limit``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.server import faults
from tests.server import queries as db_ops
from tests.server.blobs import copy_stream
from tests.server.config import FIXED_PROFILE, PROFILES, REAL_PROFILE, Quirks
from tests.server.registry_push import parse_metadata
from tests.server.store import Collection, Container, Store, User

__all__ = [
    "RegistryServer",
    "make_registry_server",
    "registry_server",
    "server_profile",
]

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0

_FLAGS: dict[str, Callable[[Any], list[str]]] = {
    "user_collections": lambda v: ["--user-collections" if v else "--no-user-collections"],
    "private_default": lambda v: ["--private-default"] if v else [],
    "page_size": lambda v: ["--page-size", str(v)],
    "redirect_status": lambda v: ["--redirect-status", str(v)],
    "ranges": lambda v: [] if v else ["--no-range"],
    "api_version": lambda v: ["--api-version", "none" if v is None else str(v)],
    "multipart": lambda v: ["--multipart" if v else "--no-multipart"],
    "part_size": lambda v: ["--part-size", str(v)],
    "throttle": lambda v: [] if v is None else ["--throttle", str(v)],
    "registry_range": lambda v: ["--registry-range"] if v else [],
    "get_limit": lambda v: ["--get-limit", str(v)],
    "profile": lambda v: ["--profile", str(v)],
    "quirks": lambda v: [
        arg for name, on in v.items() for arg in ("--quirk" if on else "--no-quirk", name)
    ],
}


def server_arguments(flags: Mapping[str, Any]) -> list[str]:
    """Command-line arguments for fixture flags (unknown names raise TypeError)."""
    unknown = set(flags) - set(_FLAGS)
    if unknown:
        raise TypeError(f"unknown registry server flags: {sorted(unknown)}")
    return [arg for name, value in flags.items() for arg in _FLAGS[name](value)]


def _container_dict(store: Store, db: sqlite3.Connection, row: Container) -> dict[str, Any]:
    return {
        "id": row.id,
        "collection": row.collection,
        "name": row.name,
        "tag": row.tag,
        "version": row.version,
        "size": row.size,
        "frozen": row.frozen,
        "private": row.private,
        "metadata": row.metadata,
        "arch": row.arch,
        "uploaded": row.uploaded,
        "path": store.blobs.path(row.blob) if row.blob else None,
        "labels": db_ops.labels_of(db, row.id),
        "downloads": row.downloads,
        "get_count": row.get_count,
    }


class RegistryServer:
    """A running reference server and direct access to its state."""

    def __init__(self, data_dir: Path, flags: Mapping[str, Any]) -> None:
        self.data_dir = data_dir
        self.flags = dict(flags)
        self.store = Store(data_dir)
        self.log_path = data_dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.start()

    @property
    def profile(self) -> str:
        """The profile it runs (the command line's default when no flag names one)."""
        return str(self.flags.get("profile", REAL_PROFILE))

    @property
    def quirks(self) -> Quirks:
        """The real server's behaviours it has: its profile's, changed by the ``quirks`` flag."""
        return PROFILES[self.profile].quirks.with_switches(self.flags.get("quirks", {}))

    # -- process ---------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def start(self) -> None:
        """Start the server process and wait for its URL line."""
        command = [
            sys.executable, "-m", "tests.server", "--data", str(self.data_dir), "--port", "0",
            *server_arguments(self.flags),
        ]  # fmt: skip
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
        )
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log
            )
        self._process = process
        assert process.stdout is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        line = b""
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(process.stdout.fileno(), 256)
                if not chunk:
                    break
                line += chunk
        if not re.fullmatch(rb"https?://\S+\n", line):
            self.stop(check=False)
            raise RuntimeError(
                f"the registry server did not start (first line {line!r}); log:\n{self.log_text()}"
            )
        self.url = line.decode().strip()

    def stop(self, *, check: bool = True) -> None:
        """SIGTERM the server and wait; with ``check``, fail unless it exited 0."""
        self.store.close()
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if check and code != 0:
            raise RuntimeError(f"the registry server exited with {code}; log:\n{self.log_text()}")

    def restart(self, **flags: Any) -> None:
        """Restart on the same data with ``flags`` replacing the given ones (new URL)."""
        self.stop()
        self.flags.update(flags)
        self.start()

    def remove_files(self) -> None:
        """Delete the stored images (the database and logs stay for post-mortems)."""
        for name in ("blobs", "parts", "tmp"):
            shutil.rmtree(self.data_dir / name, ignore_errors=True)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- users and collections ----------------------------------------------------------------

    def add_user(self, name: str, token: str | None = None, staff: bool = False) -> str:
        """Create (or update) a user; returns its token (40 hex chars unless given)."""
        token = token or secrets.token_hex(20)
        with self.store.write() as db:
            db_ops.add_user(db, name, token, staff=staff)
        return token

    def _user(self, db: sqlite3.Connection, name: str) -> User:
        user = db_ops.user_by_name(db, name.lower())
        if user is None:
            raise KeyError(f"no user {name!r}")
        return user

    def _collection(self, db: sqlite3.Connection, name: str) -> Collection:
        found = db_ops.collection_by_name(db, name)
        if found is None:
            raise KeyError(f"no collection {name!r}")
        return found

    def create_collection(self, name: str, owner: str, private: bool = False) -> int:
        """A collection owned by ``owner`` (name used as given); returns its id."""
        with self.store.write() as db:
            created = db_ops.create_collection(db, name, self._user(db, owner), private=private)
        return created.id

    def add_owner(self, collection: str, user: str) -> None:
        with self.store.write() as db:
            db_ops.add_member(
                db, self._collection(db, collection).id, self._user(db, user).id, "owner"
            )

    def add_collaborator(self, collection: str, user: str) -> None:
        """Make ``user`` a contributor: can pull a private collection, cannot push."""
        with self.store.write() as db:
            found, member = self._collection(db, collection), self._user(db, user)
            db_ops.add_member(db, found.id, member.id, "contributor")

    def set_private(self, collection: str, private: bool = True) -> None:
        with self.store.write() as db:
            db_ops.set_private(db, self._collection(db, collection).id, private)

    def collection(self, name: str) -> dict[str, Any] | None:
        """``{id, name, private, secret, owners, contributors}`` (user names) or ``None``."""
        with self.store.read() as db:
            found = db_ops.collection_by_name(db, name)
            if found is None:
                return None
            names = {
                uid: getattr(db_ops.user_by_id(db, uid), "username", "?")
                for uid in (*found.owners, *found.contributors)
            }
        return {
            "id": found.id,
            "name": found.name,
            "private": found.private,
            "secret": found.secret,
            "owners": [names[u] for u in found.owners],
            "contributors": [names[u] for u in found.contributors],
        }

    # -- containers ---------------------------------------------------------------------------

    def container(self, collection: str, name: str, tag: str) -> dict[str, Any] | None:
        """The row for ``collection/name:tag`` as a dict (``path`` = its file), or ``None``."""
        with self.store.read() as db:
            found = db_ops.collection_by_name(db, collection)
            row = db_ops.find_container(db, found.id, name, tag) if found else None
            return None if row is None else _container_dict(self.store, db, row)

    def containers(self, collection: str | None = None) -> list[dict[str, Any]]:
        """Every row (holders included), optionally of one collection."""
        with self.store.read() as db:
            if collection is None:
                ids = [r[0] for r in db.execute("SELECT id FROM containers ORDER BY id")]
                rows = [db_ops.container_by_id(db, i) for i in ids]
            else:
                rows = list(db_ops.containers_of(db, self._collection(db, collection).id))
            return [_container_dict(self.store, db, r) for r in rows if r is not None]

    def freeze(self, collection: str, name: str, tag: str, frozen: bool = True) -> None:
        """Freeze (or unfreeze) a tag, as the web UI does."""
        with self.store.write() as db:
            row = db_ops.find_container(db, self._collection(db, collection).id, name, tag)
            if row is None:
                raise KeyError(f"no container {collection}/{name}:{tag}")
            db_ops.update_container(db, row.id, frozen=frozen)

    def add_image(
        self,
        collection: str,
        name: str,
        tag: str,
        source: Path | bytes,
        *,
        owner: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store an image directly (no HTTP), as a registry push would; returns the row.

        The collection is created (owned by ``owner``) when missing. An existing
        unfrozen tag is replaced; ``metadata`` is the ``inspect --json`` shape.
        """
        labels: dict[str, str] = {}
        arch = None
        if metadata is not None:
            _, labels, arch = parse_metadata(json.dumps(metadata))
        with self.store.blobs.temp() as temp:
            if isinstance(source, bytes):
                temp.write(source)
            else:
                with source.open("rb") as handle:
                    copy_stream(handle, temp)
            with self.store.write() as db:
                found = db_ops.collection_by_name(db, collection)
                if found is None:
                    if owner is None:
                        raise KeyError(f"no collection {collection!r} and no owner given")
                    found = db_ops.create_collection(
                        db, collection, self._user(db, owner), private=False
                    )
                existing = db_ops.find_container(db, found.id, name, tag)
                if existing is not None and existing.frozen:
                    raise ValueError(f"{collection}/{name}:{tag} is frozen")
                digest = self.store.blobs.place(temp)
                if existing is not None:
                    db_ops.delete_container(self.store, db, existing, release=False)
                row = db_ops.insert_container(
                    db, found.id, name, tag, version=f"sha256.{digest}", size=temp.size,
                    blob=digest, metadata=metadata, arch=arch,
                )  # fmt: skip
                db_ops.set_labels(db, row.id, labels)
                if existing is not None:
                    self.store.release_blob(db, existing.blob)
                return _container_dict(self.store, db, row)

    # -- clock, faults, request log -------------------------------------------------------------

    def set_clock_offset(self, seconds: float) -> None:
        """Skew the server's clock (HMAC timestamps) by ``seconds``."""
        with self.store.write() as db:
            db_ops.set_setting(db, "clock_offset", repr(float(seconds)))

    def inject_fault(
        self,
        method: str,
        path_regex: str,
        *,
        status: int | None = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        cut_after: int | None = None,
        delay: float = 0.0,
        passthrough: bool = False,
        times: int = 1,
    ) -> int:
        """Make the next ``times`` requests matching ``method`` (``*`` = any) and
        ``path_regex`` fail; see :mod:`tests.server.faults` for what each option does."""
        with self.store.write() as db:
            return faults.add_fault(
                db, method, path_regex, status=status, body=body, headers=headers,
                cut_after=cut_after, delay=delay, passthrough=passthrough, times=times,
            )  # fmt: skip

    def pending_faults(self) -> int:
        with self.store.read() as db:
            return faults.pending_faults(db)

    def clear_faults(self) -> None:
        with self.store.write() as db:
            faults.clear_faults(db)

    def requests(self, path_regex: str | None = None) -> list[dict[str, Any]]:
        """Requests served so far, oldest first, optionally those whose path matches.

        Each is ``{time, method, path, query, status, headers, fault}``; ``fault``
        is the id of the injected fault applied to it (or ``None``) and a request
        dropped by a fault before any answer has status 0.
        """
        log = self.data_dir / "requests.jsonl"
        if not log.exists():
            return []
        entries = [json.loads(line) for line in log.read_text().splitlines() if line]
        if path_regex is None:
            return entries
        return [e for e in entries if re.search(path_regex, e["path"])]

    def clear_requests(self) -> None:
        (self.data_dir / "requests.jsonl").unlink(missing_ok=True)


@pytest.fixture
def server_profile() -> str:
    """The profile servers start with unless a test names one: ``fixed`` here; the
    end-to-end suite overrides it to run against both profiles."""
    return FIXED_PROFILE


@pytest.fixture
def make_registry_server(
    tmp_path_factory: pytest.TempPathFactory, server_profile: str
) -> Iterator[Callable[..., RegistryServer]]:
    """Factory: ``make_registry_server(**flags)`` starts a server with its own data dir."""
    started: list[RegistryServer] = []

    def make(**flags: Any) -> RegistryServer:
        flags.setdefault("profile", server_profile)
        server = RegistryServer(tmp_path_factory.mktemp("registry"), flags)
        started.append(server)
        return server

    yield make
    errors = []
    for server in started:
        try:
            server.stop()
        except RuntimeError as exc:
            errors.append(str(exc))
        server.remove_files()
    if errors:
        pytest.fail("\n".join(errors))


@pytest.fixture
def registry_server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    """A reference server with default switches, stopped after the test."""
    return make_registry_server()
