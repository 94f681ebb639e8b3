"""Start-up cost as imported modules: what cheap commands must not import.

Timings vary with the machine's load; the modules a command imports do not.
Each command runs as a real subprocess with ``python -X importtime``, whose
stderr names every module imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points as metadata_entry_points
from pathlib import Path

import pytest

from sregistry.main import available_backends, entry_points

SIF = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "sif" / "runscript-only.sif"

HEAVY = (
    "importlib.metadata",  # the entry-point scan: ~25 ms
    "requests",
    "urllib3",
    "ssl",
    "http.client",
    "sqlite3",
    "sregistry.store",
    "rich",
    "keyring",
)


def imported(tmp_path: Path, *args: str, **env: str) -> set[str]:
    """The modules ``sregistry ARGS`` imports (it must exit 0)."""
    environ = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **env,
    }
    for name in ("SREGISTRY_STORAGE", "SREGISTRY_DATABASE", "SREGISTRY_CLIENT"):
        if name not in env:
            environ.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sregistry", *args],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], ["-V"]])
def test_help_and_version_do_not_even_import_click(tmp_path: Path, args: list[str]) -> None:
    """Importing click costs more than the rest of the start-up together."""
    modules = imported(tmp_path, *args)
    assert "sregistry.cli" in modules  # the list is real
    assert heavy(modules) == []
    assert sorted(m for m in modules if m.split(".")[0] in {"click", "typing", "shutil"}) == []


@pytest.mark.parametrize("args", [["pull", "--help"], ["-q", "--help"]])
def test_help_of_a_command_imports_nothing_heavy(tmp_path: Path, args: list[str]) -> None:
    modules = imported(tmp_path, *args)
    assert "click" in modules  # the list is real
    assert heavy(modules) == []


def test_inspecting_a_file_without_a_store_does_not_open_the_store(tmp_path: Path) -> None:
    modules = imported(tmp_path, "inspect", str(SIF))
    assert "sregistry.metadata" in modules
    assert heavy(modules) == []


def test_the_local_backend_does_not_import_http(tmp_path: Path) -> None:
    """``list`` on the local store once imported urllib3 to silence a TLS warning."""
    modules = imported(
        tmp_path, "list", "--json", SREGISTRY_CLIENT="local", SREGISTRY_STORAGE=str(tmp_path / "s")
    )
    assert "sregistry.store.images" in modules  # the list is real
    assert [m for m in heavy(modules) if not m.startswith(("sqlite3", "sregistry.store"))] == []


@pytest.mark.parametrize("group", ["console_scripts", "pytest11", "sregistry.backends"])
def test_the_entry_point_scan_finds_what_importlib_metadata_finds(group: str) -> None:
    expected = sorted((point.name, point.value) for point in metadata_entry_points(group=group))
    assert expected  # this environment has some of each
    assert sorted(entry_points(group)) == expected


def test_the_first_distribution_of_a_name_on_the_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder, target in (("first", "first_module:BACKEND"), ("second", "second_module:BACKEND")):
        info = tmp_path / folder / "Shelf_Plugin-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shelf-plugin\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            f"[console_scripts]\nshelf = x:y\n\n# a comment\n[sregistry.backends]\n"
            f"shelf = {target}\n"
        )
    monkeypatch.setattr(sys, "path", [str(tmp_path / "first"), str(tmp_path / "second")])
    expected = [
        (point.name, point.value) for point in metadata_entry_points(group="sregistry.backends")
    ]
    assert entry_points("sregistry.backends") == expected == [("shelf", "first_module:BACKEND")]
    assert available_backends()["shelf"] == "first_module:BACKEND"
