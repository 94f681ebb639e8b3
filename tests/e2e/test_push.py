"""``push`` end to end against the reference server: library and CLI, every error path."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sregistry.errors import (
    AuthenticationError,
    Frozen,
    NotFound,
    NotKept,
    PayloadTooLarge,
    PermissionDenied,
    ServerError,
    TransferError,
)
from sregistry.main.registry.client import RegistryClient
from tests.e2e.conftest import Registry, cli
from tests.server.pytest_plugin import RegistryServer

pytestmark = pytest.mark.e2e

ATTRIBUTES = {
    "labels": {"maintainer": "vsoch", "org.label-schema.schema-version": "1.0"},
    "runscript": "#!/bin/sh\n\nexec echo avocado\n",
    "environment": {"/.singularity.d/env/90-environment.sh": "#!/bin/sh\nexport A=1\n"},
    "deffile": "Bootstrap: docker\nFrom: busybox\n",
}
METADATA = {"data": {"attributes": ATTRIBUTES}, "type": "container", "arch": "amd64"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def uploads(registry: Registry) -> list[dict[str, object]]:
    return [r for r in registry.server.requests(r"^/upload$") if r["method"] == "POST"]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


# -- library ----------------------------------------------------------------------
def test_push_then_pull_round_trip(
    registry: Registry, client: RegistryClient, image: Path, tmp_path: Path
) -> None:
    result = client.push(image, "dinosaur/avocado:delicious", metadata=METADATA)
    digest = sha256(image)
    assert result.name == "dinosaur/avocado:delicious"
    assert result.sha256 == digest
    assert result.version == f"sha256.{digest}"
    assert result.size == image.stat().st_size
    assert result.metadata_sent
    assert result.location == registry.url
    row = registry.server.container("dinosaur", "avocado", "delicious")
    assert row is not None
    assert row["version"] == f"sha256.{digest}"
    assert Path(row["path"]).read_bytes() == image.read_bytes()
    kept = not registry.server.quirks.drop_metadata
    assert row["metadata"] == (METADATA if kept else {})
    not_kept = [w for w in result.warnings if "did not keep the image's metadata" in w]
    assert len(not_kept) == (0 if kept else 1)
    pulled = client.pull("dinosaur/avocado:delicious", tmp_path / "back.sif")
    assert pulled.path.read_bytes() == image.read_bytes()
    assert pulled.sha256 == digest


def test_the_upload_is_streamed_with_a_length_and_signed_twice(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    client.push(image, "dinosaur/avocado", inspect=False)
    start = registry.server.requests(r"^/api/upload/chunked_upload")
    assert start[0]["headers"]["Authorization"].startswith(
        "SREGISTRY-HMAC-SHA256 Credential=push/dnNvY2g=/"
    )
    upload = uploads(registry)[0]
    headers = upload["headers"]
    assert isinstance(headers, dict)
    assert headers["Authorization"].startswith("SREGISTRY-HMAC-SHA256 Credential=upload/")
    assert int(headers["Content-Length"]) > image.stat().st_size
    assert "Transfer-Encoding" not in headers
    assert headers["User-Agent"].startswith("sregistry/")


def test_without_inspect_an_empty_object_is_sent(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    result = client.push(image, "dinosaur/avocado", inspect=False)
    assert not result.metadata_sent
    row = registry.server.container("dinosaur", "avocado", "latest")
    assert row is not None
    assert row["metadata"] == {}


def test_tag_option_and_normalised_collection(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    result = client.push(image, "My_Coll/Avocado:ignored", tag="v1", inspect=False)
    assert result.name == "my-coll/avocado:v1"
    assert any("normalised to 'my-coll'" in warning for warning in result.warnings)
    assert registry.server.container("my-coll", "avocado", "v1") is not None


def test_an_unfrozen_tag_is_replaced(
    registry: Registry, client: RegistryClient, make_image: Callable[..., Path]
) -> None:
    first, second = make_image(name="one.sif"), make_image(name="two.sif")
    client.push(first, "dinosaur/avocado", inspect=False)
    result = client.push(second, "dinosaur/avocado", inspect=False)
    assert result.version == f"sha256.{sha256(second)}"
    row = registry.server.container("dinosaur", "avocado", "latest")
    assert row is not None
    assert row["version"] == f"sha256.{sha256(second)}"


def test_a_frozen_tag_is_kept(
    registry: Registry, client: RegistryClient, make_image: Callable[..., Path]
) -> None:
    first = make_image(name="one.sif")
    client.push(first, "dinosaur/avocado", inspect=False)
    registry.server.freeze("dinosaur", "avocado", "latest")
    with pytest.raises(Frozen, match="frozen") as caught:
        client.push(make_image(name="two.sif"), "dinosaur/avocado", inspect=False)
    assert "another tag" in (caught.value.hint or "")
    row = registry.server.container("dinosaur", "avocado", "latest")
    assert row is not None
    assert row["version"] == f"sha256.{sha256(first)}"


def test_pushing_into_someone_elses_collection(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    client.push(image, "dinosaur/avocado", inspect=False)
    with (
        registry.client("alice") as alice,
        pytest.raises(PermissionDenied, match="'alice' may not be one of its owners"),
    ):
        alice.push(image, "dinosaur/other", inspect=False)
    assert registry.server.container("dinosaur", "other", "latest") is None


def test_user_collections_off(
    make_registry_server: Callable[..., RegistryServer], image: Path
) -> None:
    server = make_registry_server(user_collections=False)
    token = server.add_user("vsoch")
    server.create_collection("owned", "vsoch")
    client = RegistryClient(base=server.url, username="vsoch", token=token, env={})
    with pytest.raises(PermissionDenied, match="refused to let 'vsoch' create") as caught:
        client.push(image, "dinosaur/avocado", inspect=False)
    assert "USER_COLLECTIONS" in (caught.value.hint or "")
    with pytest.raises(PermissionDenied, match="push to collection 'owned'") as owned:
        client.push(image, "owned/avocado", inspect=False)
    assert "only owners may push" in (owned.value.hint or "")


def test_a_wrong_token(registry: Registry, image: Path) -> None:
    client = RegistryClient(base=registry.url, username="vsoch", token="f" * 40, env={})
    with pytest.raises(PermissionDenied, match="refused to let 'vsoch' create") as caught:
        client.push(image, "dinosaur/avocado", inspect=False)
    assert "sregistry login" in (caught.value.hint or "")
    assert "f" * 40 not in caught.value.message + (caught.value.hint or "")
    assert registry.server.requests(r"^/v1/") == []


def test_no_credentials_fail_before_any_request(registry: Registry, image: Path) -> None:
    client = RegistryClient(base=registry.url, username="", token="", env={})
    with pytest.raises(AuthenticationError, match="needs a registry username and token"):
        client.push(image, "dinosaur/avocado")
    assert registry.server.requests() == []


def test_a_missing_file(client: RegistryClient, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        client.push(tmp_path / "none.sif", "dinosaur/avocado")


def test_413_from_a_proxy(registry: Registry, client: RegistryClient, image: Path) -> None:
    registry.server.inject_fault(
        "POST", r"^/upload$", status=413, body="<html><title>413 Too Large</title></html>"
    )
    with pytest.raises(PayloadTooLarge, match="too large"):
        client.push(image, "dinosaur/avocado", inspect=False)


def test_proxy_timeout_after_the_file_landed(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    registry.server.inject_fault("POST", r"^/upload$", status=504, passthrough=True)
    result = client.push(image, "dinosaur/avocado", inspect=False)
    assert result.sha256 == sha256(image)
    assert any("504" in warning and "verified" in warning for warning in result.warnings)


def test_proxy_timeout_before_the_file_landed(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    registry.server.inject_fault("POST", r"^/upload$", status=504)
    with pytest.raises(ServerError, match="504"):
        client.push(image, "dinosaur/avocado", inspect=False)


def test_a_server_error_on_the_first_step(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    registry.server.inject_fault("POST", r"chunked_upload", status=502, body="Bad Gateway")
    with pytest.raises(ServerError, match="502"):
        client.push(image, "dinosaur/avocado", inspect=False)
    assert uploads(registry) == []


def test_a_cut_upload_stores_nothing(
    registry: Registry, client: RegistryClient, make_image: Callable[..., Path]
) -> None:
    registry.server.inject_fault("POST", r"^/upload$", cut_after=1 << 20)
    with pytest.raises(TransferError):
        client.push(make_image(size=8 << 20), "dinosaur/avocado", inspect=False)
    assert registry.server.container("dinosaur", "avocado", "latest") is None


def test_a_stale_clock_is_explained(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    registry.server.set_clock_offset(2 * 3600)
    with pytest.raises((AuthenticationError, PermissionDenied)) as caught:
        client.push(image, "dinosaur/avocado", inspect=False)
    assert "clock" in (caught.value.hint or "")


class JumpingClock:
    """Real time until ``after`` readings, then one hour later, the server's clock moved
    along with it: an upload that runs across the top of the hour."""

    def __init__(self, registry: Registry, after: int) -> None:
        self.registry = registry
        self.after = after
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        if self.readings == self.after:
            self.registry.server.set_clock_offset(3600)
        return time.time() + (3600 if self.readings >= self.after else 0)


def test_an_upload_running_into_the_next_hour_is_resent(
    registry: Registry, make_image: Callable[..., Path]
) -> None:
    image = make_image(size=6 << 20)
    # readings: sign push (1), answer (2), sign upload (3), then one per block
    client = registry.client(clock=JumpingClock(registry, after=6))
    result = client.push(image, "dinosaur/avocado", inspect=False)
    assert any("next UTC hour" in warning for warning in result.warnings)
    assert len(uploads(registry)) == 2
    row = registry.server.container("dinosaur", "avocado", "latest")
    assert row is not None
    assert row["version"] == f"sha256.{sha256(image)}"


# -- CLI ----------------------------------------------------------------------------
def test_cli_push(as_vsoch: Registry, image: Path) -> None:
    result = cli(
        "push", str(image), "--allow-non-sif", "--name", "dinosaur/avocado:delicious", "-U"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "dinosaur/avocado:delicious\n"
    assert f"registry: {as_vsoch.url}" in result.stderr
    assert "pushed 3.0 MiB, version sha256." in result.stderr
    assert as_vsoch.server.container("dinosaur", "avocado", "delicious") is not None


def test_cli_push_quiet(as_vsoch: Registry, image: Path) -> None:
    result = cli(
        "--quiet", "push", str(image), "--allow-non-sif", "--name", "dinosaur/avocado",
        "--no-metadata",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "dinosaur/avocado:latest\n"


def test_cli_push_tag_option(as_vsoch: Registry, image: Path) -> None:
    result = cli("push", str(image), "--allow-non-sif", "--name", "dinosaur/avocado", "--tag", "v2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "dinosaur/avocado:v2\n"


@pytest.mark.parametrize(
    ("setup", "code", "text"),
    [
        ("no-token", 4, "needs a registry token"),
        ("bad-token", 4, "refused to let 'vsoch' create collection 'dinosaur'"),
        ("frozen", 4, "is frozen on the registry"),
        ("not-owner", 4, "'alice' may not be one of its owners"),
        ("too-large", 1, "too large (HTTP 413)"),
        ("server-error", 1, "HTTP 502"),
        ("missing-file", 3, "does not exist"),
    ],
)
def test_cli_push_failures(  # noqa: PLR0917 - fixtures and parameters
    as_vsoch: Registry,
    image: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    code: int,
    text: str,
) -> None:
    server = as_vsoch.server
    name = "dinosaur/avocado"
    if setup == "no-token":
        monkeypatch.delenv("SREGISTRY_REGISTRY_TOKEN")
    elif setup == "bad-token":
        monkeypatch.setenv("SREGISTRY_REGISTRY_TOKEN", "0" * 40)
    elif setup == "frozen":
        server.add_image("dinosaur", "avocado", "latest", b"old", owner="vsoch")
        server.freeze("dinosaur", "avocado", "latest")
    elif setup == "not-owner":
        server.add_image("dinosaur", "avocado", "latest", b"old", owner="vsoch")
        for key, value in as_vsoch.env("alice").items():
            monkeypatch.setenv(key, value)
    elif setup == "too-large":
        server.inject_fault("POST", r"^/upload$", status=413)
    elif setup == "server-error":
        server.inject_fault("POST", r"chunked_upload", status=502)
    elif setup == "missing-file":
        image = image.with_name("absent.sif")
    result = cli("push", str(image), "--allow-non-sif", "--name", name)
    assert result.exit_code == code, result.stderr
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert text in errors[0]
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for token in as_vsoch.tokens.values():
        assert token not in result.stderr


def test_cli_push_json_metadata_field_is_valid_json(as_vsoch: Registry, image: Path) -> None:
    result = cli("push", str(image), "--allow-non-sif", "--name", "dinosaur/avocado")
    assert result.exit_code == 0, result.stderr
    row = as_vsoch.server.container("dinosaur", "avocado", "latest")
    assert row is not None
    json.dumps(row["metadata"])


def test_a_500_after_the_file_landed_is_checked_first(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    """Issue 11: an HTML 500 after the upload was stored is not reported as a failure."""
    registry.server.inject_fault("POST", r"^/upload$", status=500, passthrough=True)
    result = client.push(image, "dinosaur/avocado", inspect=False)
    assert result.version == f"sha256.{sha256(image)}"
    assert any("HTTP 500" in warning and "verified" in warning for warning in result.warnings)


def test_a_tag_replaced_meanwhile_is_not_kept_not_integrity(
    registry: Registry, as_vsoch: Registry, image: Path
) -> None:
    """Issue 11: the read-back finds other bytes (another push won): exit 6, not 5."""
    other = {"id": 1, "name": "avocado", "tag": "latest", "version": "sha256." + "ab" * 32,
             "metadata": {}, "frozen": False, "collection": 1}  # fmt: skip
    registry.server.inject_fault(
        "GET", r"^/api/container/dinosaur/avocado:latest$", status=200, body=json.dumps(other),
        times=2,
    )  # fmt: skip
    result = cli(
        "push", str(image), "--allow-non-sif", "--name", "dinosaur/avocado", "--no-metadata"
    )
    assert result.exit_code == 6, result.stderr
    (line,) = error_lines(result.stderr)
    assert "another push replaced it meanwhile" in line
    assert len(uploads(registry)) == 1


def test_a_tag_that_did_not_land_is_not_kept(
    registry: Registry, client: RegistryClient, image: Path
) -> None:
    registry.server.inject_fault(
        "GET", r"^/api/container/dinosaur/avocado:latest$", status=404,
        body='{"detail":"Not found."}', headers={"Content-Type": "application/json"}, times=2,
    )  # fmt: skip
    with pytest.raises(NotKept, match="does not hold that tag"):
        client.push(image, "dinosaur/avocado", inspect=False)
