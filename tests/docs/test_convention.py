"""The example convention itself: parsing blocks, matching output, failing when it should."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.docs.examples import Block, find_blocks, match_output, parse_console
from tests.docs.runner import Sandbox, Server, run_block

PAGE = """\
# A page

<!-- example: registry library -->

```console
$ echo one \\
>   two
one two
$ cat <<'EOF'
a
$ not a command
EOF
...
$ false
$ echo $?
1
```

Some text.

```bash
echo not run
```

<!-- example: checkout -->
Text between the comment and the block drops the tags.

```python
print("hi")
```
"""


def _block(text: str, language: str = "console", tags: frozenset[str] = frozenset()) -> Block:
    return Block(Path("page.md"), 1, language, text, tags)


def test_blocks_languages_and_tags(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    blocks = find_blocks(page)
    assert [(b.language, b.runs, sorted(b.tags)) for b in blocks] == [
        ("console", True, ["library", "registry"]),
        ("bash", False, []),
        ("python", True, []),
    ]
    assert blocks[0].line == 5


def test_commands_continuations_heredocs_and_statuses(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    commands = parse_console(find_blocks(page)[0])
    assert [c.text for c in commands] == [
        "echo one \\\n  two",
        "cat <<'EOF'\na\n$ not a command\nEOF",
        "false",
        "echo $?",
    ]
    assert [c.expected for c in commands] == [["one two"], [], [], ["1"]]
    assert [c.may_fail for c in commands] == [False, False, True, False]
    assert commands[0].line == 6


def test_unknown_tags_and_stray_output_are_errors(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- example: registy -->\n```console\n$ true\n```\n")
    with pytest.raises(ValueError, match="unknown example tags"):
        find_blocks(page)
    with pytest.raises(ValueError, match="output before the first"):
        parse_console(_block("hello\n$ true"))


@pytest.mark.parametrize(
    ("expected", "output", "matches"),
    [
        (["b", "d"], "a\nb\nc\nd", True),
        (["d", "b"], "a\nb\nc\nd", False),  # order matters
        (["key value"], "key\t  value  ", True),  # blanks normalised
        (["pulled ... verified"], "pulled x (1 B), sha256 ab verified", True),
        (["pulled ... verified"], "pulled x (1 B), sha256 ab", False),
        (["image ..."], "image", True),  # the blank beside ... is optional
        (["a.b"], "axb", False),  # everything but ... is literal
        (["b"], "abc", False),  # whole lines only
    ],
)
def test_matching(expected: list[str], output: str, matches: bool) -> None:
    assert (match_output(expected, output) is None) is matches


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    def no_server() -> Server:
        raise AssertionError("no server wanted")

    return Sandbox(tmp_path / "sandbox", no_server)


def test_a_block_that_prints_what_it_shows_passes(sandbox: Sandbox) -> None:
    text = "$ ls examples\nhello-world.sif\n$ echo $HOME\n...home\n"
    text += "$ cd examples\n$ false\n$ echo $?\n1"
    assert run_block(sandbox, _block(text)) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("$ echo hello\ngoodbye", "expected a line matching 'goodbye'"),
        ("$ false\n$ echo after", "exited 1"),
        ("$ exit 3\n$ echo $?\n3", "did not run"),
        ("$ sregistry --version\nsregistry, version 0.0.0", "expected a line matching"),
    ],
)
def test_a_block_that_does_not_fails(sandbox: Sandbox, text: str, problem: str) -> None:
    problems = run_block(sandbox, _block(text))
    assert len(problems) == 1
    assert problem in problems[0]


def test_python_blocks_run_in_the_sandbox(sandbox: Sandbox) -> None:
    good = "import os, pathlib\nassert pathlib.Path('examples/hello-world.sif').is_file()\n"
    good += "assert os.environ['SREGISTRY_STORAGE'].endswith('store')"
    assert run_block(sandbox, _block(good, "python")) == []
    problems = run_block(sandbox, _block("raise SystemExit('boom')", "python"))
    assert "boom" in problems[0]


def test_blocks_share_files_but_not_variables(sandbox: Sandbox) -> None:
    assert run_block(sandbox, _block("$ export X=1; echo kept > note.txt")) == []
    assert run_block(sandbox, _block('$ cat note.txt; echo "x=$X"\nkept\nx=')) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_nothing_is_left_running(sandbox: Sandbox, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    text = f"$ sleep 300 > /dev/null 2>&1 & echo $! > {pid_file}\n$ false"
    assert "exited 1" in run_block(sandbox, _block(text))[0]
    proc = Path(f"/proc/{int(pid_file.read_text())}/stat")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.exists() and _state(proc) != "Z":
        time.sleep(0.05)
    assert not proc.exists() or _state(proc) == "Z"


def _state(stat: Path) -> str:
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"
