"""Requests to one registry, authenticated, through the transport, read by the funnel.

:meth:`RegistrySession.send` lets the request carry the ``Authorization`` the
:class:`~sregistry.main.oras.auth.Authenticator` holds for the request's scopes
(a ``requests`` auth object, set at send time), answers one 401 by learning
the challenge (or fetching a token for the scopes) and sending again, then
hands the answer to :func:`~sregistry.main.oras.api.interpret`. The transport
never carries it across a redirect to another host (a storage URL is its own
credential).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from sregistry.main.oras.api import Exchange, Op, interpret
from sregistry.main.oras.auth import Authenticator, HeaderAuth

if TYPE_CHECKING:
    import requests

    from sregistry.main.oras.credentials import RegistryCredential
    from sregistry.main.oras.reference import OrasReference
    from sregistry.transfer.http import Body, Transport

__all__ = ["RegistrySession"]


class RegistrySession:
    """One registry (``host[:port]``) over one transport, with its credentials."""

    def __init__(
        self,
        transport: Transport,
        registry: str,
        *,
        credential: RegistryCredential | None = None,
        base_url: str,
    ) -> None:
        self.transport = transport
        self.registry = registry
        self.base_url = base_url.rstrip("/")
        self.auth = Authenticator(transport, credential, host=registry)

    @classmethod
    def for_reference(
        cls,
        transport: Transport,
        reference: OrasReference,
        *,
        credential: RegistryCredential | None = None,
        insecure_http: bool = False,
    ) -> RegistrySession:
        return cls(
            transport,
            reference.registry,
            credential=credential,
            base_url=reference.base_url(insecure_http=insecure_http),
        )

    def url(self, path_or_url: str) -> str:
        """An absolute URL for ``/v2/...`` paths or ``Location`` values (relative or not)."""
        return urljoin(self.base_url + "/", path_or_url)

    def exchange(self, op: Op, subject: str, *, authenticated: bool) -> Exchange:
        return Exchange(op, subject, authenticated=authenticated, host=self.registry)

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        op: Op,
        subject: str,
        scopes: Iterable[str],
        expect: Collection[int] = (200,),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Body = None,
        stream: bool = False,
        retry: bool | None = None,
    ) -> requests.Response:
        """Send with credentials; return the answer when its status is in ``expect``."""
        url = self.url(path_or_url)
        scopes = tuple(scopes)

        def once() -> tuple[requests.Response, bool]:
            auth = self.auth.auth_for(scopes)
            answer = self.transport.request(
                method,
                url,
                auth=auth,
                headers=headers,
                params=params,
                data=data,
                stream=stream,
                retry=retry,
            )
            return answer, auth is not None and self.auth.has_credentials

        response, authenticated = once()
        if response.status_code == 401:
            if authenticated:
                self.auth.forget(scopes)
            if self.auth.learn(response.headers.get("WWW-Authenticate")):
                response.close()
                response, authenticated = once()
        interpret(response, self.exchange(op, subject, authenticated=authenticated), expect)
        return response

    def auth_for(self, scopes: Iterable[str]) -> HeaderAuth | None:
        """What authenticates ``scopes`` now (after :meth:`probe` learned the scheme)."""
        return self.auth.auth_for(tuple(scopes))

    def probe(self, scopes: Iterable[str]) -> None:
        """Learn how the registry authenticates (``GET /v2/``) before a body is sent."""
        if self.auth.challenge is not None:
            return
        response = self.transport.request("GET", self.url("/v2/"))
        if response.status_code == 401:
            self.auth.learn(response.headers.get("WWW-Authenticate"))
        response.close()
        if self.auth.challenge is not None:
            self.auth.auth_for(tuple(scopes))
