"""The object every command receives: global flags, the output streams, and how to wait."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sregistry.cli.output import Output

__all__ = ["AppContext", "pass_app"]


@dataclass
class AppContext:
    """Global options, shared by every command through ``ctx.obj``.

    A caller of the click group may pass one as ``obj`` (``CliRunner.invoke(cli,
    args, obj=AppContext(sleep=...))``): the group keeps what it injects and
    sets the global flags from the command line.
    """

    quiet: bool = False
    debug: bool = False
    deadline: float | None = None
    """``--deadline``: seconds one request may wait for an answer (tries included)."""
    sleep: Callable[[float], None] | None = None
    """How the clients the commands open wait before retrying a request (the
    ``sleep`` option of :func:`sregistry.main.get_client`); ``None`` leaves
    each client its own (``time.sleep``). Tests inject one that does not wait."""
    _output: Output | None = field(default=None, repr=False)

    @property
    def out(self) -> Output:
        """The output helper (created on first use, so --help never builds it)."""
        if self._output is None:
            from sregistry.cli.output import Output

            self._output = Output(quiet=self.quiet)
        return self._output


pass_app = click.make_pass_decorator(AppContext, ensure=True)
