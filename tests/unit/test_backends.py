"""The public API of backends: settings, capabilities, typed ``get_client``, and a CLI
that names no backend."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sregistry.errors import ConfigError, NotSupported, SregistryError
from sregistry.main import get_client, load_backends, make_client
from sregistry.main.backend import Backend, Capability
from sregistry.main.base import Client, ImageInfo, Label, PullResult, PushResult
from sregistry.main.library.settings import LibrarySettings
from sregistry.main.registry.settings import RegistrySettings

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "sregistry" / "cli"


def test_an_unknown_option_is_a_config_error_naming_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="the registry backend has no option 'arch'") as caught:
        get_client("registry", base="https://reg.example.org", arch="amd64")
    assert "base, cache, clock, env, hash_in_thread, insecure, session" in (caught.value.hint or "")
    with pytest.raises(ConfigError, match="no option 'username'") as caught:
        get_client("library", base="https://lib.example.org", username="alice")
    assert "arch, base, cache, connections" in (caught.value.hint or "")
    with pytest.raises(ConfigError, match="no option 'folder'"):
        get_client("local", folder="/tmp")


class Plain(Client):
    """A backend without a settings class: its constructor's keywords are its options."""

    kind = "plain"

    def __init__(self, *, uri: str | None = None, shelf: str = "") -> None:
        self.shelf = shelf

    location = "(plain)"

    def push(self, *args: Any, **kwargs: Any) -> PushResult:
        raise NotSupported("no")

    def pull(self, *args: Any, **kwargs: Any) -> PullResult:
        raise NotSupported("no")

    def search(self, query: str | None = None) -> list[ImageInfo]:
        return []

    def get(self, name: str) -> ImageInfo:
        raise NotSupported("no")

    def delete(self, name: str) -> None:
        raise NotSupported("no")

    def labels(self, key: str | None = None, value: str | None = None) -> list[Label]:
        return []


def test_without_settings_the_constructor_names_the_options() -> None:
    backend = Backend(name="plain", client=f"{__name__}:Plain")
    built = make_client(backend, shelf="top")
    assert isinstance(built, Plain)
    assert built.shelf == "top"
    with pytest.raises(ConfigError, match="the plain backend has no option 'colour'") as caught:
        make_client(backend, colour="red")
    assert caught.value.hint == "its options: shelf, uri"


def test_an_unsupported_operation_raises_not_supported(tmp_path: Path) -> None:
    library = get_client("library", base="https://lib.example.org", env={})
    with pytest.raises(NotSupported, match="no labels"):
        library.labels()
    local = get_client("local", storage=tmp_path)
    with pytest.raises(NotSupported, match="cannot create collections") as caught:
        local.create_collection("lab")
    assert isinstance(caught.value, SregistryError)


def test_capabilities_replace_isinstance(tmp_path: Path) -> None:
    library = get_client("library", base="https://lib.example.org", env={})
    registry = get_client("registry", base="https://reg.example.org", env={})
    local = get_client("local", storage=tmp_path)
    assert library.supports(Capability.CREATE_COLLECTION)
    assert not registry.supports(Capability.CREATE_COLLECTION)
    assert not local.supports(Capability.CREATE_COLLECTION)


@pytest.mark.parametrize("kind", ["registry", "library"])
def test_noverify_is_read_the_same_for_every_backend(kind: str) -> None:
    env = {"SREGISTRY_HTTPS_NOVERIFY": "1", "SREGISTRY_REGISTRY_USERNAME": "u"}
    client = get_client(kind, base="https://server.example.org", token="t", env=env)
    assert client.insecure is True
    assert get_client(kind, base="https://server.example.org", token="t", env={}).insecure is False


def test_settings_complete_options_from_the_environment() -> None:
    env = {
        "SREGISTRY_HTTPS_NOVERIFY": "yes",
        "SREGISTRY_LIBRARY_CONNECTIONS": "7",
        "SREGISTRY_LIBRARY_PART_SIZE": "64M",
    }
    settings = LibrarySettings.from_options("library", {"env": env})
    assert isinstance(settings, LibrarySettings)
    assert (settings.insecure, settings.connections, settings.part_size) == (True, 7, 64 << 20)
    explicit = LibrarySettings.from_options("library", {"env": env, "connections": 2})
    assert isinstance(explicit, LibrarySettings)
    assert explicit.connections == 2
    assert RegistrySettings.from_options("registry", {"env": {}}).as_options() == {"env": {}}


