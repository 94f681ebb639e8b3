"""One pull pipeline for every downloading backend (:mod:`sregistry.main.remote`):
destination check, the local store as a cache, the result; and no client keeps
the environment's tokens."""

from __future__ import annotations

import contextlib
import hashlib
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sregistry.errors import DestinationExists, NotFound
from sregistry.main.base import ImageInfo, Label, PathLike, ProgressCallback, PushResult
from sregistry.main.library.client import LibraryClient
from sregistry.main.registry.client import RegistryClient
from sregistry.main.remote import Fetched, RemoteClient, Wanted
from sregistry.store import ImageStore

TOKEN = "tok-3f9a1c0e5d7b42a8"
OTHER_SECRET = "unrelated-secret-77c1"


@pytest.mark.parametrize("backend", [RegistryClient, LibraryClient])
def test_each_backend_pulls_through_the_one_pipeline(backend: type[RemoteClient[Any]]) -> None:
    assert "pull" not in vars(backend)
    assert backend.pull is RemoteClient.pull


def _strings(root: object) -> Iterator[tuple[str, str]]:
    """Every string reachable from ``root``'s attributes and containers, with its path."""
    skip = (int, float, bool, type(None), type, types.ModuleType, types.BuiltinFunctionType)
    seen: set[int] = set()
    stack: list[tuple[str, object]] = [("client", root)]
    while stack and len(seen) < 200_000:
        path, item = stack.pop()
        if id(item) in seen or isinstance(item, skip):
            continue
        seen.add(id(item))
        if isinstance(item, str | bytes):
            yield path, item if isinstance(item, str) else item.decode("latin-1")
        elif isinstance(item, Mapping):
            try:
                entries = list(item.items())
            except NotImplementedError:  # urllib3's pool container refuses iteration
                entries = []
            for key, value in entries:
                stack += [(f"{path} key", key), (f"{path}[{key!r}]", value)]
        elif isinstance(item, types.MethodType):  # a getter bound to what holds the value
            stack.append((f"{path}.__self__", item.__self__))
        elif isinstance(item, types.FunctionType):  # a closure over the value
            for cell in item.__closure__ or ():
                with contextlib.suppress(ValueError):  # an empty cell
                    stack.append((f"{path}.<closure>", cell.cell_contents))
        elif isinstance(item, list | tuple | set | frozenset):
            stack += [(f"{path}[{n}]", value) for n, value in enumerate(item)]
        else:
            fields = dict(getattr(item, "__dict__", {}))
            for cls in type(item).__mro__:
                for slot in getattr(cls, "__slots__", ()):
                    mangled = slot.startswith("__") and not slot.endswith("__")
                    attribute = f"_{cls.__name__.lstrip('_')}{slot}" if mangled else slot
                    if hasattr(item, attribute):
                        fields[attribute] = getattr(item, attribute)
            stack += [(f"{path}.{name}", value) for name, value in fields.items()]


@pytest.mark.parametrize(
    ("backend", "env"),
    [
        (
            RegistryClient,
            {
                "SREGISTRY_REGISTRY_BASE": "http://127.0.0.1:9",
                "SREGISTRY_REGISTRY_USERNAME": "alice",
                "SREGISTRY_REGISTRY_TOKEN": TOKEN,
            },
        ),
        (
            LibraryClient,
            {"SREGISTRY_LIBRARY_BASE": "http://127.0.0.1:9", "SREGISTRY_LIBRARY_TOKEN": TOKEN},
        ),
    ],
)
def test_a_client_keeps_no_secret_of_the_environment(
    backend: type[RemoteClient[Any]], env: dict[str, str], tmp_path: Path
) -> None:
    """The token lives in the one attribute meant for it; nothing else of the
    environment (here another program's secret) is kept at all."""
    env = {**env, "GITHUB_TOKEN": OTHER_SECRET, "SREGISTRY_STORAGE": str(tmp_path)}
    with backend(env=env) as client:
        strings = list(_strings(client))
        assert any("127.0.0.1:9" in text for _path, text in strings)  # the walk sees settings
        holders = [path for path, text in strings if TOKEN in text or OTHER_SECRET in text]
        assert holders != []
        assert [path for path in holders if not path.startswith("client._token")] == []


# -- the pipeline itself, with a backend whose server is a dict -----------------------------


