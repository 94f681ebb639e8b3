"""Registry credentials: every source, the order between them, and the file's quirks."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sregistry.credentials import Secret, resolve_registry, store_token
from sregistry.errors import ConfigError

TOKEN = "0123456789abcdef0123456789abcdef01234567"
ENV_TOKEN = "ffffffffffffffffffffffffffffffffffff9999"
KEYRING_TOKEN = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk7777"
SERVER_FORM = {
    "registry": {"token": TOKEN, "username": "vsoch", "base": "https://sreg.example.org"}
}
CLIENT_FORM = {
    "registry": {
        "SREGISTRY_REGISTRY_BASE": "https://new.example.org",
        "SREGISTRY_REGISTRY_USERNAME": "dinosaur",
        "SREGISTRY_REGISTRY_TOKEN": "c" * 36 + "1111",
    }
}


def _write(home: Path, data: Any) -> Path:
    path = home / ".sregistry"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PYTHON_KEYRING_BACKEND": os.environ["PYTHON_KEYRING_BACKEND"],
        **extra,
    }


def test_nothing_configured(isolated_env: Path) -> None:
    creds = resolve_registry(env=_env(isolated_env))
    assert creds.base is None
    assert creds.username is None
    assert creds.token is None
    assert creds.nohttps is False
    assert not (isolated_env / ".sregistry").exists(), "reading must not create the file"


def test_server_exported_form(isolated_env: Path) -> None:
    _write(isolated_env, SERVER_FORM)
    creds = resolve_registry(env=_env(isolated_env))
    assert creds.base is not None
    assert creds.username is not None
    assert creds.token is not None
    assert creds.base.value == "https://sreg.example.org"
    assert creds.base.source == "~/.sregistry (registry.base)"
    assert creds.username.value == "vsoch"
    assert creds.username.source == "~/.sregistry (registry.username)"
    assert creds.token.value == Secret(TOKEN)
    assert creds.token.source == "~/.sregistry (registry.token)"


def test_client_written_form(isolated_env: Path) -> None:
    _write(isolated_env, CLIENT_FORM)
    creds = resolve_registry(env=_env(isolated_env))
    assert creds.base is not None
    assert creds.username is not None
    assert creds.token is not None
    assert creds.base.value == "https://new.example.org"
    assert creds.base.source == "~/.sregistry (registry.SREGISTRY_REGISTRY_BASE)"
    assert creds.username.value == "dinosaur"
    assert creds.token.value.reveal() == "c" * 36 + "1111"
    assert creds.token.source == "~/.sregistry (registry.SREGISTRY_REGISTRY_TOKEN)"


def test_client_keys_win_over_legacy_keys_in_one_file(isolated_env: Path) -> None:
    _write(isolated_env, {"registry": {**SERVER_FORM["registry"], **CLIENT_FORM["registry"]}})
    creds = resolve_registry(env=_env(isolated_env))
    assert creds.base is not None
    assert creds.token is not None
    assert creds.base.value == "https://new.example.org"
    assert "SREGISTRY_REGISTRY_TOKEN" in creds.token.source


def test_environment_beats_the_file(isolated_env: Path) -> None:
    _write(isolated_env, SERVER_FORM)
    env = _env(
        isolated_env,
        SREGISTRY_REGISTRY_BASE="https://sreg.example.org/api",
        SREGISTRY_REGISTRY_USERNAME="vsoch",
        SREGISTRY_REGISTRY_TOKEN=ENV_TOKEN,
    )
    creds = resolve_registry(env=env)
    assert creds.base is not None
    assert creds.username is not None
    assert creds.token is not None
    assert (creds.base.value, creds.base.source) == (
        "https://sreg.example.org/api",
        "$SREGISTRY_REGISTRY_BASE",
    )
    assert creds.username.source == "$SREGISTRY_REGISTRY_USERNAME"
    assert creds.token.value == Secret(ENV_TOKEN)
    assert creds.token.source == "$SREGISTRY_REGISTRY_TOKEN"


def test_options_beat_the_environment(isolated_env: Path) -> None:
    env = _env(
        isolated_env,
        SREGISTRY_REGISTRY_BASE="https://env.example.org",
        SREGISTRY_REGISTRY_USERNAME="envuser",
    )
    creds = resolve_registry(base="https://opt.example.org", username="optuser", env=env)
    assert creds.base is not None
    assert creds.username is not None
    assert (creds.base.value, creds.base.source) == ("https://opt.example.org", "--registry")
    assert (creds.username.value, creds.username.source) == ("optuser", "--username")


def test_empty_values_count_as_unset(isolated_env: Path) -> None:
    _write(isolated_env, {"registry": {"SREGISTRY_REGISTRY_TOKEN": "", "token": TOKEN}})
    env = _env(isolated_env, SREGISTRY_REGISTRY_TOKEN="  ", SREGISTRY_REGISTRY_BASE="")
    creds = resolve_registry(base="", env=env)
    assert creds.base is None
    assert creds.token is not None
    assert creds.token.source == "~/.sregistry (registry.token)"


def test_file_token_stays_with_its_server(isolated_env: Path) -> None:
    """--registry pointing elsewhere must not pick up the file's token."""
    _write(isolated_env, SERVER_FORM)
    creds = resolve_registry(base="https://other.example.org", env=_env(isolated_env))
    assert creds.base is not None
    assert creds.base.source == "--registry"
    assert creds.username is not None
    assert creds.username.value == "vsoch"
    assert creds.token is None


