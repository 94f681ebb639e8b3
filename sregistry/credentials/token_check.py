"""Ask a Library API server whether a token is valid (``sregistry login --library``).

``GET <library>/v1/token-status`` with ``Authorization: Bearer <token>``:
200 = valid (body ignored), 404 = invalid (library-api.md §2.3, server-api.md
§2.3). The registry API has no such endpoint: a registry token is first
checked by the request it signs.

The request goes through :class:`sregistry.transfer.Transport` like every
other: bounded retries, a finite timeout, and a token that never follows a
redirect to another origin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sregistry.credentials.secret import Secret
from sregistry.credentials.urls import library_base
from sregistry.errors import AuthenticationError, ServerError

if TYPE_CHECKING:
    from sregistry.transfer import Timeout, Transport

__all__ = ["check_library_token"]


def check_library_token(
    base: str,
    token: Secret,
    *,
    verify: bool = True,
    timeout: Timeout | None = None,
    transport: Transport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Return when the server accepts ``token``; raise otherwise.

    AuthenticationError on 404 (the server's answer for a bad token),
    ServerError on any other non-200 answer, TransferError when the server
    cannot be reached. No message carries the token. ``transport`` (else one
    made with ``verify``, ``timeout`` and ``sleep``, the ``time.sleep`` between
    retries) sends the request.
    """
    from sregistry.transfer import Transport

    root = library_base(base)
    url = f"{root}/v1/token-status"
    own = transport is None
    sender = (
        Transport(verify=verify, timeout=timeout, sleep=time.sleep if sleep is None else sleep)
        if transport is None
        else transport
    )
    try:
        response = sender.request("GET", url, headers={"Authorization": f"Bearer {token.reveal()}"})
        with response:
            status = response.status_code
    finally:
        if own:
            sender.close()
    if status == 200:
        return
    if status == 404:
        raise AuthenticationError(
            f"the library at {root} rejected the token",
            hint="copy a fresh token from the server's token page",
            url=url,
            status=status,
        )
    raise ServerError(
        f"unexpected answer {status} from {url} while checking the token",
        hint="is this a Library API server? Singularity Registry Server serves /v1/token-status",
        url=url,
        status=status,
    )
