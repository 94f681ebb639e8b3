"""``sregistry inspect FILE|NAME|REF``: an image's labels, scripts, environment and apps."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from sregistry.cli.common import BackendCommand, BackendOptions, backend_supports, open_client
from sregistry.cli.context import AppContext, pass_app
from sregistry.errors import InvalidName, NotFound, NotSupported, SregistryError
from sregistry.main.backend import Capability

if TYPE_CHECKING:
    from sregistry.metadata import InspectResult
    from sregistry.store import StoredImage

__all__ = ["inspect", "resolve_image"]

SECTIONS = (
    ("labels", "-l", "labels"),
    ("environment", "-e", "environment files"),
    ("runscript", "-r", "runscript"),
    ("startscript", "-s", "startscript"),
    ("test", "-t", "test script"),
    ("helpfile", "-H", "help text"),
    ("deffile", "-d", "definition file"),
    ("apps", None, "SCIF apps"),
)
"""Section flags, in the order the table shows the sections."""


def resolve_image(
    app: AppContext, argument: str, remote: Callable[[], bool] = lambda: False
) -> str | None:
    """The file ``argument`` names, else the file of the local store's image
    ``argument`` (``[local://]collection/name[:tag][@sha256.<hex>]``), else
    ``None`` when ``remote()`` says the backend the argument picks reads images
    on its server: a remote image (``scheme://...``, or a name that is neither).
    ``remote`` is asked only then (it imports the backends' clients).

    An existing path wins; stderr says so when a stored image has the same
    name (``local://NAME`` picks the stored one), and names the stored image
    when one is used.
    """
    if os.path.exists(argument):
        try:
            image = _stored(argument)
        except SregistryError:
            image = None  # a broken store never stops inspecting a file
        if image is not None:
            app.out.info(
                f"inspecting the file {argument}, not the stored image {image.uri} "
                f"(local://{image.uri} names that one)"
            )
        return argument
    image = _stored(argument)
    if image is None and ("://" in argument or _remote_name(argument)) and remote():
        return None
    if image is None:
        raise NotFound(
            f"no such file or stored image: {argument}",
            hint="give the path of a SIF image, or a name `sregistry images` lists",
        )
    app.out.info(f"stored image {image.uri}: {image.path}")
    return str(image.path)


def _remote_name(argument: str) -> bool:
    """Whether ``argument`` reads as ``collection/name[:tag]`` rather than a mistyped path."""
    path_like = argument.startswith(("/", "./", "../", "~")) or argument.endswith(".sif")
    return "/" in argument and not path_like


def _stored(argument: str) -> StoredImage | None:
    """The local store's image named ``argument``, if that is a stored image's name."""
    from sregistry.config import store_database

    if not store_database().exists():
        return None  # no store: nothing to import (sqlite3 and the store cost ~18 ms)
    from sregistry.store import ImageStore

    try:
        with ImageStore() as store:
            return store.get(argument)
    except (NotFound, InvalidName):
        return None


_OPEN = Capability.OPEN_IMAGE


def _section_options(func: Any) -> Any:
    for name, short, what in reversed(SECTIONS):
        flags = [f"--{name}"] if short is None else [short, f"--{name}"]
        func = click.option(*flags, name, is_flag=True, help=f"Show the {what}.")(func)
    return func


@click.command(cls=BackendCommand, operation="inspect")
@click.argument("image", metavar="FILE|NAME|REF")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print `singularity inspect --json` output, plus arch and size.",
)
@click.option(
    "--native",
    is_flag=True,
    help="Read the SIF file itself even when singularity/apptainer is installed.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long singularity/apptainer inspect may take.",
)
@_section_options
@pass_app
def inspect(
    app: AppContext,
    /,
    *,
    image: str,
    as_json: bool,
    native: bool,
    timeout: float,
    backend_options: BackendOptions,
    **sections: bool,
) -> None:
    """Show the metadata of the SIF image FILE (all sections unless some are chosen).

    NAME (collection/name[:tag], as `sregistry images` lists them) inspects
    an image of the local store; an existing file of that name is preferred.

    Uses singularity/apptainer inspect when one is installed, else (or with
    --native) reads the SIF file directly.

    REF (registry://..., library://..., oras://..., or a collection/name:tag that is
    neither a file nor a stored image) reads the image on its server in HTTP
    ranges, without downloading it: the header, the descriptors and the few
    blocks the metadata needs, never more than SREGISTRY_REMOTE_READ_MAX
    bytes (default 8M). An oras:// REF also shows its manifest and annotations.
    """
    from sregistry.metadata import inspect_image

    reference = image if "://" in image else None
    path = resolve_image(app, image, lambda: backend_supports(reference, backend_options, _OPEN))
    if path is None:
        result = _inspect_remote(app, image, backend_options)
    else:
        result = inspect_image(path, method="native" if native else "auto", timeout=timeout)
    for warning in result.warnings:
        app.out.warn(warning)
    chosen = {name for name, enabled in sections.items() if enabled} or set(sections)
    attributes = {key: value for key, value in result.attributes.items() if key in chosen}
    if as_json:
        document: dict[str, Any] = {
            "data": {"attributes": attributes},
            "type": "container",
            "arch": result.arch,
            "size": result.size,
        }
        if result.manifest is not None:
            document["manifest"] = result.manifest
        app.out.json(document)
        return
    order = [name for name, _, _ in SECTIONS]
    _print_table(app, result, {key: attributes[key] for key in order if key in attributes})


def _inspect_remote(app: AppContext, reference: str, chosen: BackendOptions) -> InspectResult:
    """The metadata of ``reference`` read on its server (backends with OPEN_IMAGE)."""
    client = open_client(app, reference, chosen, capability=_OPEN)
    with client:
        if not client.supports(_OPEN):
            raise NotSupported(
                f"the {client.kind} backend cannot read an image on its server",
                hint="pull the image, then inspect the file",
            )
        return client.inspect(reference)


def _print_head(app: AppContext, result: InspectResult) -> None:
    app.out.table(
        ["field", "value"],
        [
            ["file", result.path],
            ["arch", result.arch or "unknown"],
            ["size", f"{result.size} bytes"],
            ["source", result.source],
        ],
    )
    if result.manifest is not None:
        _print_manifest(app, result.manifest)


def _print_table(app: AppContext, result: InspectResult, attributes: dict[str, Any]) -> None:
    out = app.out
    _print_head(app, result)
    if not attributes:
        out.result("")
        out.result("(no metadata)")
    for name, value in attributes.items():
        out.result("")
        if name == "labels":
            out.result("labels:")
            out.table(["key", "value"], sorted(value.items()))
        elif name == "environment":
            out.result("environment:")
            _print_files(app, value)
        elif name == "apps":
            for app_name, app_attributes in value.items():
                out.result(f"app {app_name}:")
                for key, item in app_attributes.items():
                    if key == "environment":
                        _print_files(app, item)
                    elif key == "labels":
                        out.result("=== labels ===")
                        for label, text in sorted(item.items()):
                            out.result(f"{label}: {text}")
                    else:
                        out.result(f"=== {key} ===\n{item}")
        else:
            out.result(f"{name}:")
            out.result(str(value))


def _print_manifest(app: AppContext, manifest: dict[str, Any]) -> None:
    """The manifest of an image read in an OCI registry, and its annotations."""
    out = app.out
    rows = [["digest", manifest.get("digest") or ""], ["media type", manifest.get("mediaType")]]
    if manifest.get("index"):
        rows.append(["index", manifest["index"]])
    out.result("")
    out.result("manifest:")
    out.table(["field", "value"], rows)
    out.result("")
    annotations = manifest.get("annotations") or {}
    out.result("annotations:" if annotations else "annotations: (none)")
    if annotations:
        out.table(["key", "value"], sorted(annotations.items()))


def _print_files(app: AppContext, files: dict[str, str]) -> None:
    for path, text in sorted(files.items()):
        app.out.result(f"=== {path} ===\n{text}")
