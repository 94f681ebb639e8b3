"""The local store path rule shown by `sregistry config` and used by the store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sregistry.config import default_storage_dir


def test_explicit_storage_wins(tmp_path: Path) -> None:
    target = tmp_path / "images"
    assert default_storage_dir({"SREGISTRY_STORAGE": str(target)}) == target
    assert not target.exists()


def test_storage_tilde_is_expanded(isolated_env: Path) -> None:
    assert default_storage_dir({"SREGISTRY_STORAGE": "~/sif"}) == isolated_env / "sif"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout is Linux's")
def test_default_is_the_user_data_dir(isolated_env: Path) -> None:
    # conftest points XDG_DATA_HOME at <home>/.local/share
    expected = isolated_env / ".local" / "share" / "sregistry"
    assert default_storage_dir({}) == expected
    assert not expected.exists()
