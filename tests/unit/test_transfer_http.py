"""Transport policies over real loopback HTTP: timeouts, retries, redirects, cookies, bodies."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
import requests.auth

from sregistry import __version__
from sregistry.errors import ConfigError, TransferError
from sregistry.origin import Origin
from sregistry.transfer import FileBody, MultipartBody, RetryPolicy, Timeout, Transport
from sregistry.transfer.retry import parse_retry_after
from tests.unit.local_http import Request, Serve


class Counting(requests.auth.AuthBase):
    """Counts how often it was applied (a signature is made per try)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self.calls += 1
        request.headers["Authorization"] = f"Sig {self.calls}"
        return request


# -- timeouts -------------------------------------------------------------------
def test_timeout_defaults_are_finite() -> None:
    timeout = Timeout.resolve(None, {})
    assert 0 < timeout.connect < 100
    assert 0 < timeout.read < 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [("45", Timeout(30.0, 45.0)), ("5", Timeout(5.0, 5.0)), ("3,200", Timeout(3.0, 200.0))],
)
def test_timeout_from_environment(text: str, expected: Timeout) -> None:
    assert Timeout.resolve(None, {"SREGISTRY_TIMEOUT": text}) == expected


@pytest.mark.parametrize("text", ["soon", "0", "-1", "1,2,3", "inf", "nan"])
def test_bad_timeout_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="SREGISTRY_TIMEOUT"):
        Timeout.resolve(None, {"SREGISTRY_TIMEOUT": text})


def test_option_beats_environment() -> None:
    assert Timeout.resolve(7.0, {"SREGISTRY_TIMEOUT": "99"}) == Timeout(7.0, 7.0)


@pytest.mark.network
def test_read_timeout_is_a_transfer_error(serve: Serve, sleeps: list[float]) -> None:
    def slow(request: Request) -> None:
        time.sleep(1.0)
        request.send(200, b"late")

    server = serve(slow)
    quick = Transport(timeout=Timeout(1.0, 0.2), sleep=sleeps.append, retry=RetryPolicy(attempts=2))
    with pytest.raises(TransferError, match="did not answer in time") as caught:
        quick.request("GET", server.url + "/x")
    assert "SREGISTRY_TIMEOUT" in (caught.value.hint or "")
    assert len(server.requests) == 2  # GET is retried once, then gives up
    quick.close()


# -- headers, cookies -----------------------------------------------------------
@pytest.mark.network
def test_user_agent_names_sregistry(serve: Serve, transport: Transport) -> None:
    server = serve(lambda request: request.send(200, b"{}"))
    transport.request("GET", server.url + "/")
    agent = server.requests[0].headers["User-Agent"]
    assert agent == f"sregistry/{__version__} python-requests/{requests.__version__}"


@pytest.mark.network
def test_cookies_are_never_sent_back(serve: Serve, transport: Transport) -> None:
    server = serve(lambda request: request.send(200, b"", {"Set-Cookie": "sessionid=abc; Path=/"}))
    transport.request("GET", server.url + "/a")
    transport.request("GET", server.url + "/b")
    assert "Cookie" not in server.requests[1].headers


# -- retries --------------------------------------------------------------------
@pytest.mark.network
def test_get_is_retried_on_503_with_backoff(
    serve: Serve, transport: Transport, sleeps: list[float]
) -> None:
    statuses = iter([503, 502, 200])
    server = serve(lambda request: request.send(next(statuses), b"x"))
    auth = Counting()
    response = transport.request("GET", server.url + "/", auth=auth)
    assert response.status_code == 200
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]
    # the auth object signed each try again
    assert [r.headers["Authorization"] for r in server.requests] == ["Sig 1", "Sig 2", "Sig 3"]


@pytest.mark.network
def test_retries_are_bounded(serve: Serve, transport: Transport, sleeps: list[float]) -> None:
    server = serve(lambda request: request.send(503, b"busy"))
    response = transport.request("GET", server.url + "/")
    assert response.status_code == 503
    assert len(server.requests) == RetryPolicy().attempts
    assert sleeps == [0.5, 1.0, 2.0]


