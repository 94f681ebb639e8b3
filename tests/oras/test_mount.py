"""Cross-repository mount: a layer the local store pulled from another repository
of the same registry is mounted (``POST ?mount=&from=``), not uploaded again;
against a real docker-registry with token auth."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry import get_client
from sregistry.cli import cli
from sregistry.main.oras.client import OrasClient
from sregistry.main.oras.manifest import EMPTY_CONFIG_DIGEST
from tests.oras.conftest import MakeRegistry
from tests.oras.harness.distribution import USERS, Distribution

REAL = "real/busybox_amd64.sif"
LAYER = "sha256:e89ad5f79a1acc7c87e98b28e38c63b1a02759b51d925c67c3967ff06dc13e9f"
_REQUEST = re.compile(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (/v2/\S*) HTTP/1\.1" (\d+)')


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _as(user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPTAINER_DOCKER_USERNAME", user)
    monkeypatch.setenv("APPTAINER_DOCKER_PASSWORD", USERS[user])


def _requests(registry: Distribution) -> list[tuple[str, str, str]]:
    return _REQUEST.findall(registry.log_text())


def _uploads(sent: list[tuple[str, str, str]], repository: str) -> list[tuple[str, str, str]]:
    """The requests that carried blob bytes (PATCH, PUT) into ``repository``."""
    prefix = f"/v2/{repository}/blobs/uploads/"
    return [row for row in sent if row[0] in {"PATCH", "PUT"} and row[1].startswith(prefix)]


def _push_then_pull(registry: Distribution, sif: Path, tmp_path: Path) -> str:
    """alice pushes ``sif`` to alice/one and pulls it (the store records where from)."""
    ref = f"oras://{registry.host}/alice/one:1"
    assert run("push", str(sif), "--name", ref).exit_code == 0
    pulled = run("pull", ref, "-o", str(tmp_path / "one.sif"))
    assert pulled.exit_code == 0, pulled.output
    return ref


def test_a_pulled_layer_is_mounted_into_another_repository(
    make_registry: MakeRegistry,
    fixtures_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = make_registry("token")
    assert registry.tokens is not None
    _as("alice", monkeypatch)
    sif = fixtures_dir / REAL
    _push_then_pull(registry, sif, tmp_path)
    before, tokens_before = len(_requests(registry)), len(registry.tokens.requests)
    pushed = run("push", str(sif), "--name", f"oras://{registry.host}/alice/two:1")
    assert pushed.exit_code == 0, pushed.output
    sent = _requests(registry)[before:]
    mounts = [row for row in sent if row[0] == "POST" and "mount=" in row[1]]
    assert len(mounts) == 1, sent
    assert "from=alice%2Fone" in mounts[0][1]
    assert mounts[0][2] == "201"
    # only the two-byte config blob went up: the layer's bytes were not sent
    uploads = _uploads(sent, "alice/two")
    assert [row[0] for row in uploads] == ["PUT"]
    assert "digest=" + EMPTY_CONFIG_DIGEST.replace(":", "%3A") in uploads[0][1]
    scopes = {s for r in registry.tokens.requests[tokens_before:] for s in r.scopes}
    assert "repository:alice/one:pull" in scopes
    pulled = run("pull", f"oras://{registry.host}/alice/two:1", "-o", str(tmp_path / "two.sif"))
    assert pulled.exit_code == 0, pulled.output
    assert (tmp_path / "two.sif").read_bytes() == sif.read_bytes()


def test_a_client_mounts_what_it_pushed_to_another_repository(
    make_registry: MakeRegistry, fixtures_dir: Path
) -> None:
    registry = make_registry("token")
    with get_client(f"oras://{registry.host}", username="alice", password=USERS["alice"]) as client:
        assert isinstance(client, OrasClient)
        client.push(fixtures_dir / REAL, "alice/one:1", inspect=False)
        before = len(_requests(registry))
        client.push(fixtures_dir / REAL, "alice/three:1", inspect=False)
    sent = _requests(registry)[before:]
    assert [row[2] for row in sent if "mount=" in row[1]] == ["201"]
    assert all(LAYER.replace(":", "%3A") not in row[1] for row in _uploads(sent, "alice/three"))


def test_a_mount_the_user_may_not_do_becomes_an_upload(
    make_registry: MakeRegistry,
    fixtures_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grants = {
        "alice": {"alice/*": frozenset({"pull", "push"})},
        "bob": {"bob/*": frozenset({"pull", "push"})},
    }
    registry = make_registry("token", grants=grants)
    _as("alice", monkeypatch)
    sif = fixtures_dir / REAL
    _push_then_pull(registry, sif, tmp_path)
    _as("bob", monkeypatch)  # same local store, no right to read alice/one
    before = len(_requests(registry))
    pushed = run("push", str(sif), "--name", f"oras://{registry.host}/bob/img:1")
    assert pushed.exit_code == 0, pushed.output
    sent = _requests(registry)[before:]
    assert {row[2] for row in sent if "mount=" in row[1]} == {"401"}
    uploads = _uploads(sent, "bob/img")
    assert any(LAYER.replace(":", "%3A") in row[1] for row in uploads)  # the layer went up
    pulled = run("pull", f"oras://{registry.host}/bob/img:1", "-o", str(tmp_path / "bob.sif"))
    assert pulled.exit_code == 0, pulled.output
    assert (tmp_path / "bob.sif").read_bytes() == sif.read_bytes()
