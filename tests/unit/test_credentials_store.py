"""store_token / remove_token: where tokens go, what the file keeps, and atomic 0600 writes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sregistry.credentials import remove_token, resolve_registry, store_token
from sregistry.errors import ConfigError
from tests.keyring_backend import stored

REPO = Path(__file__).resolve().parents[2]
TOKEN = "0123456789abcdef0123456789abcdef01234567"
NEW_TOKEN = "9876543210fedcba9876543210fedcba76543210"
ENV_TOKEN = "e" * 36 + "env0"
BASE = "https://sreg.example.org"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_without_keyring_the_file_gets_the_token(secrets: Path) -> None:
    place = store_token("registry", base=BASE + "/api/", username="vsoch", token=TOKEN + "\n")
    assert place == str(secrets)
    assert json.loads(secrets.read_text()) == {
        "registry": {
            "SREGISTRY_REGISTRY_BASE": BASE,
            "SREGISTRY_REGISTRY_USERNAME": "vsoch",
            "SREGISTRY_REGISTRY_TOKEN": TOKEN,
        }
    }
    assert _mode(secrets) == 0o600
    assert _leftovers(secrets.parent) == []


def test_parent_directory_is_created_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new" / "dir" / "secrets.json"
    monkeypatch.setenv("SREGISTRY_CLIENT_SECRETS", str(target))
    store_token("library", base="https://lib.example.org", username=None, token=TOKEN)
    assert _mode(target.parent) == 0o700
    assert _mode(target) == 0o600
    assert json.loads(target.read_text()) == {
        "library": {
            "SREGISTRY_LIBRARY_BASE": "https://lib.example.org",
            "SREGISTRY_LIBRARY_TOKEN": TOKEN,
        }
    }


def test_other_keys_are_kept_and_the_old_account_replaced(secrets: Path) -> None:
    secrets.write_text(
        json.dumps(
            {
                "SREGISTRY_CLIENT": "registry",
                "hub": {"base": "https://singularity-hub.org/api"},
                "library": {"SREGISTRY_LIBRARY_BASE": "https://lib.example.org"},
                "registry": {
                    "token": TOKEN,
                    "username": "old",
                    "base": "https://old.example.org",
                    "SREGISTRY_REGISTRY_NOHTTPS": False,
                },
            }
        )
    )
    secrets.chmod(0o644)
    store_token("registry", base=BASE, username="vsoch", token=NEW_TOKEN)
    data = json.loads(secrets.read_text())
    assert data["SREGISTRY_CLIENT"] == "registry"
    assert data["hub"] == {"base": "https://singularity-hub.org/api"}
    assert data["library"] == {"SREGISTRY_LIBRARY_BASE": "https://lib.example.org"}
    assert data["registry"] == {
        "SREGISTRY_REGISTRY_NOHTTPS": False,
        "SREGISTRY_REGISTRY_BASE": BASE,
        "SREGISTRY_REGISTRY_USERNAME": "vsoch",
        "SREGISTRY_REGISTRY_TOKEN": NEW_TOKEN,
    }
    assert _mode(secrets) == 0o600, "a rewrite tightens a loose mode"


@pytest.mark.usefixtures("file_keyring")
def test_with_keyring_the_file_keeps_base_and_username_only(secrets: Path) -> None:
    secrets.write_text(
        json.dumps({"registry": {"token": TOKEN, "username": "vsoch", "base": BASE}})
    )
    assert store_token("registry", base=BASE, username="vsoch", token=NEW_TOKEN) == "keyring"
    assert stored() == {f"sregistry+registry:{BASE}": {"vsoch": NEW_TOKEN}}
    assert json.loads(secrets.read_text()) == {
        "registry": {"SREGISTRY_REGISTRY_BASE": BASE, "SREGISTRY_REGISTRY_USERNAME": "vsoch"}
    }
    assert TOKEN not in secrets.read_text(), "the old file token would shadow the keyring"
    creds = resolve_registry()
    assert creds.token is not None
    assert creds.token.value.reveal() == NEW_TOKEN


@pytest.mark.usefixtures("file_keyring")
def test_library_token_in_keyring(secrets: Path) -> None:
    assert (
        store_token("library", base="https://Lib.example.org/", username=None, token=TOKEN)
        == "keyring"
    )
    assert stored() == {"sregistry+library:https://lib.example.org": {"token": TOKEN}}
    assert json.loads(secrets.read_text()) == {
        "library": {"SREGISTRY_LIBRARY_BASE": "https://lib.example.org"}
    }


def test_broken_keyring_falls_back_to_the_file(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.keyring_backend.BrokenKeyring")
    assert store_token("registry", base=BASE, username="vsoch", token=TOKEN) == str(secrets)
    assert json.loads(secrets.read_text())["registry"]["SREGISTRY_REGISTRY_TOKEN"] == TOKEN
    assert remove_token("registry", base=BASE, username="vsoch") == [str(secrets)]


def test_environment_values_are_never_written(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_REGISTRY_BASE", BASE + "/api")
    monkeypatch.setenv("SREGISTRY_REGISTRY_USERNAME", "vsoch")
    monkeypatch.setenv("SREGISTRY_REGISTRY_TOKEN", ENV_TOKEN)
    secrets.write_text(
        json.dumps({"registry": {"SREGISTRY_REGISTRY_BASE": "https://stale.example.org"}})
    )
    store_token("registry", base=BASE, username="vsoch", token=TOKEN)
    text = secrets.read_text()
    assert ENV_TOKEN not in text
    assert json.loads(text) == {"registry": {"SREGISTRY_REGISTRY_TOKEN": TOKEN}}


@pytest.mark.usefixtures("file_keyring")
def test_nothing_is_created_when_everything_else_comes_from_the_environment(
    secrets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SREGISTRY_REGISTRY_BASE", BASE)
    monkeypatch.setenv("SREGISTRY_REGISTRY_USERNAME", "vsoch")
    assert store_token("registry", base=BASE, username="vsoch", token=TOKEN) == "keyring"
    assert not secrets.exists()


@pytest.mark.parametrize(
    ("username", "token", "message"),
    [
        ("vsoch", "", "empty token"),
        ("vsoch", "  \n", "empty token"),
        ("vsoch", "two words", "printable ASCII"),
        ("vsoch", "line\nbreak", "printable ASCII"),
        ("vsoch", "caf\u00e9-token-0000", "printable ASCII"),
        (None, TOKEN, "needs a username"),
        ("  ", TOKEN, "needs a username"),
        ("ÿÿÿ", TOKEN, "base64"),
    ],
)
def test_refusals(secrets: Path, username: str | None, token: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        store_token("registry", base=BASE, username=username, token=token)
    assert TOKEN not in str(caught.value)
    assert not secrets.exists()


def test_unknown_kind(secrets: Path) -> None:
    with pytest.raises(ValueError, match="unknown credential kind"):
        store_token("docker", base=BASE, username="u", token=TOKEN)  # type: ignore[arg-type]


@pytest.mark.usefixtures("file_keyring")
def test_corrupt_file_is_not_overwritten(secrets: Path) -> None:
    secrets.write_text('{"registry": {"token": "' + TOKEN)
    with pytest.raises(ConfigError, match="not valid JSON"):
        store_token("registry", base=BASE, username="vsoch", token=NEW_TOKEN)
    assert secrets.read_text() == '{"registry": {"token": "' + TOKEN
    assert stored() == {}, "nothing is stored when the file cannot be updated"


def test_failure_mid_write_leaves_the_old_file(secrets: Path) -> None:
    """A real write failure (file size limit) half-way through the new content."""
    old = json.dumps({"registry": {"SREGISTRY_REGISTRY_USERNAME": "vsoch", "token": TOKEN}})
    secrets.write_text(old)
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        from sregistry.credentials import store_token
        from sregistry.errors import ConfigError
        try:
            store_token("registry", base={BASE!r}, username="v" * 5000, token={NEW_TOKEN!r})
        except ConfigError as exc:
            print(exc.message)
            sys.exit(3)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert f"cannot write the secrets file {secrets}" in done.stdout
    assert secrets.read_text() == old
    assert _leftovers(secrets.parent) == []


@pytest.mark.usefixtures("file_keyring")
def test_remove_from_keyring_and_file(secrets: Path) -> None:
    store_token("registry", base=BASE, username="vsoch", token=NEW_TOKEN)
    data = json.loads(secrets.read_text())
    data["registry"]["token"] = TOKEN  # an older legacy token too
    secrets.write_text(json.dumps(data))
    removed = remove_token("registry", base=BASE + "/api", username="vsoch")
    assert removed == ["keyring", str(secrets)]
    assert stored() == {f"sregistry+registry:{BASE}": {}}
    assert json.loads(secrets.read_text()) == {
        "registry": {"SREGISTRY_REGISTRY_BASE": BASE, "SREGISTRY_REGISTRY_USERNAME": "vsoch"}
    }
    assert remove_token("registry", base=BASE, username="vsoch") == []
    assert _mode(secrets) == 0o600


def test_remove_leaves_other_accounts_alone(secrets: Path) -> None:
    content = json.dumps({"registry": {"base": BASE, "username": "vsoch", "token": TOKEN}})
    secrets.write_text(content)
    assert remove_token("registry", base="https://other.example.org", username="vsoch") == []
    assert remove_token("registry", base=BASE, username="someone") == []
    assert remove_token("registry", base=None, username=None) == []
    assert secrets.read_text() == content
    assert remove_token("registry", base=BASE, username=None) == [str(secrets)]
    assert TOKEN not in secrets.read_text()


def test_remove_unscoped_file_token(secrets: Path) -> None:
    secrets.write_text(json.dumps({"registry": {"username": "vsoch", "token": TOKEN}}))
    assert remove_token("registry", base=None, username="vsoch") == [str(secrets)]
    assert json.loads(secrets.read_text()) == {"registry": {"username": "vsoch"}}


def test_remove_never_creates_the_file(secrets: Path) -> None:
    assert remove_token("registry", base=BASE, username="vsoch") == []
    assert remove_token("library", base=BASE, username=None) == []
    assert not secrets.exists()


def test_remove_library_token(secrets: Path) -> None:
    store_token("library", base="https://lib.example.org", username=None, token=TOKEN)
    assert remove_token("library", base="https://other.example.org", username=None) == []
    assert remove_token("library", base="https://lib.example.org/", username=None) == [str(secrets)]
    assert json.loads(secrets.read_text()) == {
        "library": {"SREGISTRY_LIBRARY_BASE": "https://lib.example.org"}
    }
