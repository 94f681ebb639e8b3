"""The documentation's examples run and print what they show.

Every ``console`` and ``python`` block of ``docs/**/*.md`` and ``README.md`` runs
in a sandbox, page by page; the convention is in :mod:`tests.docs.examples`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.docs.examples import find_blocks
from tests.docs.runner import REPO, Sandbox, Server, run_block
from tests.oras.harness.distribution import Distribution
from tests.server.pytest_plugin import RegistryServer

PAGES = sorted([*(REPO / "docs").rglob("*.md"), REPO / "README.md"])
RUNNABLE = [page for page in PAGES if any(block.runs for block in find_blocks(page))]


def test_there_are_examples_to_run() -> None:
    assert len(RUNNABLE) >= 5, [page.name for page in RUNNABLE]


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(REPO)) for p in RUNNABLE])
def test_page_examples(page: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    def start_server() -> Server:
        make: Callable[..., RegistryServer] = request.getfixturevalue("make_registry_server")
        server = make()
        return Server(server.url, "alice", server.add_user("alice"))

    def start_oras() -> str:
        registry = Distribution(tmp_path / "oras", executable=require_tool("docker-registry"))
        request.addfinalizer(registry.close)
        registry.start()
        return registry.host

    sandbox = Sandbox(tmp_path / "sandbox", start_server, start_oras)
    problems: list[str] = []
    for block in find_blocks(page):
        if block.runs:
            problems += run_block(sandbox, block)
        if problems:
            break
    assert not problems, "\n\n".join(problems)
