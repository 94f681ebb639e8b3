"""``sregistry login`` / ``logout``: store or remove a token (keyring or secrets file).

The backend is picked as for other commands (a ``scheme://host`` argument, a
flag naming a server, the configuration); its login/logout hook
(:class:`sregistry.main.backend.Backend`) checks and stores the token, and
this module prints what the hook says. The token is read from a hidden
prompt or from standard input, never from an argument (arguments end up in
shell history and ``ps``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from sregistry.cli.common import (
    BackendCommand,
    BackendOptions,
    backend_options_for,
    pick_backend,
    warn_insecure,
)
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.output import prompt
from sregistry.credentials import Secret, clean_token, keyring_status
from sregistry.credentials.secrets_file import display_path
from sregistry.errors import ConfigError
from sregistry.main import account_hook
from sregistry.main.backend import (
    Backend,
    LoginRequest,
    LoginResult,
    MissingSetting,
    insecure_setting,
)

__all__ = ["login", "logout"]


def _read_token(from_stdin: bool) -> Secret:
    """The token from standard input, or from a hidden prompt on a terminal."""
    if from_stdin:
        text = sys.stdin.read()
        if not text.strip():
            raise ConfigError("no token on standard input")
        return Secret(clean_token(text))
    if not sys.stdin.isatty():
        raise ConfigError(
            "no terminal to prompt for the token",
            hint="pipe it in with --token-stdin (e.g. `sregistry login --token-stdin < token.txt`)",
        )
    text = prompt("Token", hide_input=True, default="")
    if text is None:
        raise ConfigError("no token given (end of input at the prompt)")
    return Secret(clean_token(text))


def _where(place: str) -> str:
    if place == "keyring":
        status = keyring_status(os.environ)
        return f"the keyring ({status.backend})" if status.backend else "the keyring"
    return f"{display_path(Path(place), os.environ)} (mode 0600)"


def _where_removed(place: str) -> str:
    return "the keyring" if place == "keyring" else display_path(Path(place), os.environ)


def _server(server: str | None) -> str | None:
    if server is not None and "://" not in server:
        raise click.UsageError(f"{server!r}: name the server as scheme://host")
    return server


def _missing(backend: Backend, exc: MissingSetting) -> ConfigError:
    """``exc`` with the flag of the option it names as its hint."""
    for option in backend.options:
        if option.name == exc.setting:
            hint = f"pass {option.flag} {option.metavar}" if option.metavar else option.flag
            return ConfigError(exc.message, hint=hint)
    return exc


def _picked(
    hook: str, server: str | None, chosen: BackendOptions
) -> tuple[Backend, dict[str, Any]]:
    kind = pick_backend(_server(server), chosen, hook=hook)
    options = backend_options_for(kind, chosen)
    if server is not None:
        options["uri"] = server
    return chosen.backends[kind], options


def _insecure(backend: Backend, options: dict[str, Any]) -> bool:
    """Whether the login checks the token without verifying TLS certificates."""
    offered = any(
        option.name == "insecure" and "login" in option.operations for option in backend.options
    )
    return offered and insecure_setting(options.get("insecure"), os.environ)


def _login(
    app: AppContext, backend: Backend, options: dict[str, Any], *, token_stdin: bool
) -> LoginResult:
    """Call the login hook until it has what it needs: the token, and on a
    terminal what it asks for (each once)."""
    hook = account_hook(backend, "login")
    if hook is None:
        raise ConfigError(f"the {backend.name} backend has no login")
    token: Secret | None = None
    asked: set[str] = set()
    while True:
        try:
            return hook(LoginRequest(options, token, sleep=app.sleep))
        except MissingSetting as exc:
            if exc.setting in asked:
                raise _missing(backend, exc) from None
            asked.add(exc.setting)
            if exc.setting == "token":
                token = _read_token(token_stdin)
                if _insecure(backend, options):
                    warn_insecure(app)
            elif exc.prompt is not None and not token_stdin and sys.stdin.isatty():
                answer = prompt(exc.prompt)
                if answer is None:
                    raise _missing(backend, exc) from None
                options[exc.setting] = answer
            else:
                raise _missing(backend, exc) from None


@click.command("login", cls=BackendCommand, operation="login")
@click.argument("server", required=False, metavar="[SCHEME://HOST]")
@click.option(
    "--token-stdin",
    "--password-stdin",
    "token_stdin",
    is_flag=True,
    help="Read the token from standard input instead of prompting.",
)
@pass_app
def login(
    app: AppContext, *, server: str | None, token_stdin: bool, backend_options: BackendOptions
) -> None:
    """Store a token: in the OS keyring when one is usable, else in the
    secrets file (written atomically, mode 0600).

    \b
    A library token is checked with GET <library>/v1/token-status first.
    The registry API cannot check a token: the first push or pull does.
    Values from the environment are used but never written to disk.
    """
    backend, options = _picked("login", server, backend_options)
    result = _login(app, backend, options, token_stdin=token_stdin)
    if result.checked:
        app.out.info(result.checked)
    app.out.result(f"Stored {result.what} in {_where(result.place)}.")
    for note in result.notes:
        app.out.info(note)
    for warning in result.warnings:
        app.out.warn(warning)


@click.command("logout", cls=BackendCommand, operation="logout")
@click.argument("server", required=False, metavar="[SCHEME://HOST]")
@pass_app
def logout(app: AppContext, *, server: str | None, backend_options: BackendOptions) -> None:
    """Remove a stored token from the keyring and the secrets file.

    Says "nothing to remove" (exit 0) when no token was stored. Tokens in
    the environment or in Singularity's remote.yaml are left alone.
    """
    backend, options = _picked("logout", server, backend_options)
    hook = account_hook(backend, "logout")
    if hook is None:
        raise ConfigError(f"the {backend.name} backend has no logout")
    try:
        result = hook(options)
    except MissingSetting as exc:
        raise _missing(backend, exc) from None
    if result.removed:
        places = ", ".join(_where_removed(place) for place in result.removed)
        app.out.result(f"Removed {result.what} from {places}.")
    else:
        app.out.result(f"Nothing to remove: no stored {result.what.removeprefix('the ')}.")
    for warning in result.warnings:
        app.out.warn(warning)