@pytest.mark.network
def test_retry_after_is_honoured(serve: Serve, transport: Transport, sleeps: list[float]) -> None:
    statuses = iter([(429, {"Retry-After": "3"}), (200, {})])

    def handler(request: Request) -> None:
        status, headers = next(statuses)
        request.send(status, b"", headers)

    server = serve(handler)
    assert transport.request("GET", server.url + "/").status_code == 200
    assert sleeps == [3.0]


@pytest.mark.network
def test_a_long_retry_after_is_returned_not_waited(
    serve: Serve, transport: Transport, sleeps: list[float]
) -> None:
    server = serve(lambda request: request.send(429, b"", {"Retry-After": "3600"}))
    assert transport.request("GET", server.url + "/").status_code == 429
    assert sleeps == []
    assert len(server.requests) == 1


@pytest.mark.network
def test_post_is_not_retried_after_sending(
    serve: Serve, transport: Transport, sleeps: list[float]
) -> None:
    server = serve(lambda request: request.send(503, b"busy"))
    assert transport.request("POST", server.url + "/", data=b"body").status_code == 503
    assert len(server.requests) == 1
    assert sleeps == []


@pytest.mark.network
def test_connection_refused_is_retried_then_explained(sleeps: list[float]) -> None:
    transport = Transport(sleep=sleeps.append)
    with pytest.raises(TransferError, match=r"cannot connect to http://127\.0\.0\.1:9/") as caught:
        transport.request("POST", "http://127.0.0.1:9/upload", data=b"x")
    assert len(sleeps) == RetryPolicy().attempts - 1  # nothing was sent: safe for POST too
    assert "server URL" in (caught.value.hint or "")


@pytest.mark.network
def test_reset_connection_is_retried_for_get(
    serve: Serve, transport: Transport, sleeps: list[float]
) -> None:
    answers = iter(["cut", "ok"])

    def handler(request: Request) -> None:
        if next(answers) == "cut":
            request.handler.close_connection = True
            request.handler.connection.shutdown(2)
            return
        request.send(200, b"fine")

    server = serve(handler)
    assert transport.request("GET", server.url + "/").content == b"fine"
    assert len(server.requests) == 2


@pytest.mark.network
def test_unresolvable_host_is_not_retried(sleeps: list[float]) -> None:
    transport = Transport(sleep=sleeps.append)
    with pytest.raises(TransferError, match="cannot resolve"):
        transport.request("GET", "http://no-such-host.invalid/")
    assert sleeps == []


def test_parse_retry_after() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


# -- redirects ------------------------------------------------------------------
@pytest.mark.network
def test_credentials_never_follow_a_redirect_to_another_origin(
    serve: Serve, transport: Transport
) -> None:
    elsewhere = serve(lambda request: request.send(200, b"landed"))
    here = serve(lambda request: request.send(302, b"", {"Location": elsewhere.url + "/file"}))
    response = transport.request(
        "GET", here.url + "/start", auth=Counting(), headers={"Authorization": "Bearer secret"}
    )
    assert response.content == b"landed"
    assert "Authorization" in here.requests[0].headers
    assert "Authorization" not in elsewhere.requests[0].headers
    assert [r.status_code for r in response.history] == [302]


@pytest.mark.network
def test_credentials_follow_a_same_origin_redirect(serve: Serve, transport: Transport) -> None:
    def handler(request: Request) -> None:
        if request.path == "/start":
            request.send(301, b"", {"Location": "/moved"})
        else:
            request.send(200, b"here")

    server = serve(handler)
    transport.request("GET", server.url + "/start", auth=Counting())
    assert server.requests[1].path == "/moved"
    assert server.requests[1].headers["Authorization"] == "Sig 2"


@pytest.mark.network
def test_post_redirects_are_returned_not_followed(serve: Serve, transport: Transport) -> None:
    server = serve(lambda request: request.send(301, b"", {"Location": "https://elsewhere/"}))
    response = transport.request("POST", server.url + "/api/upload", json={})
    assert response.status_code == 301
    assert len(server.requests) == 1


@pytest.mark.network
def test_redirect_loops_are_bounded(serve: Serve, transport: Transport) -> None:
    server = serve(lambda request: request.send(302, b"", {"Location": "/again"}))
    with pytest.raises(TransferError, match="redirects"):
        transport.request("GET", server.url + "/")
    assert len(server.requests) == 11


