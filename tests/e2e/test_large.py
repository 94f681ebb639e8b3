"""A 1 GiB push and pull through the CLI with the client process under 100 MB RSS."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Registry, sregistry_executable
from tests.e2e.measure import run_measured
from tests.server.config import REAL_PROFILE

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def server_profile() -> str:
    """One profile: the real server's. The large transfer exercises the client's memory,
    which does not depend on the server's quirks, and is too slow to run twice."""
    return REAL_PROFILE


GIB = 1 << 30
RSS_LIMIT = 100 * 1000 * 1000


def write_large(path: Path, size: int) -> str:
    """``size`` bytes (a random 16 MiB block, repeated) and their sha256."""
    block = os.urandom(16 << 20)
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for _ in range(size // len(block)):
            handle.write(block)
            digest.update(block)
    return digest.hexdigest()


def test_one_gib_push_and_pull_in_flat_memory(
    registry: Registry, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    image = tmp_path / "large.sif"
    digest = write_large(image, GIB)
    env = {**os.environ, **registry.env()}
    push = run_measured(
        [
            sregistry_executable(),
            "push",
            str(image),
            "--allow-non-sif",
            "--name",
            "big/one:gib",
            "--no-metadata",
        ],
        env=env,
    )
    assert push.returncode == 0, push.stderr
    target = tmp_path / "pulled.sif"
    pull = run_measured([sregistry_executable(), "pull", "big/one:gib", "-o", str(target)], env=env)
    assert pull.returncode == 0, pull.stderr
    assert target.stat().st_size == GIB
    assert f"sha256 {digest}" in pull.stderr
    push_rss, pull_rss = push.peak_rss, pull.peak_rss
    record_property("push_peak_rss_mb", round(push_rss / 1e6, 1))
    record_property("pull_peak_rss_mb", round(pull_rss / 1e6, 1))
    print(f"\n1 GiB push peak RSS {push_rss / 1e6:.1f} MB, pull peak RSS {pull_rss / 1e6:.1f} MB")
    assert push_rss < RSS_LIMIT
    assert pull_rss < RSS_LIMIT
