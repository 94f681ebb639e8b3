"""Run the examples of one documentation page in a sandbox (see :mod:`tests.docs.examples`)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.docs.examples import Block, Command, match_output, parse_console

__all__ = ["REPO", "Sandbox", "run_block"]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SIF = REPO / "examples" / "hello-world.sif"
BLOCK_TIMEOUT = 180.0
_MARK = "@@sregistry-docs-example"
_MARK_LINE = re.compile(rf"^{_MARK} (\d+) rc=(\d+)@@$")
_DROPPED = ("SREGISTRY_", "SINGULARITY_", "APPTAINER_", "XDG_", "PYTHON")


@dataclass
class Server:
    """What the blocks with a server tag are given."""

    url: str
    username: str
    token: str


class Sandbox:
    """One page's HOME, store and working directory, and (on demand) its server."""

    def __init__(
        self,
        root: Path,
        start_server: Callable[[], Server],
        start_oras: Callable[[], str] | None = None,
    ) -> None:
        self.root = root
        self.home = root / "home"
        self.storage = root / "store"
        self.cwd = root / "work"
        self.scripts = root / "scripts"
        for folder in (self.home, self.cwd / "examples", self.scripts):
            folder.mkdir(parents=True)
        shutil.copyfile(EXAMPLE_SIF, self.cwd / "examples" / EXAMPLE_SIF.name)
        self._start_server = start_server
        self._server: Server | None = None
        self._start_oras = start_oras
        self._oras: str | None = None

    def server(self) -> Server:
        if self._server is None:
            self._server = self._start_server()
            (self.cwd / "token.txt").write_text(self._server.token + "\n")
        return self._server

    def oras(self) -> str:
        """The ``host:port`` of the page's OCI registry (started on first use)."""
        if self._oras is None:
            if self._start_oras is None:
                raise RuntimeError("this sandbox has no OCI registry")
            self._oras = self._start_oras()
        return self._oras

    def env(self, block: Block) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
        venv_bin = str(Path(sys.executable).parent)
        env.update(
            HOME=str(self.home),
            SREGISTRY_STORAGE=str(self.storage),
            PATH=os.pathsep.join([venv_bin, env.get("PATH", os.defpath)]),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            NO_COLOR="1",
            LC_ALL="C.UTF-8",
        )
        if block.needs_server:
            server = self.server()
            env["REGISTRY"] = server.url
            if "registry" in block.tags:
                env.update(
                    SREGISTRY_REGISTRY_BASE=server.url,
                    SREGISTRY_REGISTRY_USERNAME=server.username,
                    SREGISTRY_REGISTRY_TOKEN=server.token,
                )
            if "library" in block.tags:
                env.update(SREGISTRY_LIBRARY_BASE=server.url, SREGISTRY_LIBRARY_TOKEN=server.token)
        if "oras" in block.tags:
            env["ORAS"] = self.oras()
        return env

    def workdir(self, block: Block) -> Path:
        return REPO if "checkout" in block.tags else self.cwd


def _script(commands: list[Command]) -> str:
    lines = []
    for number, command in enumerate(commands):
        lines += [
            command.text,
            "__sr_rc=$?",
            f"printf '\\n{_MARK} {number} rc=%d@@\\n' \"$__sr_rc\"",
        ]
        if not command.may_fail:
            lines.append('[ "$__sr_rc" -eq 0 ] || exit 0')
        lines.append('(exit "$__sr_rc")')
    return "\n".join(lines) + "\n"


def _split(output: str, count: int) -> list[tuple[str, int | None]]:
    """Each command's output and exit status (``None`` for commands that never ran)."""
    results: list[tuple[str, int | None]] = []
    current: list[str] = []
    for line in output.splitlines():
        mark = _MARK_LINE.match(line)
        if mark:
            results.append(("\n".join(current), int(mark.group(2))))
            current = []
        else:
            current.append(line)
    leftover = "\n".join(current)
    while len(results) < count:
        results.append((leftover, None))
        leftover = ""
    return results


def _run_bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a script in its own process group, and end whatever it left running
    (a server started in the background by a block that then failed)."""
    process = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=BLOCK_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        output += f"\n(killed after {BLOCK_TIMEOUT:.0f} s)"
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(process.args, process.returncode, output)


def run_block(sandbox: Sandbox, block: Block) -> list[str]:
    """Run one block; the problems found (empty when it did what it shows)."""
    env, cwd = sandbox.env(block), sandbox.workdir(block)
    where = block.where()
    if block.language == "python":
        script = sandbox.scripts / f"block-{block.line}.py"
        script.write_text(block.text + "\n")
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return [f"{where}: the python block exited {done.returncode}:\n{done.stderr}"]
        return []
    commands = parse_console(block)
    done = _run_bash(_script(commands), cwd, env)
    problems = []
    for command, (output, status) in zip(commands, _split(done.stdout, len(commands)), strict=True):
        line = f"{block.path.name}:{command.line}: $ {command.text}"
        if status is None:
            problems.append(f"{line}\n  did not run (bash exited {done.returncode}):\n{output}")
            break
        if status != 0 and not command.may_fail:
            problems.append(f"{line}\n  exited {status}:\n{output}")
            break
        mismatch = match_output(command.expected, output)
        if mismatch is not None:
            problems.append(f"{line}\n  {mismatch}")
    return problems
