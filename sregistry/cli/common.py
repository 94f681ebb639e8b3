"""Options shared by the commands that talk to a registry, and opening the client."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from sregistry.cli.context import AppContext
from sregistry.config import choose_backend, truthy
from sregistry.main import available_backends, get_client
from sregistry.main.base import Client

__all__ = ["client_options", "open_client"]

F = TypeVar("F", bound=Callable[..., Any])


def client_options(func: F) -> F:
    """``--registry``, ``--username``, ``--library``, ``--remote``, ``--insecure``."""
    options = [
        click.option(
            "--registry",
            "registry",
            metavar="URL",
            help="Registry base URL (overrides SREGISTRY_REGISTRY_BASE).",
        ),
        click.option(
            "--username",
            metavar="NAME",
            help="Registry username (overrides SREGISTRY_REGISTRY_USERNAME).",
        ),
        click.option(
            "--library",
            "library",
            metavar="URL",
            help="Library API base URL for library:// references.",
        ),
        click.option(
            "--remote",
            metavar="NAME",
            help="Singularity/Apptainer remote (remote.yaml) to take the library token from.",
        ),
        click.option(
            "--insecure",
            is_flag=True,
            default=False,
            help="Do not verify TLS certificates (also SREGISTRY_HTTPS_NOVERIFY).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def open_client(
    app: AppContext,
    reference: str | None,
    *,
    registry: str | None = None,
    username: str | None = None,
    library: str | None = None,
    remote: str | None = None,
    insecure: bool = False,
) -> Client:
    """Build the client ``reference`` calls for and say on stderr what it acts on."""
    kind, _reason = choose_backend(
        reference, frozenset(available_backends()), registry_option=registry
    )
    insecure = insecure or truthy(os.environ.get("SREGISTRY_HTTPS_NOVERIFY"))
    options: dict[str, Any] = {}
    if kind == "registry":
        options = {"base": registry, "username": username, "insecure": insecure}
    elif kind == "library":
        options = {"base": library, "remote": remote, "insecure": insecure}
    if reference and "://" in reference:
        options["uri"] = reference
    client = get_client(kind, **options)
    if insecure and kind != "local":
        app.out.warn("TLS certificate verification is off (--insecure / SREGISTRY_HTTPS_NOVERIFY)")
    app.out.info(f"{kind}: {client.location}")
    return client
