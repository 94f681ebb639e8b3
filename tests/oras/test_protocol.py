"""The protocol layer against a real docker-registry in each set-up."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import requests

from sregistry.credentials.secret import Secret
from sregistry.errors import (
    AuthenticationError,
    IntegrityError,
    MetadataError,
    NotFound,
    PermissionDenied,
    ServerError,
)
from sregistry.main.oras.artifact import (
    describe,
    describe_tags,
    file_digest,
    pull_sif,
    push_sif,
    resolve_sif,
    sif_arch,
)
from sregistry.main.oras.blobs import BlobSource, blob_size, push_blob
from sregistry.main.oras.credentials import RegistryCredential
from sregistry.main.oras.distribution import (
    catalog,
    delete_manifest,
    get_manifest,
    put_manifest,
    tags,
)
from sregistry.main.oras.manifest import (
    EMPTY_CONFIG_DIGEST,
    OCI_INDEX,
    OCI_MANIFEST,
    SIF_LAYER_LEGACY,
    build_manifest,
)
from sregistry.main.oras.reference import parse_reference
from sregistry.main.oras.session import RegistrySession
from tests.oras.conftest import MakeRegistry
from tests.oras.harness.cutter import CuttingProxy
from tests.oras.harness.distribution import Distribution
from tests.oras.helpers import plain_headers, session

CREATED = "2026-03-04T05:06:07Z"


@pytest.fixture
def sif(fixtures_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "busybox-like.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", copy)
    return copy


def _ref(registry: Distribution, name: str = "alice/img:1", host: str | None = None) -> str:
    return f"oras://{host or registry.host}/{name}"


def test_push_pull_round_trip_is_byte_equal(
    registry: Distribution, sif: Path, tmp_path: Path
) -> None:
    ref = parse_reference(_ref(registry))
    with session(registry) as writer:
        pushed = push_sif(writer, ref, sif, created=CREATED, chunk_size=8192)
        assert pushed.layer.chunks == 5  # 36 KiB in 8 KiB chunks
        resolved = resolve_sif(writer, ref, arch="amd64")
        assert resolved.digest == pushed.digest
        out = tmp_path / "pulled.sif"
        done = pull_sif(writer, ref, resolved.manifest, out)
    assert out.read_bytes() == sif.read_bytes()
    assert done.digests.sha256 == hashlib.sha256(sif.read_bytes()).hexdigest()
    assert [p.name for p in tmp_path.iterdir() if "incomplete" in p.name] == []


def test_pushed_manifest_read_with_plain_http_has_apptainers_fields(
    registry: Distribution, sif: Path
) -> None:
    ref = parse_reference(_ref(registry))
    with session(registry) as writer:
        push_sif(writer, ref, sif, created=CREATED)
    answer = requests.get(
        f"{registry.url}/v2/alice/img/manifests/1",
        headers={
            "Accept": OCI_MANIFEST,
            **plain_headers(registry, "repository:alice/img:pull"),
        },
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == OCI_MANIFEST
    layer_digest = "sha256:" + hashlib.sha256(sif.read_bytes()).hexdigest()
    assert answer.json() == {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.sylabs.sif.config.v1+json",
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.sylabs.sif.layer.v1.sif",
                "digest": layer_digest,
                "size": sif.stat().st_size,
                "annotations": {"org.opencontainers.image.title": "busybox-like.sif"},
            }
        ],
        "annotations": {"org.opencontainers.image.created": CREATED},
    }
    config = requests.get(
        f"{registry.url}/v2/alice/img/blobs/{answer.json()['config']['digest']}",
        headers=plain_headers(registry, "repository:alice/img:pull"),
        timeout=10,
    )
    assert config.content == b"{}"


def test_present_blobs_are_not_uploaded_and_mounts_are_used(
    registry: Distribution, sif: Path
) -> None:
    with session(registry) as writer:
        first = push_sif(writer, parse_reference(_ref(registry)), sif)
        again = push_sif(writer, parse_reference(_ref(registry, "alice/img:2")), sif)
        mounted = push_sif(
            writer, parse_reference(_ref(registry, "alice/other:1")), sif, mount_from="alice/img"
        )
        assert not first.layer.existed
        assert again.layer.existed
        assert mounted.layer.mounted
        assert blob_size(writer, "alice/other", file_digest(sif)) == sif.stat().st_size


@pytest.mark.parametrize(("body_bytes", "settle"), [(0, False), (3000, True)])
def test_chunked_upload_cut_midway_completes(
    registry: Distribution, sif: Path, body_bytes: int, settle: bool
) -> None:
    """A PATCH cut before its body (the registry kept nothing of it): the upload
    goes on from the registry's Range; a body ended early (Distribution then
    drops the upload): it begins again. Either way the blob arrives whole."""
    proxy = CuttingProxy(registry.port)
    try:
        proxy.cut(b"PATCH ", occurrence=3, body_bytes=body_bytes, settle=settle)
        digest = file_digest(sif)
        size = sif.stat().st_size
        with session(registry, host=proxy.host) as writer:
            result = push_blob(
                writer, "alice/cut", BlobSource(digest, size, path=sif), chunk_size=8192
            )
        assert proxy.cuts == 1
        if body_bytes == 0:
            assert (result.resumed, result.restarts, result.chunks) == (1, 0, 5)
        else:
            assert result.restarts == 1
            assert result.chunks == 5
    finally:
        proxy.close()
    got = requests.get(
        f"{registry.url}/v2/alice/cut/blobs/{digest}",
        headers=plain_headers(registry, "repository:alice/cut:pull"),
        timeout=10,
    )
    assert got.content == sif.read_bytes()


def test_historical_media_type_is_pulled(registry: Distribution, sif: Path, tmp_path: Path) -> None:
    ref = parse_reference(_ref(registry, "alice/old:3.5"))
    digest = file_digest(sif)
    with session(registry) as writer:
        push_blob(writer, "alice/old", BlobSource(digest, sif.stat().st_size, path=sif))
        legacy = {
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.sylabs.sif.config.v1+json",
                       "digest": digest, "size": sif.stat().st_size},
            "layers": [{"mediaType": SIF_LAYER_LEGACY, "digest": digest,
                        "size": sif.stat().st_size}],
        }  # fmt: skip
        answer = requests.put(
            f"{registry.url}/v2/alice/old/manifests/3.5",
            data=json.dumps(legacy),
            headers={
                "Content-Type": OCI_MANIFEST,
                **plain_headers(registry, "repository:alice/old:pull,push"),
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        resolved = resolve_sif(writer, ref, arch="amd64")
        assert resolved.manifest.layer.media_type == SIF_LAYER_LEGACY
        pull_sif(writer, ref, resolved.manifest, tmp_path / "old.sif")
    assert (tmp_path / "old.sif").read_bytes() == sif.read_bytes()


def test_index_with_two_architectures(
    make_registry: MakeRegistry, fixtures_dir: Path, tmp_path: Path
) -> None:
    registry = make_registry("anonymous")
    amd = tmp_path / "amd.sif"
    arm = tmp_path / "arm.sif"
    shutil.copyfile(fixtures_dir / "busybox-like.sif", amd)
    shutil.copyfile(fixtures_dir / "runscript-only.sif", arm)  # an arm64 image
    assert (sif_arch(amd), sif_arch(arm)) == ("amd64", "arm64")
    with session(registry) as anon:
        amd_push = push_sif(anon, parse_reference(_ref(registry, "multi/img:amd")), amd)
        arm_push = push_sif(anon, parse_reference(_ref(registry, "multi/img:arm")), arm)
        sizes = {
            d: len(get_manifest(anon, "multi/img", d).data)
            for d in (amd_push.digest, arm_push.digest)
        }
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": amd_push.digest,
                 "size": sizes[amd_push.digest],
                 "platform": {"os": "linux", "architecture": "amd64"}},
                {"mediaType": OCI_MANIFEST, "digest": arm_push.digest,
                 "size": sizes[arm_push.digest],
                 "platform": {"os": "linux", "architecture": "arm64"}},
            ],
        }  # fmt: skip
        answer = requests.put(
            f"{registry.url}/v2/multi/img/manifests/both",
            data=json.dumps(index),
            headers={"Content-Type": OCI_INDEX},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        ref = parse_reference(_ref(registry, "multi/img:both"))
        for arch, source in (("amd64", amd), ("arm64", arm)):
            resolved = resolve_sif(anon, ref, arch=arch)
            assert resolved.index_digest is not None
            out = tmp_path / f"out-{arch}.sif"
            pull_sif(anon, ref, resolved.manifest, out)
            assert out.read_bytes() == source.read_bytes()
        with pytest.raises(NotFound, match="linux/ppc64le"):
            resolve_sif(anon, ref, arch="ppc64le")
        assert describe(anon, ref).platforms == ("linux/amd64", "linux/arm64")


def test_non_sif_files_are_refused_both_ways(make_registry: MakeRegistry, tmp_path: Path) -> None:
    """Push checks the file first; a non-SIF layer written by another client is
    downloaded, found wanting, and not kept."""
    registry = make_registry("anonymous")
    fake = tmp_path / "fake.sif"
    fake.write_bytes(os.urandom(5000))
    ref = parse_reference(_ref(registry, "x/fake:1"))
    with session(registry) as anon:
        with pytest.raises(MetadataError, match="not a SIF image"):
            push_sif(anon, ref, fake)
        assert tags_or_none(anon, "x/fake") is None
        digest = file_digest(fake)
        push_blob(anon, "x/fake", BlobSource(EMPTY_CONFIG_DIGEST, 2, data=b"{}"))
        push_blob(anon, "x/fake", BlobSource(digest, 5000, path=fake))
        manifest = build_manifest(layer_digest=digest, layer_size=5000, title="f", created=None)
        put_manifest(anon, "x/fake", "1", manifest, OCI_MANIFEST)
        resolved = resolve_sif(anon, ref, arch="amd64")
        out = tmp_path / "out" / "fake.sif"
        out.parent.mkdir()
        with pytest.raises(IntegrityError, match="not a SIF image"):
            pull_sif(anon, ref, resolved.manifest, out)
    assert list(out.parent.iterdir()) == []


def tags_or_none(anon: RegistrySession, repository: str) -> list[str] | None:
    try:
        return tags(anon, repository)
    except NotFound:
        return None


def test_describe_tags(registry: Distribution, sif: Path) -> None:
    ref = parse_reference(_ref(registry, "alice/desc"))
    with session(registry) as writer:
        pushed = push_sif(
            writer, ref, sif, tags=["b", "a"], created=CREATED, annotations={"k": "v"}
        )
        listed = describe_tags(writer, ref)
    assert [info.reference for info in listed] == [
        f"oras://{registry.host}/alice/desc:a",
        f"oras://{registry.host}/alice/desc:b",
    ]
    first = listed[0]
    assert (first.digest, first.size, first.created, first.title) == (
        pushed.digest,
        sif.stat().st_size,
        CREATED,
        "busybox-like.sif",
    )
    assert first.layer_digest == file_digest(sif)
    assert first.annotations == {"org.opencontainers.image.created": CREATED, "k": "v"}


def test_tags_follow_link_pages(registry: Distribution, sif: Path) -> None:
    names = ["a", "b", "c", "d", "e"]
    with session(registry) as writer:
        push_sif(writer, parse_reference(_ref(registry, "alice/many")), sif, tags=names)
        assert sorted(tags(writer, "alice/many", page_size=2)) == names


def test_catalog(make_registry: MakeRegistry, sif: Path) -> None:
    registry = make_registry("token")
    with session(registry) as writer:
        push_sif(writer, parse_reference(_ref(registry, "alice/one:1")), sif)
        push_sif(writer, parse_reference(_ref(registry, "alice/two:1")), sif)
        assert catalog(writer, page_size=1) == ["alice/one", "alice/two"]
    with session(registry, registry.reader) as reader, pytest.raises(PermissionDenied):
        catalog(reader)


def test_delete_then_missing_and_deletes_disabled(make_registry: MakeRegistry, sif: Path) -> None:
    for auth in ("token", "basic"):
        registry = make_registry(auth)
        ref = parse_reference(_ref(registry))
        with session(registry) as writer:
            pushed = push_sif(writer, ref, sif)
            assert delete_manifest(writer, "alice/img", "1") == pushed.digest
            with pytest.raises(NotFound, match="no such tag or digest"):
                resolve_sif(writer, ref, arch="amd64")
    forbidding = make_registry("anonymous", delete=False)
    with session(forbidding) as anon:
        push_sif(anon, parse_reference(_ref(forbidding)), sif)
        with pytest.raises(PermissionDenied, match="does not allow deletes") as caught:
            delete_manifest(anon, "alice/img", "1")
        assert caught.value.status == 405
        assert resolve_sif(anon, parse_reference(_ref(forbidding)), arch="amd64")


@pytest.mark.parametrize("auth", ["basic", "token"])
def test_wrong_and_missing_credentials(make_registry: MakeRegistry, auth: str, sif: Path) -> None:
    registry = make_registry(auth)
    ref = parse_reference(_ref(registry))
    with session(registry) as writer:
        push_sif(writer, ref, sif)
    wrong = registry.account
    assert wrong is not None
    wrong = type(wrong)(wrong.username, "not-the-password")
    with session(registry, wrong) as bad, pytest.raises(AuthenticationError, match="refused"):
        resolve_sif(bad, ref, arch="amd64")
    with (
        session(registry, None) as anon,
        pytest.raises(AuthenticationError, match="needs credentials") as caught,
    ):
        resolve_sif(anon, ref, arch="amd64")
    assert caught.value.hint is not None
    assert f"no credentials for {registry.host} were found" in caught.value.hint


def test_missing_repository_and_tag(registry: Distribution, sif: Path) -> None:
    with session(registry) as writer:
        with pytest.raises(NotFound):
            resolve_sif(writer, parse_reference(_ref(registry, "alice/nothing:1")), arch="amd64")
        push_sif(writer, parse_reference(_ref(registry)), sif)
        with pytest.raises(NotFound, match="no such tag"):
            resolve_sif(writer, parse_reference(_ref(registry, "alice/img:2")), arch="amd64")


def test_reader_may_pull_but_not_push(make_registry: MakeRegistry, sif: Path) -> None:
    registry = make_registry("token")
    ref = parse_reference(_ref(registry))
    with session(registry) as writer:
        push_sif(writer, ref, sif)
    with session(registry, registry.reader) as reader:
        assert resolve_sif(reader, ref, arch="amd64").manifest.layer.size == sif.stat().st_size
        with pytest.raises(PermissionDenied, match="does not let you"):
            push_sif(reader, parse_reference(_ref(registry, "alice/img:2")), sif)


def test_tokens_are_cached_per_scope(make_registry: MakeRegistry, sif: Path) -> None:
    registry = make_registry("token")
    assert registry.tokens is not None
    ref = parse_reference(_ref(registry))
    with session(registry) as writer:
        push_sif(writer, ref, sif)
        pushes = writer.auth.token_requests
        assert pushes == 1  # one pull,push scope for the whole push
        for _ in range(3):
            get_manifest(writer, "alice/img", "1")
        assert writer.auth.token_requests == pushes + 1  # one more scope: pull
    scopes = [r.scopes for r in registry.tokens.requests if r.status == 200]
    assert ("repository:alice/img:pull",) in scopes
    assert ("repository:alice/img:pull,push",) in scopes


def test_tokens_expire(make_registry: MakeRegistry, sif: Path) -> None:
    registry = make_registry("token")
    now = [1000.0]
    with session(registry) as writer:
        writer.auth.clock = lambda: now[0]
        push_sif(writer, parse_reference(_ref(registry)), sif)
        get_manifest(writer, "alice/img", "1")
        fetched = writer.auth.token_requests
        now[0] += 289  # the server says 300 s; renewed 10 s early
        get_manifest(writer, "alice/img", "1")
        assert writer.auth.token_requests == fetched
        now[0] += 2
        get_manifest(writer, "alice/img", "1")
        assert writer.auth.token_requests == fetched + 1


def test_identity_token_is_exchanged_for_access_tokens(
    make_registry: MakeRegistry, sif: Path
) -> None:
    registry = make_registry("token")
    assert registry.tokens is not None
    registry.tokens.refresh_tokens["idt-alice"] = "alice"
    identity = RegistryCredential("identitytoken", Secret("idt-alice"), None, "test")
    with session(registry, None, credential=identity) as anon:
        pushed = push_sif(anon, parse_reference(_ref(registry)), sif)
        assert resolve_sif(anon, parse_reference(_ref(registry)), arch="amd64").digest == (
            pushed.digest
        )
    assert {r.user for r in registry.tokens.requests} == {"alice"}
    identity = RegistryCredential("identitytoken", Secret("wrong"), None, "test")
    with (
        session(registry, None, credential=identity) as anon,
        pytest.raises(AuthenticationError, match="refused"),
    ):
        resolve_sif(anon, parse_reference(_ref(registry)), arch="amd64")


def test_pull_cut_midway_resumes_with_range(
    registry: Distribution, fixtures_dir: Path, tmp_path: Path
) -> None:
    sif = tmp_path / "with-descriptors.sif"
    shutil.copyfile(fixtures_dir / "with-descriptors.sif", sif)
    with session(registry) as writer:
        push_sif(writer, parse_reference(_ref(registry)), sif)
    proxy = CuttingProxy(registry.port)
    try:
        ref = parse_reference(_ref(registry, host=proxy.host))
        with session(registry, host=proxy.host) as reader:
            resolved = resolve_sif(reader, ref, arch="amd64")
            proxy.cut(b"GET /v2/alice/img/blobs/", response_bytes=20_000)
            done = pull_sif(reader, ref, resolved.manifest, tmp_path / "out.sif")
        assert proxy.cuts == 1
    finally:
        proxy.close()
    assert 0 < done.resumed_from < 20_000
    assert done.restarts == 0
    assert (tmp_path / "out.sif").read_bytes() == sif.read_bytes()


def test_lost_answer_to_the_closing_put_is_no_reason_to_upload_again(
    registry: Distribution, sif: Path
) -> None:
    proxy = CuttingProxy(registry.port)
    try:
        proxy.cut(b"PUT ", response_bytes=0)  # the registry stores the blob; its answer is lost
        digest = file_digest(sif)
        with session(registry, host=proxy.host) as writer:
            result = push_blob(
                writer, "alice/lost", BlobSource(digest, sif.stat().st_size, path=sif),
                chunk_size=8192,
            )  # fmt: skip
        assert proxy.cuts == 1
    finally:
        proxy.close()
    assert (result.restarts, result.chunks) == (0, 5)
    with session(registry) as writer:
        assert blob_size(writer, "alice/lost", digest) == sif.stat().st_size


def test_listing_tolerates_tags_that_are_no_sif(
    make_registry: MakeRegistry, sif: Path, tmp_path: Path
) -> None:
    registry = make_registry("anonymous")
    ref = parse_reference(_ref(registry, "mixed/repo:sif"))
    layer = tmp_path / "layer.tar.gz"
    layer.write_bytes(os.urandom(300))
    with session(registry) as anon:
        push_sif(anon, ref, sif)
        digest = file_digest(layer)
        push_blob(anon, "mixed/repo", BlobSource(digest, 300, path=layer))
        image = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": EMPTY_CONFIG_DIGEST, "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": digest, "size": 300}] * 2,
        }  # fmt: skip
        put_manifest(anon, "mixed/repo", "docker", json.dumps(image).encode(), OCI_MANIFEST)
        listed = describe_tags(anon, parse_reference(_ref(registry, "mixed/repo")))
        assert [(i.reference.rsplit(":", 1)[1], i.size) for i in listed] == [
            ("docker", None),
            ("sif", sif.stat().st_size),
        ]
        with pytest.raises(ServerError, match="2 layers"):
            describe(anon, parse_reference(_ref(registry, "mixed/repo:docker")))
