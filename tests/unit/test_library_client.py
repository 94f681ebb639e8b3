"""LibraryClient configuration: where the server, token and transfer settings come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from sregistry.errors import ConfigError, InvalidName, SregistryError
from sregistry.main import get_client
from sregistry.main.library.arch import host_arch
from sregistry.main.library.client import LibraryClient
from sregistry.main.library.settings import parse_size

MiB = 1 << 20


def test_get_client_picks_the_library_for_library_uris() -> None:
    client = get_client("library://lib.example.org/a/b/c", env={})
    assert isinstance(client, LibraryClient)
    assert client.location == "https://lib.example.org/"


def test_base_option_environment_and_reference_host() -> None:
    env = {"SREGISTRY_LIBRARY_BASE": "http://127.0.0.1:8000", "SREGISTRY_LIBRARY_TOKEN": "t"}
    assert LibraryClient(env=env).location == "http://127.0.0.1:8000/"
    assert LibraryClient(base="https://x.org/lib", env=env).location == "https://x.org/lib/"
    # the reference's host keeps the configured scheme and prefix when it is the same server
    same = LibraryClient(uri="library://127.0.0.1:8000/a/b/c", env=env)
    assert same.location == "http://127.0.0.1:8000/"
    other = LibraryClient(uri="library://other.org/a/b/c", env=env)
    assert other.location == "https://other.org/"
    with pytest.raises(ConfigError, match="conflicting library servers"):
        LibraryClient(uri="library://other.org/a/b/c", base="https://x.org", env=env)
    with pytest.raises(ConfigError, match="ftp"):
        LibraryClient(base="ftp://x.org", env={})


def test_a_reference_host_names_a_library_by_host_and_port() -> None:
    env = {"SREGISTRY_LIBRARY_BASE": "https://lib.example.org:8443/prefix"}
    on_port = LibraryClient(uri="library://LIB.example.org:8443/a/b/c", env=env)
    assert on_port.location == "https://lib.example.org:8443/prefix/"
    # the bare host is port 443: another server than the configured one
    bare = LibraryClient(uri="library://lib.example.org/a/b/c", env=env)
    assert bare.location == "https://lib.example.org/"
    configured = LibraryClient(env=env)
    with pytest.raises(ConfigError, match=r"names the library lib\.example\.org,"):
        configured.display_name("library://lib.example.org/a/b/c")
    assert configured.display_name("library://lib.example.org:8443/a/b/c") == "a/b/c:latest"
    default = LibraryClient(base="https://lib.example.org", env={})
    assert default.display_name("library://lib.example.org:443/a/b/c") == "a/b/c:latest"
    LibraryClient(uri="library://lib.example.org:443/a/b/c", base="https://lib.example.org/")


def test_no_server_configured_is_a_clear_error() -> None:
    client = LibraryClient(env={})
    assert client.location == "(no library configured)"
    with pytest.raises(ConfigError, match="no library server configured"):
        client.pull("library://a/b/c", "/nonexistent/x.sif")


@pytest.mark.parametrize(
    ("options", "env", "connections", "part_size"),
    [
        ({}, {}, None, 32 * MiB),  # None: automatic (one, more while throughput grows)
        (
            {},
            {"SREGISTRY_LIBRARY_CONNECTIONS": "8", "SREGISTRY_LIBRARY_PART_SIZE": "64M"},
            8,
            64 * MiB,
        ),
        ({"connections": 2, "part_size": "1MiB"}, {"SREGISTRY_LIBRARY_CONNECTIONS": "8"}, 2, MiB),
        ({"part_size": 5 * MiB}, {}, None, 5 * MiB),
    ],
)
def test_transfer_settings(
    options: dict[str, object], env: dict[str, str], connections: int | None, part_size: int
) -> None:
    client = LibraryClient(base="https://x.org", env=env, **options)  # type: ignore[arg-type]
    assert client.connections == connections
    assert client.part_size == part_size


@pytest.mark.parametrize(
    ("options", "env", "fragment"),
    [
        ({"connections": 0}, {}, "between 1 and 32"),
        ({}, {"SREGISTRY_LIBRARY_CONNECTIONS": "many"}, "SREGISTRY_LIBRARY_CONNECTIONS"),
        ({"part_size": "12 apples"}, {}, "not a size"),
        ({}, {"SREGISTRY_LIBRARY_PART_SIZE": "1000"}, "between 1 MiB and 5 GiB"),
    ],
)
def test_bad_transfer_settings(
    options: dict[str, object], env: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        LibraryClient(base="https://x.org", env=env, **options)  # type: ignore[arg-type]


def test_parse_size() -> None:
    assert parse_size("33554432", "x") == 32 * MiB
    assert parse_size("2g", "x") == 2 << 30
    assert parse_size("64KiB", "x") == 64 << 10


def test_arch_defaults_and_checks(tmp_path: Path, fixtures_dir: Path) -> None:
    assert LibraryClient(base="https://x.org", env={}).pull_arch() == host_arch()
    assert LibraryClient(base="https://x.org", arch="arm64", env={}).pull_arch() == "arm64"
    assert host_arch("aarch64") == "arm64"
    assert host_arch("x86_64") == "amd64"
    assert host_arch("armv7l") == "arm"
    with pytest.raises(InvalidName, match="unknown architecture"):
        LibraryClient(base="https://x.org", arch="x86_64", env={})
    not_sif = tmp_path / "plain.sif"
    not_sif.write_bytes(b"\0" * 4096)
    client = LibraryClient(base="https://x.org", token="t", env={})
    with pytest.raises(SregistryError, match="not a SIF"):
        client.push(not_sif, "library://a/b/c")


def test_labels_are_not_part_of_the_library_api() -> None:
    with pytest.raises(SregistryError, match="no labels"):
        LibraryClient(base="https://x.org", env={}).labels()


def test_push_needs_three_parts_before_any_request() -> None:
    with pytest.raises(InvalidName, match="entity/collection/container"):
        LibraryClient(base="https://x.org", token="t", env={}).push("x.sif", "library://b/c")


def test_push_tag_option_cannot_name_a_hash(tmp_path: Path) -> None:
    client = LibraryClient(base="http://127.0.0.1:9", env={"SREGISTRY_LIBRARY_TOKEN": "t"})
    image = tmp_path / "x.sif"
    image.write_bytes(b"not pushed")
    digest = "sha256." + "0" * 64
    with pytest.raises(InvalidName, match="cannot push to the hash"):
        client.push(image, f"library://a/b/c:{digest}")
    with pytest.raises(InvalidName, match="cannot push to the hash"):
        client.push(image, "library://a/b/c", tag=digest)
