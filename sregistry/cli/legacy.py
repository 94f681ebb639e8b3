"""What a user of sregistry-cli 0.2.39 types, answered.

``version`` works as it did; ``pull --name FILE`` is ``pull -o FILE`` (see
:mod:`sregistry.cli.pull`). Commands and options that are gone fail with
one line naming what to type instead, and exit 2 (a usage error), instead of
click's usage block. ``docs/migrating.md`` lists every 0.2.39 command and
option with its fate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO, Any, TypeVar

import click

from sregistry import __version__

__all__ = [
    "COMMANDS",
    "OneArgumentCommand",
    "Replaced",
    "backend",
    "build",
    "retired_option",
    "rmi",
    "share",
    "shell",
    "version",
]

F = TypeVar("F", bound=Callable[..., Any])


class Replaced(click.UsageError):
    """A usage error shown as one line: what is gone and what to type instead."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=file is None)


class OneArgumentCommand(click.Command):
    """A command with one positional argument that, given several, says how to
    handle each one (``several``, formatted with ``{count}`` and ``{extra}``)
    instead of click's "Got unexpected extra arguments"."""

    def __init__(self, *args: Any, several: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.several = several

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        helping = any(arg in self.get_help_option_names(ctx) for arg in args)
        if not ctx.resilient_parsing and not helping:
            _, extra, _ = self.make_parser(ctx).parse_args(args=list(args))
            if extra:
                raise Replaced(
                    self.several.format(count=len(extra) + 1, extra=" ".join(extra)), ctx
                )
        return super().parse_args(ctx, args)


def retired_option(flag: str, instead: str) -> Callable[[F], F]:
    """A hidden ``flag`` (taking a value) that fails with ``instead``."""

    def refuse(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is not None:
            raise Replaced(f"{flag} is gone: {instead}", ctx)

    return click.option(flag, hidden=True, expose_value=False, callback=refuse, metavar="X")


_ANY_WORDS: dict[str, Any] = {
    "ignore_unknown_options": True,
    "allow_extra_args": True,
    "help_option_names": [],
}


def _refusal(message: Callable[[Sequence[str]], str], name: str) -> click.Command:
    """A command that takes any words and fails with ``message(words)``."""

    def run(words: tuple[str, ...]) -> None:
        raise Replaced(message(words))

    return click.Command(
        name,
        callback=run,
        params=[click.Argument(["words"], nargs=-1, type=click.UNPROCESSED)],
        context_settings=_ANY_WORDS,
        help=message(()),
        add_help_option=False,
    )


@click.command(short_help="Print the version (as --version does).")
def version() -> None:
    """Print the version, as ``sregistry --version`` does."""
    click.echo(f"sregistry, version {__version__}")


def _backend(words: Sequence[str]) -> str:
    action = words[0] if words and not words[0].startswith("-") else ""
    gone = f"`sregistry backend{' ' + action if action else ''}` is gone"
    in_effect = "`sregistry config` shows what is in effect"
    if action == "activate" and len(words) > 1:
        return (
            f"{gone}: type `export SREGISTRY_CLIENT={words[1]}`, or write the reference as "
            f"{words[1]}://COLLECTION/NAME; {in_effect}"
        )
    if action == "activate":
        return f"{gone}: type `export SREGISTRY_CLIENT=NAME`; {in_effect}"
    if action == "deactivate":
        return f"{gone}: type `unset SREGISTRY_CLIENT`; {in_effect}"
    if action in {"add", "rm", "delete"}:
        return (
            f"{gone}: store a registry's token with `sregistry login`, remove it with "
            "`sregistry logout`, or set the SREGISTRY_* variables (`sregistry config` lists them)"
        )
    return f"{gone}: type `sregistry config` (what is in use, and where each setting comes from)"


def _shell(words: Sequence[str]) -> str:
    return (
        "`sregistry shell` is gone: type `python` and then "
        "`from sregistry.main import get_client` (the Python API, docs/api.md)"
    )


def _build(words: Sequence[str]) -> str:
    return (
        "`sregistry build` is not supported (it drove Google Cloud Build): "
        "type `apptainer build IMAGE.sif RECIPE`, then `sregistry push IMAGE.sif --name ...`"
    )


def _share(words: Sequence[str]) -> str:
    return (
        "`sregistry share` is not supported (it shared Google Drive and Dropbox files): "
        "give others the image's reference; they type `sregistry pull COLLECTION/NAME:TAG`"
    )


def _rmi(words: Sequence[str]) -> str:
    return "`sregistry rmi` is gone: type `sregistry rm NAME` (it removes the image and its file)"


backend = _refusal(_backend, "backend")
shell = _refusal(_shell, "shell")
build = _refusal(_build, "build")
share = _refusal(_share, "share")
rmi = _refusal(_rmi, "rmi")

COMMANDS: dict[str, str] = {
    name: f"sregistry.cli.legacy:{name}"
    for name in ("version", "backend", "shell", "build", "share", "rmi")
}
"""0.2.39 command names the group answers without listing them in ``--help``."""
