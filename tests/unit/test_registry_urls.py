"""Registry URLs are built by parsing, not by string surgery (legacy weakness #7)."""

from __future__ import annotations

import pytest

from sregistry.credentials import registry_base
from sregistry.errors import ConfigError, InvalidName, ServerError
from sregistry.main.registry.queries import QueryKind, parse_query
from sregistry.main.registry.urls import RegistryUrls
from sregistry.names import parse


@pytest.mark.parametrize(
    ("base", "root"),
    [
        ("https://reg.example.org", "https://reg.example.org"),
        ("https://reg.example.org/", "https://reg.example.org"),
        ("https://reg.example.org/api", "https://reg.example.org"),
        ("https://reg.example.org/api/", "https://reg.example.org"),
        ("https://api.example.org/api", "https://api.example.org"),  # legacy: https:/.example.org
        ("https://example.org/sreg/api", "https://example.org/sreg"),
        ("https://example.org/myapi", "https://example.org/myapi"),
        ("HTTPS://Reg.Example.ORG:443/", "https://reg.example.org"),
        ("reg.example.org:8000", "https://reg.example.org:8000"),
    ],
)
def test_root_url(base: str, root: str) -> None:
    assert str(registry_base(base)) == root


def test_nohttps_applies_only_without_a_scheme() -> None:
    assert str(registry_base("127.0.0.1:8000", nohttps=True)) == "http://127.0.0.1:8000"
    assert str(registry_base("https://host", nohttps=True)) == "https://host"


@pytest.mark.parametrize(
    "base", ["", "ftp://host", "https://user:pw@host", "https://host/?x=1", "https://"]
)
def test_bad_bases(base: str) -> None:
    with pytest.raises(ConfigError) as caught:
        registry_base(base)
    assert "pw" not in caught.value.message


def test_api_and_upload_urls() -> None:
    urls = RegistryUrls("https://api.example.org/sreg")
    assert urls.push_start() == "https://api.example.org/sreg/api/upload/chunked_upload"
    assert urls.upload() == "https://api.example.org/sreg/upload"
    ref = parse("dinosaur/avocado:delicious@sha256.abc")
    assert urls.container(ref) == (
        "https://api.example.org/sreg/api/container/dinosaur/avocado:delicious"
    )
    assert urls.containers() == "https://api.example.org/sreg/api/containers/"
    assert urls.search(collection=None, name="avocado", tag=None).endswith(
        "/api/container/search/name/avocado"
    )
    assert urls.search(collection="dinosaur", name="avocado", tag="delicious").endswith(
        "/api/container/search/collection/dinosaur/name/avocado/tag/delicious"
    )
    assert urls.labels().endswith("/api/labels/search")
    assert urls.labels("maintainer").endswith("/api/labels/search/maintainer/key")
    assert urls.labels(value="x y").endswith("/api/labels/search/x%20y/value")
    assert urls.labels("k", "a/b").endswith("/api/labels/search/k/key/a%2Fb/value")


def test_pagination_links_stay_on_our_origin() -> None:
    urls = RegistryUrls("https://reg.example.org")
    assert (
        urls.follow("http://10.0.0.5:8000/api/containers/?limit=10&offset=10")
        == "https://reg.example.org/api/containers/?limit=10&offset=10"
    )
    with pytest.raises(ServerError, match="outside"):
        urls.follow("https://evil.example.com/steal")


def test_download_urls_are_moved_onto_our_origin() -> None:
    urls = RegistryUrls("https://reg.example.org")
    assert (
        urls.rebase_download("http://127.0.0.1/containers/7/download/a-b-c")
        == "https://reg.example.org/containers/7/download/a-b-c"
    )
    assert urls.rebase_download("https://cdn.example/x.sif") == "https://cdn.example/x.sif"


@pytest.mark.parametrize(
    ("query", "kind", "collection", "name", "tag"),
    [
        (None, QueryKind.ALL, None, None, None),
        ("*", QueryKind.ALL, None, None, None),
        ("dinosaur", QueryKind.COLLECTION, "dinosaur", None, None),
        ("dinosaur/", QueryKind.COLLECTION, "dinosaur", None, None),
        ("My_Coll", QueryKind.COLLECTION, "my-coll", None, None),
        ("/avocado", QueryKind.NAME, None, "avocado", None),
        ("/avocado:Delicious", QueryKind.NAME, None, "avocado", "delicious"),
        ("avocado:delicious", QueryKind.NAME, None, "avocado", "delicious"),
        ("dinosaur/avocado", QueryKind.CONTAINER, "dinosaur", "avocado", None),
        ("dinosaur/avocado:delicious", QueryKind.CONTAINER, "dinosaur", "avocado", "delicious"),
    ],
)
def test_query_forms(
    query: str | None, kind: QueryKind, collection: str | None, name: str | None, tag: str | None
) -> None:
    parsed = parse_query(query)
    assert (parsed.kind, parsed.collection, parsed.name, parsed.tag) == (
        kind,
        collection,
        name,
        tag,
    )


@pytest.mark.parametrize("query", ["dinosaur/avocado@abc", "/", "a//b", "---"])
def test_bad_queries(query: str) -> None:
    with pytest.raises(InvalidName):
        parse_query(query)