class _MemoryClient(RemoteClient[Wanted]):
    """Pulls ``memory://name`` from ``files``; counts what the pipeline asks of it."""

    kind: ClassVar[str] = "memory"

    def __init__(self, files: dict[str, bytes], env: Mapping[str, str], cache: bool) -> None:
        super().__init__(env=env, cache=cache)
        self.files = files
        self.resolved: list[str] = []
        self.fetched: list[str] = []

    @property
    def location(self) -> str:
        return "memory"

    def _pull_filename(self, name: str) -> str:
        return f"{name}.sif"

    def _resolve_pull(self, name: str) -> Wanted:
        self.resolved.append(name)
        if name not in self.files:
            raise NotFound(f"no {name}")
        digest = hashlib.sha256(self.files[name]).hexdigest()
        return Wanted(
            name=f"memory://{name}",
            store_name=f"mem/{name}:latest",
            host="here:1",
            sha256=digest,
            version=f"sha256.{digest}",
            metadata={"labels": {"origin": "memory"}},
            warnings=("resolved",),
        )

    def _fetch(
        self, wanted: Wanted, target: Path, *, force: bool, progress: ProgressCallback | None
    ) -> Fetched:
        name = wanted.name.removeprefix("memory://")
        self.fetched.append(name)
        target.write_bytes(self.files[name])
        return Fetched(target, hashlib.sha256(self.files[name]).hexdigest(), 0, ("fetched",))

    def push(
        self,
        path: PathLike,
        name: str,
        tag: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        inspect: bool = True,
        progress: ProgressCallback | None = None,
    ) -> PushResult:
        data = Path(path).read_bytes()
        self.files[name] = data
        return PushResult(name, len(data), hashlib.sha256(data).hexdigest())

    def search(self, query: str | None = None) -> list[ImageInfo]:
        return []

    def get(self, name: str) -> ImageInfo:
        raise NotFound(name)

    def delete(self, name: str) -> None:
        raise NotFound(name)

    def labels(self, key: str | None = None, value: str | None = None) -> list[Label]:
        return []


def test_the_pipeline_records_then_serves_from_the_store(tmp_path: Path) -> None:
    data = b"image bytes " * 1000
    digest = hashlib.sha256(data).hexdigest()
    env = {"SREGISTRY_STORAGE": str(tmp_path / "store")}
    client = _MemoryClient({"one": data, "two": data}, env, cache=True)

    first = client.pull("one", tmp_path)
    assert (first.path, first.from_cache, first.stored_as) == (
        tmp_path / "one.sif",
        False,
        "mem/one:latest",
    )
    assert (first.sha256, first.version, first.size) == (digest, f"sha256.{digest}", len(data))
    assert first.warnings == ("resolved", "fetched")

    second = client.pull("two", tmp_path)  # other name, same bytes: served
    assert second.from_cache
    assert second.path.read_bytes() == data
    assert second.warnings == ("resolved",)
    assert client.fetched == ["one"]

    with ImageStore(tmp_path / "store") as store:
        stored = store.get("mem/two:latest")
        assert (stored.sha256, stored.source) == (digest, "memory://here:1")
        assert stored.metadata["labels"] == {"origin": "memory"}


def test_an_existing_file_stops_the_pull_before_the_server_is_asked(tmp_path: Path) -> None:
    (tmp_path / "one.sif").write_bytes(b"mine")
    client = _MemoryClient({"one": b"x"}, {"SREGISTRY_STORAGE": str(tmp_path / "s")}, cache=True)
    with pytest.raises(DestinationExists):
        client.pull("one", tmp_path)
    assert client.resolved == []
    assert (tmp_path / "one.sif").read_bytes() == b"mine"
    assert client.pull("one", tmp_path, force=True).path.read_bytes() == b"x"


@pytest.mark.parametrize(
    ("cache", "env"), [(False, {}), (True, {"SREGISTRY_DISABLE": "1"})], ids=["option", "env"]
)
def test_without_the_cache_nothing_is_served_or_recorded(
    tmp_path: Path, cache: bool, env: dict[str, str]
) -> None:
    env = {**env, "SREGISTRY_STORAGE": str(tmp_path / "store")}
    client = _MemoryClient({"one": b"x"}, env, cache=cache)
    assert client.pull("one", tmp_path / "a.sif").stored_as is None
    assert client.pull("one", tmp_path / "b.sif").from_cache is False
    assert client.fetched == ["one", "one"]
    assert not (tmp_path / "store").exists()
