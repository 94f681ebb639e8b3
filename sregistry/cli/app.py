"""The ``sregistry`` click group, whose commands load on first use.

Its description, options and commands are data in :mod:`sregistry.cli.toplevel`. Help for a
command imports only click and this package's light modules; requests, rich, keyring and yaml
are imported inside the commands that need them. ``sregistry --help`` and ``--version`` do not
come here at all (:func:`sregistry.cli.main`).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from sregistry import __version__
from sregistry.cli.context import AppContext
from sregistry.cli.status import ExitStatus, describe_error, exit_status
from sregistry.cli.toplevel import (
    ALIASES,
    COMMANDS,
    DEADLINE,
    DEBUG,
    DESCRIPTION,
    HELP,
    MAX_CONTENT_WIDTH,
    PROG_NAME,
    QUIET,
    VERSION,
    VERSION_MESSAGE,
)

__all__ = ["LazyGroup", "cli"]


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


# The options are declared in the order of toplevel.OPTIONS, which is the order --help lists.
@click.group(
    cls=LazyGroup,
    help=DESCRIPTION,
    context_settings={
        "help_option_names": list(HELP.flags),
        "max_content_width": MAX_CONTENT_WIDTH,
    },
)
@click.version_option(
    __version__, *VERSION.flags, prog_name=PROG_NAME, message=VERSION_MESSAGE, help=VERSION.help
)
@click.option(*QUIET.flags, is_flag=True, help=QUIET.help)
@click.option(*DEBUG.flags, is_flag=True, help=DEBUG.help)
@click.option(
    *DEADLINE.flags,
    type=click.FloatRange(
        min=DEADLINE.minimum,
        max=DEADLINE.maximum,
        min_open=DEADLINE.min_open,
        max_open=DEADLINE.max_open,
    ),
    metavar=DEADLINE.metavar,
    help=DEADLINE.help,
)
@click.help_option(*HELP.flags, help=HELP.help)
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool, deadline: float | None) -> None:
    """Set the global options for the command that follows."""
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
