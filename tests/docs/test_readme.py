"""The README's two commands: the quickstart works from a clean clone, the test
command is the one CI runs.

Each command is the fenced block after an HTML comment ``<!-- readme: quickstart -->``
or ``<!-- readme: tests -->``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.docs.runner import EXAMPLE_SIF, REPO

README = REPO / "README.md"
CI_SCRIPT = REPO / ".ci" / "run"
SHA256 = hashlib.sha256(EXAMPLE_SIF.read_bytes()).hexdigest()


def _block_after(lines: list[str], start: int) -> tuple[list[str], int]:
    """The lines of the first fenced block at or after ``start``, and its end."""
    fence = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    end = next(i for i in range(fence + 1, len(lines)) if lines[i].startswith("```"))
    return lines[fence + 1 : end], end


def readme_command(marker: str) -> str:
    """The single line of the fenced block following ``<!-- readme: MARKER -->``."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"<!-- readme: {marker} -->")
    assert lines[start + 1].startswith("```"), f"no code block right after the {marker} marker"
    body = [line for line in _block_after(lines, start)[0] if line.strip()]
    assert len(body) == 1, f"the {marker} command must be one line, not {len(body)}"
    return body[0].strip()


EXAMPLE_STORE = "/home/you/.local/share/sregistry"
EXAMPLE_CLONE = "/home/you/sregistry"
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def quickstart_output() -> list[str]:
    """The output the README shows for the quickstart (the next block), every line."""
    lines = README.read_text(encoding="utf-8").splitlines()
    _, end = _block_after(lines, lines.index("<!-- readme: quickstart -->"))
    shown, _ = _block_after(lines, end + 1)
    return shown


def as_shown(output: str, *, store: Path, clone: Path) -> list[str]:
    """``output`` with what differs from run to run spelled as the README spells it:
    the store and clone paths, and the time the image was stored."""
    text = output.replace(str(store), EXAMPLE_STORE).replace(str(clone), EXAMPLE_CLONE)
    shown_time = next(_TIME.finditer("\n".join(quickstart_output()))).group(0)
    return _TIME.sub(shown_time, text).splitlines()


def test_the_test_command_is_what_ci_runs() -> None:
    ci_commands = [
        line.strip()
        for line in CI_SCRIPT.read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]
    # the Debian packages the tests need come first; then the README's command, alone
    assert ci_commands == ["bash .ci/debian-packages", readme_command("tests")]


def test_the_quickstart_does_the_main_job_in_one_line() -> None:
    command = readme_command("quickstart")
    steps = [step.strip() for step in command.split("&&")]
    assert steps[0] == "python3 -m venv .venv"
    assert any(step.startswith("pip install") and step.endswith(" .") for step in steps)
    assert "sregistry push examples/hello-world.sif --name demo/hello-world:1.0" in steps
    assert "sregistry list" in steps
    assert any(step.startswith("sregistry pull demo/hello-world:1.0") for step in steps)
    assert any(step.startswith("cmp examples/hello-world.sif ") for step in steps)


def _clean_clone(target: Path) -> None:
    """A clone of the current HEAD commit: nothing uncommitted or installed comes along."""
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", str(REPO), str(target)],
        capture_output=True, check=True,
    )  # fmt: skip
    subprocess.run(
        ["git", "-C", str(target), "checkout", "-q", "--detach", head],
        capture_output=True, check=True,
    )  # fmt: skip


@pytest.mark.e2e
@pytest.mark.slow  # a clone and a pip install
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_quickstart_from_a_clean_clone(tmp_path: Path) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    _clean_clone(clone)
    home, storage = tmp_path / "user-home", tmp_path / "user-store"
    home.mkdir()
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    env.update(
        HOME=str(home),
        SREGISTRY_STORAGE=str(storage),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
    )
    # the command as a user would paste it, from the README being tested
    command = readme_command("quickstart")
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=900, check=False,
    )  # fmt: skip
    report = f"exit {done.returncode}, output:\n{done.stdout}"
    assert done.returncode == 0, report
    # exactly what the README says it prints, every line
    assert as_shown(done.stdout, store=storage, clone=clone) == quickstart_output(), report
    out = done.stdout.splitlines()
    assert f"local: {storage}" in out, report
    assert out[-2:] == [str(clone / "hello.sif"), "hello.sif is the image pushed"], report
    assert (clone / "hello.sif").read_bytes() == EXAMPLE_SIF.read_bytes()
    # and the clone stays clean: what the quickstart wrote is ignored
    status = subprocess.run(
        ["git", "-C", str(clone), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert status == "", status
    # it used the scratch store, and it installed the clone (not this checkout)
    assert (storage / "blobs" / "sha256" / f"{SHA256}.sif").is_file()
    probe = "import sregistry; print(sregistry.__file__)"
    where = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-c", probe],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert Path(where.strip()).is_relative_to(clone / ".venv"), where


def test_the_quickstart_output_shown_is_specific() -> None:
    shown = quickstart_output()
    assert f"pulled demo/hello-world:1.0 (36.0 KiB), sha256 {SHA256} verified" in shown
    assert "demo/hello-world:1.0" in shown
    assert shown[-1] == "hello.sif is the image pushed"
    assert len(_TIME.findall("\n".join(shown))) == 1, "one time to stand for the run's"


def test_as_shown_keeps_everything_but_paths_and_the_time(tmp_path: Path) -> None:
    store, clone = tmp_path / "store", tmp_path / "clone"
    printed = (
        f"local: {store}\nserved from the local store (nothing downloaded)\n"
        f"demo/hello-world:1.0\tsha256.{SHA256}\t\t2030-01-02T03:04:05.678Z\n{clone}/hello.sif\n"
    )
    shown_time = _TIME.search("\n".join(quickstart_output()))
    assert shown_time is not None
    assert as_shown(printed, store=store, clone=clone) == [
        f"local: {EXAMPLE_STORE}",
        "served from the local store (nothing downloaded)",
        f"demo/hello-world:1.0\tsha256.{SHA256}\t\t{shown_time.group(0)}",
        f"{EXAMPLE_CLONE}/hello.sif",
    ]
