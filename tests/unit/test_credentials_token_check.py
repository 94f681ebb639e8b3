"""The library token check goes through the transport: retries, redirect guard, errors."""

from __future__ import annotations

import socket

import pytest

from sregistry.credentials import Secret
from sregistry.credentials.token_check import check_library_token
from sregistry.errors import AuthenticationError, ServerError, TransferError
from sregistry.transfer import Transport
from tests.unit.local_http import Request, Serve

TOKEN = "a" * 40


def _token_status(request: Request) -> None:
    valid = request.header("Authorization") == f"Bearer {TOKEN}"
    request.send(200 if valid else 404)


@pytest.mark.network
def test_a_busy_server_is_asked_again(
    serve: Serve, transport: Transport, sleeps: list[float]
) -> None:
    answers = iter([503, 503])

    def handler(request: Request) -> None:
        status = next(answers, None)
        if status is None:
            _token_status(request)
        else:
            request.send(status)

    server = serve(handler)
    check_library_token(server.url, Secret(TOKEN), transport=transport)
    assert [r.path for r in server.requests] == ["/v1/token-status"] * 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.network
def test_the_token_does_not_follow_a_redirect_to_another_origin(
    serve: Serve, transport: Transport
) -> None:
    elsewhere = serve(_token_status)
    here = serve(lambda r: r.send(302, b"", {"Location": elsewhere.url + r.path}))
    with pytest.raises(AuthenticationError, match="rejected the token"):
        check_library_token(here.url, Secret(TOKEN), transport=transport)
    assert here.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in elsewhere.requests[0].headers


@pytest.mark.network
def test_answers_become_errors(serve: Serve, transport: Transport) -> None:
    server = serve(_token_status)
    teapot = serve(lambda r: r.send(418))
    check_library_token(server.url + "/", Secret(TOKEN), transport=transport)
    with pytest.raises(AuthenticationError) as rejected:
        check_library_token(server.url, Secret("b" * 40), transport=transport)
    assert "b" * 40 not in str(rejected.value)
    with pytest.raises(ServerError, match="unexpected answer 418"):
        check_library_token(teapot.url, Secret(TOKEN), transport=transport)


@pytest.mark.network
def test_an_unreachable_server_is_retried_then_reported(
    transport: Transport, sleeps: list[float]
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransferError, match=f"127.0.0.1:{port}/v1/token-status") as caught:
        check_library_token(f"http://127.0.0.1:{port}", Secret(TOKEN), transport=transport)
    assert TOKEN not in str(caught.value)
    assert sleeps == [0.5, 1.0, 2.0]
