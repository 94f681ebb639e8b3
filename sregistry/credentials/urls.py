"""Base URLs as keys: one spelling per server, so lookups and comparisons agree."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sregistry.errors import ConfigError

__all__ = ["normalize_base", "same_server"]

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def normalize_base(url: str, *, nohttps: bool = False, strip_api: bool = False) -> str:
    """``scheme://host[:port][/prefix]`` with a lowercase scheme and host, no
    default port, no trailing ``/``; with ``strip_api`` also no trailing
    ``/api`` (so ``https://host`` and ``https://host/api`` are one registry).

    A URL without a scheme gets ``https://`` (``http://`` with ``nohttps``).
    Anything but http(s), or user info, query or fragment, is a ConfigError
    (whose message never repeats the whole URL: it may hold a password).
    """
    text = url.strip()
    if not text:
        raise ConfigError("empty base URL")
    if "://" not in text:
        text = ("http://" if nohttps else "https://") + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigError(f"unsupported URL scheme {scheme!r} in a base URL: use http(s)://")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("base URLs must not carry user info (user:password@)")
    if parts.query or parts.fragment:
        raise ConfigError(f"base URL {parts.scheme}://{parts.hostname} has a query or fragment")
    host = (parts.hostname or "").lower()
    if not host:
        raise ConfigError("no host in a base URL")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"invalid port in the base URL of {host}") from None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and str(port) != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if strip_api and path.endswith("/api"):
        path = path[: -len("/api")]
    return urlunsplit((scheme, netloc, path, "", ""))


def same_server(first: str, second: str, *, strip_api: bool = False) -> bool:
    """True when two base URLs name the same host, explicit port and path,
    whatever the scheme (a remote marked Insecure is still the same server)."""
    try:
        one = normalize_base(first, strip_api=strip_api)
        two = normalize_base(second, strip_api=strip_api)
    except ConfigError:
        return False
    return one.split("://", 1)[1] == two.split("://", 1)[1]
