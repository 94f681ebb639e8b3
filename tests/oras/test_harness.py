"""The registry fixture itself: each set-up answers as Distribution documents."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
import requests

from tests.oras.conftest import MakeRegistry
from tests.oras.harness.distribution import USERS, Distribution


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _token(registry: Distribution, scope: str, user: str | None = "alice") -> str:
    assert registry.tokens is not None
    headers = {} if user is None else {"Authorization": _basic(user, USERS[user])}
    answer = requests.get(
        registry.tokens.realm,
        params={"service": "sregistry-test-registry", "scope": scope},
        headers=headers,
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


def _headers(registry: Distribution, scope: str) -> dict[str, str]:
    if registry.auth == "basic":
        return {"Authorization": _basic("alice", USERS["alice"])}
    if registry.auth == "token":
        return {"Authorization": "Bearer " + _token(registry, scope)}
    return {}


def test_api_probe_per_setup(registry: Distribution) -> None:
    answer = requests.get(f"{registry.url}/v2/", timeout=10)
    if registry.auth == "anonymous":
        assert answer.status_code == 200
    elif registry.auth == "basic":
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="sregistry-test"'
    else:
        assert answer.status_code == 401
        challenge = answer.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert registry.tokens is not None
        assert f'realm="{registry.tokens.realm}"' in challenge


def test_monolithic_blob_upload_with_credentials(registry: Distribution) -> None:
    """Plain HTTP push of a blob: the registry accepts our htpasswd file and our JWTs."""
    blob = os.urandom(1000)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    headers = _headers(registry, "repository:alice/harness:pull,push")
    start = requests.post(
        f"{registry.url}/v2/alice/harness/blobs/uploads/", headers=headers, timeout=10
    )
    assert start.status_code == 202, start.text
    put = requests.put(
        start.headers["Location"],
        params={"digest": digest},
        data=blob,
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=10,
    )
    assert put.status_code == 201, put.text
    got = requests.get(
        f"{registry.url}/v2/alice/harness/blobs/{digest}", headers=headers, timeout=10
    )
    assert got.content == blob


def test_token_scopes_are_enforced(make_registry: MakeRegistry) -> None:
    registry = make_registry("token")
    bob = {"Authorization": "Bearer " + _token(registry, "repository:x/y:pull,push", "bob")}
    refused = requests.post(f"{registry.url}/v2/x/y/blobs/uploads/", headers=bob, timeout=10)
    assert refused.status_code == 401
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert registry.tokens is not None
    wrong = requests.get(
        registry.tokens.realm,
        params={"service": "sregistry-test-registry", "scope": "repository:x/y:pull"},
        headers={"Authorization": _basic("alice", "not-her-password")},
        timeout=10,
    )
    assert wrong.status_code == 401


def test_deletes_disabled_answer_405(make_registry: MakeRegistry) -> None:
    registry = make_registry("anonymous", delete=False)
    answer = requests.delete(f"{registry.url}/v2/a/b/manifests/sha256:{'0' * 64}", timeout=10)
    assert answer.status_code == 405
    assert answer.json()["errors"][0]["code"] == "UNSUPPORTED"


def test_restart_keeps_uploads_and_close_leaves_no_process(make_registry: MakeRegistry) -> None:
    registry = make_registry("anonymous")
    start = requests.post(f"{registry.url}/v2/a/b/blobs/uploads/", timeout=10)
    location = start.headers["Location"]
    first = registry.pid
    registry.restart()
    assert registry.pid != first
    status = requests.get(location, timeout=10)
    assert status.status_code == 204
    assert status.headers["Range"] == "0-0"
    pid = registry.pid
    assert pid is not None
    registry.close()
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(pid, 0)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{registry.url}/v2/", timeout=2)
