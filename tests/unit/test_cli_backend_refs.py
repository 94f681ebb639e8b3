"""Each backend reads its own references: ``local://`` refs through the generic
push/list/pull/delete commands, and ``Client.display_name`` for prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli
from sregistry.cli.context import AppContext
from sregistry.errors import InvalidName
from sregistry.main.library.client import LibraryClient
from sregistry.main.local.client import LocalClient
from sregistry.main.registry.client import RegistryClient
from tests.unit.storecheck import rows

SHA = "f53422b89ea3002d63da44d7c593f38752b8c350e3709445b2acce69137eb026"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def test_local_refs_through_every_generic_command(
    store_root: Path, tmp_path: Path, image: Path
) -> None:
    pushed = run("push", str(image), "--name", "local://Lab/Tool:1.0")
    assert pushed.exit_code == 0, pushed.output
    assert pushed.stdout == "lab/tool:1.0\n"

    listed = run("list", "local://lab/", "--json")
    assert listed.exit_code == 0, listed.output
    assert [item["uri"] for item in json.loads(listed.stdout)] == ["lab/tool:1.0"]

    out = tmp_path / "out.sif"
    pulled = run("pull", "local://lab/tool:1.0", "-o", str(out))
    assert pulled.exit_code == 0, pulled.output
    assert pulled.stdout == f"{out}\n"

    deleted = run("delete", "local://Lab/Tool:1.0", "--force")
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout == "deleted lab/tool:1.0\n"
    assert f"local: {store_root}\n" in deleted.stderr
    assert rows(store_root) == []

    gone = run("delete", "local://lab/tool:1.0", "--force")
    assert gone.exit_code == 3
    assert gone.stderr.endswith(
        "error: lab/tool:1.0 is not in the local store; `sregistry images` lists what it holds\n"
    )


def test_local_delete_refused_without_a_terminal_names_the_image(
    store_root: Path, fixtures_dir: Path
) -> None:
    run("push", str(fixtures_dir / "busybox-like.sif"), "--name", "local://lab/tool")
    refused = run("delete", "local://lab/tool")
    assert refused.exit_code == 1
    assert "not deleting lab/tool:latest: there is no terminal" in refused.stderr
    assert len(rows(store_root)) == 1


@pytest.mark.parametrize(
    ("ref", "code"),
    [("local://a/b/c/d", 2), ("library://Alice/demo/hello", 2), ("registry://x/a/b/c/d", 2)],
)
def test_invalid_refs_are_refused_by_their_own_backend(
    store_root: Path, ref: str, code: int
) -> None:
    result = run("delete", ref, "--force", "--library", "https://library.example.org")
    assert result.exit_code == code
    assert result.stderr.splitlines()[-1].startswith("error: invalid ")
    assert not store_root.exists()


def test_display_names() -> None:
    registry = RegistryClient(base="https://reg.example.org", env={})
    assert registry.display_name("Dino_Saur/Avocado") == "dino-saur/avocado:latest"
    assert registry.display_name("registry://reg.example.org/a/b:v1@sha256.ab") == "a/b:v1"
    with pytest.raises(InvalidName, match=r"names the registry other\.example\.org"):
        registry.display_name("registry://other.example.org/a/b")
    library = LibraryClient(base="https://library.example.org", env={})
    assert library.display_name("library://alice/demo/hello") == "alice/demo/hello:latest"
    assert library.display_name("hello:v1,v2") == "hello:v1"
    with pytest.raises(InvalidName):
        library.display_name("library://Alice/demo/hello")
    local = LocalClient(env={})
    assert local.display_name("local://Lab/Tool") == "lab/tool:latest"
    assert local.display_name(f"lab/tool@sha256.{SHA}") == f"lab/tool:latest@sha256.{SHA}"


def test_a_search_word_never_picks_a_backend(store_root: Path, image: Path) -> None:
    assert run("push", str(image), "--name", "local/thing:1").exit_code == 0
    found = run("list", "local", "--json")
    assert found.exit_code == 0, found.output
    assert [row["uri"] for row in json.loads(found.stdout)] == ["local/thing:1"]
    # "registry" is a search word here too, not a backend: nothing matches in the store
    assert run("list", "registry").exit_code == 3


def test_library_options_pick_the_library_backend(store_root: Path) -> None:
    done = run("labels", "--library", "http://127.0.0.1:9")
    assert done.exit_code == 1
    assert "the Library API has no labels" in done.stderr
    assert "local:" not in done.stderr


def test_registry_and_library_options_together_need_a_scheme(store_root: Path) -> None:
    done = run("list", "--registry", "http://127.0.0.1:9", "--library", "http://127.0.0.1:9")
    assert done.exit_code == 2
    assert "registry:// or library://" in done.stderr


@pytest.mark.network
def test_registry_option_beats_sregistry_client(
    store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_CLIENT", "local")
    waits: list[float] = []
    done = CliRunner().invoke(
        cli, ["labels", "--registry", "http://127.0.0.1:9"], obj=AppContext(sleep=waits.append)
    )
    assert "registry: http://127.0.0.1:9" in done.stderr
    assert "cannot connect to http://127.0.0.1:9" in done.stderr
    assert len(waits) == 3  # retried without waiting for real
