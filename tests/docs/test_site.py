"""The documentation site builds cleanly and keeps up with the code: every command
and option, and every ``SREGISTRY_*`` variable the code reads, is documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from sregistry.cli import COMMANDS, cli
from tests.docs.runner import REPO

DOCS = REPO / "docs"
HEADING = re.compile(r"^(#+)\s+(.*?)\s*$")
NOT_VARIABLES = {
    "SREGISTRY_EVENT",  # a multipart form field of the registry protocol
}


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "commands" / "index.html").is_file()


def sections(page: Path) -> dict[str, str]:
    """Heading text -> the text up to the next heading of the same or a higher level."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: dict[str, str] = {}
    fenced = False
    heads: list[tuple[int, int, str]] = []
    for number, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            heads.append((number, len(match.group(1)), match.group(2).strip("`")))
    for index, (start, level, title) in enumerate(heads):
        end = next((n for n, lvl, _ in heads[index + 1 :] if lvl <= level), len(lines))
        found[title] = "\n".join(lines[start:end])
    return found


def _command(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, name
    return command


def _options(command: click.Command, *, hidden: bool = False) -> list[str]:
    """Every option spelling of a command (``-h``/``--help`` aside): the shown
    ones, or with ``hidden`` the hidden ones (0.2.39 spellings)."""
    return [
        opt
        for param in command.get_params(click.Context(command))  # backend flags too
        if isinstance(param, click.Option) and param.hidden == hidden
        for opt in (*param.opts, *param.secondary_opts)
        if opt not in {"-h", "--help"}
    ]


def _leaves(name: str) -> list[tuple[str, click.Command]]:
    """The command, or each subcommand of a group, with its full name."""
    command = _command(name)
    if isinstance(command, click.Group):
        return [(f"{name} {sub}", command.commands[sub]) for sub in sorted(command.commands)]
    return [(name, command)]


def test_every_command_of_help_has_a_section() -> None:
    shown = cli.get_help(click.Context(cli, info_name="sregistry"))
    listed = re.findall(r"^  (\S+)\s", shown.split("Commands:", 1)[1], re.MULTILINE)
    assert sorted(listed) == sorted(COMMANDS)
    documented = sections(DOCS / "commands.md")
    missing = [name for name in listed if name not in documented]
    assert not missing, f"commands without a section in docs/commands.md: {missing}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_is_documented(name: str) -> None:
    section = sections(DOCS / "commands.md")[name]
    for full_name, command in _leaves(name):
        missing = [opt for opt in _options(command) if not re.search(rf"`[^`]*{opt}\b", section)]
        assert not missing, (
            f"options of `sregistry {full_name}` missing from its section: {missing}"
        )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_hidden_option_is_in_the_migration_guide(name: str) -> None:
    guide = (DOCS / "migrating.md").read_text(encoding="utf-8")
    for full_name, command in _leaves(name):
        missing = [
            opt for opt in _options(command, hidden=True) if not re.search(rf"`[^`]*{opt}\b", guide)
        ]
        assert not missing, f"hidden options of `sregistry {full_name}` missing: {missing}"


def test_every_variable_the_code_reads_is_documented() -> None:
    used = set()
    for source in (REPO / "sregistry").rglob("*.py"):
        used.update(re.findall(r"\bSREGISTRY_[A-Z_]*[A-Z]\b", source.read_text(encoding="utf-8")))
    documented = (DOCS / "environment.md").read_text(encoding="utf-8")
    missing = sorted(v for v in used - NOT_VARIABLES if f"`{v}`" not in documented)
    assert not missing, f"variables missing from docs/environment.md: {missing}"
