"""The unmodified sregistry-cli 0.2.39 against the reference server (push, pull, search,
private pull, delete), installed from PyPI into its own virtual environment.

The venv is cached under pytest's cache directory (``.pytest_cache``, or a
session temporary directory when the cache is disabled). The tests are
skipped, with the reason printed, only when the package cannot be installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reference_server.helpers import present
from tests.server.pytest_plugin import RegistryServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # slow: pip installs the legacy client

PACKAGE = "sregistry[registry-basic]==0.2.39"


@pytest.fixture(scope="session")
def legacy_cli(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bin/sregistry`` of a venv holding sregistry-cli 0.2.39 (+ requests-toolbelt)."""
    cache = getattr(pytestconfig, "cache", None)
    root = cache.mkdir("legacy-sregistry-0.2.39") if cache else tmp_path_factory.mktemp("legacy")
    venv, marker = root / "venv", root / "venv" / ".installed"
    if not marker.exists():
        shutil.rmtree(venv, ignore_errors=True)
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", PACKAGE],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                reason = f"cannot install {PACKAGE}: {' / '.join(tail)}"
                print(reason)
                pytest.skip(reason)
        marker.write_text(PACKAGE)
    return venv / "bin" / "sregistry"


class Legacy:
    """Runs the legacy CLI as one user, in its own working directory."""

    def __init__(
        self, cli: Path, server: RegistryServer, user: str, token: str, work: Path
    ) -> None:
        self.cli, self.work = cli, work
        work.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "HOME": str(work),
            "SREGISTRY_CLIENT": "registry",
            "SREGISTRY_REGISTRY_BASE": server.url,
            "SREGISTRY_REGISTRY_USERNAME": user,
            "SREGISTRY_REGISTRY_TOKEN": token,
            # 0.2.39 reads ~ from the passwd entry, not $HOME, and writes settings back
            "SREGISTRY_CLIENT_SECRETS": str(work / "sregistry-secrets.json"),
            "SREGISTRY_DISABLE": "yes",
            "SREGISTRY_TMPDIR": str(work),
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.cli), *args],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def legacy(
    legacy_cli: Path, registry_server: RegistryServer, tmp_path: Path
) -> Callable[[str], Legacy]:
    """``legacy(user)``: the CLI for a new user of the test's server."""

    def make(user: str) -> Legacy:
        token = registry_server.add_user(user)
        return Legacy(legacy_cli, registry_server, user, token, tmp_path / user)

    return make


def test_push_pull_search_delete(
    registry_server: RegistryServer, legacy: Callable[[str], Legacy]
) -> None:
    alice = legacy("alice")
    image = alice.work / "busybox.sif"
    image.write_bytes(os.urandom(300_000))

    pushed = alice("push", "--name", "dino/busybox:latest", str(image))
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "[1. Collection return status 200 OK]" in pushed.stdout
    assert "[Return status 200 Upload Complete]" in pushed.stdout
    row = registry_server.container("dino", "busybox", "latest")
    assert row is not None
    assert row["path"].read_bytes() == image.read_bytes()

    pulled = alice("pull", "dino/busybox:latest")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert (alice.work / "dino-busybox:latest.sif").read_bytes() == image.read_bytes()
    # 0.2.39 HEADs the image URL before GETting it; both count toward the weekly limit
    downloads = [r["method"] for r in registry_server.requests("/download/")]
    assert downloads == ["HEAD", "GET"]

    found = alice("search", "dino/busybox:latest")
    assert found.returncode == 0, found.stderr
    assert "dino/busybox\tlatest" in found.stdout
    listed = alice("search")
    assert "dino/busybox:latest\t" in listed.stdout
    collection = alice("search", "dino")
    assert "COLLECTION dino" in collection.stdout

    deleted = alice("delete", "--force", "dino/busybox:latest")
    assert "Response 204" in deleted.stdout, deleted.stdout + deleted.stderr
    assert registry_server.container("dino", "busybox", "latest") is None


def test_private_pull_retries_signed(
    registry_server: RegistryServer, legacy: Callable[[str], Legacy]
) -> None:
    alice, bob = legacy("alice"), legacy("bob")
    image = alice.work / "secret.sif"
    image.write_bytes(b"private image " * 1000)
    assert alice("push", "--name", "vault/secret:v1", str(image)).returncode == 0
    registry_server.set_private("vault", True)
    registry_server.clear_requests()

    pulled = alice("pull", "vault/secret:v1")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert (alice.work / "vault-secret:v1.sif").read_bytes() == image.read_bytes()
    manifests = registry_server.requests("^/api/container/")
    assert [m["status"] for m in manifests] == [403, 200]
    assert manifests[1]["headers"]["Authorization"].startswith("SREGISTRY-HMAC-SHA256 ")

    refused = bob("pull", "vault/secret:v1")
    assert refused.returncode == 1
    assert "Unauthorized (403)" in refused.stdout + refused.stderr
    registry_server.add_collaborator("vault", "bob")
    assert bob("pull", "vault/secret:v1").returncode == 0


def test_failures_as_the_legacy_client_reports_them(
    registry_server: RegistryServer, legacy: Callable[[str], Legacy]
) -> None:
    alice, bob = legacy("alice"), legacy("bob")
    image = alice.work / "img.sif"
    image.write_bytes(b"alice's")
    assert alice("push", "--name", "dino/img:latest", str(image)).returncode == 0

    other = bob.work / "img.sif"
    other.write_bytes(b"bob's")
    stolen = bob("push", "--name", "dino/img:latest", str(other))
    assert stolen.returncode == 1
    assert "[1. Collection return status 500" in stolen.stdout

    registry_server.freeze("dino", "img", "latest")
    image.write_bytes(b"alice's second")
    frozen = alice("push", "--name", "dino/img:latest", str(image))
    assert frozen.returncode == 0  # 0.2.39 exits 0 whatever /upload answered
    assert "already exists." in frozen.stdout
    stored = present(registry_server.container("dino", "img", "latest"))["path"]
    assert stored.read_bytes() == b"alice's"

    missing = alice("pull", "dino/nothing:latest")
    assert missing.returncode == 1


def test_secrets_file_as_the_token_page_exports_it(
    registry_server: RegistryServer, legacy: Callable[[str], Legacy]
) -> None:
    """Credentials from ``{"registry": {"token", "username", "base"}}`` alone (§10)."""
    carol = legacy("carol")
    token = carol.env.pop("SREGISTRY_REGISTRY_TOKEN")
    for name in ("SREGISTRY_REGISTRY_USERNAME", "SREGISTRY_REGISTRY_BASE"):
        del carol.env[name]
    secrets = Path(carol.env["SREGISTRY_CLIENT_SECRETS"])
    secrets.write_text(
        json.dumps({"registry": {"token": token, "username": "carol", "base": registry_server.url}})
    )
    image = carol.work / "img.sif"
    image.write_bytes(b"from the secrets file")
    pushed = carol("push", "--name", "mine/img:v1", str(image))
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "Upload Complete" in pushed.stdout
    registry_server.set_private("mine", True)
    assert carol("pull", "mine/img:v1").returncode == 0
    assert (carol.work / "mine-img:v1.sif").read_bytes() == b"from the secrets file"