def test_origin_fills_default_ports() -> None:
    assert Origin.of("https://Host.Example/x") == Origin.of("https://host.example:443")
    assert Origin.of("https://Host.Example/x").effective_port == 443
    assert Origin.of("http://host:8080/") == Origin("http", "host", 8080)
    assert Origin.of("http://host/") != Origin.of("https://host/")


# -- bodies ---------------------------------------------------------------------
@pytest.mark.network
def test_file_body_is_sent_with_content_length(
    serve: Serve, transport: Transport, tmp_path: Path
) -> None:
    path = tmp_path / "image.sif"
    data = bytes(range(256)) * 5000  # 1.2 MiB: more than one block
    path.write_bytes(data)
    server = serve(lambda request: request.send(200, b"ok"))
    seen: list[tuple[int, int | None]] = []
    transport.request(
        "PUT", server.url + "/put", data=FileBody(path, progress=lambda d, t: seen.append((d, t)))
    )
    recorded = server.requests[0]
    assert recorded.headers["Content-Length"] == str(len(data))
    assert "Transfer-Encoding" not in recorded.headers
    assert recorded.body == data
    assert seen[0] == (0, len(data))
    assert seen[-1] == (len(data), len(data))


def test_file_body_can_be_sent_twice(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc" * 1000)
    body = FileBody(path, block_size=1000)
    assert b"".join(body) == b"".join(body) == path.read_bytes()
    assert len(body) == 3000


def test_file_body_region(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    assert b"".join(FileBody(path, offset=3, length=4)) == b"3456"


@pytest.mark.network
def test_multipart_body_parses_as_form_data(
    serve: Serve, transport: Transport, tmp_path: Path
) -> None:
    from werkzeug.formparser import parse_form_data
    from werkzeug.test import EnvironBuilder

    path = tmp_path / "image.sif"
    path.write_bytes(b"SIF" * 400_000)
    body = MultipartBody(
        [("SREGISTRY_EVENT", "SREGISTRY-HMAC-SHA256 Credential=x"), ("name", "avocado")],
        file_field="file1",
        path=path,
        filename="avocado:latest.sif",
    )
    server = serve(lambda request: request.send(200, b"{}"))
    transport.request(
        "POST", server.url + "/upload", data=body, headers={"Content-Type": body.content_type}
    )
    recorded = server.requests[0]
    assert int(recorded.headers["Content-Length"]) == len(body) == len(recorded.body)
    environ = EnvironBuilder(
        method="POST", data=recorded.body, content_type=recorded.headers["Content-Type"]
    ).get_environ()
    stream, form, files = parse_form_data(environ)
    upload = files["file1"]
    try:
        assert list(form.items()) == [
            ("SREGISTRY_EVENT", "SREGISTRY-HMAC-SHA256 Credential=x"),
            ("name", "avocado"),
        ]
        assert upload.filename == "avocado:latest.sif"
        assert upload.read() == path.read_bytes()
    finally:
        upload.close()
        stream.close()
        environ["wsgi.input"].close()


@pytest.mark.network
def test_one_connection_is_reused(serve: Serve, transport: Transport) -> None:
    server = serve(lambda request: request.send(200, b"{}"))
    for _ in range(3):
        transport.request("GET", server.url + "/")
    assert len({recorded.client_port for recorded in server.requests}) == 1


def test_a_vanished_or_shrinking_source_is_a_source_error(tmp_path: Path) -> None:
    from sregistry.transfer import SourceError

    path = tmp_path / "f"
    path.write_bytes(b"x" * 5000)
    body = FileBody(path, block_size=1000)
    path.write_bytes(b"x" * 1500)
    with pytest.raises(SourceError, match="shrank"):
        b"".join(body)
    path.unlink()
    with pytest.raises(SourceError, match="cannot read"):
        b"".join(body)


@pytest.mark.network
def test_a_callers_session_gets_our_user_agent(serve: Serve) -> None:
    server = serve(lambda request: request.send(200, b"{}"))
    plain = requests.Session()
    Transport(session=plain).request("GET", server.url + "/")
    assert server.requests[0].headers["User-Agent"].startswith("sregistry/")
    custom = requests.Session()
    custom.headers["User-Agent"] = "my-pipeline/1.0"
    Transport(session=custom).request("GET", server.url + "/")
    assert server.requests[1].headers["User-Agent"] == "my-pipeline/1.0"
    plain.close()
    custom.close()
