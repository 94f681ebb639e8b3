"""``sregistry config``: the settings in effect and where each one comes from."""

from __future__ import annotations

import os
from typing import Any

import click

from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.status import cli_hint
from sregistry.config import choose_backend, default_storage_dir, secrets_path
from sregistry.credentials import keyring_status, resolve_library, resolve_registry
from sregistry.credentials.secrets_file import display_path
from sregistry.errors import ConfigError
from sregistry.main import available_backends

__all__ = ["config"]

_UNSET = "(not set)"


def _sourced(item: Any) -> dict[str, str] | None:
    """A Sourced value as JSON-ready data; secrets stay masked."""
    if item is None:
        return None
    return {"value": str(item.value), "source": item.source}


def gather(
    *,
    registry: str | None = None,
    username: str | None = None,
    library: str | None = None,
    remote: str | None = None,
) -> dict[str, Any]:
    """Everything ``config`` reports, tokens masked. A part that cannot be
    resolved carries ``{"error": message}`` instead of failing the rest."""
    env = os.environ
    report: dict[str, Any] = {}
    try:
        reg = resolve_registry(base=registry, username=username)
        report["registry"] = {
            "base": _sourced(reg.base),
            "username": _sourced(reg.username),
            "token": _sourced(reg.token),
            "nohttps": reg.nohttps,
        }
    except ConfigError as exc:
        report["registry"] = {"error": _message(exc)}
    try:
        lib = resolve_library(base=library, remote=remote)
        report["library"] = {
            "base": _sourced(lib.base),
            "token": _sourced(lib.token),
            "remote": lib.remote,
            "discover": lib.discover,
        }
    except ConfigError as exc:
        report["library"] = {"error": _message(exc)}
    path = secrets_path(env)
    report["secrets_file"] = {
        "path": str(path),
        "shown": display_path(path, env),
        "exists": path.exists(),
    }
    keyring = keyring_status(env)
    report["keyring"] = {
        "usable": keyring.usable,
        "backend": keyring.backend,
        "reason": keyring.reason,
    }
    try:
        name, why = choose_backend(None, frozenset(available_backends()), registry_option=registry)
        report["backend"] = {"name": name, "reason": why}
    except ConfigError as exc:
        report["backend"] = {"error": _message(exc)}
    explicit = env.get("SREGISTRY_STORAGE", "").strip()
    report["storage"] = {
        "path": str(default_storage_dir(env)),
        "source": "$SREGISTRY_STORAGE" if explicit else "platform user data directory",
    }
    return report


def _message(exc: ConfigError) -> str:
    hint = cli_hint(exc)
    return f"{exc.message}; {hint}" if hint else exc.message


def _errors(report: dict[str, Any]) -> list[str]:
    return [part["error"] for part in report.values() if isinstance(part, dict) and "error" in part]


def _row(label: str, item: dict[str, str] | None) -> str:
    if item is None:
        return f"  {label:<9} {_UNSET}"
    return f"  {label:<9} {item['value']:<40} {item['source']}"


def render(report: dict[str, Any]) -> list[str]:
    """The human-readable form: one line per setting, sources on the right."""
    lines = ["registry"]
    reg = report["registry"]
    if "error" in reg:
        lines.append(f"  error: {reg['error']}")
    else:
        lines += [
            _row("base", reg["base"]),
            _row("username", reg["username"]),
            _row("token", reg["token"]),
            f"  {'nohttps':<9} {'yes' if reg['nohttps'] else 'no'}",
        ]
    lines.append("library")
    lib = report["library"]
    if "error" in lib:
        lines.append(f"  error: {lib['error']}")
    else:
        lines += [_row("base", lib["base"]), _row("token", lib["token"])]
        lines.append(f"  {'remote':<9} {lib['remote'] or _UNSET}")
        if lib["discover"]:
            lines.append("  (the base is a remote endpoint: the library URL is discovered from it)")
    secrets = report["secrets_file"]
    state = "exists" if secrets["exists"] else "not created yet"
    lines.append(f"{'secrets':<13} {secrets['shown']} ({state})")
    keyring = report["keyring"]
    if keyring["usable"]:
        lines.append(f"{'keyring':<13} usable: {keyring['backend']}")
    else:
        lines.append(f"{'keyring':<13} not usable: {keyring['reason']}")
    backend = report["backend"]
    if "error" in backend:
        lines.append(f"{'backend':<13} error: {backend['error']}")
    else:
        lines.append(f"{'backend':<13} {backend['name']} ({backend['reason']})")
    storage = report["storage"]
    lines.append(f"{'storage':<13} {storage['path']} ({storage['source']})")
    return lines


@click.command("config")
@click.option("--registry", metavar="URL", help="Show what --registry URL would use.")
@click.option("--username", metavar="NAME", help="Show what --username NAME would use.")
@click.option("--library", metavar="URL", help="Show what --library URL would use.")
@click.option("--remote", metavar="NAME", help="Show what --remote NAME (remote.yaml) would use.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (tokens still masked).")
@pass_app
def config(
    app: AppContext,
    *,
    registry: str | None,
    username: str | None,
    library: str | None,
    remote: str | None,
    as_json: bool,
) -> None:
    """Show the settings in effect and where each comes from.

    \b
    Order: command-line options > environment (SREGISTRY_*) > secrets file
    (~/.sregistry or $SREGISTRY_CLIENT_SECRETS) > OS keyring > remote.yaml
    (library tokens only). Tokens are shown masked. Exits 1 when a part of
    the configuration is unreadable.
    """
    report = gather(registry=registry, username=username, library=library, remote=remote)
    if as_json:
        app.out.json(report)
    else:
        for line in render(report):
            app.out.result(line)
    if _errors(report):
        raise click.exceptions.Exit(1)
