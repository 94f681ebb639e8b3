"""The library backend's account hooks: ``sregistry login``/``logout``/``config``.

A token is checked with ``GET <library>/v1/token-status`` before it is
stored. Nothing here prints or prompts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sregistry.credentials import (
    library_base,
    remove_token,
    resolve_library,
    store_token,
)
from sregistry.credentials.resolve import LIBRARY_TOKEN
from sregistry.main.backend import (
    LoginRequest,
    LoginResult,
    LogoutResult,
    MissingSetting,
    Setting,
    SettingsReport,
    insecure_setting,
    server_of,
)

__all__ = ["login", "logout", "report"]


def _base(options: Mapping[str, Any], what: str) -> str:
    given: str | None = options.get("base") or server_of(options.get("uri"))
    if not given:
        raise MissingSetting(f"no library to {what}", setting="base")
    return str(library_base(given))


def login(request: LoginRequest) -> LoginResult:
    """Check the token with the server, then store it."""
    from sregistry.credentials.token_check import check_library_token

    env = request.environ()
    base = _base(request.options, "log in to")
    if request.token is None:
        raise MissingSetting("no library token", setting="token")
    insecure = insecure_setting(request.options.get("insecure"), env)
    check_library_token(base, request.token, verify=not insecure, sleep=request.sleep)
    place = store_token("library", base=base, username=None, token=request.token.reveal(), env=env)
    warnings = []
    if env.get(LIBRARY_TOKEN, "").strip():
        warnings.append(f"{LIBRARY_TOKEN} is set: it takes precedence over the stored token")
    return LoginResult(
        what=f"the library token for {base}",
        place=place,
        checked=f"the library at {base} accepted the token",
        warnings=tuple(warnings),
    )


def logout(options: Mapping[str, Any]) -> LogoutResult:
    """Remove the stored token of the server; its base stays recorded."""
    base = _base(options, "log out of")
    removed = remove_token("library", base=base, username=None)
    warnings: tuple[str, ...] = ()
    if os.environ.get(LIBRARY_TOKEN, "").strip():
        warnings = (f"{LIBRARY_TOKEN} is still set in the environment",)
    return LogoutResult(
        what=f"the library token for {base}", removed=tuple(removed), warnings=warnings
    )


def report(options: Mapping[str, Any]) -> SettingsReport:
    """Base and token (masked) in effect with their sources, and the remote.yaml entry used."""
    creds = resolve_library(base=options.get("base"), remote=options.get("remote"))
    notes: tuple[str, ...] = ()
    if creds.discover:
        notes = ("(the base is a remote endpoint: the library URL is discovered from it)",)
    return SettingsReport(
        (
            Setting.sourced("base", creds.base),
            Setting.sourced("token", creds.token),
            Setting("remote", creds.remote),
            Setting("discover", creds.discover, listed=False),
        ),
        notes,
    )
