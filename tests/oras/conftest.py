"""Fixtures starting real ``docker-registry`` processes (see :mod:`tests.oras.harness`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.oras.harness.distribution import Distribution
from tests.oras.harness.s3 import MotoS3
from tests.oras.harness.tokens import Grants

SETUPS = ("anonymous", "basic", "token")

MakeRegistry = Callable[..., Distribution]


@pytest.fixture
def make_registry(tmp_path: Path) -> Iterator[MakeRegistry]:
    """``make_registry(auth="anonymous"|"basic"|"token", delete=True, grants=None,
    s3=None)``: a started registry (blobs in S3 at the endpoint ``s3`` names),
    stopped (with its token server) after the test."""
    executable = require_tool("docker-registry")
    started: list[Distribution] = []

    def make(
        auth: str = "anonymous",
        *,
        delete: bool = True,
        grants: Grants | None = None,
        s3: str | None = None,
    ) -> Distribution:
        htpasswd = require_tool("htpasswd") if auth == "basic" else "htpasswd"
        root = tmp_path / f"registry-{len(started)}-{auth}"
        registry = Distribution(
            root,
            auth=auth,
            delete=delete,
            executable=executable,
            htpasswd=htpasswd,
            grants=grants,
            s3=s3,
        )
        started.append(registry)
        registry.start()
        return registry

    yield make
    for registry in started:
        registry.close()


@pytest.fixture
def moto_s3(tmp_path: Path) -> Iterator[MotoS3]:
    """``moto_server`` with the registry's bucket, behind a recording proxy
    (``make_registry(..., s3=moto_s3.endpoint)`` keeps blobs there)."""
    beside = Path(sys.executable).with_name("moto_server")  # the test extra installs it
    executable = str(beside) if beside.exists() else require_tool("moto_server")
    storage = MotoS3(tmp_path / "s3", executable=executable)
    storage.start()
    yield storage
    storage.close()


@pytest.fixture(params=SETUPS)
def registry(request: pytest.FixtureRequest, make_registry: MakeRegistry) -> Distribution:
    """A registry in each of the three set-ups, deletes enabled."""
    return make_registry(str(request.param))
