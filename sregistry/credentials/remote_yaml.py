"""Singularity/Apptainer ``remote.yaml``: reuse the token of ``remote login``.

The file, as SingularityCE and Apptainer write it::

    Active: SylabsCloud
    Remotes:
      SylabsCloud:
        URI: cloud.sylabs.io          # host[:port][/path], no scheme
        Token: eyJhbGciOi...          # set by `remote login`
        System: true
        Exclusive: false
      myregistry:
        URI: sregistry.example.org:8000
        Insecure: true                # http for this endpoint
    Credentials: [...]                # OCI registries / keyservers: ignored

Semantics, following the real clients:

- Files: ``$APPTAINER_CONFIGDIR/remote.yaml`` (default ``~/.apptainer/remote.yaml``)
  is looked at before ``$SINGULARITY_CONFIGDIR/remote.yaml`` (default
  ``~/.singularity/remote.yaml``). Apptainer is the maintained successor and
  migrates the Singularity file into its own on first use, so when both exist
  the Apptainer file wins: the active remote is the ``Active`` entry of the
  first file whose ``Active`` names one of its remotes, and ``--remote NAME``
  picks NAME from the first file that defines it. The system-wide file
  (``<sysconfdir>/singularity/remote.yaml``) is not read: it holds no tokens.
- ``URI`` is the remote's service-discovery endpoint, stored without a scheme
  (``remote add`` keeps only host and path). The endpoint URL is
  ``https://<URI>``, or ``http://<URI>`` when ``Insecure: true`` (``remote add
  --insecure`` in current SingularityCE and Apptainer; older releases always
  used ``https://`` + URI). A scheme written into URI by hand is replaced the
  same way, as those releases do.
- The Library API base is not the endpoint itself but the ``libraryAPI.uri``
  that ``GET <endpoint>/assets/config/config.prod.json`` announces
  (library-api.md §2.1), except for ``cloud.sylabs.io`` which the clients map
  to ``https://library.sylabs.io`` without asking. Singularity Registry
  Server announces its own URL, so for it the two are the same.
- ``Token`` is sent as ``Authorization: Bearer <Token>`` to the remote's services.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sregistry.config import home_dir
from sregistry.credentials.secret import Secret, Sourced
from sregistry.credentials.secrets_file import display_path
from sregistry.credentials.urls import same_server
from sregistry.errors import ConfigError

__all__ = ["Remote", "Remotes", "all_remotes", "candidate_files", "load_remotes", "pick_remote"]

SYLABS_CLOUD = "cloud.sylabs.io"
SYLABS_LIBRARY = "https://library.sylabs.io"


@dataclass(frozen=True)
class Remote:
    """One entry of a ``remote.yaml``."""

    name: str
    uri: str
    """As written in the file (host[:port][/path])."""
    token: Secret | None
    insecure: bool
    path: Path
    """The file it came from."""
    active: bool
    """Whether it is the file's ``Active`` remote."""

    @property
    def _location(self) -> str:
        rest = self.uri.split("://", 1)[1] if "://" in self.uri else self.uri
        return rest.strip().rstrip("/")

    @property
    def endpoint(self) -> str | None:
        """The service-discovery URL: ``https://<URI>`` (``http://`` if Insecure);
        ``None`` when the entry has no URI."""
        if not self._location:
            return None
        return ("http://" if self.insecure else "https://") + self._location

    @property
    def library_url(self) -> str | None:
        """The Library API base when known without discovery (Sylabs Cloud), else ``None``."""
        return SYLABS_LIBRARY if self._location.lower() == SYLABS_CLOUD else None


def candidate_files(env: Mapping[str, str]) -> list[Path]:
    """Where remote.yaml files may be, in the order they are consulted."""
    home = home_dir(env)
    apptainer = env.get("APPTAINER_CONFIGDIR")
    singularity = env.get("SINGULARITY_CONFIGDIR")
    return [
        (Path(apptainer).expanduser() if apptainer else home / ".apptainer") / "remote.yaml",
        (Path(singularity).expanduser() if singularity else home / ".singularity") / "remote.yaml",
    ]


