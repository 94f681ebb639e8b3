"""Ask a Library API server whether a token is valid (``sregistry login --library``).

``GET <library>/v1/token-status`` with ``Authorization: Bearer <token>``:
200 = valid (body ignored), 404 = invalid (library-api.md §2.3, server-api.md
§2.3). The registry API has no such endpoint: a registry token is first
checked by the request it signs.

This is the one HTTP call of the credentials package; it uses plain
``requests`` with a timeout until it can go through the shared transport.
"""

from __future__ import annotations

from sregistry import __version__
from sregistry.credentials.secret import Secret
from sregistry.credentials.urls import library_base
from sregistry.errors import AuthenticationError, ServerError, TransferError

__all__ = ["TIMEOUT", "check_library_token"]

TIMEOUT = (10.0, 30.0)
"""(connect, read) seconds; Singularity's own check gives up after 10 s."""


def check_library_token(
    base: str, token: Secret, *, verify: bool = True, timeout: tuple[float, float] = TIMEOUT
) -> None:
    """Return when the server accepts ``token``; raise otherwise.

    AuthenticationError on 404 (the server's answer for a bad token),
    ServerError on any other non-200 answer, TransferError when the server
    cannot be reached. No message carries the token.
    """
    import requests

    url = f"{library_base(base)}/v1/token-status"
    headers = {
        "Authorization": f"Bearer {token.reveal()}",
        "User-Agent": f"sregistry/{__version__}",
    }
    try:
        with requests.get(url, headers=headers, timeout=timeout, verify=verify) as response:
            status = response.status_code
    except requests.exceptions.SSLError:
        raise TransferError(
            f"TLS verification failed for {url}",
            hint="fix the certificate, or pass --insecure for a test server",
            url=url,
        ) from None
    except requests.Timeout:
        raise TransferError(f"{url} did not answer in time", url=url) from None
    except requests.RequestException as exc:
        raise TransferError(
            f"cannot reach {url} ({type(exc).__name__})",
            hint="check the --library URL and your network",
            url=url,
        ) from None
    if status == 200:
        return
    if status == 404:
        raise AuthenticationError(
            f"the library at {library_base(base)} rejected the token",
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
