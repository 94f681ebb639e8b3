"""``sregistry login`` / ``logout``: store or remove a token (keyring or secrets file).

The token is read from a hidden prompt or from standard input, never from an
argument (arguments end up in shell history and ``ps``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from sregistry.cli.context import AppContext, pass_app
from sregistry.config import truthy
from sregistry.credentials import (
    Secret,
    check_registry_username,
    clean_token,
    keyring_status,
    library_base,
    registry_base,
    remove_token,
    resolve_registry,
    store_token,
)
from sregistry.credentials.secrets_file import display_path
from sregistry.errors import ConfigError

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
    text = click.prompt("Token", hide_input=True, err=True, default="", show_default=False)
    return Secret(clean_token(text))


def _where(place: str) -> str:
    if place == "keyring":
        status = keyring_status(os.environ)
        return f"the keyring ({status.backend})" if status.backend else "the keyring"
    return f"{display_path(Path(place), os.environ)} (mode 0600)"


def _library_base(library: str) -> str:
    return str(library_base(library))


@click.command("login")
@click.option("--registry", metavar="URL", help="Registry base URL (default: the configured one).")
@click.option("--username", metavar="NAME", help="Registry username (default: the configured one).")
@click.option("--library", metavar="URL", help="Log in to this Library API server instead.")
@click.option(
    "--token-stdin",
    "--password-stdin",
    "token_stdin",
    is_flag=True,
    help="Read the token from standard input instead of prompting.",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Do not verify TLS certificates when checking a library token.",
)
@pass_app
def login(
    app: AppContext,
    *,
    registry: str | None,
    username: str | None,
    library: str | None,
    token_stdin: bool,
    insecure: bool,
) -> None:
    """Store a token: in the OS keyring when one is usable, else in the
    secrets file (written atomically, mode 0600).

    \b
    A library token is checked with GET <library>/v1/token-status first.
    The registry API cannot check a token: the first push or pull does.
    Values from the environment are used but never written to disk.
    """
    if library and (registry or username):
        raise click.UsageError("--library cannot be combined with --registry/--username")
    if library:
        _login_library(app, library, token_stdin=token_stdin, insecure=insecure)
    else:
        _login_registry(app, registry, username, token_stdin=token_stdin)


def _login_registry(
    app: AppContext, registry: str | None, username: str | None, *, token_stdin: bool
) -> None:
    creds = resolve_registry(base=registry, username=username)
    if creds.base is None:
        raise ConfigError("no registry to log in to", hint="pass --registry URL")
    user = creds.username.value if creds.username is not None else None
    if user is None:
        if token_stdin or not sys.stdin.isatty():
            raise ConfigError("no registry username", hint="pass --username NAME")
        user = click.prompt("Username", err=True)
    user = check_registry_username(user)
    token = _read_token(token_stdin)
    place = store_token("registry", base=creds.base.value, username=user, token=token.reveal())
    shown = registry_base(creds.base.value, nohttps=creds.nohttps)
    app.out.result(f"Stored the registry token of {user} for {shown} in {_where(place)}.")
    for source in (creds.base.source, creds.username.source if creds.username else ""):
        if source.startswith("$"):
            app.out.info(f"{source} was used but not written to disk")
    app.out.info("note: the registry API cannot check a token; the first push or pull will")
    if os.environ.get("SREGISTRY_REGISTRY_TOKEN", "").strip():
        app.out.warn("SREGISTRY_REGISTRY_TOKEN is set: it takes precedence over the stored token")


def _login_library(app: AppContext, library: str, *, token_stdin: bool, insecure: bool) -> None:
    from sregistry.credentials.token_check import check_library_token

    base = _library_base(library)
    token = _read_token(token_stdin)
    insecure = insecure or truthy(os.environ.get("SREGISTRY_HTTPS_NOVERIFY"))
    if insecure:
        app.out.warn("TLS certificate verification is off (--insecure / SREGISTRY_HTTPS_NOVERIFY)")
    check_library_token(base, token, verify=not insecure)
    app.out.info(f"the library at {base} accepted the token")
    place = store_token("library", base=base, username=None, token=token.reveal())
    app.out.result(f"Stored the library token for {base} in {_where(place)}.")
    if os.environ.get("SREGISTRY_LIBRARY_TOKEN", "").strip():
        app.out.warn("SREGISTRY_LIBRARY_TOKEN is set: it takes precedence over the stored token")


@click.command("logout")
@click.option("--registry", metavar="URL", help="Registry base URL (default: the configured one).")
@click.option("--username", metavar="NAME", help="Registry username (default: the configured one).")
@click.option("--library", metavar="URL", help="Remove the token of this Library API server.")
@pass_app
def logout(
    app: AppContext, *, registry: str | None, username: str | None, library: str | None
) -> None:
    """Remove a stored token from the keyring and the secrets file.

    Says "nothing to remove" (exit 0) when no token was stored. Tokens in
    the environment or in Singularity's remote.yaml are left alone.
    """
    if library and (registry or username):
        raise click.UsageError("--library cannot be combined with --registry/--username")
    if library:
        base = _library_base(library)
        removed = remove_token("library", base=base, username=None)
        what = f"the library token for {base}"
        variable = "SREGISTRY_LIBRARY_TOKEN"
    else:
        creds = resolve_registry(base=registry, username=username)
        base_value = creds.base.value if creds.base else None
        user = creds.username.value if creds.username else None
        removed = remove_token("registry", base=base_value, username=user)
        shown = (
            str(registry_base(base_value, nohttps=creds.nohttps)) if base_value else "the registry"
        )
        what = f"the registry token of {user} for {shown}" if user else f"the token for {shown}"
        variable = "SREGISTRY_REGISTRY_TOKEN"
    if removed:
        places = ", ".join(_where_removed(place) for place in removed)
        app.out.result(f"Removed {what} from {places}.")
    else:
        app.out.result(f"Nothing to remove: no stored {what.removeprefix('the ')}.")
    if os.environ.get(variable, "").strip():
        app.out.warn(f"{variable} is still set in the environment")


def _where_removed(place: str) -> str:
    return "the keyring" if place == "keyring" else display_path(Path(place), os.environ)
