"""``sregistry --help`` and ``--version`` without click: the same bytes, in a millisecond.

Importing click costs more than the rest of the start-up together, so :func:`sregistry.cli.main`
answers these two from the data in :mod:`sregistry.cli.toplevel`, laid out by the rules of
click's ``HelpFormatter`` (8.x): the width, the usage line, re-wrapped paragraphs (a ``\\b``
line keeps the paragraph after it as written), and two-column definition lists whose first
column is at most 30 characters wide. Tests compare the output with click's at every width.
"""

from __future__ import annotations

import os
import sys
import textwrap

from sregistry import __version__
from sregistry.cli.toplevel import (
    COMMANDS,
    DESCRIPTION,
    MAX_CONTENT_WIDTH,
    OPTIONS,
    PROG_NAME,
    VERSION_MESSAGE,
    Option,
)

__all__ = ["definition_list", "help_text", "terminal_columns", "version_text", "wrap_text"]

INDENT = 2
"""Each section's indentation, and the description's."""
TERM_COLUMN_MAX = 30
"""The widest a definition list's first column grows before its text moves down a line."""
COLUMN_SPACING = 2


def version_text() -> str:
    """What ``sregistry --version`` prints (without the newline)."""
    return VERSION_MESSAGE % {"prog": PROG_NAME, "version": __version__}


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil (which imports bz2
    and lzma): ``COLUMNS`` when it is a positive number, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
    return columns or 80


def help_width() -> int:
    """The width click lays help out at: the terminal's, at most ``MAX_CONTENT_WIDTH``,
    less 2, at least 50."""
    return max(min(terminal_columns(), MAX_CONTENT_WIDTH) - 2, 50)


class _Wrapper(textwrap.TextWrapper):
    """``textwrap`` as click uses it: a word longer than the line is cut where the line ends,
    not after a hyphen."""

    def _handle_long_word(
        self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int
    ) -> None:
        room = max(width - cur_len, 1)
        if self.break_long_words:
            word = reversed_chunks[-1]
            cur_line.append(word[:room])
            reversed_chunks[-1] = word[room:]
        elif not cur_line:
            cur_line.append(reversed_chunks.pop())


def _fill(text: str, width: int, first: str, rest: str) -> str:
    wrapper = _Wrapper(width, first, rest, replace_whitespace=False)
    return wrapper.fill(text)


def wrap_text(text: str, width: int, indent: str = "") -> str:
    """Re-wrap ``text`` paragraph by paragraph, as ``click.wrap_text(...,
    preserve_paragraphs=True)`` does.

    Paragraphs are separated by empty lines; a paragraph keeps the indentation of its first
    line, and one whose first line is ``\\b`` keeps its lines as written (without that line).
    """
    paragraphs: list[tuple[str, bool, str]] = []  # (extra indent, as written, text)
    lines: list[str] = []
    extra = ""

    def flush() -> None:
        if lines:
            if lines[0].strip() == "\b":
                paragraphs.append((extra, True, "\n".join(lines[1:])))
            else:
                paragraphs.append((extra, False, " ".join(lines)))
            lines.clear()

    for line in text.expandtabs().splitlines():
        if not line:
            flush()
            continue
        if lines:
            lines.append(line)
        else:
            stripped = line.lstrip()
            extra = " " * (len(line) - len(stripped))
            lines.append(stripped)
    flush()
    done = []
    for space, as_written, body in paragraphs:
        prefix = indent + space
        if as_written:
            done.append("\n".join(prefix + line for line in body.splitlines()))
        else:
            done.append(_fill(body, width, prefix, prefix))
    return "\n\n".join(done)


def definition_list(rows: list[tuple[str, str]], width: int, indent: int) -> list[str]:
    """A two-column list, as ``HelpFormatter.write_dl`` writes it (each line ends in ``\\n``)."""
    column = min(max(len(term) for term, _ in rows), TERM_COLUMN_MAX) + COLUMN_SPACING
    text_width = max(width - column - 2, 10)
    out = []
    for term, definition in rows:
        out.append(" " * indent + term)
        if not definition:
            out.append("\n")
            continue
        if len(term) <= column - COLUMN_SPACING:
            out.append(" " * (column - len(term)))
        else:
            out.append("\n" + " " * (column + indent))
        lines = wrap_text(definition, text_width).splitlines() or [""]
        out.append(lines[0] + "\n")
        out.extend(" " * (column + indent) + line + "\n" for line in lines[1:])
    return out


def _option_prefix_length(flag: str) -> int:
    if flag[:1].isalnum():
        return 0
    return 2 if flag[1:2] == flag[:1] else 1


def _option_row(option: Option) -> tuple[str, str]:
    """An option's line in ``Options:``: its spellings (shortest prefix first) and metavar,
    then its help and the range a value must be in."""
    term = ", ".join(sorted(option.flags, key=_option_prefix_length))
    if option.metavar is not None:
        term = f"{term} {option.metavar}"
    low, high = option.minimum, option.maximum
    if low is None and high is None:
        return term, option.help
    below = "<" if option.min_open else "<="
    above = "<" if option.max_open else "<="
    if low is None:
        bounds = f"x{above}{high}"
    elif high is None:
        bounds = f"x{'>' if option.min_open else '>='}{low}"
    else:
        bounds = f"{low}{below}x{above}{high}"
    return term, f"{option.help}  [{bounds}]"


def _usage(prog: str, args: str, width: int) -> str:
    prefix = f"Usage: {prog} "
    if width >= len(prefix) + 20:
        return _fill(args, width, prefix, " " * len(prefix)) + "\n"
    indent = " " * (len("Usage: ") + 4)
    return f"{prefix}\n{_fill(args, width, indent, indent)}\n"


def help_text(prog: str = PROG_NAME, width: int | None = None) -> str:
    """What ``sregistry --help`` prints (without the last newline), laid out at ``width``
    (by default the terminal's, as click computes it)."""
    if width is None:
        width = help_width()
    parts = [_usage(prog, "[OPTIONS] COMMAND [ARGS]...", width)]
    parts += ["\n", wrap_text(DESCRIPTION, width, " " * INDENT), "\n"]
    parts += [
        "\n",
        "Options:\n",
        *definition_list([_option_row(o) for o in OPTIONS], width, INDENT),
    ]
    commands = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
    parts += ["\n", "Commands:\n", *definition_list(commands, width, INDENT)]
    return "".join(parts).rstrip("\n")
