"""The ``Singularity`` recipe: its sections, the files it copies, and its
``%runscript`` and ``%test`` run (outside a container) against this checkout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sregistry
from tests.docs.runner import EXAMPLE_SIF, REPO

RECIPE = REPO / "Singularity"
VENV_BIN = str(Path(sys.executable).parent)


def parse_recipe(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """The header keywords (``Bootstrap``, ``From``) and each ``%section``'s body."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = re.match(r"^%(\w+)\s*$", line)
        if match:
            current = sections.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
        elif line.strip() and not line.startswith("#"):
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
    return header, {name: "\n".join(body).strip("\n") for name, body in sections.items()}


HEADER, SECTIONS = parse_recipe(RECIPE.read_text(encoding="utf-8"))


def _files() -> list[tuple[str, str]]:
    pairs = []
    for line in SECTIONS["files"].splitlines():
        if line.strip() and not line.strip().startswith("#"):
            source, destination = line.split()
            pairs.append((source, destination))
    return pairs


def _labels() -> dict[str, str]:
    return dict(
        line.strip().split(None, 1) for line in SECTIONS["labels"].splitlines() if line.strip()
    )


def _run(body: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A section's body as ``/bin/sh`` runs it in the container (``$@`` = args)."""
    return subprocess.run(
        ["sh", "-c", body, "sh", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def container_env(tmp_path: Path) -> dict[str, str]:
    """The venv's sregistry first on PATH, an empty HOME, nothing configured."""
    home = tmp_path / "container-home"
    home.mkdir()
    return {
        "PATH": os.pathsep.join([VENV_BIN, os.environ.get("PATH", os.defpath)]),
        "HOME": str(home),
        "LC_ALL": "C.UTF-8",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }


def test_has_the_sections_a_client_container_needs() -> None:
    assert HEADER["Bootstrap"] == "docker"
    assert HEADER["From"].startswith("python:3.")
    assert {"labels", "help", "files", "post", "runscript", "test"} <= set(SECTIONS)
    assert "apptainer run" in SECTIONS["help"]


def test_version_label_is_the_package_version() -> None:
    assert _labels()["org.opencontainers.image.version"] == sregistry.__version__


def test_files_exist_and_are_what_pip_install_needs() -> None:
    files = _files()
    for source, _ in files:
        assert (REPO / source).exists(), f"%files names a missing path: {source}"
    copied = dict(files)
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = {"pyproject.toml", "sregistry", pyproject["project"]["readme"]}
    assert needed <= set(copied), f"%files lacks {needed - set(copied)}"
    source_dir = Path(copied["pyproject.toml"]).parent
    assert all(Path(copied[name]).parent == source_dir for name in needed)
    install = re.search(r"pip install[^\n]*'([^'\[]+)(\[[^\]]*\])?'", SECTIONS["post"])
    assert install is not None, SECTIONS["post"]
    assert Path(install.group(1)) == source_dir, SECTIONS["post"]
    extras = (install.group(2) or "[]").strip("[]").split(",")
    assert all(e in pyproject["project"]["optional-dependencies"] for e in extras if e)


def test_the_image_test_uses_is_copied_in() -> None:
    default = re.search(r"SREGISTRY_TEST_IMAGE:-([^}\"]+)", SECTIONS["test"])
    assert default is not None
    destinations = {destination: source for source, destination in _files()}
    assert destinations.get(default.group(1)) == "examples/hello-world.sif"


def test_runscript_passes_its_arguments_to_sregistry(container_env: dict[str, str]) -> None:
    done = _run(SECTIONS["runscript"], "--version", env=container_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"sregistry, version {sregistry.__version__}"
    labels = ("inspect", "--native", "--labels", str(EXAMPLE_SIF))
    done = _run(SECTIONS["runscript"], *labels, env=container_env)
    assert done.returncode == 0, done.stderr
    assert "org.opencontainers.image.title\thello-world" in done.stdout
    done = _run(SECTIONS["runscript"], "pull", "no/such:image", env=container_env)
    assert done.returncode == 3, done.stderr


@pytest.mark.skipif(shutil.which("cmp") is None, reason="cmp is not installed")
def test_test_section_passes_and_leaves_nothing(container_env: dict[str, str]) -> None:
    env = {**container_env, "SREGISTRY_TEST_IMAGE": str(EXAMPLE_SIF)}
    done = _run(SECTIONS["test"], env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "sregistry container: ok"
    assert list(Path(env["HOME"]).iterdir()) == []


def test_test_section_fails_on_a_broken_image(
    container_env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.sif"
    broken.write_bytes(b"not a SIF image")
    done = _run(SECTIONS["test"], env={**container_env, "SREGISTRY_TEST_IMAGE": str(broken)})
    assert done.returncode != 0
    assert "sregistry container: ok" not in done.stdout
