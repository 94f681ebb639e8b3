"""The registry backend's account hooks: ``sregistry login``/``logout``/``config``.

The registry API has no endpoint to check a token: it is stored as given,
and the first request it signs checks it. Nothing here prints or prompts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sregistry.credentials import (
    check_registry_username,
    registry_base,
    remove_token,
    resolve_registry,
    store_token,
)
from sregistry.credentials.resolve import REGISTRY_TOKEN
from sregistry.main.backend import (
    LoginRequest,
    LoginResult,
    LogoutResult,
    MissingSetting,
    Setting,
    SettingsReport,
    server_of,
)

__all__ = ["login", "logout", "report"]


def _base(options: Mapping[str, Any]) -> str | None:
    given: str | None = options.get("base")
    return given or server_of(options.get("uri"))


def login(request: LoginRequest) -> LoginResult:
    """Store the token of (base, username); the first push or pull checks it."""
    env = request.environ()
    creds = resolve_registry(
        base=_base(request.options), username=request.options.get("username"), env=env
    )
    if creds.base is None:
        raise MissingSetting("no registry to log in to", setting="base")
    if creds.username is None:
        raise MissingSetting("no registry username", setting="username", prompt="Username")
    user = check_registry_username(creds.username.value)
    if request.token is None:
        raise MissingSetting("no registry token", setting="token")
    place = store_token(
        "registry", base=creds.base.value, username=user, token=request.token.reveal(), env=env
    )
    shown = registry_base(creds.base.value, nohttps=creds.nohttps)
    notes = [
        f"{source} was used but not written to disk"
        for source in (creds.base.source, creds.username.source)
        if source.startswith("$")
    ]
    notes.append("note: the registry API cannot check a token; the first push or pull will")
    warnings = []
    if env.get(REGISTRY_TOKEN, "").strip():
        warnings.append(f"{REGISTRY_TOKEN} is set: it takes precedence over the stored token")
    return LoginResult(
        what=f"the registry token of {user} for {shown}",
        place=place,
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


def logout(options: Mapping[str, Any]) -> LogoutResult:
    """Remove the stored token of (base, username); base and username stay recorded."""
    creds = resolve_registry(base=_base(options), username=options.get("username"))
    base = creds.base.value if creds.base else None
    user = creds.username.value if creds.username else None
    removed = remove_token("registry", base=base, username=user)
    shown = str(registry_base(base, nohttps=creds.nohttps)) if base else "the registry"
    what = f"the registry token of {user} for {shown}" if user else f"the token for {shown}"
    return LogoutResult(what=what, removed=tuple(removed), warnings=_still_set())


def _still_set() -> tuple[str, ...]:
    if os.environ.get(REGISTRY_TOKEN, "").strip():
        return (f"{REGISTRY_TOKEN} is still set in the environment",)
    return ()


def report(options: Mapping[str, Any]) -> SettingsReport:
    """Base, username and token (masked) in effect, with their sources."""
    creds = resolve_registry(base=_base(options), username=options.get("username"))
    return SettingsReport(
        (
            Setting.sourced("base", creds.base),
            Setting.sourced("username", creds.username),
            Setting.sourced("token", creds.token),
            Setting("nohttps", creds.nohttps),
        )
    )
