"""The backends' base-URL rules, as thin functions over :class:`sregistry.origin.BaseUrl`.

A registry's base may end in ``/api`` (``https://host`` and ``https://host/api``
are one registry, also as a keyring key); a library's base is taken as given.
"""

from __future__ import annotations

from typing import Literal

from sregistry.errors import ConfigError
from sregistry.origin import BaseUrl

__all__ = ["base_of", "library_base", "registry_base", "same_server"]

Kind = Literal["registry", "library"]


def registry_base(url: str, *, nohttps: bool = False) -> BaseUrl:
    """A registry's base URL without a final ``/api``; a missing scheme is
    ``https://`` (``http://`` with ``nohttps``)."""
    parsed = BaseUrl.parse(
        url, default_scheme="http" if nohttps else "https", what="the registry base URL"
    )
    return parsed.without_suffix("api")


def library_base(url: str, *, default_scheme: str | None = "https") -> BaseUrl:
    """A Library API server's base URL (``default_scheme=None``: a scheme is required)."""
    return BaseUrl.parse(url, default_scheme=default_scheme, what="the library URL")


def base_of(kind: Kind, url: str, *, nohttps: bool = False) -> BaseUrl:
    """The base URL of a ``kind`` server, by that kind's rule."""
    return registry_base(url, nohttps=nohttps) if kind == "registry" else library_base(url)


def same_server(kind: Kind, first: str, second: str) -> bool:
    """True when two base URLs name one ``kind`` server (:meth:`BaseUrl.same_server`);
    False when either is not a valid base URL."""
    try:
        return base_of(kind, first).same_server(base_of(kind, second))
    except ConfigError:
        return False
