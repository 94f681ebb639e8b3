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

__all__ = ["arch_option", "client_options", "open_client", "transfer_options"]

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


def arch_option(func: F) -> F:
    """``--arch`` (library:// images only)."""
    return click.option(
        "--arch",
        metavar="ARCH",
        help="Architecture of a library:// image (amd64, arm64, ...). Default: the image's "
        "own (push) or this machine's (pull, delete).",
    )(func)


def transfer_options(*, part_size: bool) -> Callable[[F], F]:
    """``--connections`` (and ``--part-size``) for library:// transfers."""

    def decorate(func: F) -> F:
        if part_size:
            func = click.option(
                "--part-size",
                metavar="BYTES",
                help="Size of each parallel part of a library:// pull, e.g. 64M "
                "(also SREGISTRY_LIBRARY_PART_SIZE; default 32M).",
            )(func)
        return click.option(
            "--connections",
            type=click.IntRange(1, 32),
            metavar="N",
            help="Parallel connections for library:// transfers "
            "(also SREGISTRY_LIBRARY_CONNECTIONS; default 4).",
        )(func)

    return decorate


def _backend_kind(
    reference: str | None, backend: str | None, *, registry: str | None, library: str | None
) -> str:
    known = frozenset(available_backends())
    if reference and "://" in reference:
        return choose_backend(reference, known)[0]
    if backend is not None:
        return choose_backend(backend, known)[0]
    if registry and library:
        raise click.UsageError(
            "--registry and --library/--remote name two servers: "
            "use a registry:// or library:// reference to say which one"
        )
    if library:
        return "library"
    if registry:
        return "registry"
    return choose_backend(None, known)[0]


def open_client(
    app: AppContext,
    reference: str | None,
    *,
    registry: str | None = None,
    username: str | None = None,
    library: str | None = None,
    remote: str | None = None,
    insecure: bool = False,
    library_options: dict[str, Any] | None = None,
    cache: bool = True,
    backend: str | None = None,
) -> Client:
    """Build the client ``reference`` calls for and say on stderr what it acts on.

    The backend is, in order: the scheme of ``reference`` (``registry://``,
    ``library://``, ``local://``), ``backend`` when a command names it, the
    ``--library``/``--remote`` or ``--registry`` options (both without a
    scheme is a usage error), then the configuration
    (:func:`sregistry.config.choose_backend`). A plain word (a search query,
    say ``local``) never picks a backend.

    ``library_options`` (``arch``, ``connections``, ``part_size``; ``None``
    values are dropped) go to the library backend only; given for another
    backend they are a usage error. ``cache=False`` keeps the remote
    backends' pulls away from the local store (the local backend is the store).
    """
    kind = _backend_kind(reference, backend, registry=registry, library=library or remote)
    insecure = insecure or truthy(os.environ.get("SREGISTRY_HTTPS_NOVERIFY"))
    extra = {key: value for key, value in (library_options or {}).items() if value is not None}
    if extra and kind != "library":
        flags = ", ".join("--" + key.replace("_", "-") for key in extra)
        raise click.UsageError(f"{flags}: only for library:// images")
    options: dict[str, Any] = {}
    if kind == "registry":
        options = {"base": registry, "username": username, "insecure": insecure, "cache": cache}
    elif kind == "library":
        options = {"base": library, "remote": remote, "insecure": insecure, "cache": cache}
        options.update(extra)
    if reference and "://" in reference:
        options["uri"] = reference
    client = get_client(kind, **options)
    if insecure and kind != "local":
        app.out.warn("TLS certificate verification is off (--insecure / SREGISTRY_HTTPS_NOVERIFY)")
    app.out.info(f"{kind}: {client.location}")
    return client
