"""``sregistry pull collection/name[:tag] [-o PATH] [--force]``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from sregistry.cli.common import BackendOptions, OneArgumentBackendCommand, open_client
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.transfers import human_size, no_urllib3_tls_warnings

__all__ = ["pull"]


@click.command(
    cls=OneArgumentBackendCommand,
    operation="pull",
    several="pull takes one image, got {count}: type `sregistry pull IMAGE -o FILE` once per image",
    short_help="Download an image, verified, into a file.",
)
@click.argument("image", metavar="COLLECTION/NAME[:TAG][@VERSION]")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="File to write, or an existing directory for the default name "
    "(<collection>-<name>_<tag>.sif; library: <container>_<tag>.sif).",
)
@click.option(
    "--name",
    "legacy_name",
    type=click.Path(path_type=Path),
    hidden=True,
    help="sregistry-cli 0.2.39's name for -o.",
)
@click.option("-f", "--force", is_flag=True, help="Replace the file if it exists.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Download even when the local store holds the image, and do not record it there "
    "(also SREGISTRY_DISABLE=1).",
)
@pass_app
def pull(
    app: AppContext,
    *,
    image: str,
    output: Path | None,
    legacy_name: Path | None,
    force: bool,
    no_cache: bool,
    backend_options: BackendOptions,
) -> None:
    """Download IMAGE, check its size and checksum, then move it into place.

    The download goes to a temporary file beside the target; an existing
    file is never replaced without --force, and nothing is left behind on
    failure. Prints the path written.

    Pulls from registry:// and library:// are recorded in the local store
    (`sregistry images`; `sregistry inspect NAME`), and an image whose sha256
    the store already holds is copied from there, checked, instead of
    downloaded. A pulled file on the store's filesystem is recorded without
    a second copy: a reflink where the filesystem can, else a hard link that
    makes the file read-only (copy it before editing). --no-cache, or
    SREGISTRY_DISABLE (or SINGULARITY_DISABLE_CACHE) set to a true value,
    turns both off. SREGISTRY_STORAGE moves the store.

    \b
    library://[HOST/][[ENTITY/]COLLECTION/]CONTAINER[:TAG|:sha256.HEX] pulls
    over the Library API; large files come in --part-size parts over
    --connections connections when the server honours Range, and an
    interrupted pull goes on where it stopped when run again.
    """
    if legacy_name is not None:  # 0.2.39: pull --name FILE
        if output is not None and output != legacy_name:
            raise click.UsageError("--name is another spelling of -o: give one of them")
        output = legacy_name
    with no_urllib3_tls_warnings():
        no_store: dict[str, object] = {"cache": False} if no_cache else {}
        client = open_client(app, image, backend_options, settings=no_store)
        started = time.time()
        try:
            with client, app.out.progress(f"pull {image}") as progress:
                result = client.pull(image, output, force=force, progress=progress)
        except KeyboardInterrupt:
            from sregistry.results import destination
            from sregistry.transfer.journal import kept_note, kept_since

            folder = destination(output, "image.sif").parent
            for kept in kept_since(folder, started - 1):
                app.out.warn(kept_note(kept))
            raise
    for warning in result.warnings:
        app.out.warn(warning)
    if result.from_cache:
        app.out.info("served from the local store (nothing downloaded)")
    if result.stored_as:
        app.out.info(f"in the local store as {result.stored_as}")
        if result.path.stat().st_nlink > 1:
            app.out.info(
                f"{result.path} is the stored file under a second name (one copy on disk), "
                "read-only: copy it before editing it"
            )
    if result.resumed_from:
        app.out.info(f"resumed after the first {human_size(result.resumed_from)}")
    verified = result.version == f"sha256.{result.sha256}"
    app.out.info(
        f"pulled {result.name} ({human_size(result.size)}), sha256 {result.sha256}"
        + (" verified" if verified else "")
    )
    app.out.result(str(result.path.absolute()))
