"""One Library API server: its base URL, its token, and JSON calls to it.

Every request path is resolved relative to the base URL (which may carry a
prefix such as ``https://host/library/``). The Bearer token goes only to URLs
of the base URL's origin and never to presigned upload URLs; the transport
drops it on a redirect to another origin. JSON bodies go out as raw bytes
with no ``Content-Type``, as the Go client sends them (Singularity Registry
Server's tag view answers 415 to ``application/json``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import requests
import requests.auth

from sregistry.credentials.urls import library_base
from sregistry.main.library.api import ABSENT, Call, Refusal, interpret, redact_url
from sregistry.origin import BaseUrl

if TYPE_CHECKING:
    from sregistry.transfer import Transport

__all__ = ["BearerAuth", "Endpoint", "encode_json", "library_root"]


def library_root(url: str) -> BaseUrl:
    """A configured library URL, checked: http(s) with a host, no user info,
    query or fragment. Unlike a registry's, it must spell its scheme."""
    return library_base(url, default_scheme=None)


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>``; the token never shows in a repr."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


class Endpoint:
    """JSON calls to one Library API base URL through one :class:`Transport`."""

    def __init__(self, base: str, transport: Transport, *, token: str | None = None) -> None:
        self.root = library_root(base)
        self.base = f"{self.root}/"
        """The base URL ending with exactly one ``/``."""
        self.transport = transport
        self._auth = BearerAuth(token) if token else None

    @property
    def has_token(self) -> bool:
        """True when a Bearer token is configured."""
        return self._auth is not None

    def url(self, path: str) -> str:
        """The absolute URL of an API ``path`` (``v1/...``, ``version``)."""
        return self.base + path.lstrip("/")

    def auth_for(self, url: str) -> BearerAuth | None:
        """The Bearer auth for URLs of this server's origin, else ``None``."""
        if self._auth is not None and self.root.serves(url):
            return self._auth
        return None

    def send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        authorized: bool = True,
        retry: bool | None = None,
    ) -> requests.Response:
        """One request through the transport; ``authorized=False`` never sends the token.

        ``retry=False`` leaves retrying to the caller (e.g. a part re-presigned).
        """
        return self.transport.request(
            method,
            url,
            auth=self.auth_for(url) if authorized else None,
            headers=headers,
            params=params,
            data=body,
            stream=stream,
            follow_redirects=False,
            retry=retry,
            log_as=redact_url(url),
        )

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        ok: Collection[int] = (200,),
        envelope: bool = True,
        allow_empty: bool = False,
        refusals: Mapping[int, Refusal] | None = None,
    ) -> Any:
        """A JSON API call: ``body`` (JSON-able) out, the answer through :func:`interpret`."""
        call = Call(
            what,
            ok,
            read="data" if envelope else "json",
            allow_empty=allow_empty,
            refusals=refusals or {},
        )
        raw = None if body is None else encode_json(body)
        return self.exchange(method, self.url(path), call, body=raw, params=params)

    def exchange(
        self,
        method: str,
        url: str,
        call: Call,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authorized: bool = True,
        retry: bool | None = None,
    ) -> Any:
        """One request whose answer :func:`interpret` reads (the response is closed)."""
        response = self.send(
            method,
            url,
            body=body,
            params=params,
            headers=headers,
            authorized=authorized,
            retry=retry,
        )
        with response:
            return interpret(response, call)

    def lookup(
        self, path: str, what: str, *, params: Mapping[str, str] | None = None
    ) -> Any | None:
        """GET an object: its ``data``, or ``None`` on 404 (the only "missing" answer)."""
        found = self.exchange("GET", self.url(path), Call(what, absent=(404,)), params=params)
        return None if found is ABSENT else found


def encode_json(body: Any) -> bytes:
    """Compact UTF-8 JSON, as the request bodies go out."""
    return json.dumps(body, separators=(",", ":")).encode("utf-8")
