"""``SREGISTRY-HMAC-SHA256`` as a requests auth object that signs at send time.

The server compares the signature's hour with its own clock when the request
arrives, so a signature is made for each try (a retry in the next hour is
signed again) and never earlier than needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests
import requests.auth

from sregistry.main.registry.auth import authorization_header

__all__ = ["Clock", "HmacAuth", "Signer", "utc_hour"]

Clock = Callable[[], float]
"""Seconds since the epoch (``time.time``), injectable for tests."""


def utc_hour(moment: float) -> int:
    """Hours since the epoch: signatures made in the same one are interchangeable."""
    return int(moment // 3600)


@dataclass(frozen=True)
class Signer:
    """A username and token able to sign; the token is only read when signing."""

    username: str
    token: Callable[[], str] = field(repr=False)
    clock: Clock = time.time

    def header(self, kind: str, collection: str, name: str, tag: str) -> tuple[str, float]:
        """The header value and the moment it was signed."""
        now = self.clock()
        value = authorization_header(
            kind,
            self.username,
            self.token(),
            collection,
            name,
            tag,
            now=datetime.fromtimestamp(now, tz=timezone.utc),
        )
        return value, now


class HmacAuth(requests.auth.AuthBase):
    """Signs one kind of request over ``collection``/``name``/``tag``.

    ``signed_at`` holds the time of the latest signature, so an error can say
    whether the hour turned between signing and the server's check.
    """

    def __init__(self, signer: Signer, kind: str, collection: str, name: str, tag: str) -> None:
        self.signer = signer
        self.kind = kind
        self.fields = (collection, name, tag)
        self.signed_at: float | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        value, self.signed_at = self.signer.header(self.kind, *self.fields)
        request.headers["Authorization"] = value
        return request

    def __repr__(self) -> str:
        return f"HmacAuth({self.kind!r}, user={self.signer.username!r})"
