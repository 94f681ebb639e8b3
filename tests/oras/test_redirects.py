"""Redirects to storage hosts and rate limits, with loopback servers standing
in for a registry that redirects (S3, CDN) and for the storage host."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sregistry.credentials.secret import Secret
from sregistry.errors import NotFound, RateLimited
from sregistry.main.oras.blobs import download_blob, open_blob
from sregistry.main.oras.credentials import RegistryCredential
from sregistry.main.oras.distribution import catalog, get_manifest
from sregistry.main.oras.manifest import Descriptor
from sregistry.main.oras.session import RegistrySession
from sregistry.transfer.http import Transport
from sregistry.transfer.retry import RetryPolicy
from tests.oras.harness.loopback import Answer, Loopback, Seen

BLOB = os.urandom(50_000)
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
BASIC = "Basic " + base64.b64encode(b"ann:pw").decode()


@pytest.fixture
def storage() -> Iterator[Loopback]:
    server = Loopback(lambda _seen: Answer(200, BLOB))
    yield server
    server.close()


def _registry(storage: Loopback) -> Loopback:
    def handle(seen: Seen) -> Answer:
        if seen.headers.get("Authorization") != BASIC:
            return Answer(401, headers=(("WWW-Authenticate", 'Basic realm="r"'),))
        if seen.path.startswith("/v2/a/b/blobs/"):
            location = f"{storage.url}/bucket/blob?X-Amz-Signature=s"
            return Answer(307, headers=(("Location", location),))
        return Answer(404)

    return Loopback(handle)


def test_redirect_to_storage_drops_authorization(storage: Loopback, tmp_path: Path) -> None:
    registry = _registry(storage)
    transport = Transport(timeout=(5, 30))
    try:
        credential = RegistryCredential("basic", Secret("pw"), "ann", "test")
        session = RegistrySession(
            transport, registry.host, credential=credential, base_url=registry.url
        )
        done = download_blob(session, "a/b", Descriptor("x", DIGEST, len(BLOB)), tmp_path / "blob")
    finally:
        transport.close()
        registry.close()
    assert (tmp_path / "blob").read_bytes() == BLOB
    assert done.size == len(BLOB)
    blob_requests = [r for r in registry.requests if "/blobs/" in r.path]
    assert blob_requests
    assert blob_requests[-1].headers.get("Authorization") == BASIC
    assert [r.path for r in storage.requests] == ["/bucket/blob?X-Amz-Signature=s"]
    assert "Authorization" not in storage.requests[0].headers


def test_ranged_reads_follow_the_redirect_without_authorization(storage: Loopback) -> None:
    registry = _registry(storage)
    transport = Transport(timeout=(5, 30))
    try:
        credential = RegistryCredential("basic", Secret("pw"), "ann", "test")
        session = RegistrySession(
            transport, registry.host, credential=credential, base_url=registry.url
        )
        descriptor = Descriptor("x", DIGEST, len(BLOB))
        with open_blob(session, "a/b", descriptor, max_bytes=1 << 20) as blob:
            assert blob.pread(100, 1000) == BLOB[1000:1100]
            assert blob.size == len(BLOB)
    finally:
        transport.close()
        registry.close()
    blob_requests = [r for r in registry.requests if "/blobs/" in r.path]
    assert [r.headers.get("Authorization") for r in blob_requests] == [BASIC]
    assert storage.requests
    assert all("Authorization" not in r.headers for r in storage.requests)


def test_retry_after_is_honoured_then_reported() -> None:
    answers = iter([429, 200])
    manifest = b'{"schemaVersion":2}'

    def handle(_seen: Seen) -> Answer:
        status = next(answers, 429)
        body = manifest if status == 200 else b'{"errors":[{"code":"TOOMANYREQUESTS"}]}'
        return Answer(status, body, (("Retry-After", "7"),))

    server = Loopback(handle)
    waits: list[float] = []
    transport = Transport(timeout=(5, 30), retry=RetryPolicy(attempts=2), sleep=waits.append)
    try:
        session = RegistrySession(transport, server.host, base_url=server.url)
        assert get_manifest(session, "a/b", "1").data == manifest
        assert waits == [7.0]
        with pytest.raises(RateLimited) as caught:
            get_manifest(session, "a/b", "2")
        assert caught.value.retry_after == 7.0
    finally:
        transport.close()
        server.close()


def test_a_registry_without_catalog_says_so() -> None:
    server = Loopback(lambda _seen: Answer(404, b"404 page not found\n"))
    transport = Transport(timeout=(5, 30))
    try:
        session = RegistrySession(transport, server.host, base_url=server.url)
        with pytest.raises(NotFound, match="does not list its repositories") as caught:
            catalog(session)
    finally:
        transport.close()
        server.close()
    assert caught.value.hint == "name a repository to list its tags"
