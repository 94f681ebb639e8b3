"""Runnable examples in the documentation: find them, run them, compare their output.

The convention (also described for writers in ``docs/development.md``):

* Every fenced block whose language is ``console`` is an example that runs, in
  ``docs/**/*.md`` and ``README.md``. Blocks that cannot run here (a real remote
  host, ``apptainer build``, a prompt) use ``bash``, ``sh``, ``text`` or ``py``.
* In a console block, a line starting with ``$ `` is a command; a command whose
  line ends with ``\\`` continues on the next line (a ``> `` prompt there is
  dropped), and one holding a here-document (``<<EOF``, ``<<'EOF'``) runs on to
  its terminator line. The lines after a command, up to the next ``$ ``, are
  output the command must print (stdout and stderr together, as a terminal
  shows them):

  - every such line must match a line of the output, in the same order, but the
    output may have more lines than the example shows;
  - runs of blanks count as one space (tables are tab-separated off a terminal);
  - ``...`` matches any text (``pulled ... verified``); a line that is only
    ``...`` stands for omitted output and matches nothing.
* Every command must exit 0, except one followed by ``$ echo $?``: that one may
  fail, and the status shown is checked like any output.
* Every ``python`` block runs too (``python`` on a file holding the block) and
  must exit 0; ``py`` blocks are fragments and do not run.
* An HTML comment on the line before a block (blank lines allowed) says what
  the block needs: ``<!-- example: registry library -->``. Tags:

  ``registry``  a reference server runs; ``SREGISTRY_REGISTRY_BASE``,
                ``_USERNAME`` (``alice``) and ``_TOKEN`` are exported.
  ``library``   a reference server runs; ``SREGISTRY_LIBRARY_BASE`` and
                ``_TOKEN`` (alice's) are exported.
  ``server``    a reference server runs; nothing is configured.
  ``checkout``  the block runs in the repository itself (it must not write there).
  ``oras``      an OCI registry (``docker-registry``, anonymous) runs; ``$ORAS`` is
                its ``host:port``, shared by all the blocks of a page.

  Blocks with a server tag also get ``$REGISTRY`` (the server's URL) and a file
  ``token.txt`` holding alice's token in the working directory; the server (and
  what was pushed to it) is shared by all the blocks of a page.
* The blocks of one page run in order, each in a fresh ``bash``, in one sandbox:
  an empty ``HOME``, ``SREGISTRY_STORAGE`` in a temporary folder, no keyring,
  and a working directory holding ``examples/hello-world.sif``. What a block
  leaves there (files, the store, ``~/.sregistry``) is seen by the next ones.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "TAGS",
    "Block",
    "Command",
    "Mismatch",
    "find_blocks",
    "match_output",
    "parse_console",
]

TAGS = frozenset({"registry", "library", "server", "checkout", "oras"})
SERVER_TAGS = frozenset({"registry", "library", "server"})
RUN_LANGUAGES = frozenset({"console", "python"})

_FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")
_TAG_COMMENT = re.compile(r"^<!--\s*example:\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """A fenced code block: where it is, its language, text and tags."""

    path: Path
    line: int
    """1-based line of the opening fence."""
    language: str
    text: str
    tags: frozenset[str] = frozenset()

    @property
    def runs(self) -> bool:
        return self.language in RUN_LANGUAGES

    @property
    def needs_server(self) -> bool:
        return bool(self.tags & SERVER_TAGS)

    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass
class Command:
    """One ``$ `` command of a console block and the output lines shown after it."""

    line: int
    """1-based line in the file."""
    text: str
    expected: list[str] = field(default_factory=list)
    may_fail: bool = False


def find_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the tags of a preceding comment."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    tags: frozenset[str] = frozenset()
    number = 0
    while number < len(lines):
        line = lines[number]
        comment = _TAG_COMMENT.match(line)
        fence = _FENCE.match(line)
        if comment:
            tags = frozenset(comment.group(1).split())
            unknown = tags - TAGS
            if unknown:
                raise ValueError(
                    f"{path.name}:{number + 1}: unknown example tags {sorted(unknown)}"
                )
        elif fence:
            marker, language = fence.group(1), fence.group(2).lower()
            end = number + 1
            while end < len(lines) and not lines[end].startswith(marker):
                end += 1
            if end == len(lines):
                raise ValueError(f"{path.name}:{number + 1}: unclosed code block")
            text = "\n".join(lines[number + 1 : end])
            blocks.append(Block(path, number + 1, language, text, tags))
            tags = frozenset()
            number = end
        elif line.strip():
            tags = frozenset()
        number += 1
    return blocks


def parse_console(block: Block) -> list[Command]:
    """The commands of a console block, with their expected output."""
    commands: list[Command] = []
    lines = block.text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        file_line = block.line + 1 + index
        if line.startswith("$ "):
            text = line[2:]
            while text.endswith("\\") and index + 1 < len(lines):
                index += 1
                text = f"{text}\n{lines[index].removeprefix('> ')}"
            heredoc = _HEREDOC.search(text)
            if heredoc:
                end = heredoc.group(2)
                while index + 1 < len(lines):
                    index += 1
                    text = f"{text}\n{lines[index]}"
                    if lines[index].strip() == end:
                        break
                else:
                    raise ValueError(f"{block.path.name}:{file_line}: unterminated here-document")
            commands.append(Command(file_line, text))
        elif line.rstrip() == "$":
            raise ValueError(f"{block.path.name}:{file_line}: an empty command")
        elif not commands:
            if line.strip():
                raise ValueError(
                    f"{block.path.name}:{file_line}: output before the first `$ ` command"
                )
        elif line.strip() and line.strip() != "...":
            commands[-1].expected.append(line)
        index += 1
    for before, after in itertools.pairwise(commands):
        before.may_fail = after.text.strip() == "echo $?"
    return commands


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _pattern(expected: str) -> re.Pattern[str]:
    """``...`` matches any text; a blank beside it is optional (``a ...`` matches ``a``)."""
    parts = _normalise(expected).split("...")
    regex = []
    for number, part in enumerate(parts):
        head = " ?" if number and part.startswith(" ") else ""
        tail = " ?" if number < len(parts) - 1 and part.endswith(" ") else ""
        body = part[1 if head else 0 : len(part) - 1 if tail else len(part)]
        regex.append(head + re.escape(body) + tail)
    return re.compile(".*".join(regex))


@dataclass(frozen=True)
class Mismatch:
    """An expected line that no later output line matches."""

    expected: str
    output: str

    def __str__(self) -> str:
        return f"expected a line matching {self.expected!r} in:\n{self.output}"


def match_output(expected: list[str], output: str) -> Mismatch | None:
    """``None`` when every expected line matches an output line, in order."""
    got = [_normalise(line) for line in output.splitlines()]
    position = 0
    for line in expected:
        pattern = _pattern(line)
        while position < len(got) and not pattern.fullmatch(got[position]):
            position += 1
        if position == len(got):
            return Mismatch(line, output)
        position += 1
    return None
