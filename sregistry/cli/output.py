"""Everything the CLI writes: results on stdout, messages and progress on stderr.

rich is imported only when a table or a progress bar is drawn. ``NO_COLOR``
is honoured (rich reads it; plain messages carry no colour).

Text from a server or a file may hold terminal control sequences (an OSC
sequence sets the window title, others rewrite the screen): everything
written here goes through :func:`printable` first; ``--json`` escapes them
as JSON does.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from sregistry.results import ProgressCallback

__all__ = ["Output", "printable", "prompt"]

# C0 controls, DEL, C1 controls, and the bidirectional overrides and isolates
# that make text display in another order than it reads.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_INLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with control characters shown as ``\\xNN`` escapes, safe for a terminal.

    ``lines`` keeps newlines and tabs (multi-line text such as a runscript);
    otherwise they are escaped too, so one value stays one cell or one line.
    """
    return (_UNSAFE_INLINE if lines else _UNSAFE).sub(_escape, text)


def _cell(value: Any) -> str:
    return "" if value is None else printable(str(value))


def _noop(done: int, total: int | None) -> None:
    return None


def prompt(text: str, *, default: str | None = None, hide_input: bool = False) -> str | None:
    """A prompt on stderr: the answer, or ``None`` at end of input (Ctrl-D).

    Ctrl-C raises :class:`KeyboardInterrupt`, which the CLI turns into
    "interrupted" and exit 130, where click's own prompt would print
    "Aborted!" and exit 1.
    """
    try:
        answer: str = click.prompt(
            text, default=default, show_default=False, hide_input=hide_input, err=True
        )
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            click.echo(err=True)
            raise KeyboardInterrupt from None
        return None
    return answer


class Output:
    """Writes for one command run; ``quiet`` hides everything but results and errors."""

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet

    # -- messages (stderr) -------------------------------------------------
    def info(self, message: str) -> None:
        """A status line on stderr, hidden by ``--quiet``."""
        if not self.quiet:
            click.echo(printable(message, lines=True), err=True)

    def warn(self, message: str) -> None:
        """A warning on stderr (shown even with ``--quiet``)."""
        click.echo(f"warning: {printable(message, lines=True)}", err=True)

    def ask(self, question: str) -> str:
        """The answer to ``question`` on stderr ("" at end of input); Ctrl-C raises
        :class:`KeyboardInterrupt` (exit 130), not click's Abort (exit 1)."""
        answer = prompt(printable(question), default="")
        return "" if answer is None else answer

    # -- results (stdout) --------------------------------------------------
    def result(self, text: str) -> None:
        """A result line on stdout."""
        click.echo(printable(text, lines=True))

    def json(self, data: Any) -> None:
        """JSON for scripts on stdout."""
        click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))

    @property
    def terminal(self) -> bool:
        """Whether results go to a terminal (tables are drawn for a reader, not a script)."""
        return sys.stdout.isatty()

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        no_wrap: Collection[str] = (),
    ) -> None:
        """A table on stdout: rich on a terminal, tab-separated otherwise.

        On a terminal the table fits its width: the ``no_wrap`` columns keep
        one line (cut with an ellipsis only when nothing else can give way),
        the others fold their long values onto more lines.
        """
        if not self.terminal:
            lines = ["\t".join(_cell(column) for column in columns)]
            lines.extend("\t".join(_cell(cell) for cell in row) for row in rows)
            click.echo("\n".join(lines))  # one write: click flushes every echo
            return
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=None if title is None else Text(_cell(title)),
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        for column in columns:
            if column in no_wrap:
                table.add_column(Text(_cell(column)), no_wrap=True, overflow="ellipsis")
            else:
                table.add_column(Text(_cell(column)), overflow="fold")
        for row in rows:
            table.add_row(*(Text(_cell(cell)) for cell in row))
        Console().print(table)

    # -- progress (stderr) -------------------------------------------------
    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[ProgressCallback]:
        """A byte progress bar (size, rate, ETA) on stderr while the block runs.

        Off with ``--quiet`` or when stderr is not a terminal: the callback is
        then a no-op.
        """
        if self.quiet or not sys.stderr.isatty():
            yield _noop
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
            task = bar.add_task(escape(_cell(description)), total=total)

            def update(done: int, new_total: int | None) -> None:
                bar.update(task, completed=done, total=new_total)

            yield update
