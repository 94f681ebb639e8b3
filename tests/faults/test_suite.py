"""The fault-injection suite: every case of :mod:`tests.faults.cases` through our proxy.

One reference server serves the whole module; each case gets a fresh proxy
(and, for redirects, a second one on 127.0.0.2 that records what arrives
there) and runs the real command in-process. The contract checked for every
case: the exit code, one clear ``error:`` line, the destination and the store
untouched or complete, no token in any byte the client sent or printed, and a
bounded time. Each outcome is recorded for the summary and ``results.json``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sregistry.cli import cli as sregistry_cli
from sregistry.main.library.client import LibraryClient
from tests.faults.cases import CASES, DEADLINE, Case
from tests.faults.conftest import RESULTS
from tests.faults.proxy import Fault, Proxy, blocks, endless
from tests.server.pytest_plugin import RegistryServer

pytestmark = pytest.mark.e2e

MiB = 1 << 20
SIZE = 4 * MiB
LIBRARY_REF = "library://alice/demo/big:latest"


class Upstream:
    """The module's reference server, its tokens and the images it holds."""

    def __init__(self, server: RegistryServer, image: bytes) -> None:
        self.server = server
        self.image = image
        self.sha256 = hashlib.sha256(image).hexdigest()
        self.registry_token = server.add_user("vsoch")
        self.library_token = server.add_user("alice")
        host, port = server.url.removeprefix("http://").split(":")
        self.address = (host, int(port))


def sif_bytes(fixtures: Path, size: int) -> bytes:
    head = (fixtures / "busybox-like.sif").read_bytes()
    return head + os.urandom(size - len(head))


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    fixtures = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "sif"
    # the fixed profile: the real one redirects library downloads to another host name
    # (its storage), around the proxy, so the faults would never reach them
    server = RegistryServer(tmp_path_factory.mktemp("faults-registry"), {"profile": "fixed"})
    try:
        up = Upstream(server, sif_bytes(fixtures, SIZE))
        server.add_image("vsoch", "big", "latest", up.image, owner="vsoch")
        source = tmp_path_factory.mktemp("faults-image") / "big.sif"
        source.write_bytes(up.image)
        with LibraryClient(base=server.url, token=up.library_token, env={}) as client:
            client.push(source, LIBRARY_REF)
        yield up
    finally:
        server.stop()
        server.remove_files()


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the TLS cases need the openssl command under CI")
        pytest.skip("the TLS cases need the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _fault(case: Case, elsewhere: Proxy | None) -> Fault:
    spec = {key: value for key, value in case.fault.items() if key != "label"}
    payload = spec.get("payload")
    if payload == "100MB":
        spec["payload"] = blocks(100 << 20)
    elif payload == "endless":
        spec["payload"] = endless(seconds=30)
    elif payload == "short":
        spec["payload"] = iter([b'{"data": 1}'])
    if spec.get("action") == "redirect":
        assert elsewhere is not None
        spec["location"] = elsewhere.url
    return Fault(**spec)


def _run(case: Case, proxy: Proxy, up: Upstream, out: Path, image: Path) -> tuple[Any, float]:
    env = {
        "SREGISTRY_DEADLINE": str(DEADLINE),
        "SREGISTRY_TIMEOUT": str(DEADLINE),
        "SREGISTRY_REGISTRY_BASE": proxy.url,
        "SREGISTRY_REGISTRY_USERNAME": "vsoch",
        "SREGISTRY_REGISTRY_TOKEN": up.registry_token,
        "SREGISTRY_LIBRARY_BASE": proxy.url,
        "SREGISTRY_LIBRARY_TOKEN": up.library_token,
    }
    flags = ["--insecure"] if case.tls == "insecure" else []
    if case.op == "pull":
        ref = "vsoch/big:latest" if case.backend == "registry" else LIBRARY_REF
        args = ["pull", ref, "-o", str(out / "x.sif"), "--no-cache", *flags]
    else:
        name = f"vsoch/pushed:{case.id}"
        if case.backend == "library":
            name = f"library://alice/demo/pushed:{case.id}"
        args = ["push", str(image), "--name", name, "--no-metadata", *flags]
    started = time.monotonic()
    result = CliRunner().invoke(sregistry_cli, args, env=env, catch_exceptions=False)
    return result, time.monotonic() - started


def _collection(case: Case) -> str:
    return "demo" if case.backend == "library" else "vsoch"


def _check_detected(case: Case, result: Any, out: Path, up: Upstream) -> None:
    assert result.exit_code != 0, result.stderr
    if case.code is not None:
        assert result.exit_code == case.code, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert case.says in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    if case.op == "pull":
        left = sorted(p.name for p in out.iterdir())
        kept = [name for name in left if name.endswith(".incomplete")]
        assert "x.sif" not in left, left
        assert all(str(out / name) in errors[0] for name in kept), (left, errors[0])
        assert set(left) <= {*kept, *(f"{name}.json" for name in kept)}, left
    else:
        assert up.server.container(_collection(case), "pushed", case.id) is None


def _check_recovered(case: Case, result: Any, out: Path, up: Upstream, image: Path) -> None:
    assert result.exit_code == 0, result.stderr
    if case.op == "pull":
        assert (out / "x.sif").read_bytes() == up.image
        assert sorted(p.name for p in out.iterdir()) == ["x.sif"]
    else:
        row = up.server.container(_collection(case), "pushed", case.id)
        assert row is not None
        assert row["version"] == "sha256." + hashlib.sha256(image.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.backend}-{c.op}-{c.id}" for c in CASES])
def test_case(
    case: Case,
    upstream: Upstream,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    tls = request.getfixturevalue("tls_context") if case.tls else None
    proxy = Proxy(upstream.address, tls=tls)
    redirect = case.fault.get("action") == "redirect"
    elsewhere = Proxy(upstream.address, host="127.0.0.2") if redirect else None
    out = tmp_path / "out"
    out.mkdir()
    image = tmp_path / "push.sif"
    image.write_bytes(upstream.image[:MiB] + os.urandom(MiB))
    try:
        if case.fault:
            proxy.add(_fault(case, elsewhere))
        result, seconds = _run(case, proxy, upstream, out, image)
    finally:
        proxy.close()
        if elsewhere is not None:
            elsewhere.close()
    printed = result.stdout + result.stderr
    for token in (upstream.registry_token, upstream.library_token):
        assert token not in printed
    assert upstream.registry_token.encode() not in proxy.received
    if elsewhere is not None:
        assert elsewhere.heads, "the redirect was not followed"
        assert upstream.library_token.encode() not in elsewhere.received
        assert upstream.registry_token.encode() not in elsewhere.received
        assert b"authorization:" not in elsewhere.received.lower()
    assert "\x1b" not in printed
    if case.expect == "recovers":
        _check_recovered(case, result, out, upstream, image)
        assert proxy.resumed > 0 or not case.resumes, "the download started again"
    else:
        _check_detected(case, result, out, upstream)
    assert seconds < case.bound, (seconds, result.stderr)
    request.config.stash[RESULTS].append(
        {
            "case": f"{case.backend}-{case.op}-{case.id}",
            "expect": case.expect,
            "exit": result.exit_code,
            "resumed": proxy.resumed > 0,
            "seconds": round(seconds, 2),
            "bound": case.bound,
            "faults_applied": len(proxy.applied),
        }
    )
