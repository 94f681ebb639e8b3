"""The fault-injection cases: what is done to the wire and what the user must get.

One table drives both the suite (``test_suite.py``) and ``docs/reliability.md``
(``python -m tests.faults.report``), so the page cannot claim a case the suite
does not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CASES", "DEADLINE", "SLACK", "Case"]

DEADLINE = 2.0
"""``SREGISTRY_DEADLINE`` for every case (seconds)."""
SLACK = 6.0
"""Seconds a case may take beyond what it waits for (start-up, retries' pauses)."""

REGISTRY_DATA = r"^/containers/\d+/download/"
REGISTRY_LOOKUP = r"^/api/container/"
LIBRARY_DATA = r"^/_blob/"
LIBRARY_LOOKUP = r"^/v1/images/"


@dataclass(frozen=True)
class Case:
    """One fault on one backend and operation, and the contract the user gets."""

    id: str
    backend: str
    """``registry`` or ``library``."""
    op: str
    """``pull`` or ``push``."""
    fault: dict[str, Any]
    """:class:`tests.faults.proxy.Fault` fields; ``hostile`` cases answer without a server."""
    expect: str
    """``recovers`` (exit 0, the file or the stored image complete and verified) or
    ``detected`` (the exit code, one ``error:`` line, nothing half-written)."""
    code: int | None = 0
    """The exit code of a detected fault (``None``: any but 0)."""
    says: str = ""
    """Text the error line must contain."""
    bound: float = SLACK
    """Seconds the command may take."""
    hostile: bool = False
    tls: str = ""
    """``insecure``: TLS proxy, client told --insecure; ``verify``: TLS proxy, verified."""
    resumes: bool = False
    """The pull must continue from the bytes it had (the library's ranged download)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fault_text(self) -> str:  # noqa: PLR0911 - one wording per kind of fault
        if self.tls:
            return f"self-signed TLS ({'--insecure' if self.tls == 'insecure' else 'verified'})"
        fault = self.fault
        action = fault["action"]
        where = fault.get("path", "any request")
        if action == "cut":
            return f"cut {_at(fault)} into the body with {'RST' if fault.get('rst') else 'FIN'}"
        if action == "flip":
            return f"one byte flipped {_at(fault)} into the body"
        if action == "stall":
            return {
                "before": "stall before answering",
                "body": f"stall {_at(fault)} into the body",
                "upload": "stall while reading the upload",
            }[fault.get("where", "before")] + f" ({where})"
        if action == "status":
            retry = f", Retry-After {fault['retry_after']}" if fault.get("retry_after") else ""
            when = "after forwarding" if fault.get("after") else "before forwarding"
            times = "once" if fault.get("times", 1) == 1 else "always"
            return f"HTTP {fault['status']}{retry} {when}, {times} ({where})"
        if action == "no_length":
            return "Content-Length dropped (body ends at close)"
        if action == "redirect":
            return "307 to another address (127.0.0.2)"
        if action == "body":
            return str(fault.get("label", "hostile answer"))
        return str(action)


def _at(fault: dict[str, Any]) -> str:
    at = fault.get("at", 0.5)
    return f"{at:.0%}" if at < 1 else f"{int(at)} bytes"


def _registry_pull() -> list[Case]:
    data, lookup = REGISTRY_DATA, REGISTRY_LOOKUP
    return [
        Case("cut-fin-10", "registry", "pull", {"action": "cut", "at": 0.1, "path": data},
             "recovers"),
        Case("cut-rst-50", "registry", "pull",
             {"action": "cut", "at": 0.5, "rst": True, "path": data}, "recovers"),
        Case("cut-fin-99", "registry", "pull", {"action": "cut", "at": 0.99, "path": data},
             "recovers"),
        Case("flip", "registry", "pull", {"action": "flip", "at": 0.5, "path": data, "times": 9},
             "detected", 5, "has sha256"),
        Case("stall-before", "registry", "pull",
             {"action": "stall", "path": lookup, "times": 99}, "detected", 1, "gave up after",
             DEADLINE + SLACK),
        Case("stall-body", "registry", "pull",
             {"action": "stall", "where": "body", "at": 0.5, "path": data, "times": 99},
             "detected", 1, "gave up after", DEADLINE + SLACK),
        Case("503-retry-after", "registry", "pull",
             {"action": "status", "status": 503, "retry_after": "1", "path": lookup},
             "recovers"),
        Case("502-once", "registry", "pull", {"action": "status", "status": 502, "path": data},
             "recovers"),
        Case("500-always", "registry", "pull",
             {"action": "status", "status": 500, "path": lookup, "times": 99}, "detected", 1,
             "HTTP 500"),
        Case("429-always", "registry", "pull",
             {"action": "status", "status": 429, "retry_after": "1", "path": lookup,
              "times": 99}, "detected", 1, "try again in 1 second"),
        Case("503-after-forwarding", "registry", "pull",
             {"action": "status", "status": 503, "after": True, "path": data}, "recovers"),
        Case("no-content-length", "registry", "pull", {"action": "no_length", "path": data},
             "recovers"),
        Case("redirect-elsewhere", "registry", "pull", {"action": "redirect", "path": data},
             "recovers"),
    ]  # fmt: skip


def _registry_push() -> list[Case]:
    return [
        Case("stall-upload", "registry", "push",
             {"action": "stall", "where": "upload", "at": 65536, "path": r"^/upload", "times": 9},
             "detected", 1, "gave up after", DEADLINE + SLACK),
        Case("503-before-upload", "registry", "push",
             {"action": "status", "status": 503, "path": r"^/upload$", "times": 9}, "detected",
             1, "HTTP 503"),
        Case("502-after-upload", "registry", "push",
             {"action": "status", "status": 502, "after": True, "path": r"^/upload$"},
             "recovers"),
    ]  # fmt: skip


def _library_pull() -> list[Case]:
    data, lookup = LIBRARY_DATA, LIBRARY_LOOKUP
    return [
        Case("cut-fin-10", "library", "pull", {"action": "cut", "at": 0.1, "path": data},
             "recovers", resumes=True),
        Case("cut-rst-50", "library", "pull",
             {"action": "cut", "at": 0.5, "rst": True, "path": data}, "recovers"),
        # (a reset drops what the kernel still held: the part may start again from 0)
        Case("cut-fin-99", "library", "pull", {"action": "cut", "at": 0.99, "path": data},
             "recovers", resumes=True),
        Case("flip", "library", "pull", {"action": "flip", "at": 0.5, "path": data, "times": 99},
             "detected", 5, "has sha256"),
        Case("stall-body", "library", "pull",
             {"action": "stall", "where": "body", "at": 0.5, "path": data, "times": 99},
             "detected", 1, "the partial download is kept at", 5 * (DEADLINE + 1) + SLACK),
        # each try gets half of what is left, so it makes progress: 5 tries, each a read
        # timeout (the deadline) and a pause, bound it
        Case("500-always", "library", "pull",
             {"action": "status", "status": 500, "path": lookup, "times": 99}, "detected", 1,
             "HTTP 500"),
        Case("429-retry-after-once", "library", "pull",
             {"action": "status", "status": 429, "retry_after": "1", "path": lookup},
             "recovers"),
        Case("no-content-length", "library", "pull", {"action": "no_length", "path": data},
             "recovers"),
        Case("redirect-elsewhere", "library", "pull",
             {"action": "redirect", "path": r"^/v1/imagefile/"}, "recovers"),
    ]  # fmt: skip


def _library_push() -> list[Case]:
    return [
        Case("stall-upload", "library", "push",
             {"action": "stall", "where": "upload", "at": 65536, "path": r"^/_upload/",
              "times": 9}, "detected", 1, "gave up after", DEADLINE + SLACK),
        Case("503-once", "library", "push",
             {"action": "status", "status": 503, "path": r"^/_upload/"}, "recovers"),
        Case("500-always", "library", "push",
             {"action": "status", "status": 500, "method": "POST",
              "path": r"^/v2/imagefile/\d+/?$", "times": 9}, "detected", 1, "HTTP 500"),
    ]  # fmt: skip


def _hostile() -> list[Case]:
    cases = []
    for backend, path in (("registry", REGISTRY_LOOKUP), ("library", LIBRARY_LOOKUP)):
        cases += [
            Case("control-characters", backend, "pull",
                 {"action": "body", "status": 400, "label": "error text with terminal escapes",
                  "payload": b'{"detail": "bad\\u001b]0;TITLE\\u0007", '
                             b'"error": {"code": 400, "message": "bad\\u001b]0;TITLE\\u0007"}}',
                  "headers": {"Content-Type": "application/json"}, "path": path, "times": 99},
                 "detected", None, "\\x1b]0;TITLE\\x07", hostile=True),
            Case("100-mb-error-body", backend, "pull",
                 {"action": "body", "status": 500, "label": "a 100 MB error body",
                  "payload": "100MB", "headers": {"Content-Length": str(100 << 20)},
                  "path": path, "times": 99}, "detected", 1, "HTTP 500", hostile=True),
            Case("invalid-json", backend, "pull",
                 {"action": "body", "status": 200, "label": "invalid JSON with HTTP 200",
                  "payload": b'{"data": [1, 2', "headers": {"Content-Type": "application/json"},
                  "path": path, "times": 99}, "detected", 1, "", hostile=True),
            Case("wrong-content-length", backend, "pull",
                 {"action": "body", "status": 200, "label": "Content-Length beyond the body",
                  "payload": "short", "headers": {"Content-Length": "5000",
                                                  "Content-Type": "application/json"},
                  "path": path, "times": 99}, "detected", 1, "", DEADLINE + SLACK, hostile=True),
            Case("endless-chunked", backend, "pull",
                 {"action": "body", "status": 200, "label": "an endless chunked body",
                  "payload": "endless", "chunked": True,
                  "headers": {"Content-Type": "application/json"}, "path": path, "times": 99},
                 "detected", 1, "", DEADLINE + SLACK, hostile=True),
        ]  # fmt: skip
    return cases


def _tls() -> list[Case]:
    return [
        Case("tls-insecure", "registry", "pull", {}, "recovers", tls="insecure"),
        Case("tls-verified", "registry", "pull", {}, "detected", 1, "certificate",
             tls="verify"),
        Case("tls-insecure", "library", "pull", {}, "recovers", tls="insecure"),
    ]  # fmt: skip


CASES: list[Case] = [
    *_registry_pull(),
    *_registry_push(),
    *_library_pull(),
    *_library_push(),
    *_hostile(),
    *_tls(),
]
