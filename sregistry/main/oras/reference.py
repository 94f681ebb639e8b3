"""``oras://`` references: parse, normalise, format, and pick HTTP or HTTPS.

Grammar (the scheme is optional)::

    oras://[REGISTRY[:PORT]/]REPOSITORY[:TAG|@sha256:HEX]

The first component is the registry when it contains ``.`` or ``:`` or is
``localhost``; otherwise the reference is on Docker Hub (``index.docker.io``,
with ``library/`` before a one-component repository). Without tag or digest
the tag is ``latest``. A reference may carry both a tag and a digest: the
digest then decides what is fetched.

Plain HTTP is used for loopback, ``localhost``, ``*.local`` names and RFC 1918
addresses (go-containerregistry's rule, which Apptainer follows), HTTPS for
everything else unless the caller insists on plain HTTP.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from sregistry.errors import InvalidName

__all__ = [
    "DEFAULT_TAG",
    "DOCKER_HUB",
    "SCHEME",
    "OrasReference",
    "is_digest",
    "parse_reference",
    "plain_http",
    "split_host",
]

SCHEME = "oras"
DEFAULT_TAG = "latest"
DOCKER_HUB = "index.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)
_PRIVATE = tuple(
    ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_MAX_NAME = 255


def is_digest(text: str) -> bool:
    """Whether ``text`` is a ``sha256:`` digest in the canonical form."""
    return _DIGEST.match(text) is not None


def split_host(registry: str) -> tuple[str, int | None]:
    """``("host", port)`` of ``host[:port]`` (IPv6 hosts without their brackets)."""
    if registry.startswith("["):
        host, _, rest = registry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = registry.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return registry, None


def plain_http(registry: str) -> bool:
    """Whether ``registry`` (``host[:port]``) is spoken to over plain HTTP by default."""
    host = split_host(registry)[0].lower()
    if host == "localhost" or host.endswith((".local", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.is_loopback:
        return True
    return isinstance(address, ipaddress.IPv4Address) and any(address in n for n in _PRIVATE)


@dataclass(frozen=True)
class OrasReference:
    """An image in an OCI registry."""

    registry: str
    """``host[:port]``, lowercased; ``index.docker.io`` for Docker Hub."""
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What the manifest is fetched by: the digest, else the tag (``latest`` by default)."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_reference(self, *, tag: str | None = None, digest: str | None = None) -> OrasReference:
        """The same repository with another tag or digest."""
        return OrasReference(self.registry, self.repository, tag, digest)

    def base_url(self, *, insecure_http: bool = False) -> str:
        """``http(s)://REGISTRY`` by :func:`plain_http` (or plain HTTP when asked)."""
        scheme = "http" if insecure_http or plain_http(self.registry) else "https"
        return f"{scheme}://{self.registry}"

    def __str__(self) -> str:
        text = f"{SCHEME}://{self.registry}/{self.repository}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _looks_like_registry(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost" or part.startswith("[")


def _registry(part: str, text: str) -> str:
    if not _HOST.match(part):
        raise InvalidName(f"{text!r}: {part!r} is not a registry host[:port]")
    port = split_host(part)[1]
    if port is not None and not 0 < port < 65536:
        raise InvalidName(f"{text!r}: port {port} is out of range")
    lowered = part.lower()
    return DOCKER_HUB if lowered in _HUB_ALIASES else lowered


def parse_reference(text: str, *, default_tag: bool = True) -> OrasReference:
    """Parse ``oras://...`` (or the same without the scheme) into an :class:`OrasReference`.

    With ``default_tag`` a reference without tag or digest gets ``latest``;
    without it the tag stays ``None`` (for listing a repository). Raises
    :class:`~sregistry.errors.InvalidName` with the reason.
    """
    rest = text.strip()
    scheme, sep, after = rest.partition("://")
    if sep:
        if scheme.lower() != SCHEME:
            raise InvalidName(f"{text!r} is not an {SCHEME}:// reference")
        rest = after
    if not rest:
        raise InvalidName(f"{text!r} names no repository")
    rest, at, digest = rest.partition("@")
    if at and not is_digest(digest):
        raise InvalidName(
            f"{text!r}: {digest!r} is not a digest", hint="a digest is sha256: and 64 hex digits"
        )
    parts = rest.split("/")
    registry = DOCKER_HUB
    if len(parts) > 1 and _looks_like_registry(parts[0]):
        registry = _registry(parts.pop(0), text)
    last, colon, tag = parts[-1].partition(":")
    parts[-1] = last
    if colon and not _TAG.match(tag):
        raise InvalidName(
            f"{text!r}: {tag!r} is not a valid tag",
            hint="a tag has up to 128 letters, digits, '_', '.' and '-', not starting with . or -",
        )
    for component in parts:
        if not _COMPONENT.match(component):
            raise InvalidName(
                f"{text!r}: {component!r} is not a valid repository component",
                hint="repository names are lowercase letters and digits, separated by "
                "'.', '_', '__' or '-', components joined by '/'",
            )
    if registry == DOCKER_HUB and len(parts) == 1:
        parts.insert(0, "library")
    repository = "/".join(parts)
    if len(registry) + 1 + len(repository) > _MAX_NAME:
        raise InvalidName(f"{text!r}: the name is longer than {_MAX_NAME} characters")
    final_tag = tag if colon else None
    if final_tag is None and not at and default_tag:
        final_tag = DEFAULT_TAG
    return OrasReference(registry, repository, final_tag, digest if at else None)


def parse_registry(text: str) -> str | None:
    """The registry of ``oras://HOST[:PORT][/]`` (a whole registry, as for its
    catalog), or ``None`` when ``text`` names a repository."""
    rest = text.strip()
    scheme, sep, after = rest.partition("://")
    if not sep or scheme.lower() != SCHEME:
        return None
    host = after.rstrip("/")
    if not host or "/" in host or "@" in host or not _looks_like_registry(host):
        return None
    return _registry(host, text)
