"""RegistryClient over faked HTTP: pagination, search forms, labels, refused pushes, references."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from sregistry.errors import (
    AuthenticationError,
    InvalidName,
    NotFound,
    PermissionDenied,
    ServerError,
)
from sregistry.main.registry.client import RegistryClient

ROOT = "https://reg.example.org"
API = f"{ROOT}/api"
TOKEN = "0123456789abcdef0123456789abcdef01234567"


def row(
    name: str, tag: str = "latest", collection: str = "dinosaur", **extra: object
) -> dict[str, Any]:
    return {
        "id": 1,
        "name": name,
        "tag": tag,
        "add_date": "2026-11-26T14:44:06.654280-06:00",
        "metrics": {},
        "version": "sha256." + "a" * 64,
        "frozen": False,
        "metadata": {},
        "collection": collection,
        **extra,
    }


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client() -> Iterator[RegistryClient]:
    with RegistryClient(base=ROOT + "/api/", username="vsoch", token=TOKEN) as client:
        yield client


def test_location_and_kind(client: RegistryClient) -> None:
    assert client.location == ROOT
    assert client.kind == "registry"


def test_uri_host_sets_the_base() -> None:
    client = RegistryClient(
        uri="registry://127.0.0.1:8000/dinosaur/avocado", username="u", token="t", env={}
    )
    assert client.location == "https://127.0.0.1:8000"
    plain = RegistryClient(
        uri="registry://127.0.0.1:8000/dinosaur/avocado",
        username="u",
        token="t",
        env={"SREGISTRY_REGISTRY_NOHTTPS": "yes"},
        base="ignored",
    )
    assert plain.location == "http://127.0.0.1:8000"


def test_a_reference_host_with_the_default_port_keeps_the_configured_base() -> None:
    """The reference host and the configured base are compared as origins: an explicit
    default port is no port (the two helpers that decided this disagreed before)."""
    env = {"SREGISTRY_REGISTRY_BASE": "https://Reg.Example.org/sreg/api/"}
    for host in ("reg.example.org", "REG.example.org:443"):
        client = RegistryClient(uri=f"registry://{host}/a/b", username="u", token="t", env=env)
        assert client.location == "https://reg.example.org/sreg", host
        assert client.display_name(f"registry://{host}/a/b:v1") == "a/b:v1"
    other_port = RegistryClient(
        uri="registry://reg.example.org:8443/a/b", username="u", token="t", env=env
    )
    assert other_port.location == "https://reg.example.org:8443"


def test_a_reference_for_another_registry_is_refused(client: RegistryClient) -> None:
    with pytest.raises(InvalidName, match=r"other\.example\.org"):
        client.get("other.example.org/dinosaur/avocado")


def test_list_everything_follows_pages_to_the_end(
    mocked: responses.RequestsMock, client: RegistryClient
) -> None:
    first = f"{API}/containers/"
    second = "http://internal:8000/api/containers/?limit=100&offset=100"
    mocked.add(
        "GET",
        first,
        match=[matchers.query_param_matcher({"limit": "100"})],
        json={"count": 3, "next": second, "previous": None, "results": [row("a"), row("b")]},
    )
    mocked.add(
        "GET",
        f"{API}/containers/",
        match=[matchers.query_param_matcher({"limit": "200", "offset": "100"})],
        json={
            "count": 3,
            "next": None,
            "previous": first,
            "results": [row("c"), row("holder", tag="DUMMY-1234")],
        },
    )
    images = client.search()
    assert [image.uri for image in images] == [
        "dinosaur/a:latest",
        "dinosaur/b:latest",
        "dinosaur/c:latest",
    ]
    assert images[0].version == "sha256." + "a" * 64
    assert images[0].location == ROOT
    # the next link was followed on our own origin, not the server's internal one, and
    # asked for twice as many rows as the first page
    assert mocked.calls[1].request.url == f"{API}/containers/?limit=200&offset=100"


def test_a_repeating_next_link_stops(
    mocked: responses.RequestsMock, client: RegistryClient
) -> None:
    url = f"{API}/containers/?limit=100&offset=10"
    mocked.add("GET", f"{API}/containers/", json={"count": 99, "next": url, "results": [row("a")]})
    with pytest.raises(ServerError, match="do not end"):
        client.search("*")
    assert len(mocked.calls) == 2


def test_list_a_collection(mocked: responses.RequestsMock, client: RegistryClient) -> None:
    mocked.add(
        "GET",
        f"{API}/collection/dinosaur",
        json={
            "id": 3,
            "name": "dinosaur",
            "containers": [
                {"name": "avocado", "tag": "delicious", "uri": "dinosaur/avocado:delicious"},
                {"name": "x", "tag": "DUMMY-9", "uri": "dinosaur/x:DUMMY-9"},
            ],
        },
    )
    version = "sha256." + "ab" * 32
    mocked.add(
        "GET",
        f"{API}/container/search/collection/dinosaur/name/avocado",
        json=[
            {
                "id": 7,
                "name": "avocado",
                "tag": "delicious",
                "collection": "dinosaur",
                "version": version,
                "frozen": True,
                "add_date": "2026-11-27T01:02:03.000000-06:00",
                "metadata": {"data": {"attributes": {"runscript": "#!/bin/sh\n"}}},
            }
        ],
    )
    (image,) = client.search("dinosaur")  # the placeholder is dropped, no search for it
    assert image.uri == "dinosaur/avocado:delicious"
    assert (image.version, image.frozen, image.id) == (version, True, "7")
    assert image.metadata == {"runscript": "#!/bin/sh\n"}


def test_unknown_collection_is_empty(
    mocked: responses.RequestsMock, client: RegistryClient
) -> None:
    mocked.add("GET", f"{API}/collection/nothing", json={})
    assert client.search("nothing") == []


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("/avocado", "/container/search/name/avocado"),
        ("/avocado:delicious", "/container/search/name/avocado/tag/delicious"),
        ("dinosaur/avocado", "/container/search/collection/dinosaur/name/avocado"),
        (
            "dinosaur/avocado:delicious",
            "/container/search/collection/dinosaur/name/avocado/tag/delicious",
        ),
    ],
)
def test_search_forms(
    mocked: responses.RequestsMock, client: RegistryClient, query: str, path: str
) -> None:
    mocked.add("GET", API + path, json=[row("avocado", "delicious")])
    assert [image.uri for image in client.search(query)] == ["dinosaur/avocado:delicious"]


def test_get_returns_stored_attributes(
    mocked: responses.RequestsMock, client: RegistryClient
) -> None:
    attributes = {"runscript": "#!/bin/sh\necho hi\n", "labels": {"maintainer": "me"}}
    mocked.add(
        "GET",
        f"{API}/container/dinosaur/avocado:delicious",
        json=row(
            "avocado",
            "delicious",
            image=f"{ROOT}/containers/1/download/secret",
            metadata={"data": {"attributes": attributes}, "type": "container"},
        ),
    )
    info = client.get("dinosaur/avocado:delicious")
    assert info.metadata == attributes
    assert info.frozen is False
    # signed with HMAC pull (harmless for public images, required for private ones)
    header = mocked.calls[0].request.headers["Authorization"]
    assert header.startswith("SREGISTRY-HMAC-SHA256 Credential=pull/dnNvY2g=/")


def test_get_checks_a_requested_version(
    mocked: responses.RequestsMock, client: RegistryClient
) -> None:
    mocked.add("GET", f"{API}/container/dinosaur/avocado:latest", json=row("avocado"))
    with pytest.raises(NotFound, match=r"not sha256\.bbb"):
        client.get("dinosaur/avocado@sha256.bbb")
    assert client.get("dinosaur/avocado@" + "a" * 64).name == "avocado"


def test_labels(mocked: responses.RequestsMock, client: RegistryClient) -> None:
    mocked.add(
        "GET",
        f"{API}/labels/search/maintainer/key",
        json=[{"key": "maintainer", "value": "me", "containers": ["dinosaur/avocado:latest"]}],
    )
    labels = client.labels(key="maintainer")
    assert [(label.key, label.value, label.containers) for label in labels] == [
        ("maintainer", "me", ("dinosaur/avocado:latest",))
    ]


def test_delete_signs_with_the_delete_kind(
    mocked: responses.RequestsMock, client: RegistryClient
) -> None:
    mocked.add("DELETE", f"{API}/container/dinosaur/avocado:delicious", status=204)
    client.delete("dinosaur/avocado:delicious")
    header = mocked.calls[0].request.headers["Authorization"]
    assert header.startswith("SREGISTRY-HMAC-SHA256 Credential=delete/dnNvY2g=/")


def test_delete_needs_credentials() -> None:
    client = RegistryClient(base=ROOT, username="vsoch", token="", env={})
    with pytest.raises(AuthenticationError, match="needs a registry token"):
        client.delete("dinosaur/avocado")


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "avocado.sif"
    path.write_bytes(b"SIF image bytes")
    return path


def tag_not_there(mocked: responses.RequestsMock, base: str = API, *, search: bool = True) -> None:
    """The reads before a push: the tag holds nothing yet (and, with ``search``, no other
    collection has ``avocado:latest``)."""
    url = f"{base}/container/dinosaur/avocado:latest"
    mocked.add("GET", url, status=404, json={"detail": "Not found."})
    if search:
        mocked.add("GET", f"{base}/container/search/name/avocado/tag/latest", json=[])


def test_push_refusal_into_an_existing_collection(
    mocked: responses.RequestsMock, client: RegistryClient, image: Path
) -> None:
    tag_not_there(mocked)
    mocked.add("POST", f"{API}/upload/chunked_upload", status=500, body="Server Error")
    mocked.add("GET", f"{API}/collection/dinosaur", json={"id": 1, "name": "dinosaur"})
    with pytest.raises(PermissionDenied, match="may not be one of its owners") as caught:
        client.push(image, "Dinosaur/avocado", inspect=False)
    body = json.loads(mocked.calls[2].request.body or b"")  # after the two reads of tag_not_there
    assert body == {"collection": "dinosaur", "name": "avocado", "tag": "latest"}
    assert "Authorization" not in mocked.calls[3].request.headers
    assert "sregistry login" in (caught.value.hint or "")


def test_push_refusal_user_collections_off(
    mocked: responses.RequestsMock, client: RegistryClient, image: Path
) -> None:
    tag_not_there(mocked)
    mocked.add("POST", f"{API}/upload/chunked_upload", status=500)
    mocked.add("GET", f"{API}/collection/dinosaur", json={})
    with pytest.raises(PermissionDenied, match="refused to let 'vsoch' create") as caught:
        client.push(image, "dinosaur/avocado", inspect=False)
    assert "USER_COLLECTIONS" in (caught.value.hint or "")
    assert len(mocked.calls) == 4  # two reads before the push, the push, the collection


def test_push_refusal_when_the_collection_cannot_be_told(
    mocked: responses.RequestsMock, image: Path
) -> None:
    client = RegistryClient(base="http://reg.example.org", username="vsoch", token=TOKEN, env={})
    tag_not_there(mocked, "http://reg.example.org/api")
    mocked.add("POST", "http://reg.example.org/api/upload/chunked_upload", status=500)
    mocked.add("GET", "http://reg.example.org/api/collection/dinosaur", status=502)
    with pytest.raises(PermissionDenied, match="refused to let 'vsoch' push") as caught:
        client.push(image, "dinosaur/avocado", inspect=False)
    # the reads before the push, the push, then the unsigned probes of the collection (retried)
    methods = [call.request.method for call in mocked.calls]
    assert methods[:3] == ["GET", "GET", "POST"]
    assert set(methods[3:]) == {"GET"}
    assert all("Authorization" not in call.request.headers for call in mocked.calls[3:])
    assert "clock" in (caught.value.hint or "")


def test_collection_is_normalised_before_signing(
    mocked: responses.RequestsMock, client: RegistryClient, image: Path
) -> None:
    mocked.add(
        "GET", f"{API}/container/my-coll/avocado:latest", status=404, json={"detail": "Not found."}
    )
    mocked.add("GET", f"{API}/container/search/name/avocado/tag/latest", json=[])
    mocked.add("POST", f"{API}/upload/chunked_upload", status=500)
    mocked.add("GET", f"{API}/collection/my-coll", json={})
    with pytest.raises(PermissionDenied):
        client.push(image, "My_Coll/avocado", inspect=False)
    assert json.loads(mocked.calls[2].request.body or b"")["collection"] == "my-coll"


def test_push_of_a_missing_file(client: RegistryClient, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        client.push(tmp_path / "nope.sif", "dinosaur/avocado")


def test_push_to_a_version_is_refused(client: RegistryClient, image: Path) -> None:
    with pytest.raises(InvalidName, match="version"):
        client.push(image, "dinosaur/avocado@sha256.abc")


def test_get_client_picks_the_registry_from_a_uri() -> None:
    from sregistry.main import get_client

    client = get_client(
        "registry://127.0.0.1:8000/dinosaur/avocado:delicious", username="u", token="t"
    )
    assert isinstance(client, RegistryClient)
    assert client.location == "https://127.0.0.1:8000"
    by_name = get_client("registry", base="https://reg.example.org/api", username="u", token="t")
    assert by_name.location == "https://reg.example.org"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SREGISTRY_REGISTRY_BASE", "reg.example.org")
    monkeypatch.setenv("SREGISTRY_REGISTRY_NOHTTPS", "true")
    monkeypatch.setenv("SREGISTRY_REGISTRY_USERNAME", "vsoch")
    monkeypatch.setenv("SREGISTRY_REGISTRY_TOKEN", TOKEN)
    client = RegistryClient()
    assert client.location == "http://reg.example.org"
    assert client.username == "vsoch"
    assert client.sources == {
        "base": "$SREGISTRY_REGISTRY_BASE",
        "username": "$SREGISTRY_REGISTRY_USERNAME",
        "token": "$SREGISTRY_REGISTRY_TOKEN",
    }
    assert TOKEN not in repr(vars(client))


def test_nohttps_false_means_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SREGISTRY_REGISTRY_BASE", "reg.example.org")
    monkeypatch.setenv("SREGISTRY_REGISTRY_NOHTTPS", "false")  # legacy: any value meant http
    assert RegistryClient().location == "https://reg.example.org"


def test_no_registry_configured() -> None:
    from sregistry.errors import ConfigError

    with pytest.raises(ConfigError, match="no registry is configured") as caught:
        RegistryClient()
    assert "SREGISTRY_REGISTRY_BASE" in (caught.value.hint or "")


def test_an_upload_refused_just_after_the_hour_turned_is_resent(
    mocked: responses.RequestsMock, image: Path
) -> None:
    """The registry checks the signature when the body has arrived: a 500 answered in the
    hour after signing is a stale signature, so the upload is signed again and resent."""
    import hashlib

    before = 1_800_000_000.0 - 2  # two seconds before the top of an hour
    clock = {"now": before}
    answers: Iterator[tuple[int, dict[str, str], str]] = iter(
        [(500, {}, "Server Error"), (200, {}, '{"message": "Upload Complete"}')]
    )

    def upload(request: object) -> tuple[int, dict[str, str], str]:
        b"".join(request.body)  # type: ignore[attr-defined]  # the client streams the file
        answer = next(answers)
        clock["now"] = before + 5  # the answer arrives in the next hour
        return answer

    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    mocked.add("POST", f"{API}/upload/chunked_upload", json={"cid": 7})
    mocked.add_callback("POST", f"{ROOT}/upload", callback=upload)
    tag_not_there(mocked)  # before the push
    tag_not_there(mocked, search=False)  # after the refused upload: it was not stored
    mocked.add(
        "GET",
        f"{API}/container/dinosaur/avocado:latest",
        json=row("avocado", version=f"sha256.{digest}"),
    )
    client = RegistryClient(
        base=ROOT, username="vsoch", token=TOKEN, env={}, clock=lambda: clock["now"]
    )
    result = client.push(image, "dinosaur/avocado", inspect=False)
    assert result.version == f"sha256.{digest}"
    assert any("hour turned" in warning for warning in result.warnings)
    uploads = [call for call in mocked.calls if call.request.url == f"{ROOT}/upload"]
    assert len(uploads) == 2
    first, second = (call.request.headers["Authorization"] for call in uploads)
    assert first != second  # signed again, in the new hour
