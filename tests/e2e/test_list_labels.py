"""``list`` (every query form, every page, metadata sections) and ``labels`` end to end."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from sregistry.main.registry.client import RegistryClient
from tests.e2e.conftest import Registry, cli

pytestmark = pytest.mark.e2e

ATTRIBUTES = {
    "labels": {"maintainer": "vsoch", "fruit": "avocado"},
    "runscript": "#!/bin/sh\n\nexec echo avocado\n",
    "test": "#!/bin/sh\n\ntest -x /bin/sh\n",
    "environment": {
        "/.singularity.d/env/10-docker2singularity.sh": "#!/bin/sh\nexport PATH=/bin",
        "/.singularity.d/env/90-environment.sh": "#!/bin/sh\nexport GREETING=hola\n",
    },
    "deffile": "Bootstrap: docker\nFrom: busybox\n",
}
IMAGES = [
    ("dinosaur", "avocado", "delicious"),
    ("dinosaur", "avocado", "ripe"),
    ("dinosaur", "banana", "latest"),
    ("fruit", "avocado", "latest"),
]


@pytest.fixture
def filled(registry: Registry) -> Registry:
    for collection, name, tag in IMAGES:
        registry.server.add_image(
            collection,
            name,
            tag,
            f"{collection}/{name}:{tag}".encode(),
            owner="vsoch",
            metadata={"data": {"attributes": ATTRIBUTES}, "type": "container"}
            if (name, tag) == ("avocado", "delicious")
            else None,
        )
    return registry


def uris(result_stdout: str) -> set[str]:
    return {item["uri"] for item in json.loads(result_stdout)}


def test_every_page_is_followed(registry: Registry, client: RegistryClient) -> None:
    for number in range(105):
        registry.server.add_image("many", f"image{number:03d}", "latest", b"x", owner="vsoch")
    registry.server.clear_requests()
    images = client.search()
    assert len(images) == 105
    assert len({image.uri for image in images}) == 105
    pages = registry.server.requests(r"^/api/containers/$")
    assert [page["query"] for page in pages] == ["limit=100", "limit=200&offset=100"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (None, {f"{c}/{n}:{t}" for c, n, t in IMAGES}),
        (
            "dinosaur",
            {"dinosaur/avocado:delicious", "dinosaur/avocado:ripe", "dinosaur/banana:latest"},
        ),
        (
            "/avocado",
            {"dinosaur/avocado:delicious", "dinosaur/avocado:ripe", "fruit/avocado:latest"},
        ),
        ("/avocado:ripe", {"dinosaur/avocado:ripe"}),
        ("dinosaur/avocado", {"dinosaur/avocado:delicious", "dinosaur/avocado:ripe"}),
        ("dinosaur/avocado:delicious", {"dinosaur/avocado:delicious"}),
        ("Dinosaur/Avocado:Delicious", {"dinosaur/avocado:delicious"}),
    ],
)
def test_cli_list_forms(
    filled: Registry, as_vsoch: Registry, query: str | None, expected: set[str]
) -> None:
    result = cli("list", *([query] if query else []), "--json")
    assert result.exit_code == 0, result.stderr
    assert uris(result.stdout) == expected


def test_cli_list_table(filled: Registry, as_vsoch: Registry) -> None:
    result = cli("list", "dinosaur/avocado")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    # the server's add_date is when it last saved the record, not a creation time (issue 11.5)
    assert lines[0].split("\t") == ["image", "version", "frozen", "updated"]
    assert {line.split("\t")[0] for line in lines[1:]} == {
        "dinosaur/avocado:delicious",
        "dinosaur/avocado:ripe",
    }
    assert all(line.split("\t")[1].startswith("sha256.") for line in lines[1:])


def test_cli_list_collection_has_versions_without_pulls(
    filled: Registry, as_vsoch: Registry
) -> None:
    """The collection view names containers only; the listing still shows each one's version
    and date, and its metadata sections, without a pull manifest (which counts toward the
    registry's weekly pull limit)."""
    filled.server.clear_requests()
    result = cli("list", "dinosaur", "--json")
    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)
    assert len(items) == 3
    versions = {item["uri"]: item["version"] for item in items}
    for collection, name, tag in IMAGES[:3]:
        uri = f"{collection}/{name}:{tag}"  # the bytes the fixture stored
        assert versions[uri] == f"sha256.{hashlib.sha256(uri.encode()).hexdigest()}"
    assert all(item["updated"] and item["created"] is None for item in items)
    filled.server.clear_requests()
    sections = cli("list", "dinosaur", "--runscript", "--json")
    assert sections.exit_code == 0, sections.stderr
    assert filled.server.requests(r"^/api/container/dinosaur/") == []


