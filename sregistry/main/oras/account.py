"""The ``oras`` backend's account hooks: ``sregistry login``/``logout``/``config``.

``login oras://HOST`` asks for a username and a password (or token), checks
them with the registry (``GET /v2/`` through the registry's own challenge:
Basic, or a token from its token server), and stores them where Apptainer
does (``~/.apptainer/docker-config.json``, mode 0600). ``config`` lists the
registry hosts that have credentials and where each comes from. Nothing here
prints or prompts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sregistry.errors import ConfigError
from sregistry.main.backend import (
    LoginRequest,
    LoginResult,
    LogoutResult,
    MissingSetting,
    Setting,
    SettingsReport,
    server_of,
)
from sregistry.main.oras.api import Op
from sregistry.main.oras.credentials import (
    RegistryCredential,
    known_credentials,
    login_file,
    remove_login,
    store_login,
)
from sregistry.main.oras.reference import OrasReference, parse_registry
from sregistry.main.oras.session import RegistrySession
from sregistry.main.oras.settings import CREDENTIAL_ENV
from sregistry.transfer.http import Transport

__all__ = ["login", "logout", "report"]


def _registry(options: Mapping[str, Any], what: str) -> str:
    uri = options.get("uri")
    registry = parse_registry(uri) if isinstance(uri, str) else None
    if registry is None:
        found = server_of(uri if isinstance(uri, str) else None)
        raise ConfigError(
            f"name the registry to {what}: oras://HOST"
            + (f" ({found!r} is not a registry host)" if found else "")
        )
    return registry


def login(request: LoginRequest) -> LoginResult:
    """Check the credentials with the registry, then store them for it."""
    options = request.options
    registry = _registry(options, "log in to")
    username = options.get("username")
    if not isinstance(username, str) or not username:
        raise MissingSetting(f"no username for {registry}", setting="username", prompt="Username")
    if request.token is None:
        raise MissingSetting(f"no password or token for {registry}", setting="token")
    credential = RegistryCredential("basic", request.token, username, "login")
    env = request.environ()
    transport = Transport(verify=not bool(options.get("insecure")), env=env)
    try:
        base = OrasReference(registry, "x").base_url()
        session = RegistrySession(transport, registry, credential=credential, base_url=base)
        session.send("GET", "/v2/", op=Op.PROBE, subject=f"oras://{registry}", scopes=[]).close()
    finally:
        transport.close()
    path = store_login(registry, username, request.token, env)
    return LoginResult(
        what=f"the credentials of {username} for oras://{registry}",
        place=str(path),
        checked=f"oras://{registry} accepted the credentials",
        notes=("apptainer and singularity read this file too",),
    )


def logout(options: Mapping[str, Any]) -> LogoutResult:
    """Remove what ``login`` stored for the registry."""
    registry = _registry(options, "log out of")
    env = options.get("env")
    environ: Mapping[str, str] = env if isinstance(env, Mapping) else os.environ
    removed = tuple(remove_login(registry, environ))
    warnings = tuple(
        f"${user} is set and is used for every registry"
        for user, _password in CREDENTIAL_ENV
        if environ.get(user)
    )
    return LogoutResult(f"the credentials for oras://{registry}", removed, warnings)


def report(options: Mapping[str, Any]) -> SettingsReport:
    """The registry hosts with credentials, and where each one's come from."""
    env = options.get("env")
    environ: Mapping[str, str] = env if isinstance(env, Mapping) else os.environ
    settings: list[Setting] = []
    for user, _password in CREDENTIAL_ENV:
        if environ.get(user):
            settings.append(Setting("every registry", environ[user], f"${user}"))
            break
    authfile = options.get("authfile")
    for host, source in known_credentials(environ, authfile if isinstance(authfile, str) else None):
        settings.append(Setting(host, "credentials", source))
    notes = (
        ()
        if settings
        else (
            f"no registry credentials: `sregistry login oras://HOST` stores them in "
            f"{login_file(environ)}",
        )
    )
    return SettingsReport(tuple(settings), notes)
