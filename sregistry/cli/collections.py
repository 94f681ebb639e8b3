"""``sregistry collections create [ENTITY/]NAME [--private/--public]`` (Library API)."""

from __future__ import annotations

import click

from sregistry.cli.common import BackendCommand, BackendOptions, open_client
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.transfers import no_urllib3_tls_warnings
from sregistry.main.backend import Capability

__all__ = ["collections", "create"]


@click.group(short_help="Manage library collections.")
def collections() -> None:
    """Manage collections on a Library API server (library://)."""


@collections.command(
    cls=BackendCommand, operation="create_collection", short_help="Create a collection."
)
@click.argument("name", metavar="[ENTITY/]NAME")
@click.option(
    "--private/--public",
    default=False,
    show_default=True,
    help="Whether only its owners may see and pull it.",
)
@pass_app
def create(app: AppContext, *, name: str, private: bool, backend_options: BackendOptions) -> None:
    """Create collection NAME owned by ENTITY (default: the token's own entity).

    \b
    Does what Singularity Registry Server's documentation shows with curl:
      GET  /v1/entities/<ENTITY>     (the entity id)
      POST /v1/collections           {"entity": <id>, "name": NAME, "private": ...}
    The server may normalise NAME (e.g. "My Images" -> "my-images"); the name
    it stored is printed.
    """
    with no_urllib3_tls_warnings():
        client = open_client(app, None, backend_options, capability=Capability.CREATE_COLLECTION)
        if not client.supports(Capability.CREATE_COLLECTION):
            raise click.UsageError(f"the {client.kind} backend cannot create collections")
        with client:
            created = client.create_collection(name, private=private)
    visibility = "private" if created.private else "public"
    app.out.info(f"created {visibility} collection {created.name} (id {created.id})")
    app.out.result(created.name or name)