def test_file_token_follows_the_same_server_spelled_differently(isolated_env: Path) -> None:
    _write(isolated_env, SERVER_FORM)
    for spelling in (
        "https://SREG.example.org/api/",
        "sreg.example.org",
        "http://sreg.example.org",
    ):
        creds = resolve_registry(base=spelling, env=_env(isolated_env))
        assert creds.token is not None, spelling


def test_file_token_stays_with_its_user(isolated_env: Path) -> None:
    _write(isolated_env, SERVER_FORM)
    assert resolve_registry(username="someoneelse", env=_env(isolated_env)).token is None
    assert resolve_registry(username="vsoch", env=_env(isolated_env)).token is not None


def test_file_without_base_applies_to_any_registry(isolated_env: Path) -> None:
    """The server's token page omits base when it does not know its domain."""
    _write(isolated_env, {"registry": {"token": TOKEN, "username": "vsoch"}})
    creds = resolve_registry(base="https://anywhere.example.org", env=_env(isolated_env))
    assert creds.token is not None
    assert creds.token.value == Secret(TOKEN)


@pytest.mark.usefixtures("file_keyring")
def test_keyring_is_last(isolated_env: Path) -> None:
    env = dict(os.environ)
    store_token("registry", base="https://k.example.org", username="kim", token=KEYRING_TOKEN)
    # the keyring took it: the file records base and username only
    assert "SREGISTRY_REGISTRY_TOKEN" not in (isolated_env / ".sregistry").read_text()
    creds = resolve_registry(env=env)
    assert creds.token is not None
    assert (creds.token.value, creds.token.source) == (Secret(KEYRING_TOKEN), "keyring")
    # the keyring entry belongs to (base, username): another user gets nothing
    assert resolve_registry(username="other", env=env).token is None
    # the base is normalised for the lookup
    assert resolve_registry(base="https://K.example.org/api/", env=env).token is not None
    # the file comes before the keyring (login never leaves both: write it by hand)
    path = isolated_env / ".sregistry"
    data = json.loads(path.read_text())
    data["registry"]["token"] = TOKEN
    path.write_text(json.dumps(data))
    creds = resolve_registry(env=env)
    assert creds.token is not None
    assert (creds.token.value, creds.token.source) == (
        Secret(TOKEN),
        "~/.sregistry (registry.token)",
    )
    # and the environment before both
    env["SREGISTRY_REGISTRY_TOKEN"] = ENV_TOKEN
    creds = resolve_registry(env=env)
    assert creds.token is not None
    assert creds.token.source == "$SREGISTRY_REGISTRY_TOKEN"


