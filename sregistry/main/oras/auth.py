"""Registry authentication: anonymous, Basic, and the Bearer token flow.

A registry says how it wants to be authenticated in the ``WWW-Authenticate``
header of a 401 (:func:`parse_challenge`). :class:`Authenticator` remembers the
challenge of its registry, so later requests carry credentials from the start
(a large upload is never sent once in vain):

* ``Basic``: ``Authorization: Basic base64(user:password)``;
* ``Bearer``: a token from the challenge's ``realm`` for the request's scopes
  (``GET realm?service=S&scope=A&scope=B``, with Basic credentials when there
  are any; ``POST`` with ``grant_type=refresh_token`` for an identity token),
  cached per realm, service and scopes until shortly before it expires.

A registry token from a config file is sent as a Bearer token as is.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import requests
import requests.auth

from sregistry.credentials.secret import Secret
from sregistry.errors import ServerError
from sregistry.main.oras.api import Exchange, Op, interpret

if TYPE_CHECKING:
    from sregistry.main.oras.credentials import RegistryCredential
    from sregistry.transfer.http import Transport

__all__ = [
    "DEFAULT_EXPIRY",
    "Authenticator",
    "Challenge",
    "HeaderAuth",
    "catalog_scope",
    "parse_challenge",
    "repository_scope",
]

DEFAULT_EXPIRY = 60.0
"""Seconds a token is taken to live when the token server does not say."""
_MARGIN = 10.0
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
CLIENT_ID = "sregistry"


def repository_scope(name: str, *actions: str) -> str:
    """``repository:NAME:pull,push``."""
    return f"repository:{name}:{','.join(actions)}"


def catalog_scope() -> str:
    return "registry:catalog:*"


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge."""

    scheme: str
    """``basic`` or ``bearer`` (lowercase)."""
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split())


def parse_challenge(header: str | None) -> Challenge | None:
    """The challenge of a ``WWW-Authenticate`` value (``None`` when absent or unknown)."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme not in {"basic", "bearer"}:
        return None
    params: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[match.group(1).lower()] = value
    return Challenge(scheme, params)


class HeaderAuth(requests.auth.AuthBase):
    """Sets ``Authorization`` when the request is sent; the value never shows
    in a repr, a log or a traceback's locals. The transport drops it on a
    redirect to another origin."""

    def __init__(self, value: Secret) -> None:
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.value.reveal()
        return request

    def __repr__(self) -> str:
        return f"HeaderAuth({self.value.reveal().split(' ', 1)[0]} ****)"


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class _Token:
    value: str
    expires: float


class Authenticator:
    """Credentials for one registry, applied per request's scopes.

    Thread-safe: parallel downloads share one instance.
    """

    def __init__(
        self,
        transport: Transport,
        credential: RegistryCredential | None,
        *,
        host: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.credential = credential
        self.host = host
        self.clock = clock
        self.challenge: Challenge | None = None
        self.token_requests = 0
        """Tokens fetched so far (what the cache saved is visible in tests)."""
        self._tokens: dict[tuple[str, str, tuple[str, ...]], _Token] = {}
        self._lock = threading.Lock()

    @property
    def has_credentials(self) -> bool:
        return self.credential is not None

    def auth_for(self, scopes: Iterable[str]) -> HeaderAuth | None:
        """What authenticates a request needing ``scopes`` (may fetch a token);
        ``None``: send it anonymously."""
        challenge, credential = self.challenge, self.credential
        if credential is not None and credential.kind == "registrytoken":
            return HeaderAuth(Secret("Bearer " + credential.secret.reveal()))
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if credential is None or credential.kind != "basic" or credential.username is None:
                return None
            return HeaderAuth(Secret(_basic(credential.username, credential.secret.reveal())))
        return HeaderAuth(Secret("Bearer " + self.token(challenge, tuple(scopes))))

    def learn(self, response_header: str | None) -> bool:
        """Remember the challenge of a 401; ``False`` when retrying cannot help."""
        challenge = parse_challenge(response_header)
        if challenge is None:
            return False
        known = self.challenge
        self.challenge = challenge
        if challenge.scheme == "basic":
            return known is None and self.credential is not None
        return True

    def token(self, challenge: Challenge, scopes: tuple[str, ...]) -> str:
        """A Bearer token for ``scopes`` from the cache or the challenge's realm."""
        wanted = tuple(sorted({*scopes, *self._extra(challenge, scopes)}))
        key = (challenge.realm, challenge.service or "", wanted)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.expires > self.clock():
                return cached.value
            fresh = self._fetch(challenge, wanted)
            self._tokens[key] = fresh
            return fresh.value

    def forget(self, scopes: Iterable[str]) -> None:
        """Drop cached tokens for ``scopes`` (the registry refused one)."""
        wanted = set(scopes)
        with self._lock:
            for key in [k for k in self._tokens if wanted <= set(k[2])]:
                del self._tokens[key]

    @staticmethod
    def _extra(challenge: Challenge, scopes: tuple[str, ...]) -> tuple[str, ...]:
        """The challenge's own scope when the request named none."""
        return () if scopes else challenge.scopes

    def _fetch(self, challenge: Challenge, scopes: tuple[str, ...]) -> _Token:
        if not challenge.realm.lower().startswith(("https://", "http://")):
            raise ServerError(f"the registry {self.host} named no usable token realm")
        credential = self.credential
        exchange = Exchange(
            Op.LOGIN, f"oras://{self.host}", authenticated=credential is not None, host=self.host
        )
        self.token_requests += 1
        if credential is not None and credential.kind == "identitytoken":
            form = {
                "grant_type": "refresh_token",
                "refresh_token": credential.secret.reveal(),
                "client_id": CLIENT_ID,
                "service": challenge.service or "",
                "scope": " ".join(scopes),
            }
            response = self.transport.request(
                "POST", challenge.realm, data=form, log_as=_realm(challenge)
            )
        else:
            params: list[tuple[str, str]] = [("service", challenge.service or "")]
            params += [("scope", scope) for scope in scopes]
            headers = {}
            if credential is not None and credential.kind == "basic" and credential.username:
                headers["Authorization"] = _basic(credential.username, credential.secret.reveal())
            separator = "&" if "?" in challenge.realm else "?"
            response = self.transport.request(
                "GET",
                challenge.realm + separator + urlencode(params),
                headers=headers,
                log_as=_realm(challenge),
            )
        interpret(response, exchange, (200,))
        return self._read_token(response)

    def _read_token(self, response: requests.Response) -> _Token:
        try:
            data = response.json()
        except ValueError:
            data = None
        token = None
        if isinstance(data, dict):
            token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ServerError(f"the token server of {self.host} answered no token")
        expires_in = data.get("expires_in") if isinstance(data, dict) else None
        lifetime = (
            float(expires_in)
            if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
            else DEFAULT_EXPIRY
        )
        return _Token(token, self.clock() + max(1.0, lifetime - _MARGIN))


def _realm(challenge: Challenge) -> str:
    return challenge.realm.split("?", 1)[0]