def test_listing_a_big_collection_takes_a_bounded_number_of_requests(
    registry: Registry, client: RegistryClient
) -> None:
    """300 containers of distinct names: not a search per name (1 + 300 requests) but the
    collection view and a few pages of the container list, each page twice the last."""
    for number in range(300):
        registry.server.add_image("big", f"image{number:03d}", "v1", b"big", owner="vsoch")
    registry.server.add_image("other", "image000", "v1", b"other", owner="vsoch")
    registry.server.clear_requests()
    images = client.search("big")
    assert len(registry.server.requests()) == 4  # view, then pages of 100, 200 and 400
    assert sorted(image.uri for image in images) == [f"big/image{n:03d}:v1" for n in range(300)]
    version = f"sha256.{hashlib.sha256(b'big').hexdigest()}"
    assert {image.version for image in images} == {version}  # details, not the view's names
    assert all(image.updated for image in images)


def test_a_small_collection_in_a_big_registry_is_searched_by_name(
    registry: Registry, client: RegistryClient
) -> None:
    """Three names among 1,003 containers: three searches, not three more pages after the first
    (pages of 200, 400 and 800 rows)."""
    for number in range(1000):
        registry.server.add_image("big", f"image{number:03d}", "v1", b"big", owner="vsoch")
    for name in ("a", "b", "c"):
        registry.server.add_image("small", name, "v1", name.encode(), owner="vsoch")
    registry.server.clear_requests()
    images = client.search("small")
    assert sorted(image.uri for image in images) == ["small/a:v1", "small/b:v1", "small/c:v1"]
    assert all(image.version for image in images)
    searches = registry.server.requests(r"^/api/container/search/collection/small/")
    assert len(searches) == 3
    assert len(registry.server.requests()) == 5  # the view, one page, three searches


def test_cli_list_json_fields(filled: Registry, as_vsoch: Registry) -> None:
    result = cli("list", "dinosaur/avocado:delicious", "--json")
    (item,) = json.loads(result.stdout)
    assert item["collection"] == "dinosaur"
    assert item["version"].startswith("sha256.")
    assert item["frozen"] is False
    assert item["location"] == filled.url


def test_cli_list_no_match_exits_3(filled: Registry, as_vsoch: Registry) -> None:
    for query in ("nothing", "/nothing", "dinosaur/nothing", "dinosaur/avocado:rotten"):
        result = cli("list", query)
        assert result.exit_code == 3, (query, result.stderr)
        assert f"error: no images match {query!r}" in result.stderr


def test_private_collections_are_not_listed(filled: Registry, as_vsoch: Registry) -> None:
    filled.server.set_private("fruit")
    result = cli("list", "--json")
    assert "fruit/avocado:latest" not in uris(result.stdout)


def test_cli_list_metadata_sections(filled: Registry, as_vsoch: Registry) -> None:
    result = cli("list", "dinosaur/avocado:delicious", "-e", "-r", "-t", "-d")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith("== dinosaur/avocado:delicious ==\n%environment\n")
    assert "# /.singularity.d/env/90-environment.sh\n#!/bin/sh\nexport GREETING=hola" in text
    assert "%runscript\n#!/bin/sh\n\nexec echo avocado\n" in text
    assert "%test\n#!/bin/sh\n\ntest -x /bin/sh\n" in text
    assert "%deffile\nBootstrap: docker\nFrom: busybox\n" in text


def test_cli_list_metadata_json_and_missing_sections(filled: Registry, as_vsoch: Registry) -> None:
    result = cli("list", "dinosaur", "--runscript", "--deffile", "--json")
    assert result.exit_code == 0, result.stderr
    found = {item["uri"]: item for item in json.loads(result.stdout)}
    assert found["dinosaur/avocado:delicious"]["runscript"] == ATTRIBUTES["runscript"]
    assert found["dinosaur/avocado:delicious"]["deffile"] == ATTRIBUTES["deffile"]
    assert found["dinosaur/banana:latest"] == {
        "uri": "dinosaur/banana:latest",
        "runscript": None,
        "deffile": None,
        "metadata_source": "server",  # the server keeps metadata; banana has none
    }
    assert found["dinosaur/avocado:delicious"]["metadata_source"] == "server"
    text = cli("list", "dinosaur/banana", "--test")
    assert "%test\n(no test)\n" in text.stdout


