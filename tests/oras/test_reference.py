"""``oras://`` references: registry detection, Docker Hub defaults, the HTTP rule."""

from __future__ import annotations

import pytest

from sregistry.errors import InvalidName
from sregistry.main.oras.reference import (
    OrasReference,
    parse_reference,
    parse_registry,
    plain_http,
)

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oras://127.0.0.1:5000/alice/img:1", ("127.0.0.1:5000", "alice/img", "1", None)),
        ("oras://ghcr.io/org/team/img", ("ghcr.io", "org/team/img", "latest", None)),
        ("ghcr.io/org/img:v1.2_3", ("ghcr.io", "org/img", "v1.2_3", None)),
        ("oras://alpine", ("index.docker.io", "library/alpine", "latest", None)),
        ("oras://someone/img:2", ("index.docker.io", "someone/img", "2", None)),
        ("oras://docker.io/x/y:z", ("index.docker.io", "x/y", "z", None)),
        ("oras://localhost/a", ("localhost", "a", "latest", None)),
        ("oras://LOCALHOST:5000/a", ("localhost:5000", "a", "latest", None)),
        (f"oras://h.io/a@{DIGEST}", ("h.io", "a", None, DIGEST)),
        (f"oras://h.io/a:t@{DIGEST}", ("h.io", "a", "t", DIGEST)),
        ("oras://[::1]:5000/a/b_c__d-e.f", ("[::1]:5000", "a/b_c__d-e.f", "latest", None)),
    ],
)
def test_parse(text: str, expected: tuple[str, str, str | None, str | None]) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected


def test_reference_is_digest_first_and_str_round_trips() -> None:
    ref = parse_reference(f"oras://h.io/a:t@{DIGEST}")
    assert ref.reference == DIGEST
    assert str(ref) == f"oras://h.io/a:t@{DIGEST}"
    assert parse_reference(str(ref)) == ref
    assert parse_reference("oras://h.io/a").reference == "latest"
    assert parse_reference("oras://h.io/a", default_tag=False).tag is None


@pytest.mark.parametrize(
    "text",
    [
        "oras://",
        "library://a/b:c",
        "oras://h.io/Alice/img",
        "oras://h.io/a//b",
        "oras://h.io/a-/b",
        "oras://h.io/a:-bad",
        "oras://h.io/a:" + "t" * 129,
        "oras://h.io/a@sha256:abc",
        "oras://h.io/a@md5:" + "0" * 32,
        "oras://h.io:99999/a",
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidName):
        parse_reference(text)


@pytest.mark.parametrize(
    ("registry", "http"),
    [
        ("localhost:5000", True),
        ("localhost", True),
        ("127.0.0.1:5000", True),
        ("127.0.0.2", True),
        ("[::1]:5000", True),
        ("10.1.2.3:5000", True),
        ("172.16.0.1", True),
        ("172.31.255.255:80", True),
        ("172.32.0.1", False),
        ("192.168.1.10:5000", True),
        ("registry.local:5000", True),
        ("8.8.8.8", False),
        ("ghcr.io", False),
        ("index.docker.io", False),
        ("local.example.com", False),
    ],
)
def test_plain_http_rule(registry: str, http: bool) -> None:
    assert plain_http(registry) is http
    expected = ("http://" if http else "https://") + registry
    assert OrasReference(registry, "a/b").base_url() == expected


def test_insecure_http_forces_http() -> None:
    assert OrasReference("ghcr.io", "a").base_url(insecure_http=True) == "http://ghcr.io"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oras://127.0.0.1:5000", "127.0.0.1:5000"),
        ("oras://ghcr.io/", "ghcr.io"),
        ("oras://docker.io", "index.docker.io"),
        ("oras://ghcr.io/a", None),
        ("oras://alpine", None),
        ("ghcr.io", None),
    ],
)
def test_parse_registry(text: str, expected: str | None) -> None:
    assert parse_registry(text) == expected
