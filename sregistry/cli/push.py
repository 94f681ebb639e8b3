"""``sregistry push FILE --name collection/name[:tag]``."""

from __future__ import annotations

from pathlib import Path

import click

from sregistry.cli.common import BackendOptions, OneArgumentBackendCommand, open_client
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.transfers import human_size, no_urllib3_tls_warnings

__all__ = ["push"]


@click.command(
    cls=OneArgumentBackendCommand,
    operation="push",
    several="push takes one FILE, got {count}: type "
    "`sregistry push FILE --name COLLECTION/NAME[:TAG]` once per file",
    short_help="Upload a SIF image to a registry.",
)
@click.argument("image", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-n",
    "--name",
    required=True,
    metavar="COLLECTION/NAME[:TAG]",
    help="Where to store it; a registry://host/ prefix picks the registry, "
    "library://entity/collection/container the Library API.",
)
@click.option("-t", "--tag", metavar="TAG", help="The tag (overrides one given in --name).")
@click.option(
    "-U",
    "--unsigned",
    is_flag=True,
    help="Accepted for compatibility with `singularity push`: registry pushes are not signed.",
)
@click.option(
    "--no-metadata",
    is_flag=True,
    help="Do not read and send the image's labels, scripts and definition file.",
)
@click.option(
    "--allow-non-sif",
    is_flag=True,
    help="Push FILE even though it is not a readable SIF image.",
)
@pass_app
def push(
    app: AppContext,
    *,
    image: Path,
    name: str,
    tag: str | None,
    unsigned: bool,
    no_metadata: bool,
    allow_non_sif: bool,
    backend_options: BackendOptions,
) -> None:
    """Upload FILE as COLLECTION/NAME[:TAG], verified against the registry's checksum.

    \b
    library://[HOST/]ENTITY/COLLECTION/CONTAINER[:TAG[,TAG...]] pushes over
    the Library API (--library URL or a Singularity remote names the server);
    files above 64 MiB go up in parts over --connections connections when
    the server offers multipart uploads.

    A progress bar (size, rate, time left) is drawn on stderr when it is a
    terminal and --quiet is not given.
    """
    if not allow_non_sif and image.is_file():
        _require_sif(image)
    with no_urllib3_tls_warnings():
        client = open_client(app, name, backend_options)
        with client:
            total = image.stat().st_size if image.is_file() else None
            with app.out.progress(f"push {image.name}", total) as progress:
                result = client.push(
                    image, name, tag=tag, inspect=not no_metadata, progress=progress
                )
    for warning in result.warnings:
        app.out.warn(warning)
    version = f", version {result.version}" if result.version else ""
    if result.already_there:
        app.out.info(f"already there{version}: not uploaded again")
    else:
        app.out.info(f"pushed {human_size(result.size)}{version}")
    app.out.result(result.name)


def _require_sif(image: Path) -> None:
    """Refuse a file that is not a SIF image (a README pushed by mistake)."""
    from sregistry.errors import MetadataError
    from sregistry.metadata import read_sif

    try:
        read_sif(image)
    except MetadataError as exc:
        raise MetadataError(
            f"refusing to push: {exc.message}",
            hint="push a SIF image, or pass --allow-non-sif to push this file as it is",
        ) from exc
