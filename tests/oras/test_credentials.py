"""Credentials from Docker/Apptainer config files and real credential helpers."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from sregistry.credentials.secret import Secret
from sregistry.errors import ConfigError
from sregistry.main.oras.artifact import push_sif, resolve_sif
from sregistry.main.oras.auth import HeaderAuth
from sregistry.main.oras.credentials import RegistryCredential, find_credential, run_helper
from sregistry.main.oras.reference import parse_reference
from sregistry.main.oras.session import RegistrySession
from sregistry.transfer.http import Transport
from tests.oras.conftest import MakeRegistry
from tests.oras.harness.distribution import USERS, Distribution

HELPER = """#!/bin/sh
read -r server
printf '%s\\n' "$server" >> "{log}"
case "$server" in
  {host}) printf '{{"ServerURL":"%s","Username":"{user}","Secret":"{secret}"}}' "$server" ;;
  https://index.docker.io/v1/) printf '{{"ServerURL":"hub","Username":"<token>","Secret":"idt"}}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


def _auth(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def _write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def _helper(bin_dir: Path, name: str, *, host: str, user: str, secret: str) -> Path:
    bin_dir.mkdir(exist_ok=True)
    log = bin_dir / f"{name}.log"
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(HELPER.format(log=log, host=host, user=user, secret=secret))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


@pytest.fixture
def helper_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_docker_config_auth_entry(isolated_env: Path) -> None:
    config = {"auths": {"ghcr.io": _auth("ann", "pw:with:colons")}}
    _write(isolated_env / ".docker/config.json", config)
    found = find_credential("ghcr.io")
    assert found is not None
    assert (found.kind, found.username, found.secret.reveal()) == ("basic", "ann", "pw:with:colons")
    assert found.source == "~/.docker/config.json"
    assert find_credential("quay.io") is None


def _user(**options: Any) -> str | None:
    found = find_credential("h.io", **options)
    return None if found is None else found.username


def test_order_authfile_env_apptainer_docker(isolated_env: Path, tmp_path: Path) -> None:
    _write(isolated_env / ".docker/config.json", {"auths": {"h.io": _auth("docker", "1")}})
    assert _user() == "docker"
    _write(isolated_env / ".apptainer/docker-config.json", {"auths": {"h.io": _auth("appt", "2")}})
    assert _user() == "appt"
    podman = _write(tmp_path / "auth.json", {"auths": {"h.io": _auth("podman", "3")}})
    env = {"HOME": str(isolated_env), "REGISTRY_AUTH_FILE": str(podman)}
    assert _user(env=env) == "podman"
    explicit = _write(tmp_path / "mine.json", {"auths": {"h.io": _auth("mine", "4")}})
    found = find_credential("h.io", env=env, authfile=explicit)
    assert found is not None
    assert (found.username, found.source) == ("mine", str(explicit))
    with pytest.raises(ConfigError, match="does not exist"):
        find_credential("h.io", authfile=tmp_path / "nope.json")


def test_keys_with_scheme_and_docker_hub(isolated_env: Path) -> None:
    _write(
        isolated_env / ".docker/config.json",
        {
            "auths": {
                "https://index.docker.io/v1/": _auth("hub", "x"),
                "http://127.0.0.1:5000": {"identitytoken": "refresh-me"},
                "reg.example.org": {"registrytoken": "bearer-me"},
            }
        },
    )
    hub = find_credential("index.docker.io")
    assert hub is not None
    assert hub.username == "hub"
    local = find_credential("127.0.0.1:5000")
    assert local is not None
    assert (local.kind, local.secret.reveal()) == ("identitytoken", "refresh-me")
    token = find_credential("reg.example.org")
    assert token is not None
    assert token.kind == "registrytoken"


def test_broken_files_say_where_not_what(isolated_env: Path) -> None:
    path = isolated_env / ".docker/config.json"
    path.parent.mkdir()
    path.write_text('{"auths": {"h.io": {"auth": "c2VjcmV0LXZhbHVl"}')  # truncated JSON
    with pytest.raises(ConfigError) as caught:
        find_credential("h.io")
    assert "~/.docker/config.json" in str(caught.value)
    assert "c2VjcmV0" not in str(caught.value)
    _write(path, {"auths": {"h.io": {"auth": "not base64!"}}})
    with pytest.raises(ConfigError, match="not base64") as bad:
        find_credential("h.io")
    assert "not base64!" not in str(bad.value)


def test_cred_helpers_and_store(isolated_env: Path, helper_path: Path) -> None:
    log = _helper(helper_path, "sregtest", host="h.io", user="helped", secret="from-helper")
    _write(
        isolated_env / ".docker/config.json",
        {"credHelpers": {"h.io": "sregtest"}, "auths": {"h.io": _auth("ignored", "x")}},
    )
    found = find_credential("h.io")
    assert found is not None
    assert (found.username, found.secret.reveal()) == ("helped", "from-helper")
    assert found.source == "docker-credential-sregtest (~/.docker/config.json)"
    assert log.read_text() == "h.io\n"
    _write(isolated_env / ".docker/config.json", {"credsStore": "sregtest"})
    assert find_credential("other.io") is None  # "not found" is no error
    hub = find_credential("docker.io")
    assert hub is not None
    assert (hub.kind, hub.secret.reveal()) == ("identitytoken", "idt")
    assert log.read_text().splitlines()[-1] == "https://index.docker.io/v1/"


def test_helper_missing_failing_or_hanging(helper_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"docker-credential-absent.*not installed"):
        run_helper("absent", "h.io", source="x")
    failing = helper_path / "docker-credential-failing"
    failing.write_text("#!/bin/sh\necho 'secret-ish output'\nexit 3\n")
    failing.chmod(0o755)
    with pytest.raises(ConfigError, match=r"failed \(exit 3\)") as caught:
        run_helper("failing", "h.io", source="x")
    assert "secret-ish" not in str(caught.value)
    hanging = helper_path / "docker-credential-hanging"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    hanging.chmod(0o755)
    with pytest.raises(ConfigError, match="did not answer"):
        run_helper("hanging", "h.io", source="x", timeout=0.5)


@pytest.fixture(params=["basic", "token"])
def auth_registry(request: pytest.FixtureRequest, make_registry: MakeRegistry) -> Distribution:
    return make_registry(str(request.param))


def test_helper_credentials_work_against_the_registry(
    auth_registry: Distribution,
    isolated_env: Path,
    helper_path: Path,
    fixtures_dir: Path,
    tmp_path: Path,
) -> None:
    registry = auth_registry
    _helper(helper_path, "sregtest", host=registry.host, user="alice", secret=USERS["alice"])
    _write(isolated_env / ".docker/config.json", {"credsStore": "sregtest"})
    credential = find_credential(registry.host)
    sif = tmp_path / "img.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", sif)
    ref = parse_reference(f"oras://{registry.host}/alice/helped:1")
    transport = Transport(timeout=(5, 30))
    try:
        session = RegistrySession(
            transport, registry.host, credential=credential, base_url=registry.url
        )
        pushed = push_sif(session, ref, sif)
        assert resolve_sif(session, ref, arch="amd64").digest == pushed.digest
    finally:
        transport.close()


def test_the_authorization_value_never_shows() -> None:
    auth = HeaderAuth(Secret("Basic YWxpY2U6c2VjcmV0"))
    assert repr(auth) == "HeaderAuth(Basic ****)"
    assert "YWxp" not in f"{auth!r} {auth}"
    credential = RegistryCredential("basic", Secret("pa55word-long-enough"), "alice", "test")
    assert "pa55word" not in repr(credential)
