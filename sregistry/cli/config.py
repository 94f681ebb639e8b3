"""``sregistry config``: the settings in effect and where each one comes from.

Each backend with a report hook (:class:`sregistry.main.backend.Backend`)
says what its settings are; this module adds what is shared (the secrets
file, the keyring, the backend a command would pick, the local store).
"""

from __future__ import annotations

import os
from typing import Any

import click

from sregistry.cli.common import BackendCommand, BackendOptions
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.status import cli_hint
from sregistry.config import choose_backend, default_storage_dir, secrets_path
from sregistry.credentials import keyring_status
from sregistry.credentials.secrets_file import display_path
from sregistry.errors import SregistryError
from sregistry.main import account_hook
from sregistry.main.backend import Setting, SettingsReport

__all__ = ["config"]

_UNSET = "(not set)"


def _message(exc: SregistryError) -> str:
    hint = cli_hint(exc)
    return f"{exc.message}; {hint}" if hint else exc.message


def _backends(chosen: BackendOptions) -> dict[str, SettingsReport | str]:
    """Backend -> what its report hook says, or the error message when it cannot."""
    found: dict[str, SettingsReport | str] = {}
    for name, backend in chosen.backends.items():
        try:
            hook = account_hook(backend, "report")
            if hook is not None:
                found[name] = hook(chosen.options_of(name))
        except SregistryError as exc:
            found[name] = _message(exc)
    return found


def _choice(chosen: BackendOptions) -> dict[str, str]:
    """The backend a command without a scheme would use, and why."""
    selected = chosen.selected()
    if len(selected) == 1:
        name, flags = next(iter(selected.items()))
        given = [flag for flag in flags if flag in chosen.given()]
        return {"name": name, "reason": f"{' and '.join(given)} given"}
    try:
        name, why = choose_backend(None, frozenset(chosen.backends))
    except SregistryError as exc:
        return {"error": _message(exc)}
    return {"name": name, "reason": why}


def gather(chosen: BackendOptions) -> tuple[dict[str, Any], dict[str, SettingsReport | str]]:
    """Everything ``config`` reports as JSON-ready data (tokens masked), and
    the backends' reports. A part that cannot be resolved carries
    ``{"error": message}`` instead of failing the rest."""
    env = os.environ
    sections = _backends(chosen)
    report: dict[str, Any] = {
        name: {"error": part}
        if isinstance(part, str)
        else {setting.name: setting.as_json() for setting in part.settings}
        for name, part in sections.items()
    }
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
    report["backend"] = _choice(chosen)
    explicit = env.get("SREGISTRY_STORAGE", "").strip()
    report["storage"] = {
        "path": str(default_storage_dir(env)),
        "source": "$SREGISTRY_STORAGE" if explicit else "platform user data directory",
    }
    return report, sections


def _errors(report: dict[str, Any]) -> list[str]:
    return [part["error"] for part in report.values() if isinstance(part, dict) and "error" in part]


def _row(setting: Setting) -> str:
    label, value = setting.name, setting.value
    if value is None:
        return f"  {label:<9} {_UNSET}"
    shown = ("yes" if value else "no") if isinstance(value, bool) else value
    if setting.source is None:
        return f"  {label:<9} {shown}"
    return f"  {label:<9} {shown:<40} {setting.source}"


def render(report: dict[str, Any], sections: dict[str, SettingsReport | str]) -> list[str]:
    """The human-readable form: one line per setting, sources on the right."""
    lines: list[str] = []
    for name, part in sections.items():
        lines.append(name)
        if isinstance(part, str):
            lines.append(f"  error: {part}")
            continue
        lines += [_row(setting) for setting in part.settings if setting.listed]
        lines += [f"  {note}" for note in part.notes]
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


@click.command("config", cls=BackendCommand, operation="config")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (tokens still masked).")
@pass_app
def config(app: AppContext, *, as_json: bool, backend_options: BackendOptions) -> None:
    """Show the settings in effect and where each comes from.

    \b
    Order: command-line options > environment (SREGISTRY_*) > secrets file
    (~/.sregistry or $SREGISTRY_CLIENT_SECRETS) > OS keyring > remote.yaml
    (library tokens only). Tokens are shown masked. The backends' options
    show what they would use. Exits 1 when a part of the configuration is
    unreadable.
    """
    report, sections = gather(backend_options)
    if as_json:
        app.out.json(report)
    else:
        for line in render(report, sections):
            app.out.result(line)
    if _errors(report):
        raise click.exceptions.Exit(1)
