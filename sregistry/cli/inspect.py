"""``sregistry inspect FILE``: an image's labels, scripts, environment and apps."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from sregistry.cli.context import AppContext, pass_app
from sregistry.errors import NotFound

if TYPE_CHECKING:
    from sregistry.metadata import InspectResult

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


def resolve_image(app: AppContext, argument: str) -> str:
    """The file ``argument`` names (later also an image of the local store)."""
    if os.path.exists(argument):
        return argument
    raise NotFound(f"no such file: {argument}", hint="give the path of a SIF image")


def _section_options(func: Any) -> Any:
    for name, short, what in reversed(SECTIONS):
        flags = [f"--{name}"] if short is None else [short, f"--{name}"]
        func = click.option(*flags, name, is_flag=True, help=f"Show the {what}.")(func)
    return func


@click.command()
@click.argument("image", metavar="FILE")
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
    app: AppContext, /, image: str, as_json: bool, native: bool, timeout: float, **sections: bool
) -> None:
    """Show the metadata of the SIF image FILE (all sections unless some are chosen).

    Uses singularity/apptainer inspect when one is installed, else (or with
    --native) reads the SIF file directly.
    """
    from sregistry.metadata import inspect_image

    path = resolve_image(app, image)
    result = inspect_image(path, method="native" if native else "auto", timeout=timeout)
    for warning in result.warnings:
        app.out.warn(warning)
    chosen = {name for name, enabled in sections.items() if enabled} or set(sections)
    attributes = {key: value for key, value in result.attributes.items() if key in chosen}
    if as_json:
        app.out.json(
            {
                "data": {"attributes": attributes},
                "type": "container",
                "arch": result.arch,
                "size": result.size,
            }
        )
        return
    order = [name for name, _, _ in SECTIONS]
    _print_table(app, result, {key: attributes[key] for key in order if key in attributes})


def _print_table(app: AppContext, result: InspectResult, attributes: dict[str, Any]) -> None:
    out = app.out
    out.table(
        ["field", "value"],
        [
            ["file", result.path],
            ["arch", result.arch or "unknown"],
            ["size", f"{result.size} bytes"],
            ["source", result.source],
        ],
    )
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


def _print_files(app: AppContext, files: dict[str, str]) -> None:
    for path, text in sorted(files.items()):
        app.out.result(f"=== {path} ===\n{text}")
