"""``inspect oras://...``: the SIF metadata read in ranges of the layer blob, on a
real docker-registry, equal to inspecting the pulled file; plus the manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli
from tests.oras.conftest import MakeRegistry
from tests.oras.harness.distribution import Distribution

REAL = "real/busybox_amd64.sif"
REAL_SHA256 = "e89ad5f79a1acc7c87e98b28e38c63b1a02759b51d925c67c3967ff06dc13e9f"
REAL_SIZE = 792_293
_REQUEST = re.compile(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (/v2/\S*) HTTP/1\.1" (\d+) (\d+)')


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _requests(registry: Distribution) -> list[tuple[str, str, str, str]]:
    """``(method, path, status, bytes)`` of each request the registry's access log shows."""
    return _REQUEST.findall(registry.log_text())


def _login(registry: Distribution, monkeypatch: pytest.MonkeyPatch) -> None:
    account = registry.account
    if account is not None:
        monkeypatch.setenv("APPTAINER_DOCKER_USERNAME", account.username)
        monkeypatch.setenv("APPTAINER_DOCKER_PASSWORD", account.password)


@pytest.mark.parametrize("auth", ["anonymous", "token"])
def test_remote_inspect_equals_the_pulled_file(
    auth: str,
    make_registry: MakeRegistry,
    fixtures_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = make_registry(auth)
    _login(registry, monkeypatch)
    ref = f"oras://{registry.host}/alice/busybox:1.33"
    pushed = run("push", str(fixtures_dir / REAL), "--name", ref)
    assert pushed.exit_code == 0, pushed.output
    before = len(_requests(registry))
    remote = run("inspect", "--json", ref)
    assert remote.exit_code == 0, remote.output
    sent = _requests(registry)[before:]
    assert 0 < len(sent) < 10, sent
    blob = [row for row in sent if f"/blobs/sha256:{REAL_SHA256}" in row[1]]
    assert blob, "the metadata came from the layer blob"
    assert {row[2] for row in blob} == {"206"}  # ranges, not the whole blob
    assert sum(int(row[3]) for row in blob) <= 128 << 10
    pulled = tmp_path / "pulled.sif"
    assert run("pull", ref, "-o", str(pulled)).exit_code == 0
    local = run("inspect", "--json", "--native", str(pulled))
    assert local.exit_code == 0, local.output
    remote_json, local_json = json.loads(remote.stdout), json.loads(local.stdout)
    manifest = remote_json.pop("manifest")
    assert remote_json == local_json
    assert "manifest" not in local_json  # a file's inspect output is unchanged
    assert local_json["size"] == REAL_SIZE
    assert local_json["arch"] == "amd64"
    layer = manifest["document"]["layers"][0]
    assert layer["digest"] == f"sha256:{REAL_SHA256}"
    assert layer["mediaType"] == "application/vnd.sylabs.sif.layer.v1.sif"
    assert layer["annotations"]["org.opencontainers.image.title"] == "busybox_amd64.sif"
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["digest"].startswith("sha256:")
    assert manifest["index"] is None
    # its build-date label is in CDT, which gives no created annotation
    assert manifest["annotations"] == manifest["document"].get("annotations", {}) == {}

    by_digest = run(
        "inspect", "--json", f"oras://{registry.host}/alice/busybox@{manifest['digest']}"
    )
    assert by_digest.exit_code == 0, by_digest.output
    assert json.loads(by_digest.stdout) == {**local_json, "manifest": manifest}

    human = run("inspect", "--labels", ref)
    assert human.exit_code == 0, human.output
    assert "manifest:" in human.stdout
    assert manifest["digest"] in human.stdout
    plain = run("inspect", "--labels", "--native", str(pulled))
    assert "manifest:" not in plain.stdout
    assert "annotations:" not in plain.stdout
    assert "annotations: (none)" in human.stdout
    assert human.stdout.startswith(plain.stdout.split("\nlabels:")[0].replace(str(pulled), ref))


def test_remote_inspect_shows_the_annotations(
    make_registry: MakeRegistry, fixtures_dir: Path
) -> None:
    registry = make_registry("anonymous")
    ref = f"oras://{registry.host}/alice/img:dated"
    assert run("push", str(fixtures_dir / "busybox-like.sif"), "--name", ref).exit_code == 0
    shown = run("inspect", "--json", ref)
    assert shown.exit_code == 0, shown.output
    created = {"org.opencontainers.image.created": "2023-11-14T22:13:20Z"}
    assert json.loads(shown.stdout)["manifest"]["annotations"] == created
    human = run("inspect", "--runscript", ref)
    assert human.exit_code == 0, human.output
    after = human.stdout.split("\nannotations:\n", 1)[1]
    assert after.splitlines()[1].split() == [
        "org.opencontainers.image.created",
        "2023-11-14T22:13:20Z",
    ]


def test_remote_inspect_of_a_missing_tag_says_so(make_registry: MakeRegistry) -> None:
    registry = make_registry("anonymous")
    missing = run("inspect", f"oras://{registry.host}/alice/nothing:1")
    assert missing.exit_code == 3
    assert "does not exist" in missing.stderr or "not found" in missing.stderr
