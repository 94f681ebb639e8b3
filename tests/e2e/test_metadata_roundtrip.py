"""A pushed SIF's own metadata comes back from the registry (issue 4, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sregistry.main.registry.client import RegistryClient
from tests.e2e.conftest import Registry, cli

pytestmark = pytest.mark.e2e

NAME = "fixtures/with-descriptors:v1"


def test_push_sends_the_images_metadata(as_vsoch: Registry, fixtures_dir: Path) -> None:
    pushed = cli("push", str(fixtures_dir / "with-descriptors.sif"), "--name", NAME)
    assert pushed.exit_code == 0, pushed.stderr
    if as_vsoch.server.quirks.drop_metadata:  # sregistry 2.1.2 drops it (item 2): say so once
        warnings = [line for line in pushed.stderr.splitlines() if line.startswith("warning")]
        assert warnings == [
            "warning: the registry did not keep the image's metadata (labels, scripts, "
            "definition file): `list` and `labels` read them from the image instead"
        ]
        # issue 14: read from the image itself, since the server kept nothing
        labels = cli("labels", "--key", "maintainer", "--json")
        assert labels.exit_code == 0, labels.stderr
        assert [item["value"] for item in json.loads(labels.stdout)] == [
            '"Fixture Maintainer <fixtures@example.invalid>"'
        ]
        shown = cli("list", NAME, "--runscript", "--json")
        assert json.loads(shown.stdout)[0]["metadata_source"] == "image"
        return
    assert "warning" not in pushed.stderr

    shown = cli("list", NAME, "--env", "--runscript", "--test", "--deffile")
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    assert text.startswith(f"== {NAME} ==\n%environment\n")
    assert "# /.singularity.d/env/90-environment.sh\n" in text
    assert 'export FIXTURE_NAME="with-descriptors"' in text
    assert '%runscript\n#!/bin/sh\n\necho "runscript of with-descriptors"\n' in text
    assert "%test\n#!/bin/sh\n\ntest -f /.singularity.d/labels.json\n" in text
    assert "%deffile\nBootstrap: localimage\nFrom: busybox-like.sif\n" in text

    labels = cli("labels", "--key", "maintainer", "--json")
    assert labels.exit_code == 0, labels.stderr
    assert json.loads(labels.stdout) == [
        {
            "key": "MAINTAINER",
            "value": '"Fixture Maintainer <fixtures@example.invalid>"',
            "containers": [NAME],
        }
    ]


def test_library_push_reports_metadata(
    registry: Registry, client: RegistryClient, fixtures_dir: Path
) -> None:
    result = client.push(fixtures_dir / "busybox-like.sif", "fixtures/busybox-like")
    assert result.metadata_sent
    info = client.get("fixtures/busybox-like")
    if registry.server.quirks.drop_metadata:  # sregistry 2.1.2 (item 2)
        assert info.metadata == {}
        assert sum("did not keep the image's metadata" in w for w in result.warnings) == 1
    else:
        assert info.metadata["labels"]["FIXTURE"] == "a"
        assert "runscript" in info.metadata
    row = registry.server.container("fixtures", "busybox-like", "latest")
    assert row is not None
    assert row["arch"] == (None if registry.server.quirks.drop_metadata else "amd64")


def test_unreadable_metadata_never_blocks_a_push(client: RegistryClient, image: Path) -> None:
    result = client.push(image, "dinosaur/not-a-sif")
    assert not result.metadata_sent
    assert any(warning.startswith("image metadata was not sent") for warning in result.warnings)
