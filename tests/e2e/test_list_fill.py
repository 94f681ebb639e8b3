"""``list --runscript/--labels`` on a server that keeps no metadata: read from the images,
said so in --json, and cached by sha256 so the second run reads no image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sregistry.metadata import inspect_native
from tests.e2e.conftest import Registry, cli

pytestmark = pytest.mark.e2e

FIXTURES = [
    "real/busybox_amd64.sif",
    "busybox-like.sif",
    "runscript-only.sif",
    "with-descriptors.sif",
]
IMAGE_ROUTES = r"/download|^/api/container/lab/"
"""The pull manifest and the image file: what reading an image costs."""


@pytest.fixture
def no_metadata(registry: Registry, fixtures_dir: Path, tmp_path: Path) -> Registry:
    """A collection whose images the server stored without metadata (as the real server does)."""
    for fixture in FIXTURES:
        name = Path(fixture).stem.replace("_", "-")
        registry.server.add_image("lab", name, "v1", fixtures_dir / fixture, owner="vsoch")
    return registry


def test_list_reads_scripts_and_labels_from_the_images_once(
    no_metadata: Registry,
    as_vsoch: Registry,
    fixtures_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SREGISTRY_STORAGE", str(tmp_path / "store"))
    no_metadata.server.clear_requests()
    first = cli("list", "lab", "--runscript", "--labels", "--json")
    assert first.exit_code == 0, first.stderr
    found = {item["uri"]: item for item in json.loads(first.stdout)}
    assert no_metadata.server.requests(IMAGE_ROUTES) != []
    for fixture in FIXTURES:
        expected = inspect_native(fixtures_dir / fixture).attributes
        item = found[f"lab/{Path(fixture).stem.replace('_', '-')}:v1"]
        assert item["metadata_source"] == "image"
        assert item["runscript"] == expected["runscript"]
        labels = expected.get("labels")
        assert item["labels"] == (
            "\n".join(f"{k}: {v}" for k, v in sorted(labels.items())) if labels else None
        )
    busybox = found["lab/busybox-amd64:v1"]
    assert "OCI_ENTRYPOINT" in busybox["runscript"]
    assert "org.label-schema.usage.singularity.version: 3.8.1" in busybox["labels"]

    no_metadata.server.clear_requests()
    second = cli("list", "lab", "--runscript", "--labels", "--json")
    assert second.exit_code == 0, second.stderr
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert no_metadata.server.requests(IMAGE_ROUTES) == [], "served from the metadata cache"


def test_list_text_shows_what_the_images_hold(
    no_metadata: Registry, as_vsoch: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_DISABLE", "1")  # no cache: read every time
    result = cli("list", "lab/runscript-only", "-r", "-t")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        "== lab/runscript-only:v1 ==\n%runscript\n#!/bin/sh\n\n"
        'exec /bin/sh -c "echo runscript-only fixture; $*"\n'
    )
    assert "%test\n(no test)\n" in result.stdout
    assert not (tmp_path / "store").exists()


def test_labels_are_read_from_the_images_once(
    no_metadata: Registry, as_vsoch: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_STORAGE", str(tmp_path / "store"))
    no_metadata.server.clear_requests()
    first = cli("labels", "--json")
    assert first.exit_code == 0, first.stderr
    assert "the server keeps no labels: read from its first 4 images" in first.stderr
    found = {(item["key"], item["value"]): item["containers"] for item in json.loads(first.stdout)}
    assert found[("org.label-schema.usage.singularity.version", "3.8.1")] == [
        "lab/busybox-amd64:v1"
    ]
    assert no_metadata.server.requests(IMAGE_ROUTES) != []
    no_metadata.server.clear_requests()
    again = cli("labels", "--key", "org.label-schema.usage.singularity.version", "--json")
    assert again.exit_code == 0, again.stderr
    assert [item["value"] for item in json.loads(again.stdout)] == ["3.8.1"]
    assert no_metadata.server.requests(IMAGE_ROUTES) == [], "served from the metadata cache"
    missing = cli("labels", "--key", "no-such-key")
    assert missing.exit_code == 3