def test_cli_labels(filled: Registry, as_vsoch: Registry) -> None:
    everything = cli("labels", "--json")
    assert everything.exit_code == 0, everything.stderr
    assert {(item["key"], item["value"]) for item in json.loads(everything.stdout)} == {
        ("maintainer", "vsoch"),
        ("fruit", "avocado"),
    }
    for args in (
        ["--key", "maintainer"],
        ["--value", "vsoch"],
        ["-k", "maintainer", "-v", "vsoch"],
    ):
        result = cli("labels", *args, "--json")
        assert json.loads(result.stdout) == [
            {"key": "maintainer", "value": "vsoch", "containers": ["dinosaur/avocado:delicious"]}
        ], args
    table = cli("labels", "--key", "fruit")
    assert table.stdout.splitlines() == [
        "key\tvalue\timages",
        "fruit\tavocado\tdinosaur/avocado:delicious",
    ]
    none = cli("labels", "--key", "absent")
    assert none.exit_code == 3
    assert none.stdout == ""
    assert "error: no labels match key 'absent'" in none.stderr
    none_json = cli("labels", "--key", "maintainer", "--value", "nobody", "--json")
    assert none_json.exit_code == 3
    assert json.loads(none_json.stdout) == []
    assert "error: no labels match key 'maintainer' and value 'nobody'" in none_json.stderr


def test_labels_name_a_frozen_tag_as_list_does(filled: Registry, as_vsoch: Registry) -> None:
    """The server's label search names a frozen container by its version; labels
    shows the tag, the name list (and pull) use."""
    filled.server.freeze("dinosaur", "avocado", "delicious")
    listed = uris(cli("list", "dinosaur/avocado", "--json").stdout)
    assert "dinosaur/avocado:delicious" in listed
    for args in (["--key", "maintainer"], []):
        result = cli("labels", *args, "--json")
        assert result.exit_code == 0, result.stderr
        for item in json.loads(result.stdout):
            assert item["containers"] == ["dinosaur/avocado:delicious"], item
    table = cli("labels", "--key", "fruit")
    assert table.stdout.splitlines()[1:] == ["fruit\tavocado\tdinosaur/avocado:delicious"]


def test_nothing_to_list_is_not_an_error(registry: Registry, as_vsoch: Registry) -> None:
    """Without a filter an empty answer exits 0; with one, 3 (see docs/exit-codes.md)."""
    for command in ("list", "labels"):
        empty = cli(command)
        assert (empty.exit_code, empty.stdout) == (0, ""), empty.stderr
        assert cli(command, "--json").stdout.strip() == "[]"
    assert cli("list", "dinosaur").exit_code == 3
    assert cli("labels", "--value", "x").exit_code == 3


def test_a_pull_rewrites_the_date_so_it_is_never_called_created(
    filled: Registry, as_vsoch: Registry, tmp_path: Path
) -> None:
    """Singularity Registry Server 2.1.2 rewrites a container's ``add_date`` when it is
    pulled (issue 11 item 5): the client shows it as when the record was last updated,
    and never as a creation time."""

    def listed() -> dict[str, object]:
        result = cli("list", "dinosaur/avocado:ripe", "--json")
        assert result.exit_code == 0, result.stderr
        (item,) = json.loads(result.stdout)
        return dict(item)

    before = listed()
    assert before["created"] is None
    assert isinstance(before["updated"], str)
    time.sleep(1.1)  # the server's dates have a resolution of one second
    pulled = cli("pull", "--no-cache", "dinosaur/avocado:ripe", "-o", str(tmp_path / "x.sif"))
    assert pulled.exit_code == 0, pulled.stderr
    after = listed()
    assert after["created"] is None
    if filled.server.quirks.add_date_on_pull:
        assert after["updated"] != before["updated"]
    else:
        assert after["updated"] == before["updated"]
