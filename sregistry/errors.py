"""The one exception hierarchy of sregistry.

Every failure the library reports is a :class:`SregistryError`. Messages and
hints say what happened in words for any caller (a Python caller passes
``force=True``); the CLI alone turns these into a one-line message, a hint and
an exit code (``sregistry.cli.status.ERRORS``)::

    SregistryError
    ├── ConfigError                     missing/invalid settings, unreadable secrets
    ├── InvalidName (ValueError)        a reference that cannot be parsed
    ├── NotFound (LookupError)          no such collection, container, tag or file
    ├── PermissionDenied                authenticated but not allowed
    │   └── Frozen                      the tag is frozen on the server
    ├── AuthenticationError             missing, wrong or stale credentials
    ├── IntegrityError                  size or checksum mismatch
    ├── NotKept                         a push the server did not keep as asked
    ├── DestinationExists (FileExistsError) refusing to overwrite without force
    ├── MetadataError                   an image's metadata cannot be read
    ├── NotSupported                    this backend cannot do that
    ├── TransferError (OSError)         network failure, timeout, cut-off transfer
    └── ServerError                     5xx, HTML error pages, protocol violations
        ├── PayloadTooLarge             413 from the server or its proxy
        └── RateLimited                 429 or the registry's weekly limit

This module imports nothing from sregistry and nothing heavy.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "DestinationExists",
    "Frozen",
    "IntegrityError",
    "InvalidName",
    "MetadataError",
    "NotFound",
    "NotKept",
    "NotSupported",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "SregistryError",
    "TransferError",
]


class SregistryError(Exception):
    """Base class of every error sregistry raises on purpose.

    ``message`` is one line meant for a human; ``hint`` optionally says what to
    do about it. ``url`` and ``status`` describe the HTTP exchange when there
    was one, ``server_message`` is what the server said (never a credential).
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        url: str | None = None,
        status: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.url = url
        self.status = status
        self.server_message = server_message

    def __str__(self) -> str:
        return self.message


class ConfigError(SregistryError):
    """A setting is missing or invalid, or a configuration file is unreadable."""


class InvalidName(SregistryError, ValueError):
    """An image reference or name that cannot be parsed or is not allowed."""


class NotFound(SregistryError, LookupError):
    """The collection, container, tag, image or local file does not exist."""


class PermissionDenied(SregistryError):
    """The credentials are valid but do not allow this action."""


class Frozen(PermissionDenied):
    """The tag is frozen on the server: it cannot be replaced or deleted."""


class AuthenticationError(SregistryError):
    """Credentials are missing, malformed, wrong, or signed in another hour."""


class IntegrityError(SregistryError):
    """Transferred bytes do not match the expected size or checksum."""


class NotKept(SregistryError):
    """A push arrived but the server does not hold it as asked: a tag did not land or
    was dropped (a server keeping one tag per image), or another push replaced the
    tag meanwhile. Read back after the push; not a transfer error, so pushing the
    same thing again does not help by itself."""


class DestinationExists(SregistryError, FileExistsError):
    """The target file exists and overwriting was not asked for."""

    @classmethod
    def at(cls, target: object) -> DestinationExists:
        """The error for ``target``, with the same hint everywhere."""
        return cls(f"{target} already exists", hint="pass force=True to replace it")


class MetadataError(SregistryError):
    """An image's metadata cannot be read: not a SIF file, truncated or corrupt,
    an unsupported compression, or ``singularity inspect`` failed or timed out."""


class NotSupported(SregistryError):
    """The backend cannot do this (e.g. labels on the Library API)."""


class TransferError(SregistryError, OSError):
    """The connection failed, timed out, or a transfer was cut off."""


class ServerError(SregistryError):
    """The server failed (5xx) or answered something the protocol does not allow."""


class PayloadTooLarge(ServerError):
    """The server or a proxy in front of it refused the upload as too large (413)."""


class RateLimited(ServerError):
    """The server throttled the request (429) or a download limit was reached."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        hint: str | None = None,
        url: str | None = None,
        status: int | None = None,
        server_message: str | None = None,
    ) -> None:
        if hint is None:
            hint = "try again later" if retry_after is None else _try_again_in(retry_after)
        super().__init__(message, hint=hint, url=url, status=status, server_message=server_message)
        self.retry_after = retry_after


def _try_again_in(seconds: float) -> str:
    whole = max(1, round(seconds))
    return f"try again in {whole} second{'' if whole == 1 else 's'}"
