"""What a handler gets: the request, the store, the switches, the (skewable) clock."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from tests.server import hmac_check
from tests.server.config import ServerConfig
from tests.server.queries import get_setting, user_by_name, user_by_token
from tests.server.store import Store, User

__all__ = ["Context", "Handler", "Route", "normalize_collection", "unsafe_name", "with_slash"]

Handler = Callable[..., Response]

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_BEARER = re.compile("bearer", re.IGNORECASE)


def normalize_collection(name: str) -> str:
    """The server's collection-name normalisation: ``My_Coll`` -> ``my-coll`` (§6.3)."""
    return _NON_ALNUM.sub("-", name).strip("-").lower()


def unsafe_name(value: str) -> bool:
    """A container name or tag the server refuses to store: ``.``, ``..``, path
    separators or control characters (a file name or a path built from it would
    point elsewhere, and one such row broke a whole collection's listing)."""
    return value in {"", ".", ".."} or any(
        ch in "/\\" or ord(ch) < 32 or ord(ch) == 127 for ch in value
    )


def with_slash(rule: str) -> list[str]:
    """A URL rule and its trailing-slash twin (the real routes accept both)."""
    return [rule, rule + "/"]


@dataclass(frozen=True)
class Route:
    """One URL rule. ``drf`` routes are DRF views: throttled, JSON 405s."""

    rule: str
    methods: tuple[str, ...]
    handler: Handler
    drf: bool = True


class Context:
    """Per-request state. Reads the clock offset and URL-signing secret from the
    database on creation, so changes a test makes apply to the next request."""

    def __init__(self, request: Request, store: Store, config: ServerConfig) -> None:
        self.request = request
        self.store = store
        self.config = config
        with store.read() as db:
            self.clock_offset = float(get_setting(db, "clock_offset", "0"))
            self._secret = get_setting(db, "secret").encode()

    def now(self) -> datetime:
        """The server's (possibly skewed) clock, for HMAC timestamps."""
        return datetime.now(timezone.utc) + timedelta(seconds=self.clock_offset)

    @property
    def base_url(self) -> str:
        """``scheme://host:port`` as the client addressed this server (Django's DOMAIN_NAME)."""
        return self.request.host_url.rstrip("/")

    # -- credentials -----------------------------------------------------------------

    def bearer_user(self) -> User | None:
        """The library token's user: every ``bearer`` (any case) is removed, the rest
        stripped (R3), so ``Bearer X``, ``BEARER X`` and bare ``X`` all work."""
        header = self.request.headers.get("Authorization", "")
        token = _BEARER.sub("", header).strip()
        if not token:
            return None
        with self.store.read() as db:
            return user_by_token(db, token)

    def hmac_user(
        self, header: str | None, *, kind: str, collection: str, name: str, tag: str
    ) -> User:
        """Verify an HMAC header; the signer, or :class:`hmac_check.HmacError`."""
        with self.store.read() as db:

            def token_of(username: str) -> str | None:
                user = user_by_name(db, username)
                return user.token if user is not None and user.active else None

            username = hmac_check.verify(
                header,
                kind=kind,
                collection=collection,
                name=name,
                tag=tag,
                token_of=token_of,
                now=self.now(),
            )
            user = user_by_name(db, username)
        assert user is not None
        return user

    # -- signed URLs for the presigned-style targets -----------------------------------

    def sign(self, *parts: Any) -> str:
        message = "/".join(str(part) for part in parts).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def signed_query(self, *parts: Any, signed_headers: str = "host", expires_in: int = 300) -> str:
        """An S3-like query string whose signature covers ``parts`` and the expiry."""
        expires = int(time.time()) + expires_in
        signature = self.sign(*parts, expires)
        query = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Expires": str(expires_in),
            "X-Amz-SignedHeaders": signed_headers,
            "expires": str(expires),
            "X-Amz-Signature": signature,
        }
        return urlencode(query)

    def check_signed(self, *parts: Any) -> bool:
        """Whether the request's query carries a valid, unexpired signature of ``parts``."""
        args = self.request.args
        try:
            expires = int(args.get("expires", ""))
        except ValueError:
            return False
        if expires < time.time():
            return False
        expected = self.sign(*parts, expires)
        return hmac.compare_digest(expected, args.get("X-Amz-Signature", ""))
