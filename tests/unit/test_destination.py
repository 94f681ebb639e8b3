"""Where pulls and exports write (one rule for every backend)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sregistry.main.base import destination


def test_destination_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "existing").mkdir()
    assert destination(None, "a.sif") == tmp_path / "a.sif"
    assert destination(tmp_path / "existing", "a.sif") == tmp_path / "existing" / "a.sif"
    assert destination(f"{tmp_path}/new{os.sep}", "a.sif") == tmp_path / "new" / "a.sif"
    assert destination(tmp_path / "file.sif", "a.sif") == tmp_path / "file.sif"
    assert destination("~/x.sif", "a.sif") == tmp_path / "home" / "x.sif"
