"""TLS: verified by default, a useful error when it fails, opt-out with a warning, CA bundles."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from urllib3.exceptions import InsecureRequestWarning

from sregistry.cli import cli
from sregistry.errors import SregistryError, TransferError
from sregistry.main import get_client
from sregistry.main.registry.client import RegistryClient
from sregistry.transfer import Transport
from tests.unit.local_http import LocalServer, Request

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
    pytest.mark.network,
]

PAGE: dict[str, Any] = {"count": 1, "next": None, "previous": None, "results": []}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


@pytest.fixture
def https(certificate: tuple[str, str]) -> Iterator[LocalServer]:
    def handler(request: Request) -> None:
        request.send(200, json.dumps(PAGE).encode(), {"Content-Type": "application/json"})

    server = LocalServer(handler, tls=certificate)
    yield server
    server.close()


def test_self_signed_certificate_is_refused_by_default(https: LocalServer) -> None:
    with pytest.raises(TransferError, match="TLS verification failed") as caught:
        Transport().request("GET", https.url + "/api/containers/")
    hint = caught.value.hint or ""
    assert "REQUESTS_CA_BUNDLE" in hint
    assert "SREGISTRY_HTTPS_NOVERIFY" in hint
    assert "--insecure" not in hint  # the library names no command-line flag
    assert "NOHTTPS" not in hint  # the legacy client's advice was to drop TLS
    assert https.requests == []


def test_a_ca_bundle_is_honoured(https: LocalServer, certificate: tuple[str, str]) -> None:
    assert Transport(verify=certificate[0]).request("GET", https.url + "/").status_code == 200


def test_requests_ca_bundle_environment_is_honoured(
    https: LocalServer, certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate[0])
    assert Transport().request("GET", https.url + "/").status_code == 200


def test_verification_can_be_turned_off(https: LocalServer) -> None:
    with pytest.warns(InsecureRequestWarning):
        assert Transport(verify=False).request("GET", https.url + "/").status_code == 200


def test_noverify_environment_reaches_the_client(https: LocalServer) -> None:
    client = RegistryClient(
        base=https.url, username="u", token="t", env={"SREGISTRY_HTTPS_NOVERIFY": "yes"}
    )
    assert client.transport.verify is False
    with pytest.warns(InsecureRequestWarning):
        assert client.search() == []
    strict = RegistryClient(base=https.url, username="u", token="t", env={})
    assert strict.transport.verify is True


@pytest.mark.parametrize("kind", ["registry", "library"])
def test_noverify_environment_reaches_every_backend(
    https: LocalServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_HTTPS_NOVERIFY", "1")
    query = "library://lab/tools" if kind == "library" else None
    with get_client(kind, base=https.url, token="t") as client:
        assert client.insecure
        with pytest.warns(InsecureRequestWarning):
            outcome = _outcome(client.search, query)
    assert "TLS" not in outcome
    assert https.requests, "the request never reached the server"


def _outcome(call: Callable[[str | None], object], query: str | None) -> str:
    """``ok``, or the message of the error (the fake answers registry JSON only)."""
    try:
        call(query)
    except SregistryError as exc:
        return exc.message
    return "ok"


@pytest.mark.parametrize("how", ["--insecure", "SREGISTRY_HTTPS_NOVERIFY"])
def test_cli_warns_once(https: LocalServer, how: str) -> None:
    args = ["list", "--registry", https.url, "--json"]
    env = {}
    if how == "--insecure":
        args.append("--insecure")
    else:
        env["SREGISTRY_HTTPS_NOVERIFY"] = "1"
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    warnings = [line for line in result.stderr.splitlines() if "verification is off" in line]
    assert len(warnings) == 1
    assert "InsecureRequestWarning" not in result.stderr


def test_cli_tls_failure_is_one_line(https: LocalServer) -> None:
    result = CliRunner().invoke(cli, ["list", "--registry", https.url], catch_exceptions=False)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "TLS verification failed" in errors[0]


def test_tls_to_a_plain_http_port_is_a_handshake_error() -> None:
    plain = LocalServer()
    try:
        with pytest.raises(TransferError, match="TLS handshake") as caught:
            Transport().request("GET", plain.url.replace("http:", "https:") + "/")
        assert "scheme" in (caught.value.hint or "")
    finally:
        plain.close()


def test_certificate_error_names_the_reason(https: LocalServer) -> None:
    with pytest.raises(TransferError, match="self-signed certificate"):
        Transport().request("GET", https.url + "/")
