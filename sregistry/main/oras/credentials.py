"""Registry credentials users already have: Docker and Apptainer config files.

Files, first match wins (Apptainer's order, then podman's and Docker's):

1. an explicit ``authfile`` (``--authfile``);
2. ``$REGISTRY_AUTH_FILE`` (podman, skopeo, buildah);
3. ``~/.apptainer/docker-config.json`` (written by ``apptainer registry login``);
4. ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``.

In each file a host's credential helper (``credHelpers[HOST]``, else
``credsStore``) wins over its ``auths`` entry, as in Docker. Helpers are run
as ``docker-credential-NAME get`` with the server on stdin and a JSON answer
on stdout, bounded by a timeout. ``auths`` keys may carry a scheme or path
(``https://index.docker.io/v1/``); an entry holds ``auth`` (base64 of
``user:password``), ``username``/``password``, ``identitytoken`` or
``registrytoken``. Nothing read here is ever put in a message.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sregistry.credentials.secret import Secret
from sregistry.errors import ConfigError
from sregistry.main.oras.reference import DOCKER_HUB

__all__ = [
    "HELPER_TIMEOUT",
    "RegistryCredential",
    "config_files",
    "find_credential",
    "host_key",
    "run_helper",
]

HELPER_TIMEOUT = 30.0
_HUB_KEY = "https://index.docker.io/v1/"
_HUB_HOSTS = frozenset({DOCKER_HUB, "docker.io", "registry-1.docker.io"})
_NOT_FOUND_WORDS = ("credentials not found", "not found in native keychain", "no credentials")

Kind = Literal["basic", "identitytoken", "registrytoken"]


@dataclass(frozen=True)
class RegistryCredential:
    """What to authenticate with, and where it was found (the source, never the value)."""

    kind: Kind
    secret: Secret
    """The password, identity (refresh) token or registry (bearer) token."""
    username: str | None
    source: str
    """E.g. ``~/.docker/config.json`` or ``docker-credential-pass (~/.docker/config.json)``."""


def host_key(key: str) -> str:
    """The ``host[:port]`` an ``auths`` key names (``https://index.docker.io/v1/``: Docker Hub)."""
    text = key.strip()
    if "://" in text:
        text = urlsplit(text).netloc or text
    host = text.split("/", 1)[0].lower()
    return DOCKER_HUB if host in _HUB_HOSTS else host


def config_files(
    env: Mapping[str, str], home: Path, authfile: str | os.PathLike[str] | None = None
) -> list[Path]:
    """The files looked at, in order (an explicit ``authfile`` alone when given)."""
    if authfile is not None:
        return [Path(authfile).expanduser()]
    found: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        found.append(Path(env["REGISTRY_AUTH_FILE"]).expanduser())
    found.append(home / ".apptainer" / "docker-config.json")
    docker_dir = env.get("DOCKER_CONFIG")
    docker = Path(docker_dir).expanduser() if docker_dir else home / ".docker"
    found.append(docker / "config.json")
    return found


def _shown(path: Path, home: Path) -> str:
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)


def _load(path: Path, shown: str) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(f"{shown} is not valid JSON", hint="fix or remove the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{shown} is not a JSON object", hint="fix or remove the file")
    return data


def _helper_name(data: Mapping[str, Any], registry: str) -> str | None:
    helpers = data.get("credHelpers")
    if isinstance(helpers, dict):
        for key, name in helpers.items():
            if isinstance(key, str) and host_key(key) == registry and isinstance(name, str):
                return name
    store = data.get("credsStore")
    return store if isinstance(store, str) and store else None


def _entry(data: Mapping[str, Any], registry: str) -> Mapping[str, Any] | None:
    auths = data.get("auths")
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        if isinstance(key, str) and host_key(key) == registry and isinstance(entry, dict):
            return entry
    return None


def _from_entry(entry: Mapping[str, Any], registry: str, source: str) -> RegistryCredential | None:
    def text(name: str) -> str | None:
        value = entry.get(name)
        return value if isinstance(value, str) and value else None

    if token := text("registrytoken"):
        return RegistryCredential("registrytoken", Secret(token), None, source)
    username, password = text("username"), text("password")
    if encoded := text("auth"):
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ConfigError(f"the auth entry for {registry} in {source} is not base64") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ConfigError(f"the auth entry for {registry} in {source} is not user:password")
    if token := text("identitytoken"):
        return RegistryCredential("identitytoken", Secret(token), username or None, source)
    if username and password:
        return RegistryCredential("basic", Secret(password), username, source)
    return None


