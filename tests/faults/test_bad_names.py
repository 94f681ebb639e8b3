"""Defect 5: one bad stored name does not break ``list <collection>``; the server refuses it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli as sregistry_cli
from tests.e2e.conftest import Registry

BAD = ["..", "../x", "x\\..\\PWNED"]


def run(*args: str) -> Result:
    return CliRunner().invoke(sregistry_cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("bad", BAD)
def test_list_collection_shows_the_good_and_marks_the_bad(as_vsoch: Registry, bad: str) -> None:
    as_vsoch.server.add_image("vsoch", "hello", "latest", b"good", owner="vsoch")
    as_vsoch.server.add_image("vsoch", bad, "latest", b"bad", owner="vsoch")
    result = run("list", "vsoch")
    assert result.exit_code == 0, result.stderr
    assert "vsoch/hello:latest" in result.stdout
    assert f"vsoch/{bad}:latest" in result.stdout
    assert f"{f'vsoch/{bad}:latest'!r}: an unusable name" in result.stderr
