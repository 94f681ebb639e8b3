"""Issue 11 through the CLI as a process, against the real server's profile.

Each test names the numbered behaviour of Singularity Registry Server 2.1.2 it
covers; the reference server reproduces it in the ``sregistry-2.1.2`` profile.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sregistry.main.library.client import LibraryClient
from tests.e2e.conftest import Registry, run_sregistry
from tests.server.config import REAL_PROFILE

pytestmark = pytest.mark.e2e

NAME = "dinosaur/avocado:delicious"
LIBRARY_REF = "library://vsoch/demo/hello"


@pytest.fixture
def server_profile() -> str:
    """The real server's profile: these behaviours are what it does."""
    return REAL_PROFILE


def test_item1_pushing_the_same_bytes_twice_leaves_the_image_pullable(
    registry: Registry, image: Path, tmp_path: Path
) -> None:
    env = registry.env()
    first = run_sregistry("push", str(image), "--allow-non-sif", "--name", NAME, env=env)
    assert first.returncode == 0, first.stderr
    again = run_sregistry("push", str(image), "--allow-non-sif", "--name", NAME, env=env)
    assert again.returncode == 0, again.stderr
    assert "already there" in again.stderr
    assert again.stdout == f"{NAME}\n"
    posts = [r for r in registry.server.requests(r"^/upload$") if r["method"] == "POST"]
    assert len(posts) == 1  # the second push sent nothing, so the server deleted nothing
    target = tmp_path / "back.sif"
    pulled = run_sregistry("pull", NAME, "-o", str(target), env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert target.read_bytes() == image.read_bytes()


def library_env(registry: Registry, token: str) -> dict[str, str]:
    return {"SREGISTRY_LIBRARY_BASE": registry.url, "SREGISTRY_LIBRARY_TOKEN": token}


def test_item9_two_tags_on_a_one_tag_library_is_not_reported_as_success(
    registry: Registry, make_sif: Callable[[int], Path]
) -> None:
    image = make_sif(1 << 20)
    env = library_env(registry, registry.tokens["vsoch"])
    pushed = run_sregistry("push", str(image), "--name", f"{LIBRARY_REF}:v2,latest", env=env)
    assert pushed.returncode == 6, pushed.stderr
    assert pushed.stdout == ""
    (line,) = [x for x in pushed.stderr.splitlines() if x.startswith("error:")]
    assert "kept only vsoch/demo/hello:latest of the tags v2,latest" in line
    assert "did not keep v2" in line
    single = run_sregistry("push", str(image), "--name", f"{LIBRARY_REF}:v2", env=env)
    assert single.returncode == 0, single.stderr


def test_item11_a_token_the_library_does_not_accept(
    registry: Registry, make_sif: Callable[[int], Path]
) -> None:
    image = make_sif(1 << 20)
    env = library_env(registry, "0" * 40)
    pushed = run_sregistry("push", str(image), "--name", f"{LIBRARY_REF}:v1", env=env)
    assert pushed.returncode == 4, pushed.stderr
    assert "does not accept this token" in pushed.stderr


def test_item11_another_users_entity_names_both_users(
    registry: Registry, make_sif: Callable[[int], Path]
) -> None:
    image = make_sif(1 << 20)
    env = library_env(registry, registry.tokens["alice"])
    pushed = run_sregistry("push", str(image), "--name", f"{LIBRARY_REF}:v1", env=env)
    assert pushed.returncode == 4, pushed.stderr
    assert "belongs to 'alice', who cannot push to the entity 'vsoch'" in pushed.stderr


def test_a_private_image_pulled_without_a_token_says_one_may_be_needed(
    registry: Registry, make_sif: Callable[[int], Path], tmp_path: Path
) -> None:
    image = make_sif(1 << 20)
    env = library_env(registry, registry.tokens["vsoch"])
    assert run_sregistry("push", str(image), "--name", f"{LIBRARY_REF}:v1", env=env).returncode == 0
    registry.server.set_private("demo")
    pulled = run_sregistry(
        "pull", f"{LIBRARY_REF}:v1", "-o", str(tmp_path / "x.sif"),
        env={"SREGISTRY_LIBRARY_BASE": registry.url, "SREGISTRY_LIBRARY_TOKEN": ""},
    )  # fmt: skip
    assert pulled.returncode == 3, pulled.stderr
    assert "a token may be needed" in pulled.stderr


@pytest.mark.parametrize(
    ("size", "route"), [(1 << 20, r"/_complete$"), (65 << 20, r"/_multipart_complete$")]
)
def test_a_502_after_the_upload_completed_is_checked_first(
    registry: Registry, make_sif: Callable[[int], Path], size: int, route: str
) -> None:
    image = make_sif(size)
    registry.server.inject_fault("PUT", route, status=502, body="Bad Gateway", passthrough=True)
    with LibraryClient(base=registry.url, token=registry.tokens["vsoch"], env={}) as client:
        result = client.push(image, f"{LIBRARY_REF}:v1")
    answers = [entry["status"] for entry in registry.server.requests(route)]
    assert answers[0] == 502
    if len(answers) == 1:  # not retried: the read-back saw the image stored
        assert any("HTTP 502" in w and "verified" in w for w in result.warnings)
    with LibraryClient(base=registry.url, token=registry.tokens["vsoch"], env={}) as client:
        assert client.pull(f"{LIBRARY_REF}:v1", image.with_suffix(".back")).sha256 == result.sha256


def test_frozen_is_unknown_where_the_library_api_does_not_say(
    registry: Registry, make_sif: Callable[[int], Path]
) -> None:
    with LibraryClient(base=registry.url, token=registry.tokens["vsoch"], env={}) as client:
        client.push(make_sif(1 << 20), f"{LIBRARY_REF}:v1")
        (info,) = client.search(LIBRARY_REF)
    assert info.frozen is None
    assert info.to_json()["frozen"] is None


def test_item6_a_push_that_deletes_the_tag_elsewhere_says_so(
    registry: Registry, make_image: Callable[..., Path]
) -> None:
    first = run_sregistry(
        "push", str(make_image(name="a.sif")), "--allow-non-sif", "--name", "dinosaur/avocado:v1",
        env=registry.env("vsoch"),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = run_sregistry(
        "push", str(make_image(name="b.sif")), "--allow-non-sif", "--name", "alice/avocado:v1",
        env=registry.env("alice"),
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert (
        "warning: the registry deleted dinosaur/avocado:v1 when alice/avocado:v1 was pushed "
        "(it does not scope tags by collection)"
    ) in second.stderr
    assert registry.server.container("dinosaur", "avocado", "v1") is None