def run_helper(
    name: str, server: str, *, source: str, timeout: float = HELPER_TIMEOUT
) -> RegistryCredential | None:
    """Ask ``docker-credential-NAME get`` for ``server``; ``None`` when it has nothing."""
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run(  # noqa: S603 - the program name comes from the user's config
            [program, "get"],
            input=server.encode() + b"\n",
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(
            f"the credential helper {program} named in {source} is not installed",
            hint="install it, or remove credsStore/credHelpers from the file",
        ) from None
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"the credential helper {program} did not answer in {timeout:.0f}s"
        ) from None
    if done.returncode != 0:
        said = done.stdout.decode(errors="replace").strip().lower()
        if any(words in said for words in _NOT_FOUND_WORDS):
            return None
        raise ConfigError(f"the credential helper {program} failed (exit {done.returncode})")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise ConfigError(f"the credential helper {program} did not answer JSON") from None
    username = answer.get("Username") if isinstance(answer, dict) else None
    secret = answer.get("Secret") if isinstance(answer, dict) else None
    if not isinstance(secret, str) or not secret:
        return None
    where = f"{program} ({source})"
    if username == "<token>":
        return RegistryCredential("identitytoken", Secret(secret), None, where)
    if not isinstance(username, str) or not username:
        return None
    return RegistryCredential("basic", Secret(secret), username, where)


def find_credential(
    registry: str,
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    authfile: str | os.PathLike[str] | None = None,
) -> RegistryCredential | None:
    """The credential for ``registry`` (``host[:port]``) from the files above, or ``None``."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    registry = host_key(registry)
    for path in config_files(env, home, authfile):
        shown = _shown(path, home)
        data = _load(path, shown)
        if data is None:
            if authfile is not None:
                raise ConfigError(f"the auth file {shown} does not exist")
            continue
        helper = _helper_name(data, registry)
        if helper is not None:
            server = _HUB_KEY if registry == DOCKER_HUB else registry
            found = run_helper(helper, server, source=shown)
        else:
            entry = _entry(data, registry)
            found = _from_entry(entry, registry, shown) if entry is not None else None
        if found is not None:
            return found
    return None


def login_file(env: Mapping[str, str], home: Path | None = None) -> Path:
    """Where ``sregistry login oras://HOST`` stores credentials: Apptainer's own
    ``~/.apptainer/docker-config.json``, so ``apptainer pull oras://`` finds them too."""
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    return home / ".apptainer" / "docker-config.json"


def _shown_in(path: Path, env: Mapping[str, str]) -> str:
    return _shown(path, Path(env.get("HOME") or Path.home()))


def store_login(registry: str, username: str, password: Secret, env: Mapping[str, str]) -> Path:
    """Write ``auths[registry]`` into :func:`login_file` (atomically, mode 0600),
    keeping every other entry; returns the file."""
    from sregistry.credentials.secrets_file import write_secrets

    if ":" in username:
        raise ConfigError("a registry username cannot contain ':'")
    path = login_file(env)
    data = _load(path, _shown_in(path, env)) or {}
    auths = data.get("auths")
    auths = dict(auths) if isinstance(auths, dict) else {}
    for key in [k for k in auths if isinstance(k, str) and host_key(k) == host_key(registry)]:
        del auths[key]
    encoded = base64.b64encode(f"{username}:{password.reveal()}".encode()).decode("ascii")
    auths[host_key(registry)] = {"auth": encoded}
    write_secrets(path, {**data, "auths": auths})
    return path


def remove_login(registry: str, env: Mapping[str, str]) -> list[str]:
    """Remove ``registry``'s entry from :func:`login_file`; the files changed."""
    from sregistry.credentials.secrets_file import write_secrets

    path = login_file(env)
    data = _load(path, _shown_in(path, env))
    auths = data.get("auths") if data else None
    if not isinstance(auths, dict):
        return []
    kept = {
        k: v
        for k, v in auths.items()
        if not (isinstance(k, str) and host_key(k) == host_key(registry))
    }
    if len(kept) == len(auths):
        return []
    write_secrets(path, {**(data or {}), "auths": kept})
    return [str(path)]


def known_credentials(
    env: Mapping[str, str], authfile: str | os.PathLike[str] | None = None
) -> list[tuple[str, str]]:
    """``(host, source)`` for every host the files name, first file first (a host
    found again later is shadowed and left out); helpers are named, not run."""
    home = Path(env.get("HOME") or Path.home())
    found: dict[str, str] = {}
    for path in config_files(env, home, authfile):
        shown = _shown(path, home)
        data = _load(path, shown)
        if data is None:
            continue
        helpers = data.get("credHelpers")
        for key, name in helpers.items() if isinstance(helpers, dict) else []:
            if isinstance(key, str) and isinstance(name, str):
                found.setdefault(host_key(key), f"docker-credential-{name} ({shown})")
        auths = data.get("auths")
        store = data.get("credsStore")
        for key in auths if isinstance(auths, dict) else []:
            if isinstance(key, str):
                where = (
                    f"docker-credential-{store} ({shown})"
                    if isinstance(store, str) and store
                    else shown
                )
                found.setdefault(host_key(key), where)
    return sorted(found.items())
