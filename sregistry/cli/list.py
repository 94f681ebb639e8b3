"""``sregistry list [QUERY]``: list or search images, optionally with their metadata."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from sregistry.cli.common import BackendCommand, BackendOptions, open_client
from sregistry.cli.context import AppContext, pass_app
from sregistry.cli.legacy import retired_option
from sregistry.cli.output import printable
from sregistry.cli.transfers import no_urllib3_tls_warnings
from sregistry.errors import NotFound
from sregistry.main.base import ImageInfo

if TYPE_CHECKING:
    from sregistry.main.fill import FilledImage

__all__ = ["image_table", "list_images", "local_time", "metadata_sections", "short_version"]

SECTIONS = ("environment", "runscript", "test", "deffile", "labels")
"""Inspect attributes ``--env``, ``--runscript``, ``--test``, ``--deffile``, ``--labels``
show, in order."""


def _environment_text(value: Any) -> str:
    """``environment`` is a path -> script map (Singularity 3.6+) or one string (older)."""
    if isinstance(value, Mapping):
        return "\n".join(f"# {path}\n{text}".rstrip("\n") for path, text in value.items())
    return str(value)


def metadata_sections(
    image: ImageInfo, wanted: Sequence[str], metadata: Mapping[str, Any] | None = None
) -> dict[str, str | None]:
    """The requested sections of an image's stored metadata (or of ``metadata``
    when given), as text (``None`` when absent)."""
    source = image.metadata if metadata is None else metadata
    found: dict[str, str | None] = {}
    for section in wanted:
        value = source.get(section)
        if value is None or value in ("", {}):
            found[section] = None
        elif section == "environment":
            found[section] = _environment_text(value)
        elif section == "labels" and isinstance(value, Mapping):
            found[section] = "\n".join(f"{key}: {text}" for key, text in sorted(value.items()))
        else:
            found[section] = str(value)
    return found


def short_version(version: str | None) -> str:
    """``sha256.<hex>`` cut to its first 12 hex digits (as ``images`` shows them),
    another long version (an md5 hex) to 12 characters."""
    if not version:
        return ""
    kind, dot, digest = version.partition(".")
    if dot and kind == "sha256":
        return f"sha256.{digest[:12]}"
    return version[:12]


def local_time(text: str | None) -> str:
    """An ISO 8601 / RFC 3339 time as this machine's local time, to the second
    (``2026-12-04 16:13:36``). A time without a zone is only cut to the second;
    text that is no such time is returned as it is."""
    if not text:
        return ""
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    # Python 3.10 reads only 3 or 6 fraction digits; the seconds are all we show
    value = re.sub(r"(?<=\d\d:\d\d:\d\d)[.,]\d+", "", value, count=1)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def image_table(
    images: Sequence[ImageInfo], *, terminal: bool
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The columns and rows ``list`` prints.

    For a reader (``terminal``): the version cut short and the time in local
    time to the second, so that a row fits a line. For a script (piped): the
    full version and the time as the backend reported it.

    The last column is ``created`` when the backend knows when images were
    created, else ``updated`` when it only knows when their records last
    changed (Singularity Registry Server), never one shown as the other.
    """
    date = "created" if any(image.created for image in images) else None
    if date is None and any(image.updated for image in images):
        date = "updated"
    date = date or "created"
    columns = ("image", "version", "frozen", date)
    rows: list[tuple[str, ...]] = []
    for image in images:
        when = image.created if date == "created" else image.updated
        rows.append(
            (
                image.uri,
                short_version(image.version) if terminal else image.version or "",
                "yes" if image.frozen else "",
                local_time(when) if terminal else when or "",
            )
        )
    return columns, rows


def _print_sections(app: AppContext, filled: list[FilledImage], wanted: Sequence[str]) -> None:
    for number, item in enumerate(filled):
        if number:
            app.out.result("")
        app.out.result(f"== {printable(item.image.uri)} ==")
        for section, text in metadata_sections(item.image, wanted, item.metadata).items():
            app.out.result(f"%{section}")
            app.out.result(text.rstrip("\n") if text is not None else f"(no {section})")


@click.command(
    cls=BackendCommand, operation="search", short_help="List or search images on a registry."
)
@click.argument("query", required=False, metavar="[QUERY]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("-e", "--env", is_flag=True, help="Show the stored %environment.")
@click.option("-r", "--runscript", is_flag=True, help="Show the stored %runscript.")
@click.option("-t", "--test", is_flag=True, help="Show the stored %test.")
@click.option("-d", "--deffile", is_flag=True, help="Show the stored definition file.")
@click.option("--labels", is_flag=True, help="Show the labels.")
@retired_option(
    "--endpoint",
    "it searched a Globus endpoint (a backend that is not supported); "
    "type `sregistry list [QUERY]` to search the configured registry",
)
@pass_app
def list_images(
    app: AppContext,
    *,
    query: str | None,
    as_json: bool,
    env: bool,
    runscript: bool,
    test: bool,
    deffile: bool,
    labels: bool,
    backend_options: BackendOptions,
) -> None:
    """List images, all of them or those QUERY matches.

    \b
    QUERY forms:
      (none)                  every public image
      dinosaur                the images of collection "dinosaur"
      /avocado[:tag]          images named "avocado" in any collection
      dinosaur/avocado[:tag]  images named "avocado" in collection "dinosaur"
      library://entity/collection[/container[:tag]]
                              the tags of a Library API container (or of every
                              container, where the server can list them)
      library://TEXT          a Library API search (not on Singularity Registry Server)

    Every page of results is fetched. With --env, --runscript, --test,
    --deffile or --labels the metadata of each matching image is shown
    instead: the server's, or, for images the server keeps none for, read
    from the image itself in HTTP ranges (4 at a time; cached by image
    sha256 in the local store). Exits 3 when QUERY matches nothing.
    """
    wanted = [
        section
        for section, flag in zip(SECTIONS, (env, runscript, test, deffile, labels), strict=True)
        if flag
    ]
    filled: list[FilledImage] = []
    with no_urllib3_tls_warnings():
        client = open_client(app, query, backend_options)
        with client:
            images = client.search(query)  # search results carry the stored metadata
            if wanted:
                from sregistry.main.fill import image_metadata
                from sregistry.store.cache import cache_enabled

                filled = image_metadata(client, images, cache=cache_enabled())
    for item in filled:
        if item.warning:
            app.out.warn(f"cannot read the metadata of {item.warning}")
    if as_json:
        if wanted:
            app.out.json(
                [
                    {
                        "uri": item.image.uri,
                        **metadata_sections(item.image, wanted, item.metadata),
                        "metadata_source": item.source,
                    }
                    for item in filled
                ]
            )
        else:
            app.out.json([image.to_json() for image in images])
    elif wanted:
        _print_sections(app, filled, wanted)
    elif images:
        columns, rows = image_table(images, terminal=app.out.terminal)
        app.out.table(columns, rows, no_wrap=columns[1:])
    for image in images:
        if not _usable(image):
            app.out.warn(
                f"{image.uri!r}: an unusable name (stored as is on the server; it cannot be "
                "pulled or deleted by name)"
            )
    if not images and query:
        raise NotFound(f"no images match {query!r}")
    if not images:
        app.out.info("no images")


def _usable(image: ImageInfo) -> bool:
    """Whether the image's name and tag can be given back to a command (a server may
    have stored ``..``, ``../x`` or ``x\\..\\y``)."""
    return all(
        part not in {"", ".", ".."}
        and not any(ch in "/\\" or ord(ch) < 32 or ord(ch) == 127 for ch in part)
        for part in (image.name, image.tag)
    )
