"""Running a helper program (singularity, apptainer, unsquashfs) with a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass

from sregistry.errors import MetadataError

__all__ = ["Completed", "last_line", "run_bounded"]


@dataclass(frozen=True)
class Completed:
    """A finished run."""

    returncode: int
    stdout: bytes
    stderr: bytes


def last_line(data: bytes) -> str:
    """The last non-empty line of a program's output (its error message, usually)."""
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
    return next((line for line in reversed(lines) if line), "no error message")


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=5)


def run_bounded(argv: list[str], *, deadline: float, timeout: float, hint: str) -> Completed:
    """Run ``argv`` (stdin closed, output captured) until the monotonic ``deadline``.

    The program runs in its own session; if the deadline passes, the whole
    process group is killed and :class:`~sregistry.errors.MetadataError`
    raised (``timeout`` and ``hint`` only word that message). A program that
    cannot be started also raises ``MetadataError``; a non-zero exit does not.
    """
    command = " ".join([os.path.basename(argv[0]), *argv[1:2]])
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise MetadataError(f"`{command}` not started: the {timeout:g} s timeout had passed")
    try:
        process = subprocess.Popen(  # noqa: S603 - an argument list, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise MetadataError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    try:
        stdout, stderr = process.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise MetadataError(
            f"`{command}` did not finish within {timeout:g} s and was stopped", hint=hint
        ) from None
    except BaseException:
        _kill(process)
        raise
    return Completed(process.returncode, stdout, stderr)
