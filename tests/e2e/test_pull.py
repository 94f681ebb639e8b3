"""``pull`` end to end: verified, atomic, resumable, private collections, every failure."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sregistry.errors import (
    AuthenticationError,
    DestinationExists,
    IntegrityError,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from sregistry.main.registry.client import RegistryClient
from tests.e2e.conftest import Registry, cli, leftovers
from tests.server.pytest_plugin import RegistryServer

pytestmark = pytest.mark.e2e

NAME = "dinosaur/avocado:delicious"


@pytest.fixture
def stored(registry: Registry, image: Path) -> Path:
    """``image`` stored as dinosaur/avocado:delicious, owned by vsoch."""
    registry.server.add_image("dinosaur", "avocado", "delicious", image, owner="vsoch")
    registry.server.clear_requests()
    return image


def downloads(server: RegistryServer) -> list[dict[str, Any]]:
    return server.requests(r"^/containers/\d+/download/")


def test_pull_to_the_default_name(
    client: RegistryClient, stored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = client.pull(NAME)
    assert result.path == tmp_path / "dinosaur-avocado_delicious.sif"
    assert result.path.read_bytes() == stored.read_bytes()
    assert result.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert result.version == f"sha256.{result.sha256}"
    assert result.name == NAME
    assert leftovers(tmp_path) == []


def test_pull_into_a_directory(client: RegistryClient, stored: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    assert client.pull(NAME, target).path == target / "dinosaur-avocado_delicious.sif"


def test_download_is_one_get_without_credentials(
    registry: Registry, client: RegistryClient, stored: Path, tmp_path: Path
) -> None:
    client.pull(NAME, tmp_path / "x.sif")
    seen = downloads(registry.server)
    assert [entry["method"] for entry in seen] == ["GET"]  # never a HEAD first
    headers = seen[0]["headers"]
    assert isinstance(headers, dict)
    assert "Authorization" not in headers
    manifest = registry.server.requests(r"^/api/container/")[0]["headers"]
    assert isinstance(manifest, dict)
    assert manifest["Authorization"].startswith("SREGISTRY-HMAC-SHA256 Credential=pull/")


def test_an_existing_file_is_kept_without_force(
    registry: Registry, client: RegistryClient, stored: Path, tmp_path: Path
) -> None:
    target = tmp_path / "x.sif"
    target.write_bytes(b"precious")
    with pytest.raises(DestinationExists, match="exists"):
        client.pull(NAME, target)
    assert target.read_bytes() == b"precious"
    assert registry.server.requests() == []  # refused before asking the network
    client.pull(NAME, target, force=True)
    assert target.read_bytes() == stored.read_bytes()


def test_not_found(client: RegistryClient, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="was not found"):
        client.pull("dinosaur/nothing", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert leftovers(tmp_path) == []


def test_a_damaged_copy_on_the_server_is_refused(
    registry: Registry, client: RegistryClient, stored: Path, tmp_path: Path
) -> None:
    row = registry.server.container("dinosaur", "avocado", "delicious")
    assert row is not None
    blob = Path(row["path"])
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        client.pull(NAME, tmp_path / "x.sif")
    assert not (tmp_path / "x.sif").exists()
    assert leftovers(tmp_path) == []


def test_version_must_match(
    registry: Registry, client: RegistryClient, stored: Path, tmp_path: Path
) -> None:
    digest = hashlib.sha256(stored.read_bytes()).hexdigest()
    assert client.pull(f"{NAME}@sha256.{digest}", tmp_path / "a.sif").sha256 == digest
    registry.server.clear_requests()
    with pytest.raises(NotFound, match=r"is version sha256\."):
        client.pull(f"{NAME}@sha256.{'0' * 64}", tmp_path / "b.sif")
    assert downloads(registry.server) == []


def test_resume_with_range(
    make_registry_server: Callable[..., RegistryServer],
    make_image: Callable[..., Path],
    tmp_path: Path,
) -> None:
    server = make_registry_server(registry_range=True)
    token = server.add_user("vsoch")
    image = make_image(size=5 << 20)
    server.add_image("dinosaur", "avocado", "delicious", image, owner="vsoch")
    server.inject_fault("GET", r"/download/", cut_after=(2 << 20) + 1000)
    client = RegistryClient(base=server.url, username="vsoch", token=token, env={})
    result = client.pull(NAME, tmp_path / "x.sif")
    assert result.path.read_bytes() == image.read_bytes()
    assert result.resumed_from == (2 << 20) + 1000  # every byte received before the cut
    ranges = [entry["headers"].get("Range") for entry in downloads(server)]
    assert ranges == [None, f"bytes={(2 << 20) + 1000}-"]
    assert result.warnings == ()


def test_restart_when_the_registry_ignores_range(
    registry: Registry, client: RegistryClient, make_image: Callable[..., Path], tmp_path: Path
) -> None:
    image = make_image(size=5 << 20)
    registry.server.add_image("dinosaur", "avocado", "delicious", image, owner="vsoch")
    registry.server.inject_fault("GET", r"/download/", cut_after=3 << 20)
    result = client.pull(NAME, tmp_path / "x.sif")
    assert result.path.read_bytes() == image.read_bytes()
    assert result.resumed_from == 0
    assert any("cannot resume" in warning for warning in result.warnings)


def test_private_collection(registry: Registry, stored: Path, tmp_path: Path) -> None:
    server = registry.server
    server.set_private("dinosaur")
    anonymous = RegistryClient(base=registry.url, username="", token="", env={})
    with pytest.raises(AuthenticationError, match="private collection") as caught:
        anonymous.pull(NAME, tmp_path / "a.sif")
    assert "sregistry login" in (caught.value.hint or "")
    with registry.client("alice") as alice, pytest.raises(PermissionDenied, match="alice"):
        alice.pull(NAME, tmp_path / "b.sif")
    server.add_collaborator("dinosaur", "alice")
    with registry.client("alice") as alice:
        assert alice.pull(NAME, tmp_path / "c.sif").path.read_bytes() == stored.read_bytes()
    with registry.client() as owner:
        assert owner.pull(NAME, tmp_path / "d.sif").size == stored.stat().st_size
    assert leftovers(tmp_path) == []


def test_private_with_a_stale_signature(
    registry: Registry, client: RegistryClient, stored: Path, tmp_path: Path
) -> None:
    registry.server.set_private("dinosaur")
    registry.server.set_clock_offset(-2 * 3600)
    with pytest.raises(AuthenticationError, match="rejected the signature") as caught:
        client.pull(NAME, tmp_path / "x.sif")
    assert "clock" in (caught.value.hint or "")


def test_weekly_limit(
    make_registry_server: Callable[..., RegistryServer], image: Path, tmp_path: Path
) -> None:
    server = make_registry_server(get_limit=1)
    token = server.add_user("vsoch")
    server.add_image("dinosaur", "avocado", "delicious", image, owner="vsoch")
    client = RegistryClient(base=server.url, username="vsoch", token=token, env={})
    client.pull(NAME, tmp_path / "a.sif")
    with pytest.raises(RateLimited, match="weekly download limit"):
        client.pull(NAME, tmp_path / "b.sif")


# -- CLI ----------------------------------------------------------------------------
def test_cli_pull(as_vsoch: Registry, stored: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.sif"
    result = cli("pull", NAME, "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{target}\n"
    assert target.read_bytes() == stored.read_bytes()
    assert "sha256" in result.stderr
    again = cli("pull", NAME, "-o", str(target))
    assert again.exit_code == 1
    assert "exists; use --force" in again.stderr
    forced = cli("--quiet", "pull", NAME, "-o", str(target), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert forced.stderr == ""


@pytest.mark.parametrize(
    ("setup", "code", "text"),
    [
        ("missing", 3, "was not found"),
        ("damaged", 5, "sha256"),
        ("private", 4, "private collection"),
        ("limit", 1, "weekly download limit"),
    ],
)
def test_cli_pull_failures(  # noqa: PLR0917 - fixtures and parameters
    as_vsoch: Registry,
    stored: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    code: int,
    text: str,
) -> None:
    server = as_vsoch.server
    name = NAME
    if setup == "missing":
        name = "dinosaur/absent"
    elif setup == "damaged":
        row = server.container("dinosaur", "avocado", "delicious")
        assert row is not None
        blob = Path(row["path"])
        blob.chmod(0o644)
        blob.write_bytes(bytes(blob.stat().st_size))  # same size, other bytes
    elif setup == "private":
        server.set_private("dinosaur")
        monkeypatch.delenv("SREGISTRY_REGISTRY_TOKEN")
        monkeypatch.delenv("SREGISTRY_REGISTRY_USERNAME")
    elif setup == "limit":
        server.inject_fault("GET", r"/download/", status=403, body='{"detail": "limit"}')
    result = cli("pull", name, "-o", str(tmp_path / "x.sif"))
    assert result.exit_code == code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert text in errors[0]
    assert not (tmp_path / "x.sif").exists()
    assert leftovers(tmp_path) == []
