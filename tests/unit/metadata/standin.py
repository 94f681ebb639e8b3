"""A stand-in ``singularity``/``apptainer`` executable for tests.

It is NOT the real runtime: a /bin/sh script that answers ``--version`` with a
given line and ``inspect ...`` with a recorded JSON output of one version's
shape (built from docs/sif-and-inspect.md §5.2), logging its arguments.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass
class StandIn:
    path: Path
    log: Path
    pids: Path

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def go_indent(data: object) -> str:
    """JSON as Go's json.MarshalIndent(v, "", "\\t") prints it, HTML characters escaped."""
    text = json.dumps(data, indent="\t", ensure_ascii=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return text


def install(
    bindir: Path,
    *,
    name: str = "singularity",
    version: str = "singularity version 3.8.1",
    output: str = "",
    stderr: str = "",
    exit_code: int = 0,
    hang: bool = False,
) -> StandIn:
    """Write the stand-in as ``bindir/name``."""
    bindir.mkdir(parents=True, exist_ok=True)
    log, pids = bindir / f"{name}.log", bindir / f"{name}.pids"
    (bindir / f"{name}.out").write_text(output)
    (bindir / f"{name}.err").write_text(stderr)
    hang_lines = (
        f"/bin/sleep 60 & echo $! >> {shlex.quote(str(pids))}\n"
        f"echo $$ >> {shlex.quote(str(pids))}\n"
        "exec /bin/sleep 60\n"
        if hang
        else ""
    )
    script = bindir / name
    script.write_text(
        "#!/bin/sh\n"
        "# Stand-in for the real runtime (tests only): prints a recorded output.\n"
        f'echo "$*" >> {shlex.quote(str(log))}\n'
        f'if [ "$1" = "--version" ]; then echo {shlex.quote(version)}; exit 0; fi\n'
        f"{hang_lines}"
        f"/bin/cat {shlex.quote(str(bindir / f'{name}.out'))}\n"
        f"/bin/cat {shlex.quote(str(bindir / f'{name}.err'))} >&2\n"
        f"exit {exit_code}\n"
    )
    script.chmod(0o755)
    return StandIn(script, log, pids)
