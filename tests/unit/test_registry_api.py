"""The response funnel: every server quirk of server-api.md §4.3 becomes one precise error.

HTTP is faked with ``responses``: these are the answers a real Singularity
Registry Server 2.1.2 gives, some of which the reference server deliberately
does not reproduce (its bugs B1, B3).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from sregistry.errors import (
    AuthenticationError,
    ConfigError,
    Frozen,
    InvalidName,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    SregistryError,
)
from sregistry.main.registry.api import Exchange, Op, clock_hint, interpret
from sregistry.transfer import Transport

URL = "https://reg.example.org/api/container/dinosaur/avocado:delicious"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def answer(mocked: responses.RequestsMock, op: Op, *, method: str = "GET", **kwargs: Any) -> Any:
    mocked.add(method, URL, **kwargs)
    transport = Transport(sleep=lambda s: None)
    response = transport.request(method, URL, retry=False)
    return interpret(response, Exchange(op, "dinosaur/avocado:delicious", user="vsoch"))


@pytest.mark.parametrize(
    ("code", "error", "text"),
    [
        (400, AuthenticationError, "rejected the signature"),
        (403, PermissionDenied, "refused access"),
        (404, NotFound, "not found"),
        (429, RateLimited, "weekly download limit"),
        (418, ServerError, "bare code 418"),
    ],
)
def test_http_200_with_an_integer_body(
    mocked: responses.RequestsMock, code: int, error: type[SregistryError], text: str
) -> None:
    with pytest.raises(error, match=text) as caught:
        answer(mocked, Op.MANIFEST, body=str(code), status=200)
    assert caught.value.status == 200
    assert caught.value.server_message == str(code)


def test_manifest_success(mocked: responses.RequestsMock) -> None:
    data = answer(mocked, Op.MANIFEST, json={"id": 1, "name": "avocado"})
    assert data == {"id": 1, "name": "avocado"}


def test_private_without_credentials(mocked: responses.RequestsMock) -> None:
    with pytest.raises(AuthenticationError, match="private collection") as caught:
        answer(mocked, Op.MANIFEST, status=403, json={"detail": "Authentication Required"})
    assert "sregistry login" in (caught.value.hint or "")


def test_private_wrong_user(mocked: responses.RequestsMock) -> None:
    with pytest.raises(PermissionDenied, match="'vsoch' may not look up"):
        answer(mocked, Op.MANIFEST, status=403, json={"detail": "Unauthorized"})


def test_html_403_is_the_rate_limiter(mocked: responses.RequestsMock) -> None:
    with pytest.raises(RateLimited, match="HTTP 403, Forbidden"):
        answer(
            mocked,
            Op.SEARCH,
            status=403,
            body="<html><head><title>Forbidden</title></head></html>",
            content_type="text/html",
        )


def test_throttle_wait_is_parsed(mocked: responses.RequestsMock) -> None:
    with pytest.raises(RateLimited) as caught:
        answer(
            mocked,
            Op.SEARCH,
            status=429,
            json={"detail": "Request was throttled. Expected available in 42 seconds."},
        )
    assert caught.value.retry_after == 42.0
    assert "42 seconds" in (caught.value.hint or "")


def test_frozen_delete(mocked: responses.RequestsMock) -> None:
    with pytest.raises(Frozen, match="frozen"):
        answer(
            mocked,
            Op.DELETE,
            method="DELETE",
            status=403,
            json={"detail": "dinosaur/avocado:delicious is frozen, delete not allowed."},
        )


def test_delete_refused(mocked: responses.RequestsMock) -> None:
    with pytest.raises(PermissionDenied, match="refused to let 'vsoch' delete") as caught:
        answer(mocked, Op.DELETE, method="DELETE", status=403, json={"detail": "Unauthorized"})
    assert "owner" in (caught.value.hint or "")
    assert "clock" in (caught.value.hint or "")


def test_delete_500_is_the_known_server_bug(mocked: responses.RequestsMock) -> None:
    with pytest.raises(ServerError, match="failed to delete") as caught:
        answer(mocked, Op.DELETE, method="DELETE", status=500, body="Server Error")
    assert "#329" in (caught.value.hint or "")


def test_delete_204(mocked: responses.RequestsMock) -> None:
    assert answer(mocked, Op.DELETE, method="DELETE", status=204) is None


@pytest.mark.parametrize(
    ("message", "error", "text"),
    [
        ("dinosaur/avocado:delicious already exists.", Frozen, "frozen"),
        ("Filename too long!\nMust be less than 255 characters", InvalidName, "too long"),
        ("Something else", ServerError, "did not confirm"),
    ],
)
def test_upload_messages_other_than_upload_complete_fail(
    mocked: responses.RequestsMock, message: str, error: type[SregistryError], text: str
) -> None:
    with pytest.raises(error, match=text) as caught:
        answer(mocked, Op.UPLOAD, method="POST", json={"message": message})
    assert "\n" not in caught.value.message


def test_upload_complete(mocked: responses.RequestsMock) -> None:
    assert answer(mocked, Op.UPLOAD, method="POST", json={"message": "Upload Complete"}) == {
        "message": "Upload Complete"
    }


def test_413(mocked: responses.RequestsMock) -> None:
    with pytest.raises(PayloadTooLarge, match="too large") as caught:
        answer(
            mocked,
            Op.UPLOAD,
            method="POST",
            status=413,
            body="<html><title>413 Request Entity Too Large</title></html>",
        )
    assert "client_max_body_size" in (caught.value.hint or "")


def test_html_404_means_a_wrong_base(mocked: responses.RequestsMock) -> None:
    with pytest.raises(NotFound, match="no route") as caught:
        answer(
            mocked,
            Op.MANIFEST,
            status=404,
            body="<html><title>Page not found at /api/container/x</title></html>",
            content_type="text/html",
        )
    assert "registry URL" in (caught.value.hint or "")


def test_json_404(mocked: responses.RequestsMock) -> None:
    with pytest.raises(NotFound, match="dinosaur/avocado:delicious was not found"):
        answer(mocked, Op.MANIFEST, status=404, json={"detail": "Not found."})


def test_html_200_is_not_a_manifest(mocked: responses.RequestsMock) -> None:
    with pytest.raises(ServerError, match="web page"):
        answer(
            mocked,
            Op.MANIFEST,
            body="<html><title>Login</title></html>",
            content_type="text/html",
        )


def test_html_download_is_refused(mocked: responses.RequestsMock) -> None:
    with pytest.raises(ServerError, match="web page"):
        answer(mocked, Op.DOWNLOAD, body="<html/>", content_type="text/html")


def test_redirected_post(mocked: responses.RequestsMock) -> None:
    with pytest.raises(ConfigError, match="redirected the request to https://new") as caught:
        answer(
            mocked,
            Op.PUSH_START,
            method="POST",
            status=301,
            headers={"Location": "https://new/api/upload/chunked_upload"},
        )
    assert "SREGISTRY_REGISTRY_BASE" in (caught.value.hint or "")
    assert "--registry" not in (caught.value.hint or "")


def test_push_start_without_cid(mocked: responses.RequestsMock) -> None:
    with pytest.raises(ServerError, match="no collection id"):
        answer(mocked, Op.PUSH_START, method="POST", json={"status": "ok"})


def test_gateway_timeout(mocked: responses.RequestsMock) -> None:
    with pytest.raises(ServerError, match="HTTP 504"):
        answer(mocked, Op.SEARCH, status=504, body="<html><title>504</title></html>")


def test_clock_hint_when_the_hour_turned() -> None:
    signed = time.mktime((2026, 11, 26, 14, 59, 58, 0, 0, 0)) - time.timezone
    exchange = Exchange(Op.UPLOAD, "x", signed_at=signed, now=signed + 5)
    hint = clock_hint(None, exchange)
    assert hint is not None
    assert "hour turned" in hint
    assert "14:59:58 UTC" in hint


def test_clock_hint_when_clocks_disagree(mocked: responses.RequestsMock) -> None:
    now = time.time()
    server_time = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 2 * 3600))
    mocked.add("GET", URL, body="400", headers={"Date": server_time})
    response = Transport().request("GET", URL)
    hint = clock_hint(response, Exchange(Op.MANIFEST, "x", signed_at=now, now=now))
    assert hint is not None
    assert "disagree" in hint
