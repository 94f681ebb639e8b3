"""The ``sregistry`` command.

:func:`main` (the console script, and ``python -m sregistry``) answers ``sregistry --help``
and ``sregistry --version`` itself, from :mod:`sregistry.cli.helptext`, without importing
click; anything else goes to the click group, :data:`sregistry.cli.app.cli`. ``cli`` and
``LazyGroup`` are importable from here too (imported on first use).
"""

from __future__ import annotations

import os
import sys

from sregistry.cli.toplevel import ALIASES, COMMANDS, HELP, PROG_NAME, VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sregistry.cli.app import LazyGroup, cli

__all__ = ["ALIASES", "COMMANDS", "LazyGroup", "cli", "main"]


def __getattr__(name: str) -> object:
    """``cli`` and ``LazyGroup``, imported (with click) when first asked for."""
    if name in {"cli", "LazyGroup"}:
        from sregistry.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _prog_name() -> str:
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else PROG_NAME
    return PROG_NAME if prog.endswith(".py") else prog


def _completing() -> bool:
    """Whether a shell asks for completions (click's ``_<PROG>_COMPLETE`` variables)."""
    return any(
        name.startswith("_") and name.endswith("_COMPLETE") and value
        for name, value in os.environ.items()
    )


def _answer(text: str) -> None:
    """Print ``text`` as click would: a reader that went away makes it exit 1, quietly."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # what is still buffered goes nowhere when Python flushes it at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    prog = _prog_name()
    if len(args) == 1 and sys.stdout is not None and not _completing():
        if args[0] in VERSION.flags:
            from sregistry.cli.helptext import version_text

            _answer(version_text())
            return
        if args[0] in HELP.flags:
            from sregistry.cli.helptext import help_text

            _answer(help_text(prog))
            return
    from sregistry.cli.app import cli

    cli.main(args=argv, prog_name=prog)
