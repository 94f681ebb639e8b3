"""A registry keeping its blobs in S3 (moto in server mode) with redirects on, as
hosted registries do: blob GETs answer 307 to a presigned URL on the storage
host. Pull and inspect work, and the registry's credentials never reach storage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli
from tests.oras.conftest import MakeRegistry
from tests.oras.harness.distribution import USERS
from tests.oras.harness.s3 import MotoS3

REAL = "real/busybox_amd64.sif"
LAYER = "sha256:e89ad5f79a1acc7c87e98b28e38c63b1a02759b51d925c67c3967ff06dc13e9f"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("auth", ["anonymous", "token"])
def test_pull_and_inspect_through_redirects_to_s3(
    auth: str,
    *,
    make_registry: MakeRegistry,
    moto_s3: MotoS3,
    fixtures_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = make_registry(auth, s3=moto_s3.endpoint)
    if auth == "token":
        monkeypatch.setenv("APPTAINER_DOCKER_USERNAME", "alice")
        monkeypatch.setenv("APPTAINER_DOCKER_PASSWORD", USERS["alice"])
    monkeypatch.setenv("SREGISTRY_DISABLE", "1")  # every pull goes to the registry
    sif = fixtures_dir / REAL
    ref = f"oras://{registry.host}/alice/busybox:1"
    pushed = run("push", str(sif), "--name", ref)
    assert pushed.exit_code == 0, pushed.output
    pulled = run("pull", ref, "-o", str(tmp_path / "pulled.sif"))
    assert pulled.exit_code == 0, pulled.output
    assert (tmp_path / "pulled.sif").read_bytes() == sif.read_bytes()
    remote = run("inspect", "--json", ref)
    assert remote.exit_code == 0, remote.output
    local = run("inspect", "--json", "--native", str(tmp_path / "pulled.sif"))
    shown = json.loads(remote.stdout)
    assert shown.pop("manifest")["document"]["layers"][0]["digest"] == LAYER
    assert shown == json.loads(local.stdout)

    blob_gets = re.findall(
        rf'"GET /v2/alice/busybox/blobs/{LAYER} HTTP/1\.1" (\d+)', registry.log_text()
    )
    assert blob_gets.count("307") >= 2  # the pull and the inspect were both redirected
    assert moto_s3.proxy is not None
    storage = moto_s3.proxy.requests
    presigned = [r for r in storage if "X-Amz-Signature=" in r.path and LAYER[7:] in r.path]
    assert len(presigned) >= 2, [r.path for r in storage]
    ours = [r for r in storage if r.headers.get("User-Agent", "").startswith("sregistry/")]
    assert ours == presigned  # only the presigned GETs came from the client...
    assert not any("Authorization" in r.headers for r in ours)  # ...without credentials
    assert any(r.headers.get("Range", "").startswith("bytes=0-") for r in ours)  # inspect
