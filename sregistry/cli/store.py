"""The local store commands: ``images``, ``get``, ``add``, ``rm``, ``mv``, ``rename``.

They act on the store directly (``$SREGISTRY_STORAGE``), whatever backend is
configured, and whether or not ``SREGISTRY_DISABLE`` turns the pull cache off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.transfers import human_size
from sregistry.errors import IntegrityError, NotFound

if TYPE_CHECKING:
    from sregistry.store import ImageStore, StoredImage

__all__ = ["add", "get", "images", "mv", "rename", "rm"]


def _store() -> ImageStore:
    from sregistry.store import ImageStore

    return ImageStore()


def _short(image: StoredImage) -> str:
    return f"{image.uri} ({human_size(image.size)}, sha256.{image.sha256[:12]})"


@click.command()
@click.argument("query", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--check",
    is_flag=True,
    help="Verify every stored file against its sha256 and report problems (reads everything).",
)
@pass_app
def images(app: AppContext, /, query: str | None, as_json: bool, check: bool) -> None:
    """List images in the local store, optionally matching QUERY.

    \b
    QUERY: collection/ | /name[:tag] | collection/name[:tag] | sha256.<prefix>
           | any word (matched inside names and tags)

    Exits 3 when QUERY matches nothing (with --json, after printing []).
    """
    with _store() as store:
        app.out.info(f"store: {store.root}")
        if check:
            _check(app, store, as_json)
            return
        found = store.search(query)
    if as_json:
        app.out.json([image.to_json() for image in found])
    elif found:
        app.out.table(
            ["name", "size", "sha256", "created", "source"],
            [
                [image.uri, human_size(image.size), image.sha256[:12], image.created, image.source]
                for image in found
            ],
        )
    if not found and query:
        raise NotFound(f"no images match {query!r}")
    if not found:
        app.out.info("the store is empty")


def _check(app: AppContext, store: ImageStore, as_json: bool) -> None:
    from sregistry.store import SweepResult

    swept = store.sweep() if store.database.exists() else SweepResult()
    report = store.check(verify=True)
    if as_json:
        app.out.json(
            {
                "images": report.images,
                "missing": list(report.missing),
                "corrupt": list(report.corrupt),
                "in_progress": [str(path) for path in report.temps],
                "removed_temporary_files": [str(path) for path in swept.temps],
                "removed_unused_files": list(swept.orphans),
            }
        )
    else:
        for uri in report.missing:
            app.out.result(f"missing\t{uri}")
        for uri in report.corrupt:
            app.out.result(f"damaged\t{uri}")
        if swept.temps or swept.orphans:
            app.out.info(
                f"removed {len(swept.temps)} abandoned temporary and "
                f"{len(swept.orphans)} unused file(s)"
            )
        if report.temps:
            app.out.info(f"{len(report.temps)} file(s) being written by running commands")
    if report.missing or report.corrupt:
        raise IntegrityError(
            f"{len(report.missing)} missing and {len(report.corrupt)} damaged image file(s) "
            f"among {report.images} image(s)",
            hint="remove them with `sregistry rm NAME` and pull or add them again",
        )
    if not as_json:
        app.out.info(f"{report.images} image(s), every file present and intact")


@click.command()
@click.argument("name")
@pass_app
def get(app: AppContext, /, name: str) -> None:
    """Print the path of the stored image NAME (collection/name[:tag])."""
    with _store() as store:
        path = store.verify(store.get(name))
    app.out.result(str(path))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="collection/name[:tag] to store it as.")
@click.option(
    "--copy",
    "copy",
    is_flag=True,
    help="Copy FILE into the store (default: move it in, like sregistry-cli).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_app
def add(app: AppContext, /, file: str, name: str, copy: bool, as_json: bool) -> None:
    """Add the image FILE to the local store as NAME (replacing what NAME held)."""
    import os

    from sregistry.errors import NotFound
    from sregistry.store.describe import describe_image
    from sregistry.store.records import parse_name

    parse_name(name)  # a bad name or a missing file fails before the image is read
    if not os.path.isfile(file):
        raise NotFound(f"{file} is not a file")
    described = describe_image(file)
    for warning in described.warnings:
        app.out.warn(warning)
    total = os.path.getsize(file)
    with _store() as store:
        try:
            previous: StoredImage | None = store.get(name)
        except NotFound:
            previous = None
        with app.out.progress("storing", total) as progress:
            image = store.add(
                file,
                name,
                copy=copy,
                metadata=described.metadata,
                arch=described.arch,
                progress=progress,
            )
    if previous is not None and previous.sha256 != image.sha256:
        app.out.info(f"{image.uri} held sha256.{previous.sha256[:12]} before")
    if as_json:
        app.out.json(image.to_json())
        return
    app.out.result(f"{'copied' if copy else 'moved'} {file} into the store as {_short(image)}")


@click.command()
@click.argument("name")
@pass_app
def rm(app: AppContext, /, name: str) -> None:
    """Remove the image NAME from the local store.

    Its file is deleted unless another tag holds the same bytes. No prompt:
    NAME must match one tag exactly.
    """
    with _store() as store:
        image = store.remove(name)
        others = [other.uri for other in store.search(f"sha256.{image.sha256}")]
    if others:
        app.out.result(f"removed {image.uri}; its file is kept for {', '.join(others)}")
    else:
        app.out.result(f"removed {_short(image)}")


@click.command()
@click.argument("name")
@click.argument("path", type=click.Path())
@click.option("-f", "--force", is_flag=True, help="Replace PATH if it exists.")
@pass_app
def mv(app: AppContext, /, name: str, path: str, force: bool) -> None:
    """Move the image NAME out of the local store to PATH (a file or folder).

    The file is checked on the way out and NAME is removed from the store.
    When another tag holds the same bytes, they stay stored for it.
    """
    with _store() as store:
        image = store.get(name)
        with app.out.progress("moving", image.size) as progress:
            target = store.export(image.pinned_uri, path, move=True, force=force, progress=progress)
    app.out.result(str(target))


@click.command()
@click.argument("name")
@click.argument("new_name", metavar="NEWNAME")
@pass_app
def rename(app: AppContext, /, name: str, new_name: str) -> None:
    """Rename the stored image NAME to NEWNAME (collection/name[:tag])."""
    with _store() as store:
        old = store.get(name)
        new = store.rename(old.pinned_uri, new_name)
    app.out.result(f"{old.uri} -> {new.uri}")
