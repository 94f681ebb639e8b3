"""Real keyring backends for tests, selected with ``PYTHON_KEYRING_BACKEND``.

``FileKeyring`` keeps passwords in the JSON file named by ``$TEST_KEYRING_FILE``
(so a subprocess sees what the test stored); ``BrokenKeyring`` fails every
call, like a locked or unreachable Secret Service.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError

__all__ = ["BrokenKeyring", "FileKeyring", "stored"]

ENV = "TEST_KEYRING_FILE"


def _path() -> Path:
    return Path(os.environ[ENV])


def stored() -> dict[str, dict[str, str]]:
    """Everything the file keyring holds: service -> username -> password."""
    path = _path()
    return json.loads(path.read_text()) if path.exists() else {}


class FileKeyring(KeyringBackend):
    """A keyring in a JSON file (tests only: it stores passwords in clear)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return stored().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = stored()
        data.setdefault(service, {})[username] = password
        _path().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = stored()
        if username not in data.get(service, {}):
            raise PasswordDeleteError("not found")
        del data[service][username]
        _path().write_text(json.dumps(data))


class BrokenKeyring(KeyringBackend):
    """A keyring whose every operation fails."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("the keyring is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("the keyring is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringError("the keyring is locked")
