"""Library credentials: options, environment, secrets file, keyring and remote.yaml."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sregistry.credentials import Secret, resolve_library, store_token
from sregistry.errors import ConfigError

SYLABS_TOKEN = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.sylabs.cloud.token.aaaa1111"
MYREG_TOKEN = "0123456789abcdef0123456789abcdef0000myrg"
APPTAINER_TOKEN = "apptainer-remote-token-value-0000000000apt1"
FILE_TOKEN = "f" * 36 + "f1le"
ENV_TOKEN = "e" * 36 + "env0"
KEYRING_TOKEN = "k" * 36 + "keyr"

SINGULARITY_YAML = f"""\
Active: SylabsCloud
Remotes:
  SylabsCloud:
    URI: cloud.sylabs.io
    Token: {SYLABS_TOKEN}
    System: true
    Exclusive: false
  myreg:
    URI: sreg.example.org:8000
    Token: {MYREG_TOKEN}
    System: false
    Exclusive: false
    Insecure: true
  notoken:
    URI: enterprise.example.com/
    System: false
    Exclusive: false
  handwritten:
    URI: http://hand.example.org
    Token: handwritten-token-000000000000000000hand
Credentials:
- URI: docker://registry.example.com
  Insecure: false
"""

APPTAINER_YAML = f"""\
Active: mine
Remotes:
  mine:
    URI: apptainer.example.org
    Token: {APPTAINER_TOKEN}
    System: false
    Exclusive: false
  DefaultRemote:
    URI: cloud.apptainer.org
    System: true
    Exclusive: false
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PYTHON_KEYRING_BACKEND": os.environ["PYTHON_KEYRING_BACKEND"],
        **extra,
    }


