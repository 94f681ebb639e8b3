"""``sregistry`` with ``oras://`` references, through the unchanged CLI, against a
real docker-registry: push, list, pull (store cache), delete, and the errors."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from sregistry import get_client
from sregistry.cli import cli
from sregistry.errors import ConfigError
from sregistry.main.oras.client import OrasClient, host_arch, split_tags
from sregistry.main.oras.manifest import OCI_INDEX, OCI_MANIFEST
from tests.oras.conftest import MakeRegistry
from tests.oras.harness.distribution import USERS, Distribution


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def sif(fixtures_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "busybox-like.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", copy)
    return copy


def _login(registry: Distribution, monkeypatch: pytest.MonkeyPatch) -> None:
    account = registry.account
    if account is not None:
        monkeypatch.setenv("APPTAINER_DOCKER_USERNAME", account.username)
        monkeypatch.setenv("APPTAINER_DOCKER_PASSWORD", account.password)


def test_push_list_pull_delete(
    registry: Distribution, sif: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _login(registry, monkeypatch)
    ref = f"oras://{registry.host}/alice/img"
    pushed = run("push", str(sif), "--name", f"{ref}:1,stable")
    assert pushed.exit_code == 0, pushed.output
    assert pushed.stdout.strip() == f"{ref}:1"
    listed = run("list", ref, "--json")
    assert listed.exit_code == 0, listed.output
    rows = {row["tag"]: row for row in json.loads(listed.stdout)}
    assert sorted(rows) == ["1", "stable"]
    assert rows["1"]["size"] == sif.stat().st_size
    assert rows["1"]["version"] == rows["stable"]["version"]
    assert rows["1"]["created"] == "2023-11-14T22:13:20Z"  # the image's build-date label
    out = tmp_path / "pulled.sif"
    pulled = run("pull", f"{ref}:stable", "-o", str(out))
    assert pulled.exit_code == 0, pulled.output
    assert out.read_bytes() == sif.read_bytes()
    again = run("pull", f"{ref}:1", "-o", str(tmp_path / "again.sif"))
    assert again.exit_code == 0, again.output
    assert "served from the local store" in again.stderr  # keyed by the layer's sha256
    assert (tmp_path / "again.sif").read_bytes() == sif.read_bytes()
    deleted = run("delete", "--force", f"{ref}:1")
    assert deleted.exit_code == 0, deleted.output
    gone = run("pull", f"{ref}:stable", "-o", str(tmp_path / "gone.sif"))
    assert gone.exit_code == 3  # both tags named the deleted manifest
    assert "no such tag or digest" in gone.stderr


def test_errors_have_one_line_and_their_exit_code(
    make_registry: MakeRegistry, sif: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = make_registry("basic", delete=False)
    ref = f"oras://{registry.host}/alice/img:1"
    anonymous = run("push", str(sif), "--name", ref)
    assert anonymous.exit_code == 4
    assert "needs credentials" in anonymous.stderr
    monkeypatch.setenv("APPTAINER_DOCKER_USERNAME", "alice")
    monkeypatch.setenv("APPTAINER_DOCKER_PASSWORD", "wrong-password")
    wrong = run("push", str(sif), "--name", ref)
    assert wrong.exit_code == 4
    assert "refused the credentials" in wrong.stderr
    assert "wrong-password" not in wrong.output
    _login(registry, monkeypatch)
    assert run("push", str(sif), "--name", ref).exit_code == 0
    missing = run("pull", f"oras://{registry.host}/alice/nothing:1", "-o", str(tmp_path / "x"))
    assert missing.exit_code == 3
    refused = run("delete", "--force", ref)
    assert refused.exit_code == 4
    assert "does not allow deletes" in refused.stderr


def test_get_client_by_uri(make_registry: MakeRegistry, sif: Path, tmp_path: Path) -> None:
    registry = make_registry("anonymous")
    with get_client(f"oras://{registry.host}", cache=False) as client:
        assert isinstance(client, OrasClient)
        result = client.push(sif, "team/img:v1", inspect=False)
        assert result.sha256 == hashlib.sha256(sif.read_bytes()).hexdigest()
        pulled = client.pull("team/img:v1", tmp_path)
        assert pulled.path == tmp_path / "img_v1.sif"
        assert pulled.sha256 == result.sha256
        assert client.sources[registry.host] == "anonymous"
    typed: OrasClient = get_client("oras", uri=f"oras://{registry.host}")  # typed by overload
    typed.close()


def test_list_registry_catalog_and_pull_arch_from_index(
    make_registry: MakeRegistry, fixtures_dir: Path, tmp_path: Path
) -> None:
    registry = make_registry("anonymous")
    amd = fixtures_dir / "busybox-like.sif"
    arm = fixtures_dir / "runscript-only.sif"  # an arm64 image
    host = registry.host
    for source, tag in ((amd, "amd"), (arm, "arm")):
        assert run("push", str(source), "--name", f"oras://{host}/multi/img:{tag}").exit_code == 0
    with get_client(f"oras://{host}") as client:
        assert isinstance(client, OrasClient)
        digests = {info.tag: info.version for info in client.search(f"oras://{host}/multi/img")}
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": digests[tag], "size": size(host, digests[tag]),
             "platform": {"os": "linux", "architecture": arch}}
            for tag, arch in (("amd", "amd64"), ("arm", "arm64"))
        ],
    }  # fmt: skip
    put = requests.put(
        f"{registry.url}/v2/multi/img/manifests/both",
        data=json.dumps(index),
        headers={"Content-Type": OCI_INDEX},
        timeout=10,
    )
    assert put.status_code == 201
    listed = run("list", f"oras://{host}")
    assert listed.exit_code == 0, listed.output
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == [
        f"{host}/multi/img:amd",
        f"{host}/multi/img:arm",
        f"{host}/multi/img:both",
    ]
    out = tmp_path / "arm.sif"
    pulled = run("pull", f"oras://{host}/multi/img:both", "--arch", "arm64", "-o", str(out))
    assert pulled.exit_code == 0, pulled.output
    assert out.read_bytes() == arm.read_bytes()
    other = str(tmp_path / "s390x.sif")
    missing = run("pull", f"oras://{host}/multi/img:both", "--arch", "s390x", "-o", other)
    assert missing.exit_code == 3
    assert "linux/amd64, linux/arm64" in missing.stderr
    inspected = run("inspect", "--json", f"oras://{host}/multi/img:both", "--arch", "arm64")
    assert inspected.exit_code == 0, inspected.output
    shown = json.loads(inspected.stdout)
    assert shown["arch"] == "arm64"
    assert shown["manifest"]["digest"] == digests["arm"]
    assert shown["manifest"]["index"] is not None


def test_arch_help_names_both_backends_where_both_take_it() -> None:
    for command in ("pull", "inspect"):
        shown = " ".join(run(command, "--help").stdout.split())
        assert "Architecture of a library:// image" in shown, command
        assert "For oras://: the architecture to take from an image index" in shown, command
    pushed = " ".join(run("push", "--help").stdout.split())
    assert "Architecture of a library:// image" in pushed
    assert "oras://: the architecture" not in pushed  # oras push reads the image's own
    refused = run("push", "x.sif", "--name", "oras://127.0.0.1:1/a/b:1", "--arch", "arm64")
    assert refused.exit_code == 2
    assert "only for library://" in refused.stderr


def size(host: str, digest: str | None) -> int:
    answer = requests.get(
        f"http://{host}/v2/multi/img/manifests/{digest}",
        headers={"Accept": OCI_MANIFEST},
        timeout=10,
    )
    return len(answer.content)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("oras://h.io/r:a,b", ("oras://h.io/r:a", ["a", "b"])),
        ("oras://h.io:5000/r:1", ("oras://h.io:5000/r:1", [])),
        ("oras://h.io:5000/r", ("oras://h.io:5000/r", [])),
    ],
)
def test_split_tags(name: str, expected: tuple[str, list[str]]) -> None:
    assert split_tags(name) == expected


def test_host_arch() -> None:
    assert [host_arch(m) for m in ("x86_64", "aarch64", "armv7l", "ppc64le")] == [
        "amd64",
        "arm64",
        "arm",
        "ppc64le",
    ]


def test_a_bad_tag_in_the_list_stops_the_push_before_any_request(sif: Path) -> None:
    # port 9 (discard): nothing listens there, so any request would fail differently
    result = run("push", str(sif), "--name", "oras://127.0.0.1:9/a/b:ok,-bad")
    assert result.exit_code == 2
    assert "'-bad' is not a valid tag" in result.stderr


def test_chunk_size_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="chunk_size"):
        get_client("oras", chunk_size=0)


@pytest.mark.parametrize("auth", ["basic", "token"])
def test_login_checks_stores_where_apptainer_reads_and_logout_removes(
    make_registry: MakeRegistry, auth: str, sif: Path, isolated_env: Path
) -> None:
    registry = make_registry(auth)
    server = f"oras://{registry.host}"
    login = ["login", server, "--username", "alice", "--token-stdin"]
    wrong = CliRunner().invoke(cli, login, input="not-her-password\n", catch_exceptions=False)
    assert wrong.exit_code == 4
    stored = isolated_env / ".apptainer" / "docker-config.json"
    assert not stored.exists()
    right = CliRunner().invoke(cli, login, input=f"{USERS['alice']}\n", catch_exceptions=False)
    assert right.exit_code == 0, right.output
    assert stored.stat().st_mode & 0o777 == 0o600
    assert USERS["alice"] not in right.output
    assert run("push", str(sif), "--name", f"{server}/alice/img:1").exit_code == 0
    config = run("config")
    assert config.exit_code == 0, config.output
    assert any(
        registry.host in line and "~/.apptainer/docker-config.json" in line
        for line in config.stdout.splitlines()
    ), config.stdout
    out = run("logout", server)
    assert out.exit_code == 0, out.output
    assert "Removed the credentials" in out.stdout
    assert json.loads(stored.read_text()) == {"auths": {}}
    again = run("push", str(sif), "--name", f"{server}/alice/img:2")
    assert again.exit_code == 4
