"""The CLI's one table: exception type -> documented exit code and the CLI's own hint."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sregistry import errors
from sregistry.cli.status import ERRORS, ExitStatus, describe_error, exit_status
from sregistry.errors import DestinationExists, SregistryError

REPO = Path(__file__).resolve().parents[2]


def documented_codes() -> dict[str, int]:
    """Exception name -> exit code, from the table in docs/exit-codes.md."""
    found: dict[str, int] = {}
    for line in (REPO / "docs" / "exit-codes.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            for name in re.findall(r"`(\w+)`", cells[2]):
                found[name] = int(cells[0])
    return found


def test_every_exception_has_its_documented_code() -> None:
    documented = documented_codes()
    assert set(errors.__all__) == set(documented)  # the page names every exception
    for name, code in documented.items():
        kind = getattr(errors, name)
        assert exit_status(kind("x")) == code, name


def test_the_codes_are_the_ones_docs_and_scripts_rely_on() -> None:
    assert {status.name: int(status) for status in ExitStatus} == {
        "OK": 0,
        "ERROR": 1,
        "USAGE": 2,
        "NOT_FOUND": 3,
        "PERMISSION": 4,
        "INTEGRITY": 5,
        "NOT_KEPT": 6,
        "INTERRUPTED": 130,
    }


def test_subclasses_come_before_their_bases() -> None:
    kinds = [kind for kind, _status, _hint in ERRORS]
    for number, kind in enumerate(kinds):
        assert not any(issubclass(later, kind) for later in kinds[number + 1 :]), kind
    assert kinds[-1] is SregistryError


def test_exceptions_carry_no_exit_code() -> None:
    assert not hasattr(SregistryError("x"), "exit_code")


def test_the_cli_hint_names_the_flags_the_library_hint_does_not() -> None:
    exc = DestinationExists.at("image.sif")
    assert exc.hint == "pass force=True to replace it"
    line = describe_error(exc)
    assert line == (
        "error: image.sif already exists; use --force to replace it, or -o to choose another path"
    )


FLAG = re.compile(
    r"(?<![\w-])--(force|insecure|registry|library|arch|username|tag|native|remote|connections"
    r"|part-size|no-cache|output)\b|(?<![\w-])-o PATH\b"
)
KNOWN = {
    "main/registry/__init__.py",  # Option declarations: the flags the CLI builds
    "main/library/__init__.py",
    "main/oras/__init__.py",
    "main/backend.py",
    "credentials/resolve.py",  # where a value came from, as `sregistry config` shows it
}


def _messages(path: Path) -> list[tuple[int, str]]:
    """String constants, except bare expression statements (docstrings)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bare = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in bare
    ]


def test_library_messages_name_no_cli_flag() -> None:
    root = REPO / "sregistry"
    flagged = {
        name: found
        for path in sorted(root.rglob("*.py"))
        if (name := path.relative_to(root).as_posix()) not in KNOWN
        and not name.startswith("cli/")
        and (found := [f"{line}: {text}" for line, text in _messages(path) if FLAG.search(text)])
    }
    assert flagged == {}
