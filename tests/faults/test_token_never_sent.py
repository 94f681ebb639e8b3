"""Defect 1: the registry token is an HMAC key and never crosses the wire, in any request.

The capture server answers HTTP 500 to everything, as a man in the middle
would to provoke the client's refusal diagnosis, and keeps every byte.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from sregistry.errors import PermissionDenied
from sregistry.main.registry.client import RegistryClient
from tests.faults.capture import CaptureServer, canned

TOKEN = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    server = CaptureServer(lambda head: canned(500, b"Server Error"))
    try:
        yield server
    finally:
        server.close()


def forms(token: str) -> list[bytes]:
    raw = token.encode()
    return [raw, base64.b64encode(raw), base64.b64encode(b"vsoch:" + raw)]


def test_a_refused_push_sends_no_token(capture: CaptureServer, tmp_path: Path) -> None:
    image = tmp_path / "image.sif"
    image.write_bytes(b"SIF image bytes")
    with (
        RegistryClient(base=capture.url, username="vsoch", token=TOKEN, env={}) as client,
        pytest.raises(PermissionDenied) as caught,
    ):
        client.push(image, "dinosaur/avocado", inspect=False)
    assert capture.heads, "the client sent nothing"
    assert b"Bearer" not in capture.received
    for form in forms(TOKEN):
        assert form not in capture.received
    assert TOKEN not in str(caught.value) + (caught.value.hint or "")