@pytest.mark.usefixtures("file_keyring")
def test_keyring_needs_base_and_username(isolated_env: Path) -> None:
    store_token("registry", base="https://k.example.org", username="kim", token=KEYRING_TOKEN)
    (isolated_env / ".sregistry").unlink()
    env = dict(os.environ)
    assert resolve_registry(env=env).token is None
    assert resolve_registry(base="https://k.example.org", env=env).token is None
    creds = resolve_registry(base="https://k.example.org", username="kim", env=env)
    assert creds.token is not None
    assert creds.token.source == "keyring"


def test_broken_keyring_is_not_fatal(isolated_env: Path) -> None:
    env = _env(isolated_env, PYTHON_KEYRING_BACKEND="tests.keyring_backend.BrokenKeyring")
    creds = resolve_registry(base="https://h.org", username="u", env=env)
    assert creds.token is None
    env["PYTHON_KEYRING_BACKEND"] = "no.such.module.Keyring"
    assert resolve_registry(base="https://h.org", username="u", env=env).token is None


@pytest.mark.parametrize(
    ("env_value", "file_value", "expected"),
    [
        (None, None, False),
        ("1", None, True),
        ("yes", None, True),
        ("false", None, False),  # legacy: any value meant http
        ("0", True, False),
        (None, True, True),
        (None, "true", True),
        (None, "no", False),
    ],
)
def test_nohttps_is_a_boolean(
    isolated_env: Path, env_value: str | None, file_value: object, expected: bool
) -> None:
    if file_value is not None:
        _write(isolated_env, {"registry": {"SREGISTRY_REGISTRY_NOHTTPS": file_value}})
    extra = {"SREGISTRY_REGISTRY_NOHTTPS": env_value} if env_value is not None else {}
    assert resolve_registry(env=_env(isolated_env, **extra)).nohttps is expected


def test_secrets_path_from_the_environment(isolated_env: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "secrets.json"
    elsewhere.parent.mkdir()
    elsewhere.write_text(json.dumps(SERVER_FORM))
    _write(isolated_env, CLIENT_FORM)
    creds = resolve_registry(env=_env(isolated_env, SREGISTRY_CLIENT_SECRETS=str(elsewhere)))
    assert creds.token is not None
    assert creds.token.source == f"{elsewhere} (registry.token)"


def test_home_is_honoured(tmp_path: Path) -> None:
    other_home = tmp_path / "other-home"
    other_home.mkdir()
    _write(other_home, SERVER_FORM)
    creds = resolve_registry(env=_env(other_home))
    assert creds.username is not None
    assert creds.username.value == "vsoch"


def test_empty_file_is_tolerated(isolated_env: Path) -> None:
    _write(isolated_env, "")
    assert resolve_registry(env=_env(isolated_env)).base is None
    _write(isolated_env, "  \n")
    assert resolve_registry(env=_env(isolated_env)).base is None
    _write(isolated_env, {})
    assert resolve_registry(env=_env(isolated_env)).base is None


@pytest.mark.parametrize(
    "content",
    [
        '{"registry": {"token": "' + TOKEN + '"',  # truncated
        '["registry", "' + TOKEN + '"]',  # not an object
        '{"registry": "' + TOKEN + '"}',  # section not an object
        '{"registry": {"token": ["' + TOKEN + '"]}}',  # value not a string
    ],
)
def test_corrupt_file_names_the_path_not_the_content(isolated_env: Path, content: str) -> None:
    path = _write(isolated_env, content)
    with pytest.raises(ConfigError) as caught:
        resolve_registry(env=_env(isolated_env))
    text = f"{caught.value.message} {caught.value.hint}"
    assert str(path) in text
    assert TOKEN not in text
    assert path.read_text() == content, "a corrupt file is left alone"
