"""``sregistry labels [--key K] [--value V]``."""

from __future__ import annotations

import click

from sregistry.cli.common import BackendCommand, BackendOptions, open_client
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.transfers import no_urllib3_tls_warnings
from sregistry.errors import NotFound

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

    Exits 3 when --key or --value matches nothing (with --json, after printing []).
    """
    with no_urllib3_tls_warnings():
        client = open_client(app, None, backend_options)
        with client:
            found = client.labels(key=key, value=value)
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
