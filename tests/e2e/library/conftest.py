"""Library backend end-to-end: a real reference server on loopback, real SIF files."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sregistry.main.library.client import LibraryClient
from tests.server.pytest_plugin import RegistryServer

MiB = 1 << 20


@dataclass(frozen=True)
class Library:
    """A reference server and one user's token on it."""

    server: RegistryServer
    user: str
    token: str

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, **options: Any) -> LibraryClient:
        options.setdefault("base", self.url)
        options.setdefault("token", self.token)
        options.setdefault("env", {})
        return LibraryClient(**options)

    def requests(self, path_regex: str, method: str | None = None) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.server.requests(path_regex)
            if method is None or entry["method"] == method
        ]


def two_tags(library: Library) -> str:
    """``v1,latest``, or ``v1`` on a server keeping one tag per image (sregistry 2.1.2,
    item 9: there pushing two tags fails with NotKept, see test_library_cli)."""
    return "v1" if library.server.quirks.one_tag_per_image else "v1,latest"


@pytest.fixture
def make_library(make_registry_server: Callable[..., RegistryServer]) -> Callable[..., Library]:
    """``make_library(**server_flags)``: a server with user ``alice``."""

    def make(**flags: Any) -> Library:
        server = make_registry_server(**flags)
        return Library(server, "alice", server.add_user("alice"))

    return make


@pytest.fixture
def library(make_library: Callable[..., Library]) -> Library:
    """A default reference server (apiVersion 2.0.0-alpha.2, 303, Range, multipart)."""
    return make_library()


@pytest.fixture
def make_sif(tmp_path: Path, fixtures_dir: Path) -> Callable[[int], Path]:
    """``make_sif(size)``: a valid amd64 SIF header and descriptors, padded with random bytes."""
    counter = iter(range(1_000_000))

    def make(size: int) -> Path:
        head = (fixtures_dir / "busybox-like.sif").read_bytes()
        path = tmp_path / f"image-{next(counter)}.sif"
        with path.open("wb") as handle:
            handle.write(head)
            left = max(0, size - len(head))
            while left:
                block = os.urandom(min(left, 4 * MiB))
                handle.write(block)
                left -= len(block)
        return path

    return make
