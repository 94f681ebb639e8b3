"""The ``sregistry`` command: a click group whose commands load on first use.

``--help`` and ``--version`` import only click and this package's light
modules; requests, rich, keyring and yaml are imported inside the commands
that need them.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

import click

from sregistry import __version__
from sregistry.cli.context import AppContext
from sregistry.cli.status import ExitStatus, describe_error, exit_status

__all__ = ["COMMANDS", "cli", "main"]

# name -> (module:function, one-line help). The help is here so that
# `sregistry --help` lists every command without importing any of them.
COMMANDS: dict[str, tuple[str, str]] = {
    "push": ("sregistry.cli.push:push", "Upload a SIF image to a registry."),
    "pull": ("sregistry.cli.pull:pull", "Download an image, verified, into a file."),
    "list": ("sregistry.cli.list:list_images", "List or search images on a registry."),
    "delete": ("sregistry.cli.delete:delete", "Delete one tag of an image from a registry."),
    "labels": ("sregistry.cli.labels:labels", "List labels, filtered by key and/or value."),
    "inspect": (
        "sregistry.cli.inspect:inspect",
        "Show a SIF image's metadata (labels, scripts, ...).",
    ),
    "config": (
        "sregistry.cli.config:config",
        "Show the settings in effect and where each comes from.",
    ),
    "login": ("sregistry.cli.login:login", "Store a registry token (keyring or secrets file)."),
    "logout": ("sregistry.cli.login:logout", "Remove a stored registry token."),
    "images": ("sregistry.cli.store:images", "List images in the local store."),
    "get": ("sregistry.cli.store:get", "Print the path of an image in the local store."),
    "add": ("sregistry.cli.store:add", "Add a SIF file to the local store."),
    "rm": ("sregistry.cli.store:rm", "Remove an image from the local store."),
    "mv": ("sregistry.cli.store:mv", "Move a stored image's file out of the local store."),
    "rename": ("sregistry.cli.store:rename", "Rename an image in the local store."),
    "collections": ("sregistry.cli.collections:collections", "Manage library collections."),
    "completion": ("sregistry.cli.completion:completion", "Print a shell completion script."),
}
ALIASES = {"search": "list", "ls": "list"}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = ALIASES.get(cmd_name, cmd_name)
        if name in COMMANDS:
            target = COMMANDS[name][0]
        else:  # 0.2.39's commands: answered, not listed
            from sregistry.cli.legacy import COMMANDS as LEGACY

            if name not in LEGACY:
                return None
            target = LEGACY[name]
        module_name, _, attribute = target.partition(":")
        import importlib

        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from sregistry.errors import SregistryError

        try:
            return super().invoke(ctx)
        except SregistryError as exc:
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                import traceback

                traceback.print_exc(file=sys.stderr)
            from sregistry.cli.output import printable

            click.echo(printable(describe_error(exc)), err=True)
            ctx.exit(exit_status(exc))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="sregistry")
@click.option("-q", "--quiet", is_flag=True, help="Only print results and errors.")
@click.option("--debug", is_flag=True, help="Log HTTP requests and show tracebacks on errors.")
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True, max=1e9),
    metavar="SECONDS",
    help="Give up on a server that has not answered for this long, all tries included "
    "(also SREGISTRY_DEADLINE; default 300).",
)
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool, deadline: float | None) -> None:
    """Move Singularity/Apptainer images between your machine and registries.

    \b
    Exit codes: 0 ok, 1 error, 2 usage, 3 not found,
                4 permission or authentication, 5 integrity, 130 interrupted.
    """
    given = ctx.obj if isinstance(ctx.obj, AppContext) else AppContext()
    ctx.obj = dataclasses.replace(given, quiet=quiet, debug=debug, deadline=deadline, _output=None)
    if debug:
        import logging

        logging.basicConfig(
            level=logging.DEBUG, stream=sys.stderr, format="debug: %(name)s: %(message)s"
        )
        # urllib3 logs whole request lines, presigned-URL signatures and download
        # secrets included; sregistry.transfer logs every request, redacted.
        logging.getLogger("urllib3").setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "sregistry"
    cli.main(args=argv, prog_name="sregistry" if prog.endswith(".py") else prog)
