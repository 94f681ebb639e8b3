"""The Library API response funnel: envelopes, error shapes, empty bodies, semver."""

from __future__ import annotations

import json

import pytest
import requests

from sregistry.errors import (
    AuthenticationError,
    Frozen,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from sregistry.main.library.api import (
    ABSENT,
    V2_TAGS,
    V2_UPLOAD,
    Call,
    Refusal,
    error_for,
    interpret,
    parse_semver,
    redact_url,
    supports,
)
from sregistry.main.library.models import Image, object_id

URL = "http://lib.example/v1/images/a/b/c:latest?arch=amd64"


def response(
    status: int,
    body: object = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made.url = URL
    made._content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    made.headers.update(headers or {})
    return made


def test_interpret_unwraps_the_envelope() -> None:
    assert interpret(response(200, {"data": {"id": "1"}}), Call("get")) == {"id": "1"}
    assert interpret(response(201, {"data": []}), Call("create", ok=(200, 201))) == []
    assert interpret(response(200, {}), Call("complete", read="json")) == {}
    assert interpret(response(200), Call("tag", allow_empty=True)) is None
    assert interpret(response(200, raw=b"<html>"), Call("upload", read="nothing")) is None


@pytest.mark.parametrize(
    ("made", "fragment"),
    [
        (response(200), "empty body"),
        (response(200, raw=b"<html>hi</html>"), "not JSON"),
        (response(200, {"id": "1"}), "envelope"),
    ],
)
def test_interpret_rejects_protocol_violations(made: requests.Response, fragment: str) -> None:
    with pytest.raises(ServerError, match=fragment):
        interpret(made, Call("get image"))


@pytest.mark.parametrize(
    ("made", "kind", "fragment"),
    [
        (response(403), PermissionDenied, "no details in the response (HTTP 403)"),
        (response(404), NotFound, "(HTTP 404)"),
        (
            response(401, {"error": {"code": 401, "message": "Unauthorized"}}),
            AuthenticationError,
            "Unauthorized (HTTP 401)",
        ),
        (
            response(403, {"error": {"code": 403, "message": "Token not valid"}}),
            AuthenticationError,
            "Token not valid",
        ),
        (
            response(400, {"message": "This tag exists, and is frozen."}),
            Frozen,
            "frozen",
        ),
        (response(413, raw=b"<html>too big</html>"), PayloadTooLarge, "HTTP 413"),
        (
            response(429, {"detail": "Request was throttled."}, headers={"Retry-After": "7"}),
            RateLimited,
            "throttled",
        ),
        (response(500), ServerError, "HTTP 500"),
        (response(507, {"error": {"code": 507, "message": "quota"}}), ServerError, "quota"),
    ],
)
def test_errors_by_status(made: requests.Response, kind: type[Exception], fragment: str) -> None:
    error = error_for(made, "look up image a/b/c:latest")
    assert type(error) is kind
    assert fragment in error.message
    assert error.message.startswith("look up image a/b/c:latest: ")
    assert error.status == made.status_code
    assert error.url == "http://lib.example/v1/images/a/b/c:latest"
    if isinstance(error, RateLimited):
        assert error.retry_after == 7.0


def test_interpret_passes_accepted_statuses() -> None:
    assert interpret(response(204), Call("complete", ok=(200, 204), read="nothing")) is None
    with pytest.raises(ServerError):
        interpret(response(201), Call("tag", ok=(200,), read="nothing"))


def test_absent_answers_are_not_errors_and_not_data() -> None:
    lookup = Call("look up image a/b/c:latest", absent=(404,))
    assert interpret(response(404), lookup) is ABSENT
    assert interpret(response(200, {"data": None}), lookup) is None
    with pytest.raises(PermissionDenied):
        interpret(response(403), lookup)


def test_a_refusal_replaces_the_generic_error_for_its_status_only() -> None:
    unsupported = Refusal(ServerError, "this library does not delete images", hint="use the web")
    delete = Call("delete a/b/c:latest (amd64)", read="nothing", refusals={405: unsupported})
    said = {"detail": 'Method "DELETE" not allowed.'}
    with pytest.raises(ServerError) as caught:
        interpret(response(405, said), delete)
    assert caught.value.message == (
        'this library does not delete images: Method "DELETE" not allowed. (HTTP 405)'
    )
    assert caught.value.hint == "use the web"
    assert caught.value.status == 405
    assert caught.value.url == "http://lib.example/v1/images/a/b/c:latest"
    with pytest.raises(NotFound, match=r"^delete a/b/c:latest \(amd64\): "):
        interpret(response(404), delete)
    quiet = Refusal(ServerError, "this library does not delete images", echo=False)
    with pytest.raises(ServerError) as caught:
        interpret(response(405, said), Call("delete", read="nothing", refusals={405: quiet}))
    assert caught.value.message == "this library does not delete images (HTTP 405)"
    assert caught.value.server_message == 'Method "DELETE" not allowed.'


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2.0.0-alpha.2", (2, 0, 0, ("alpha", 2))),
        ("2.0.0", (2, 0, 0, ())),
        ("1.0.0+build.5", (1, 0, 0, ())),
        ("v2.0.0", None),
        ("2.0", None),
        ("", None),
        (None, None),
        (2, None),
    ],
)
def test_parse_semver(text: object, parsed: object) -> None:
    assert parse_semver(text) == parsed


@pytest.mark.parametrize(
    ("version", "upload", "tags"),
    [
        ("2.0.0-alpha.1", True, False),
        ("2.0.0-alpha.2", True, True),
        ("2.0.0-beta", True, True),
        ("2.0.0", True, True),
        ("3.1.4", True, True),
        ("2.0.0-alpha", False, False),
        ("1.9.9", False, False),
        ("v2.0.0", False, False),
    ],
)
def test_feature_thresholds(version: str, upload: bool, tags: bool) -> None:
    parsed = parse_semver(version)
    assert supports(parsed, V2_UPLOAD) is upload
    assert supports(parsed, V2_TAGS) is tags


def test_redact_url_drops_signatures_and_user_info() -> None:
    assert (
        redact_url("http://u:p@s3.example:9000/b/k?X-Amz-Signature=abc")
        == "http://s3.example:9000/b/k"
    )


def test_models_tolerate_server_variants() -> None:
    image = Image.from_json(
        {"id": 7, "hash": "sha256." + "ab" * 32, "size": None, "container": "sha256.x"}, "get"
    )
    assert image.id == "7"
    assert image.size is None
    assert image.sha256 == "ab" * 32
    assert Image.from_json({"id": "1", "hash": "sif.1234"}, "get").sha256 is None
    with pytest.raises(ServerError, match="no usable 'id'"):
        object_id({"id": ""}, "get")
    with pytest.raises(ServerError, match="not a JSON object"):
        object_id([], "get")
