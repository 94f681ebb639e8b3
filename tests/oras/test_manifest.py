"""The Apptainer manifest: what is written, what is accepted."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from sregistry.errors import NotFound, ServerError
from sregistry.main.oras.artifact import created_from_labels
from sregistry.main.oras.manifest import (
    Index,
    SifManifest,
    build_manifest,
    parse_manifest,
    select_platform,
)

LAYER = "sha256:" + "1f" * 32
OTHER = "sha256:" + "2e" * 32


def test_empty_config_digest_is_that_of_two_bytes() -> None:
    assert hashlib.sha256(b"{}").hexdigest() == (
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )


def test_built_manifest_has_exactly_apptainers_fields() -> None:
    data = build_manifest(
        layer_digest=LAYER, layer_size=123, title="img.sif", created="2026-01-02T03:04:05Z"
    )
    assert json.loads(data) == {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.sylabs.sif.config.v1+json",
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.sylabs.sif.layer.v1.sif",
                "digest": LAYER,
                "size": 123,
                "annotations": {"org.opencontainers.image.title": "img.sif"},
            }
        ],
        "annotations": {"org.opencontainers.image.created": "2026-01-02T03:04:05Z"},
    }


def test_user_annotations_join_created() -> None:
    data = build_manifest(
        layer_digest=LAYER, layer_size=1, title="a", created=None, annotations={"k": "v"}
    )
    assert json.loads(data)["annotations"] == {"k": "v"}


def _manifest(layers: list[dict[str, Any]], **extra: Any) -> bytes:
    document = {
        "schemaVersion": 2,
        "config": {"mediaType": "whatever/old", "digest": OTHER, "size": 2},
        "layers": layers,
        **extra,
    }
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "media_type",
    ["application/vnd.sylabs.sif.layer.v1.sif", "appliciation/vnd.sylabs.sif.layer.tar"],
)
def test_current_and_historical_layer_types_are_accepted(media_type: str) -> None:
    data = _manifest([{"mediaType": media_type, "digest": LAYER, "size": 9}])
    parsed = parse_manifest(data, "application/vnd.oci.image.manifest.v1+json", where="x")
    assert isinstance(parsed, SifManifest)
    assert (parsed.layer.digest, parsed.layer.size, parsed.layer.media_type) == (
        LAYER,
        9,
        media_type,
    )


@pytest.mark.parametrize(
    "layers",
    [
        [],
        [{"mediaType": "application/vnd.sylabs.sif.layer.v1.sif", "digest": LAYER, "size": 1}] * 2,
        [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": LAYER, "size": 1}],
    ],
)
def test_non_sif_manifests_are_refused(layers: list[dict[str, Any]]) -> None:
    with pytest.raises(ServerError, match="is not a SIF image"):
        parse_manifest(_manifest(layers), None, where="x")


def test_malformed_descriptor_is_refused() -> None:
    data = _manifest(
        [{"mediaType": "application/vnd.sylabs.sif.layer.v1.sif", "digest": "md5:1", "size": 1}]
    )
    with pytest.raises(ServerError, match="not a sha256 digest"):
        parse_manifest(data, None, where="x")


def test_index_selects_by_architecture() -> None:
    arm = "sha256:" + "a" * 64
    amd = "sha256:" + "b" * 64
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": amd,
                    "size": 10,
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": arm,
                    "size": 11,
                    "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                },
            ],
        }
    ).encode()
    parsed = parse_manifest(index, "application/vnd.oci.image.index.v1+json", where="x")
    assert isinstance(parsed, Index)
    assert select_platform(parsed, "arm64", where="x").digest == arm
    assert select_platform(parsed, "arm64/v8", where="x").digest == arm
    assert select_platform(parsed, "amd64", where="x").digest == amd
    with pytest.raises(NotFound, match="linux/s390x") as caught:
        select_platform(parsed, "s390x", where="x")
    assert caught.value.hint is not None
    assert "linux/amd64, linux/arm64" in caught.value.hint


@pytest.mark.parametrize(
    ("label", "created"),
    [
        ("Thursday_4_January_2024_10:53:26_UTC", "2024-01-04T10:53:26Z"),
        ("Monday_15_April_2024_9:5:7_UTC", "2024-04-15T09:05:07Z"),
        ("2024-04-15T12:34:56Z", "2024-04-15T12:34:56Z"),
        ("2024-04-15T14:34:56+02:00", "2024-04-15T12:34:56Z"),
        ("2024-04-15T12:34:56", None),  # no zone: unknown instant
        ("Monday_15_Avril_2024_9:5:7_UTC", None),
        ("Monday_31_February_2024_9:5:7_UTC", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_created_from_build_date_label(label: str, created: str | None) -> None:
    assert created_from_labels({"org.label-schema.build-date": label}) == created
    assert created_from_labels({}) is None
