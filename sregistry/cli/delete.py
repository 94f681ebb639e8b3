"""``sregistry delete IMAGE [--force]``: one tag, from whichever backend IMAGE names."""

from __future__ import annotations

import sys

import click

from sregistry.cli.common import BackendCommand, BackendOptions, open_client
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.transfers import no_urllib3_tls_warnings
from sregistry.errors import SregistryError

__all__ = ["confirmed", "delete"]

YES = frozenset({"y", "yes"})


def confirmed(answer: str) -> bool:
    """Only ``y`` and ``yes`` (any case, surrounding blanks ignored) confirm."""
    return answer.strip().lower() in YES


@click.command(
    cls=BackendCommand, operation="delete", short_help="Delete one tag of an image from a registry."
)
@click.argument("image", metavar="IMAGE")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def delete(
    app: AppContext,
    *,
    image: str,
    force: bool,
    backend_options: BackendOptions,
) -> None:
    """Delete IMAGE (one tag) from the registry.

    \b
    IMAGE: [registry://HOST/]COLLECTION/NAME[:TAG]
           library://[HOST/]ENTITY/COLLECTION/CONTAINER[:TAG|:sha256.HEX]
           local://COLLECTION/NAME[:TAG]   (the local store, as `sregistry rm`)

    Asks first; only "y" or "yes" deletes. Without a terminal to ask on,
    nothing is deleted unless --force is given.
    """
    with no_urllib3_tls_warnings():
        client = open_client(app, image, backend_options)
        with client:
            shown = client.display_name(image)
            if not force:
                if not sys.stdin.isatty():
                    raise SregistryError(
                        f"not deleting {shown}: there is no terminal to confirm on",
                        hint="use --force to delete without asking",
                    )
                answer = app.out.ask(f"Delete {shown} from {client.location}? [y/N]")
                if not confirmed(answer):
                    app.out.info("not deleted")
                    return
            client.delete(image)
    app.out.result(f"deleted {shown}")
