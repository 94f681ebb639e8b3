"""``sregistry labels [--key K] [--value V]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from sregistry.cli.common import BackendCommand, BackendOptions, open_client
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.transfers import no_urllib3_tls_warnings
from sregistry.errors import NotFound
from sregistry.main.backend import Capability

if TYPE_CHECKING:
    from sregistry.main.base import Client
    from sregistry.results import Label

__all__ = ["labels"]


@click.command(
    cls=BackendCommand, operation="labels", short_help="List labels, filtered by key and/or value."
)
@click.option("-k", "--key", metavar="KEY", help="Only labels with this key.")
@click.option("-v", "--value", metavar="VALUE", help="Only labels with this value.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def labels(
    app: AppContext,
    *,
    key: str | None,
    value: str | None,
    as_json: bool,
    backend_options: BackendOptions,
) -> None:
    """List the labels of the registry's images and the images that carry them.

    A server that keeps no labels (the real Singularity Registry Server
    drops them at upload) gets them read from its images, the first 100 it
    lists, in place (cached by image sha256 in the local store).

    Exits 3 when --key or --value matches nothing (with --json, after printing []).
    """
    with no_urllib3_tls_warnings():
        client = open_client(app, None, backend_options)
        with client:
            found = client.labels(key=key, value=value)
            if not found and client.supports(Capability.OPEN_IMAGE):
                found = _from_images(app, client, key, value)
    if as_json:
        app.out.json([label.to_json() for label in found])
    elif found:
        app.out.table(
            ("key", "value", "images"),
            [(label.key, label.value, ", ".join(label.containers)) for label in found],
        )
    if not found and (key or value):
        wanted = " and ".join(
            f"{part} {item!r}" for part, item in (("key", key), ("value", value)) if item
        )
        raise NotFound(f"no labels match {wanted}")
    if not found:
        app.out.info("no labels")


def _from_images(
    app: AppContext, client: Client, key: str | None, value: str | None
) -> list[Label]:
    """Labels read from the images, when the server keeps none (no label at all)."""
    from sregistry.main.fill import labels_from_images
    from sregistry.store.cache import cache_enabled

    if (key is not None or value is not None) and client.labels():
        return []  # the server keeps labels: none of them matched
    gathered = labels_from_images(client, key=key, value=value, cache=cache_enabled())
    for warning in gathered.warnings:
        app.out.warn(f"cannot read the labels of {warning}")
    if gathered.images:
        more = f" (not the other {gathered.skipped})" if gathered.skipped else ""
        app.out.info(
            f"the server keeps no labels: read from its first {gathered.images} images{more}"
        )
    return gathered.labels
