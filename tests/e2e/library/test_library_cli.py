"""The sregistry commands on library:// references, with tokens from every source:
the environment, `sregistry login --library`, and Singularity/Apptainer remote.yaml."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli
from tests.e2e.library.conftest import Library, MiB

pytestmark = pytest.mark.e2e

REF = "library://alice/demo/hello"


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, env=env)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bearers(library: Library) -> set[str]:
    """The tokens that reached the Library API."""
    return {
        entry["headers"]["Authorization"].removeprefix("Bearer ")
        for entry in library.requests(r"^/v1/|^/v2/")
        if "Authorization" in entry["headers"] and entry["path"] != "/v1/token-status"
    }


def test_push_pull_list_with_the_token_in_the_environment(
    library: Library, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    image = make_sif(5 * MiB)
    env = {"SREGISTRY_LIBRARY_TOKEN": library.token, "SREGISTRY_LIBRARY_BASE": library.url}
    # sregistry 2.1.2 keeps one tag per image (item 9): push two tags only where kept
    tags = "v1" if library.server.quirks.one_tag_per_image else "v1,latest"
    pushed = run("push", str(image), "--name", f"{REF}:{tags}", env=env)
    assert pushed.exit_code == 0, pushed.output
    assert pushed.stdout == f"{REF}:{tags}\n"
    assert f"library: {library.url}/" in pushed.stderr

    out = tmp_path / "pulled.sif"
    pulled = run(
        "pull", f"{REF}:v1", "-o", str(out), "--connections", "2", "--part-size", "1M", env=env
    )
    assert pulled.exit_code == 0, pulled.output
    assert pulled.stdout == f"{out}\n"
    assert sha256(out) == sha256(image)
    assert len(library.requests(r"^/_blob/", "GET")) == 5

    listed = run("list", REF, env=env)
    assert listed.exit_code == 0, listed.output
    rows = listed.stdout.splitlines()
    assert rows[0].split("\t")[0] == "image"
    assert sorted(row.split("\t")[0] for row in rows[1:]) == sorted(
        f"alice/demo/hello:{tag}" for tag in tags.split(",")
    )
    assert bearers(library) == {library.token}


def test_library_options_are_refused_for_registry_images(tmp_path: Path) -> None:
    result = run("pull", "collection/name", "--connections", "2", "--registry", "http://x.test")
    assert result.exit_code == 2
    assert "--connections: only for library:// images" in result.stderr


def test_push_needs_a_token_and_says_where_to_get_one(
    library: Library, make_sif: Callable[[int], Path]
) -> None:
    result = run("push", str(make_sif(MiB)), "--name", REF, "--library", library.url)
    assert result.exit_code == 4
    assert "needs a library token" in result.stderr
    assert "SREGISTRY_LIBRARY_TOKEN" in result.stderr


def test_login_checks_the_token_then_push_uses_it(
    library: Library, make_sif: Callable[[int], Path]
) -> None:
    bad = run("login", "--library", library.url, "--token-stdin", stdin="0" * 40 + "\n")
    assert bad.exit_code != 0
    good = run("login", "--library", library.url, "--token-stdin", stdin=library.token + "\n")
    assert good.exit_code == 0, good.output
    statuses = [e["status"] for e in library.requests(r"^/v1/token-status$")]
    assert statuses == [404, 200]
    pushed = run("push", str(make_sif(MiB)), "--name", REF, "--library", library.url)
    assert pushed.exit_code == 0, pushed.output
    assert bearers(library) == {library.token}


def _remote_yaml(home: Path, library: Library, bob: str) -> Path:
    port_url = library.url.removeprefix("http://")
    path = home / ".singularity" / "remote.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "Active: lab\n"
        "Remotes:\n"
        "  SylabsCloud:\n"
        "    URI: cloud.sylabs.io\n"
        "    Token: not-for-this-server\n"
        "    System: true\n"
        "  lab:\n"
        f"    URI: {port_url}\n"
        f"    Token: {library.token}\n"
        "    Insecure: true\n"
        "  labbob:\n"
        f"    URI: {port_url}\n"
        f"    Token: {bob}\n"
        "    Insecure: true\n"
    )
    return path


def test_singularity_remote_login_is_all_a_user_needs(
    library: Library, make_sif: Callable[[int], Path], isolated_env: Path, tmp_path: Path
) -> None:
    bob = library.server.add_user("bob")
    _remote_yaml(isolated_env, library, bob)
    image = make_sif(MiB)

    pushed = run("push", str(image), "--name", REF)  # the active remote: lab (alice)
    assert pushed.exit_code == 0, pushed.output
    assert f"library: {library.url}/" in pushed.stderr
    assert len(library.requests(r"^/assets/config/config.prod.json$")) == 1
    assert bearers(library) == {library.token}

    library.server.clear_requests()
    other = "library://bob/bobs/hello"
    pushed = run("push", str(image), "--name", other, "--remote", "labbob")
    assert pushed.exit_code == 0, pushed.output
    assert bearers(library) == {bob}

    out = tmp_path / "x.sif"
    pulled = run("pull", other, "-o", str(out), "--remote", "labbob")
    assert pulled.exit_code == 0, pulled.output
    assert sha256(out) == sha256(image)

    not_bob = run("push", str(image), "--name", REF, "--remote", "labbob")
    assert not_bob.exit_code == 4  # the entity must be the token's own user
    assert "belongs to 'bob', who cannot push to the entity 'alice'" in not_bob.stderr
    denied = run("push", str(image), "--name", "library://bob/demo/x", "--remote", "labbob")
    assert denied.exit_code == 4  # "demo" is alice's collection
    assert "exists already" in denied.stderr
    unknown = run("push", str(image), "--name", REF, "--remote", "nope")
    assert unknown.exit_code == 1
    assert "nope" in unknown.stderr


def test_delete_asks_first_and_reports_what_the_server_lacks(
    library: Library, make_sif: Callable[[int], Path]
) -> None:
    env = {"SREGISTRY_LIBRARY_TOKEN": library.token, "SREGISTRY_LIBRARY_BASE": library.url}
    assert run("push", str(make_sif(MiB)), "--name", REF, env=env).exit_code == 0
    refused = run("delete", f"{REF}:latest", env=env)
    assert refused.exit_code == 1
    assert "no terminal to confirm on" in refused.stderr
    assert library.requests(r"^/v1/images/", "DELETE") == []
    forced = run("delete", f"{REF}:latest", "--force", env=env)
    assert forced.exit_code == 1
    assert "does not delete images" in forced.stderr
    assert [e["query"] for e in library.requests(r"^/v1/images/", "DELETE")] == ["arch=amd64"]


def test_collections_create_as_the_server_docs_show(library: Library) -> None:
    env = {"SREGISTRY_LIBRARY_TOKEN": library.token, "SREGISTRY_LIBRARY_BASE": library.url}
    made = run("collections", "create", "Dinosaur Collection", "--private", env=env)
    assert made.exit_code == 0, made.output
    assert made.stdout == "dinosaur-collection\n"
    assert "created private collection dinosaur-collection" in made.stderr
    assert [e["path"] for e in library.requests(r"^/v1/(entities|collections)")] == [
        "/v1/entities",
        "/v1/collections",
    ]
    info = library.server.collection("dinosaur-collection")
    assert info is not None
    assert info["private"] is True
    assert info["owners"] == ["alice"]

    again = run("collections", "create", "alice/dinosaur-collection", env=env)
    assert again.exit_code == 4
    assert "exists already" in again.stderr
    other = run("collections", "create", "bob/theirs", env=env)
    assert other.exit_code == 3
    assert "no entity 'bob'" in other.stderr
