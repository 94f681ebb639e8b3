"""The object every command receives: global flags and the output streams."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sregistry.cli.output import Output

__all__ = ["AppContext", "pass_app"]


@dataclass
class AppContext:
    """Global options, shared by every command through ``ctx.obj``."""

    quiet: bool = False
    debug: bool = False
    deadline: float | None = None
    """``--deadline``: seconds one request may wait for an answer (tries included)."""
    _output: Output | None = field(default=None, repr=False)

    @property
    def out(self) -> Output:
        """The output helper (created on first use, so --help never builds it)."""
        if self._output is None:
            from sregistry.cli.output import Output

            self._output = Output(quiet=self.quiet)
        return self._output


pass_app = click.make_pass_decorator(AppContext, ensure=True)