def load_remotes(path: Path, shown: str) -> list[Remote]:
    """The remotes of one file (``[]`` if it does not exist or is empty).

    ``shown`` is how the path appears in messages. A file that is not the
    expected YAML is a ConfigError naming it (with the line when known) but
    never quoting it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"cannot read {shown}: {reason}") from None
    if not text.strip():
        return []
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{shown} is not valid YAML{where}") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ConfigError(f"{shown} must be a YAML mapping with Active and Remotes")
    remotes = data.get("Remotes") or {}
    if not isinstance(remotes, dict):
        raise ConfigError(f"Remotes in {shown} must be a mapping of names to remotes")
    active = data.get("Active")
    return [
        _remote(str(name), entry, path, shown, active=str(name) == active)
        for name, entry in remotes.items()
    ]


def _remote(name: str, entry: Any, path: Path, shown: str, *, active: bool) -> Remote:
    if not isinstance(entry, dict):
        raise ConfigError(f"remote {name!r} in {shown} must be a mapping")
    uri = entry.get("URI")
    token = entry.get("Token")
    insecure = entry.get("Insecure", False)
    if uri is not None and not isinstance(uri, str):
        raise ConfigError(f"URI of remote {name!r} in {shown} must be a string")
    if token is not None and not isinstance(token, str):
        raise ConfigError(f"Token of remote {name!r} in {shown} must be a string")
    if not isinstance(insecure, bool):
        raise ConfigError(f"Insecure of remote {name!r} in {shown} must be true or false")
    token = token.strip() if token else ""
    return Remote(
        name=name,
        uri=(uri or "").strip(),
        token=Secret(token) if token else None,
        insecure=insecure,
        path=path,
        active=active,
    )


def all_remotes(env: Mapping[str, str], display: Callable[[Path], str]) -> list[Remote]:
    """Every remote of every file, in lookup order (Apptainer's file first)."""
    found: list[Remote] = []
    for path in candidate_files(env):
        found.extend(load_remotes(path, display(path)))
    return found


def pick_remote(remotes: list[Remote], name: str | None, *, files: str) -> Remote | None:
    """The remote named ``name`` (the first file defining it wins; a
    ConfigError listing the known names when none does), or with ``name``
    ``None`` the first file's active remote (``None`` when no file has one).
    ``files`` names the files looked at, for the message."""
    for remote in remotes:
        if (remote.name == name) if name is not None else remote.active:
            return remote
    if name is None:
        return None
    names = sorted({remote.name for remote in remotes})
    known = f"known remotes: {', '.join(names)}" if names else "no remotes are defined"
    raise ConfigError(f"no remote named {name!r} in {files}", hint=known)


class Remotes:
    """The remote.yaml entries of ``env``'s files, read on first need, with their sources."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self._all: list[Remote] | None = None
        self.display: Callable[[Path], str] = lambda path: display_path(path, env)

    @property
    def all(self) -> list[Remote]:
        if self._all is None:
            self._all = all_remotes(self.env, self.display)
        return self._all

    def named(self, name: str) -> Remote | None:
        files = " or ".join(self.display(path) for path in candidate_files(self.env))
        return pick_remote(self.all, name, files=files)

    def active(self) -> Remote | None:
        return pick_remote(self.all, None, files="")

    def matching(self, base: str) -> Remote | None:
        for remote in self.all:
            for url in (remote.library_url, remote.endpoint):
                if url and same_server("library", url, base):
                    return remote
        return None

    def source(self, remote: Remote) -> str:
        return f"{self.display(remote.path)} ({remote.name})"

    def base_of(self, remote: Remote | None) -> Sourced[str] | None:
        """The library base a remote stands for (its endpoint unless known)."""
        if remote is None:
            return None
        url = remote.library_url or remote.endpoint
        return Sourced(url, self.source(remote)) if url else None