def test_import_sregistry_does_not_import_get_client() -> None:
    code = textwrap.dedent(
        """
        import sys
        import sregistry
        assert "sregistry.main" not in sys.modules, "imported eagerly"
        from sregistry import get_client
        import sregistry.main
        assert get_client is sregistry.main.get_client
        assert "get_client" in sregistry.__all__
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_loading_a_command_looks_up_no_backend() -> None:
    code = textwrap.dedent(
        """
        import sys
        import sregistry.cli.collections, sregistry.cli.pull, sregistry.cli.push
        found = [name for name in sys.modules if name.startswith("importlib.metadata")
                 or name.startswith(("sregistry.main.registry", "sregistry.main.library"))]
        assert found == [], found
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_get_client_is_typed_per_backend(tmp_path: Path) -> None:
    from mypy import api

    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from sregistry import get_client

            reveal_type(get_client("library"))
            reveal_type(get_client("registry", base="https://x"))
            reveal_type(get_client("local"))
            reveal_type(get_client("library://lab/c/n"))
            """
        ),
        encoding="utf-8",
    )
    out, err, status = api.run(
        [
            "--no-incremental",
            "--cache-dir",
            "/dev/null",
            "--follow-imports",
            "silent",
            "--config-file",
            str(REPO / "pyproject.toml"),
            str(snippet),
        ]
    )
    assert status == 0, out + err
    revealed = re.findall(r'Revealed type is "([^"]+)"', out)
    assert revealed == [
        "sregistry.main.library.client.LibraryClient",
        "sregistry.main.registry.client.RegistryClient",
        "sregistry.main.local.client.LocalClient",
        "sregistry.main.base.Client",
    ]


# -- the CLI names no backend ----------------------------------------------------------------

NOT_BACKENDS = {"local_time"}
"""Identifiers where a backend's name is the ordinary word (the local time zone)."""


def _words(identifier: str) -> set[str]:
    return {w.lower() for w in re.split(r"[._]|(?<=[a-z])(?=[A-Z])", identifier) if w}


def backend_mentions(source: str, backends: set[str]) -> list[str]:
    """Identifiers (names, attributes, arguments, imports) made of a backend's
    name, backend client classes, and string constants that are a backend's
    name: everything but help texts and messages."""
    found: list[str] = []
    classes = re.compile(r"(Registry|Library|Local|Oras)Client")
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, ast.alias):
            names = [node.name, node.asname or ""]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.keyword):
            names = [node.arg or ""]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.lower() in backends
        ):
            names = [node.value]
        for name in names:
            if name in NOT_BACKENDS:
                continue
            if _words(name) & backends or classes.search(name):
                found.append(f"{getattr(node, 'lineno', 0)}: {name}")
    return found


def test_the_mention_finder_finds_what_the_old_cli_had() -> None:
    old = textwrap.dedent(
        """
        from sregistry.main.library.client import LibraryClient
        def open_client(kind, registry=None):
            if kind == "registry":
                return get_client(kind, base=registry)
            if isinstance(client, LibraryClient):
                pass
            click.option("--library", help="Library API base URL for library:// references.")
        """
    )
    found = backend_mentions(old, {"registry", "library", "local", "oras"})
    assert any("LibraryClient" in item for item in found)
    assert any(item.endswith(": registry") for item in found)
    assert not any("references" in item for item in found)  # help texts are not identifiers


def test_the_cli_names_no_backend() -> None:
    backends = set(load_backends()) | {"oras"}
    assert {"registry", "library", "local"} <= backends
    offenders = {
        path.name: found
        for path in sorted(CLI.glob("*.py"))
        if (found := backend_mentions(path.read_text(encoding="utf-8"), backends))
    }
    assert offenders == {}


def test_docs_api_documents_every_constructor_option() -> None:
    documented: dict[str, set[str]] = {}
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"all|`\w+`", cells[0]):
            names = set(re.findall(r"`(\w+)`", cells[1]))
            documented.setdefault(cells[0].strip("`"), set()).update(names)
    shared = documented.pop("all")
    from sregistry.main import client_class
    from sregistry.main.backend import option_names

    for name, backend in load_backends().items():
        settings = client_class(backend).settings_type
        assert settings is not None, name
        assert set(option_names(settings)) == documented[name] | shared, name
