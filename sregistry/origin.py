"""Where a URL points, decided once: :class:`Origin` and :class:`BaseUrl`.

Every question "is this the same server?" is answered here, from one parse:

* scheme and host compare case-insensitively, the path case-sensitively;
* a port equal to the scheme's default (http 80, https 443) is the same as
  no port;
* trailing slashes of a base URL do not count;
* an IPv6 literal is one host however it is spelled (``[::1]``,
  ``[0:0::1]``);
* user info (``user:password@``) is never part of the identity, and is
  never repeated in a message or a ``str()``.

Two comparisons are built on it. :meth:`Origin.__eq__` (scheme, host and
port) is what the transport's redirect guard uses: credentials never follow a
redirect to another origin, an https -> http downgrade included.
:meth:`BaseUrl.same_server` (host, port and path, whatever the scheme) is what
the credential lookup uses: a token stored for ``https://host`` is offered to
``http://host`` configured by the user (a Singularity remote marked Insecure
is still that server).

This module imports only the standard library and :mod:`sregistry.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from sregistry.errors import ConfigError

__all__ = ["DEFAULT_PORTS", "BaseUrl", "Origin", "same_origin"]

DEFAULT_PORTS = {"http": 80, "https": 443}


def _split(url: str, what: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:  # e.g. an unbalanced or invalid [IPv6] literal
        raise ConfigError(f"{what} is not a valid URL") from None


def _host(parts: SplitResult, what: str) -> str:
    """The lowercase host, an IPv6 literal in its compressed form (no brackets)."""
    host = (parts.hostname or "").lower()
    if ":" in host:
        import ipaddress

        address, _, zone = host.partition("%")
        try:
            host = ipaddress.IPv6Address(address).compressed + (f"%{zone}" if zone else "")
        except ValueError:
            raise ConfigError(f"{what} has an invalid IPv6 address") from None
    return host


@dataclass(frozen=True)
class Origin:
    """``scheme://host[:port]``: who answers a URL, and who may see its credentials."""

    scheme: str
    """``http`` or ``https``."""
    host: str
    """Lowercase; an IPv6 literal compressed and without brackets."""
    port: int | None = None
    """``None`` for the scheme's default port (an explicit 443 on https is ``None``)."""

    @classmethod
    def of(cls, url: str, *, what: str = "a URL") -> Origin:
        """The origin of an absolute http(s) URL; user info, path and query are ignored.

        A ConfigError names ``what`` and the problem, never the URL (it may
        carry a password or a signature).
        """
        return cls._from(_split(url.strip(), what), what)

    @classmethod
    def _from(cls, parts: SplitResult, what: str) -> Origin:
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            shown = f" {scheme!r}" if scheme else ""
            raise ConfigError(f"unsupported scheme{shown} in {what}: use http:// or https://")
        host = _host(parts, what)
        if not host:
            raise ConfigError(f"{what} has no host")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"{what} for {host} has an invalid port") from None
        return cls(scheme, host, None if port == DEFAULT_PORTS[scheme] else port)

    @property
    def effective_port(self) -> int:
        """The port connected to (the default one filled in)."""
        return self.port if self.port is not None else DEFAULT_PORTS[self.scheme]

    @property
    def netloc(self) -> str:
        """``host[:port]`` as references spell it (IPv6 bracketed, no default port)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def named_by(self, host: str) -> bool:
        """True when a reference's ``host[:port]`` names this origin (same scheme assumed)."""
        try:
            return Origin.of(f"{self.scheme}://{host}") == self
        except ConfigError:
            return False

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def same_origin(url: str, other: str) -> bool:
    """True when both are http(s) URLs of one :class:`Origin`; False when either is not."""
    try:
        return Origin.of(url) == Origin.of(other)
    except ConfigError:
        return False


@dataclass(frozen=True)
class BaseUrl:
    """A server's base URL: an :class:`Origin` and a path prefix.

    ``str()`` is ``scheme://host[:port][/prefix]`` with no trailing ``/``:
    one spelling per server, usable as a key (e.g. of a keyring entry).
    """

    origin: Origin
    path: str = ""
    """``""`` or ``/prefix`` (case kept), without a trailing ``/``."""

    @classmethod
    def parse(
        cls, url: str, *, default_scheme: str | None = "https", what: str = "the base URL"
    ) -> BaseUrl:
        """Parse and check a configured base URL.

        Without a scheme, ``default_scheme`` is added (``None``: a scheme is
        required). User info, a query or a fragment is a ConfigError whose
        message never repeats the URL.
        """
        text = url.strip()
        if not text:
            raise ConfigError(f"{what} is empty")
        if "://" not in text:
            if default_scheme is None:
                raise ConfigError(f"{what} needs a scheme: http:// or https://")
            text = f"{default_scheme}://{text}"
        parts = _split(text, what)
        origin = Origin._from(parts, what)
        if parts.username is not None or parts.password is not None:
            raise ConfigError(f"{what} must not carry user info (user:password@)")
        if parts.query or parts.fragment:
            raise ConfigError(f"{what} of {origin} must not have a query or fragment")
        return cls(origin, parts.path.rstrip("/"))

    @property
    def scheme(self) -> str:
        return self.origin.scheme

    @property
    def netloc(self) -> str:
        """``host[:port]`` as references spell it."""
        return self.origin.netloc

    def without_suffix(self, segment: str) -> BaseUrl:
        """This base without a last path segment ``segment`` (``/api`` for a registry)."""
        if self.path.endswith(f"/{segment}"):
            return BaseUrl(self.origin, self.path[: -len(segment) - 1].rstrip("/"))
        return self

    def same_server(self, other: BaseUrl) -> bool:
        """Same host, port and path, whatever the scheme (the credential lookup's rule)."""
        return (self.origin.host, self.origin.port, self.path) == (
            other.origin.host,
            other.origin.port,
            other.path,
        )

    def serves(self, url: str) -> bool:
        """True when ``url`` is on this base's origin (may get this server's token)."""
        try:
            return Origin.of(url) == self.origin
        except ConfigError:
            return False

    def __str__(self) -> str:
        return f"{self.origin}{self.path}"