def _remote_yaml(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "remote.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def singularity(isolated_env: Path) -> Path:
    return _remote_yaml(isolated_env / ".singularity", SINGULARITY_YAML)


@pytest.mark.usefixtures("singularity")
def test_active_remote_after_singularity_remote_login(isolated_env: Path) -> None:
    creds = resolve_library(env=_env(isolated_env))
    assert creds.base is not None
    assert creds.token is not None
    # cloud.sylabs.io is mapped to its library without discovery, like the real clients
    assert creds.base.value == "https://library.sylabs.io"
    assert creds.base.source == "~/.singularity/remote.yaml (SylabsCloud)"
    assert creds.token.value == Secret(SYLABS_TOKEN)
    assert creds.token.source == "~/.singularity/remote.yaml (SylabsCloud)"
    assert creds.remote == "SylabsCloud"
    assert creds.discover is False


@pytest.mark.usefixtures("singularity")
def test_named_remote_insecure_means_http(isolated_env: Path) -> None:
    creds = resolve_library(remote="myreg", env=_env(isolated_env))
    assert creds.base is not None
    assert creds.token is not None
    assert creds.base.value == "http://sreg.example.org:8000"
    assert creds.token.value == Secret(MYREG_TOKEN)
    assert creds.remote == "myreg"
    assert creds.discover is True


@pytest.mark.usefixtures("singularity")
def test_remote_without_token_and_handwritten_scheme(isolated_env: Path) -> None:
    creds = resolve_library(remote="notoken", env=_env(isolated_env))
    assert creds.base is not None
    assert creds.base.value == "https://enterprise.example.com"
    assert creds.token is None
    # SingularityCE replaces any scheme by https (http only with Insecure)
    hand = resolve_library(remote="handwritten", env=_env(isolated_env))
    assert hand.base is not None
    assert hand.base.value == "https://hand.example.org"


@pytest.mark.usefixtures("singularity")
def test_unknown_remote_lists_the_known_ones(isolated_env: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_library(remote="nope", env=_env(isolated_env))
    assert "nope" in caught.value.message
    assert caught.value.hint == "known remotes: SylabsCloud, handwritten, myreg, notoken"
    assert SYLABS_TOKEN not in f"{caught.value.message} {caught.value.hint}"


def test_unknown_remote_without_any_file(isolated_env: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_library(remote="nope", env=_env(isolated_env))
    assert caught.value.hint == "no remotes are defined"
    assert "~/.apptainer/remote.yaml or ~/.singularity/remote.yaml" in caught.value.message


@pytest.mark.usefixtures("singularity")
def test_apptainer_file_wins_when_both_exist(isolated_env: Path) -> None:
    _remote_yaml(isolated_env / ".apptainer", APPTAINER_YAML)
    creds = resolve_library(env=_env(isolated_env))
    assert creds.base is not None
    assert creds.token is not None
    assert creds.remote == "mine"
    assert creds.base.value == "https://apptainer.example.org"
    assert creds.token.source == "~/.apptainer/remote.yaml (mine)"
    # a name only the Singularity file defines is still found there
    creds = resolve_library(remote="myreg", env=_env(isolated_env))
    assert creds.token is not None
    assert creds.token.value == Secret(MYREG_TOKEN)


@pytest.mark.usefixtures("singularity")
def test_apptainer_file_without_active_falls_back(isolated_env: Path) -> None:
    _remote_yaml(isolated_env / ".apptainer", APPTAINER_YAML.replace("Active: mine\n", ""))
    creds = resolve_library(env=_env(isolated_env))
    assert creds.remote == "SylabsCloud"


def test_configdir_variables(isolated_env: Path, tmp_path: Path) -> None:
    _remote_yaml(tmp_path / "apptainer-config", APPTAINER_YAML)
    _remote_yaml(isolated_env / ".apptainer", "Active: x\nRemotes: {x: {URI: wrong.org}}\n")
    env = _env(isolated_env, APPTAINER_CONFIGDIR=str(tmp_path / "apptainer-config"))
    creds = resolve_library(env=env)
    assert creds.remote == "mine"
    assert creds.token is not None
    assert creds.token.source == f"{tmp_path / 'apptainer-config' / 'remote.yaml'} (mine)"
    _remote_yaml(tmp_path / "sing-config", SINGULARITY_YAML)
    env = _env(isolated_env, SINGULARITY_CONFIGDIR=str(tmp_path / "sing-config"))
    assert resolve_library(remote="myreg", env=env).remote == "myreg"


@pytest.mark.usefixtures("singularity")
def test_base_order(isolated_env: Path) -> None:
    (isolated_env / ".sregistry").write_text(
        json.dumps({"library": {"SREGISTRY_LIBRARY_BASE": "https://file.example.org"}})
    )
    env = _env(isolated_env)
    assert _base(resolve_library(env=env)) == ("https://file.example.org", "library")
    env["SREGISTRY_LIBRARY_BASE"] = "https://env.example.org"
    assert _base(resolve_library(env=env)) == ("https://env.example.org", "$SREGISTRY")
    assert _base(resolve_library(remote="myreg", env=env)) == (
        "http://sreg.example.org:8000",
        "(myreg)",
    )
    assert _base(resolve_library(base="https://opt.example.org", remote="myreg", env=env)) == (
        "https://opt.example.org",
        "--library",
    )


def _base(creds: object) -> tuple[str, str]:
    base = creds.base  # type: ignore[attr-defined]
    assert base is not None
    marker = next(
        part for part in ("--library", "$SREGISTRY", "(myreg)", "library") if part in base.source
    )
    return base.value, marker


@pytest.mark.usefixtures("singularity")
def test_token_order(isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_KEYRING_FILE", str(tmp_path / "keyring.json"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.keyring_backend.FileKeyring")
    base = "http://sreg.example.org:8000"
    env = dict(os.environ)
    # remote.yaml, for the remote whose URL is the base in effect
    creds = resolve_library(base=base, env=env)
    assert creds.token is not None
    assert creds.token.value == Secret(MYREG_TOKEN)
    assert creds.remote == "myreg"
    # keyring beats remote.yaml
    store_token("library", base=base, username=None, token=KEYRING_TOKEN)
    creds = resolve_library(base=base, env=env)
    assert creds.token is not None
    assert creds.token.source == "keyring"
    assert creds.remote is None
    # the secrets file beats the keyring (only written when no keyring: write it by hand)
    (isolated_env / ".sregistry").write_text(
        json.dumps(
            {"library": {"SREGISTRY_LIBRARY_BASE": base, "SREGISTRY_LIBRARY_TOKEN": FILE_TOKEN}}
        )
    )
    creds = resolve_library(base=base, env=env)
    assert creds.token is not None
    assert creds.token.value == Secret(FILE_TOKEN)
    assert creds.token.source == "~/.sregistry (library.SREGISTRY_LIBRARY_TOKEN)"
    # the environment beats everything
    env["SREGISTRY_LIBRARY_TOKEN"] = ENV_TOKEN
    creds = resolve_library(base=base, env=env)
    assert creds.token is not None
    assert creds.token.source == "$SREGISTRY_LIBRARY_TOKEN"


@pytest.mark.usefixtures("singularity")
def test_tokens_stay_with_their_server(isolated_env: Path) -> None:
    (isolated_env / ".sregistry").write_text(
        json.dumps(
            {
                "library": {
                    "SREGISTRY_LIBRARY_BASE": "https://file.example.org",
                    "SREGISTRY_LIBRARY_TOKEN": FILE_TOKEN,
                }
            }
        )
    )
    creds = resolve_library(base="https://stranger.example.org", env=_env(isolated_env))
    # neither the file's token nor the active remote's token goes to a stranger
    assert creds.token is None
    assert creds.remote is None


@pytest.mark.usefixtures("singularity")
def test_explicit_remote_lends_its_token_to_an_explicit_library(isolated_env: Path) -> None:
    """The workaround for Singularity ignoring the remote token with --library."""
    creds = resolve_library(
        base="https://mirror.example.org", remote="myreg", env=_env(isolated_env)
    )
    assert creds.base is not None
    assert creds.base.value == "https://mirror.example.org"
    assert creds.token is not None
    assert creds.token.value == Secret(MYREG_TOKEN)
    assert creds.remote == "myreg"
    assert creds.discover is False


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (f"Active: x\nRemotes:\n  x: {{URI: h.org, Token: {SYLABS_TOKEN}\n", "line"),
        (f"- {SYLABS_TOKEN}\n", None),
        (f"Active: x\nRemotes: [{SYLABS_TOKEN}]\n", None),
        (f"Remotes:\n  x:\n    URI: h.org\n    Token: [{SYLABS_TOKEN}]\n", None),
        ("Remotes:\n  x:\n    URI: h.org\n    Insecure: maybe\n", None),
    ],
)
def test_corrupt_remote_yaml(isolated_env: Path, content: str, line: str | None) -> None:
    path = _remote_yaml(isolated_env / ".singularity", content)
    with pytest.raises(ConfigError) as caught:
        resolve_library(env=_env(isolated_env))
    message = caught.value.message
    assert "~/.singularity/remote.yaml" in message
    assert SYLABS_TOKEN not in message
    if line:
        assert "(line " in message
    assert path.read_text() == content


def test_empty_remote_yaml_is_tolerated(isolated_env: Path) -> None:
    _remote_yaml(isolated_env / ".singularity", "")
    _remote_yaml(isolated_env / ".apptainer", "# nothing\n")
    creds = resolve_library(env=_env(isolated_env))
    assert (creds.base, creds.token, creds.remote) == (None, None, None)


def test_library_with_no_configuration(isolated_env: Path) -> None:
    creds = resolve_library(env=_env(isolated_env))
    assert (creds.base, creds.token, creds.remote, creds.discover) == (None, None, None, False)
    assert not (isolated_env / ".sregistry").exists()
