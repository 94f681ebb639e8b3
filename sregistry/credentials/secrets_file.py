"""The secrets file (``~/.sregistry``): read one section, rewrite it atomically.

Two key styles are read in a ``registry`` section: the client-written
``SREGISTRY_REGISTRY_{BASE,USERNAME,TOKEN}`` keys first, then the
``base``/``username``/``token`` keys of the form the server's token page
exports. A ``library`` section holds ``SREGISTRY_LIBRARY_{BASE,TOKEN}``.

Reading never creates the file. Writing replaces it atomically (temporary
file in the same directory, fsync, ``os.replace``) with mode 0600, creating a
missing parent directory with mode 0700. Errors name the file, never its
content.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sregistry.config import home_dir
from sregistry.errors import ConfigError

__all__ = ["display_path", "section_of", "setting", "write_secrets"]


def display_path(path: Path, env: Mapping[str, str]) -> str:
    """``path`` with the home directory shown as ``~`` (for sources and messages)."""
    home = home_dir(env)
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return str(path)


def section_of(data: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    """One top-level section of the file's data as a dict (``{}`` when absent)."""
    section = data.get(name)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"the {name!r} entry of the secrets file {path} must be a JSON object")
    return section


def setting(section: Mapping[str, Any], key: str, path: Path, name: str) -> str | None:
    """A string setting of a section; ``None`` when absent or empty.

    A non-string value is a ConfigError that names the key, not the value.
    """
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        raise ConfigError(f"{name}.{key} in the secrets file {path} must be a string")
    value = value.strip()
    return value or None


def write_secrets(path: Path, data: Mapping[str, Any]) -> None:
    """Replace the file with ``data`` atomically, mode 0600.

    On any failure the previous file is left as it was and the temporary
    file is removed.
    """
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    parent = path.parent
    try:
        if not parent.exists():
            parent.mkdir(mode=0o700, parents=True)
        fd, temp_name = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write the secrets file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise ConfigError(f"cannot write the secrets file {path}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_dir(parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; not every platform or filesystem allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
