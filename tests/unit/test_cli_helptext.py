"""``sregistry --help`` and ``--version`` answered without click print exactly what click
prints for them, at every terminal width."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import click.formatting
import pytest

from sregistry.cli import main
from sregistry.cli.app import cli
from sregistry.cli.helptext import definition_list, help_text, terminal_columns, wrap_text
from sregistry.cli.status import ExitStatus
from sregistry.cli.toplevel import DESCRIPTION, EXIT_CODES, OPTIONS

SREGISTRY = str(Path(sys.executable).parent / "sregistry")


@pytest.fixture(autouse=True)
def _as_the_console_script(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main`` names the program after ``sys.argv[0]``, which is pytest's here."""
    monkeypatch.setattr(sys, "argv", [SREGISTRY])


def clicks(args: list[str], capsys: pytest.CaptureFixture[str], prog: str = "sregistry") -> str:
    """What the click group prints for ``args`` (it must exit 0)."""
    capsys.readouterr()
    assert cli.main(args=args, prog_name=prog, standalone_mode=False) == 0
    return capsys.readouterr().out


def ours(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    main(args)
    return capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_clicks_at_every_width(
    flag: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for columns in range(40, 201):
        monkeypatch.setenv("COLUMNS", str(columns))
        expected = clicks([flag], capsys)
        assert expected.startswith("Usage: sregistry [OPTIONS] COMMAND [ARGS]...\n")
        assert ours([flag], capsys) == expected, columns


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_is_clicks(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = clicks([flag], capsys)
    assert expected.startswith("sregistry, version ")
    assert ours([flag], capsys) == expected


@pytest.mark.parametrize("columns", [40, 50, 70, 100])
def test_a_long_program_name_moves_the_usage_arguments_down_as_click_does(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    prog = "a-very-long-name-for-the-sregistry-program"
    expected = clicks(["--help"], capsys, prog=prog)
    assert help_text(prog) + "\n" == expected


@pytest.mark.parametrize("columns", [40, 64, 79, 80, 81, 101, 200])
def test_the_commands_print_clicks_help_and_version(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    env = {**os.environ, "COLUMNS": str(columns)}
    for command, expected in (
        ([sys.executable, "-m", "sregistry", "--help"], clicks(["--help"], capsys)),
        ([SREGISTRY, "-h"], clicks(["--help"], capsys)),
        ([SREGISTRY, "--version"], clicks(["--version"], capsys)),
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == expected, command


def test_a_reader_that_went_away_makes_both_paths_exit_1_quietly() -> None:
    results = []
    for args in (["--help"], ["-q", "--help"]):  # answered here, then by click
        read, write = os.pipe()
        os.close(read)
        done = subprocess.run([SREGISTRY, *args], stdout=write, stderr=subprocess.PIPE, check=False)
        os.close(write)
        results.append((done.returncode, done.stderr))
    assert results == [(1, b""), (1, b"")]


def test_shell_completion_is_left_to_click() -> None:
    env = {**os.environ, "_SREGISTRY_COMPLETE": "bash_source"}
    done = subprocess.run(
        [SREGISTRY, "--help"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" not in done.stdout
    assert "_SREGISTRY_COMPLETE=bash_complete" in done.stdout


TEXTS = [
    DESCRIPTION,
    "one two three four five six seven eight nine ten eleven twelve",
    "a well-known, hyphen-separated, extra-long-compound-word-that-never-ends sentence",
    "supercalifragilisticexpialidocious-and-then-some words\tafter a tab",
    "First paragraph goes on and on.\n\n  An indented one, kept indented,\n  and re-wrapped.",
    "Before.\n\n\b\nkept   as   written\n    even this line\n\nAfter, re-wrapped again.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_paragraphs_wrap_as_clicks(text: str) -> None:
    for width in range(10, 90):
        for indent in ("", "  "):
            expected = click.formatting.wrap_text(
                text, width, indent, indent, preserve_paragraphs=True
            )
            assert wrap_text(text, width, indent) == expected, (width, indent)


ROWS = [
    ("short", "A definition long enough to wrap on a narrow screen, and then some more."),
    ("--a-term-longer-than-thirty-columns", "Moves its definition to the next line."),
    ("--no-definition", ""),
    ("-x, --exact-thirty-column-term", "Fits beside."),
]


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], ROWS[2:3] + ROWS[:1]])
def test_definition_lists_are_laid_out_as_clicks(rows: list[tuple[str, str]]) -> None:
    for width in range(30, 110):
        for indent in (0, 2, 4):
            formatter = click.HelpFormatter(width=width)
            formatter.current_indent = indent
            formatter.write_dl(rows)
            assert "".join(definition_list(rows, width, indent)) == formatter.getvalue()


@pytest.mark.parametrize("value", [None, "", "wide", "0", "-3", "57", " 90 ", "250"])
def test_the_terminal_width_is_shutils(value: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if value is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", value)
    assert terminal_columns() == shutil.get_terminal_size().columns


def test_the_help_lists_every_exit_status() -> None:
    assert [code for code, _ in EXIT_CODES] == sorted(int(status) for status in ExitStatus)
    assert "6 not kept" in DESCRIPTION


def test_the_group_is_built_from_the_data() -> None:
    assert [param.opts for param in cli.params] == [list(option.flags) for option in OPTIONS]
    assert cli.help == DESCRIPTION == inspect.cleandoc(DESCRIPTION)
