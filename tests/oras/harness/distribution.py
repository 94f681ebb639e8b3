"""Debian's ``docker-registry`` (CNCF Distribution 2.8.2) as a test process.

:class:`Distribution` writes a ``config.yml`` into its own directory, starts
``docker-registry serve config.yml`` on a free loopback port and waits (at most
:data:`STARTUP_TIMEOUT` seconds) until ``GET /v2/`` answers. ``stop`` sends
SIGTERM, then SIGKILL after a bounded wait, and reaps the process; a restart
keeps the storage and the HTTP secret, so uploads in progress survive it.

Set-ups (``auth``): ``"anonymous"``, ``"basic"`` (htpasswd file written with
``htpasswd -Bbn``) and ``"token"`` (the :class:`~tests.oras.harness.tokens.TokenServer`
flow). ``delete=False`` makes the registry answer deletes with 405. ``s3=URL``
keeps the blobs in S3 at that endpoint (see :mod:`tests.oras.harness.s3`) with
redirects on: blob GETs answer 307 to a presigned URL there.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.oras.harness.tokens import ISSUER, SERVICE, Grants, TokenServer

__all__ = ["STARTUP_TIMEOUT", "USERS", "Distribution", "free_port"]

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
USERS = {"alice": "alice-secret-1", "bob": "bob-secret-2"}
"""Accounts of the basic and token set-ups: alice may do anything, bob may only pull."""

DEFAULT_GRANTS: Grants = {
    "alice": {"*": frozenset({"pull", "push", "delete"}), "catalog": frozenset({"*"})},
    "bob": {"*": frozenset({"pull"})},
    None: {"public/*": frozenset({"pull"})},
}


S3_BUCKET = "registry"
"""The bucket :class:`~tests.oras.harness.s3.MotoS3` creates."""


def _process_env() -> dict[str, str]:
    """The registry's environment without ``AWS_*``: the S3 driver's SDK fails to
    start with an ``AWS_CA_BUNDLE`` it cannot load (a plain-HTTP endpoint needs none)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, SIGKILL after :data:`STOP_TIMEOUT`, and reap."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def free_port() -> int:
    """A port nobody listens on right now (the registry may still race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Account:
    username: str
    password: str


class Distribution:
    """One running registry process and what it was started with."""

    def __init__(
        self,
        root: Path,
        *,
        auth: str = "anonymous",
        delete: bool = True,
        executable: str = "docker-registry",
        htpasswd: str = "htpasswd",
        grants: Grants | None = None,
        s3: str | None = None,
    ) -> None:
        if auth not in {"anonymous", "basic", "token"}:
            raise ValueError(f"unknown registry set-up {auth!r}")
        self.root = root
        self.auth = auth
        self.delete = delete
        self.s3 = s3
        self.executable = executable
        self.htpasswd = htpasswd
        self.secret = secrets.token_hex(16)
        self.storage = root / "storage"
        self.log_path = root / "registry.log"
        self.tokens: TokenServer | None = None
        if auth == "token":
            self.tokens = TokenServer(dict(USERS), grants or DEFAULT_GRANTS)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses ------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the registry part of an ``oras://`` reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def account(self) -> Account | None:
        """The account that may push and delete, or ``None`` for the anonymous set-up."""
        return None if self.auth == "anonymous" else Account("alice", USERS["alice"])

    @property
    def reader(self) -> Account | None:
        """An account that may only pull (``None`` for the anonymous set-up)."""
        return None if self.auth == "anonymous" else Account("bob", USERS["bob"])

    # -- configuration --------------------------------------------------------------------------

    def _config(self) -> str:
        """``config.yml``; JSON is valid YAML, so no YAML writer is needed."""
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": self.delete},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": self.host, "secret": self.secret},
        }
        if self.s3 is not None:
            storage = config["storage"]
            assert isinstance(storage, dict)
            del storage["filesystem"]
            storage["s3"] = {
                "accesskey": "test-access-key",
                "secretkey": "test-secret-key",
                "region": "us-east-1",
                "regionendpoint": self.s3,
                "bucket": S3_BUCKET,
                "secure": False,
                "v4auth": True,
                "rootdirectory": "/distribution",
            }
            storage["redirect"] = {"disable": False}
        if self.auth == "basic":
            htpasswd = {"realm": "sregistry-test", "path": str(self._htpasswd())}
            config["auth"] = {"htpasswd": htpasswd}
        elif self.auth == "token":
            assert self.tokens is not None
            config["auth"] = {
                "token": {
                    "realm": self.tokens.realm,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(self.tokens.write_certificate(self.root / "token.pem")),
                }
            }
        return json.dumps(config, indent=2)

    def _htpasswd(self) -> Path:
        path = self.root / "htpasswd"
        if not path.exists():
            lines = [
                subprocess.run(
                    [self.htpasswd, "-Bbn", user, password],
                    check=True,
                    capture_output=True,
                    timeout=30,
                ).stdout.strip()
                for user, password in USERS.items()
            ]
            path.write_bytes(b"\n".join(lines) + b"\n")
        return path

    # -- process --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start on a free port (a fresh one per try) and wait until it answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.tokens is not None and self.tokens._server is None:
            self.tokens.start()
        failure = ""
        for _ in range(3):
            if not self.port or failure:
                self.port = free_port()
            config = self.root / "config.yml"
            config.write_text(self._config())
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [self.executable, "serve", str(config)],
                    cwd=self.root,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=_process_env(),
                )
            failure = self._wait_ready()
            if not failure:
                return
            self.stop()
        raise RuntimeError(f"docker-registry did not start: {failure}\n{self.log_text()[-4000:]}")

    def _wait_ready(self) -> str:
        """``""`` once ``GET /v2/`` answers (any status), else why not."""
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                return f"it exited with {code}"
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=2):
                    return ""
            except urllib.error.HTTPError:
                return ""  # 401 is an answer too
            except OSError:
                time.sleep(0.05)
        return f"no answer on {self.url} within {STARTUP_TIMEOUT:.0f}s"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """SIGTERM, SIGKILL after :data:`STOP_TIMEOUT`, and reap."""
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)

    def restart(self) -> None:
        """Stop and start again on the same port, storage and secret."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the registry and its token server."""
        self.stop()
        if self.tokens is not None:
            self.tokens.stop()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
