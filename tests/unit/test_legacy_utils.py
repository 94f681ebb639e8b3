"""sregistry.utils keeps what Singularity Registry Server relies on (legacy-client.md §9, §13)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from sregistry.errors import InvalidName
from sregistry.utils import get_file_hash, parse_image_name, read_json

# input, kwargs -> collection, image, tag, version, registry, uri (legacy-client.md §9 table)
TABLE = [
    ("ubuntu", {}, ("library", "ubuntu", "latest", None, None, "library/ubuntu:latest")),
    ("vsoch/hello:v1", {}, ("vsoch", "hello", "v1", None, None, "vsoch/hello:v1")),
    (
        "VSOCH/Hello-World:V1@ABC123",
        {},
        ("vsoch", "hello-world", "v1", "abc123", None, "vsoch/hello-world:v1@abc123"),
    ),
    ("vsoch/hello.simg", {}, ("vsoch", "hello", "latest", None, None, "vsoch/hello:latest")),
    (
        "localhost:5000/hello",
        {},
        (
            "library",
            "hello",
            "latest",
            None,
            "localhost:5000",
            "localhost:5000/library/hello:latest",
        ),
    ),
    (
        "127.0.0.1:18765/vsoch/hello:v1",
        {},
        ("vsoch", "hello", "v1", None, "127.0.0.1:18765", "127.0.0.1:18765/vsoch/hello:v1"),
    ),
    ("a/b/c", {}, ("b", "c", "latest", None, "a", "a/b/c:latest")),
    ("a/b/c/d", {}, ("b/c", "d", "latest", None, "a", "a/b/c/d:latest")),
    (
        "hello:v1",
        {"version": "abc123"},
        ("library", "hello", "v1", "abc123", None, "library/hello:v1@abc123"),
    ),
]


@pytest.mark.parametrize(("text", "kwargs", "expected"), TABLE)
def test_parse_image_name_table(
    text: str, kwargs: dict[str, Any], expected: tuple[object, ...]
) -> None:
    result = parse_image_name(text, **kwargs)
    got = tuple(result[key] for key in ("collection", "image", "tag", "version", "registry", "uri"))
    assert got == expected
    assert result["original"] == text
    assert result["storage"] == result["uri"] + ".sif"


def test_url_keeps_registry_for_library_views() -> None:
    # the server's library views treat the registry as the entity and strip it from url
    result = parse_image_name("alice/demo/hello:v1")
    assert result["registry"] == "alice"
    assert result["url"] == "alice/demo/hello"
    assert parse_image_name("hello:v1")["url"] == "library/hello"


def test_upload_storage_name() -> None:
    result = parse_image_name("Busybox:Latest", version="D41D8CD98F00B204E9800998ECF8427E")
    assert Path(result["storage"]).name == "busybox:latest@d41d8cd98f00b204e9800998ecf8427e.sif"


def test_extension_stripped_only_as_suffix() -> None:
    assert parse_image_name("registry.sifive.com/lab/img:1")["registry"] == "registry.sifive.com"
    assert parse_image_name("lab/img.sif-utils:1")["image"] == "img.sif-utils"
    assert parse_image_name("lab/img.sif:1")["image"] == "img"


def test_no_defaults_gives_none_instead_of_crashing() -> None:
    result = parse_image_name("vsoch/hello", defaults=False)
    assert (result["collection"], result["tag"]) == ("vsoch", None)
    assert parse_image_name("hello", defaults=False)["collection"] is None


def test_returns_fresh_mutable_dicts() -> None:
    first = parse_image_name("a/b")
    first["tag"] = "changed"
    assert parse_image_name("a/b")["tag"] == "latest"


def test_unparsable_raises_value_error() -> None:
    with pytest.raises(InvalidName):
        parse_image_name("a/b:c:d")
    with pytest.raises(ValueError, match="could not parse"):
        parse_image_name("")


def test_get_file_hash(tmp_path: Path) -> None:
    data = b"sregistry" * 100_000
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert get_file_hash(path) == hashlib.sha256(data).hexdigest()
    assert get_file_hash(str(path), "md5") == hashlib.md5(data).hexdigest()
    with pytest.raises(ValueError, match="not a known hash algorithm"):
        get_file_hash(path, "nosuchhash")


def test_read_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"a": [1, 2]}))
    assert read_json(path) == {"a": [1, 2]}
