"""The one exception hierarchy of sregistry.

Every failure the library reports is a :class:`SregistryError`. The CLI alone
turns these into a one-line message, an optional hint and an exit code::

    SregistryError                      exit 1
    ├── ConfigError                     exit 1   missing/invalid settings, unreadable secrets
    ├── InvalidName (ValueError)        exit 2   a reference that cannot be parsed
    ├── NotFound (LookupError)          exit 3   no such collection, container, tag or file
    ├── PermissionDenied                exit 4   authenticated but not allowed
    │   └── Frozen                      exit 4   the tag is frozen on the server
    ├── AuthenticationError             exit 4   missing, wrong or stale credentials
    ├── IntegrityError                  exit 5   size or checksum mismatch
    ├── DestinationExists (FileExistsError) exit 1   refusing to overwrite without force
    ├── MetadataError                   exit 1   an image's metadata cannot be read
    ├── NotSupported                    exit 1   this backend cannot do that
    ├── TransferError (OSError)         exit 1   network failure, timeout, cut-off transfer
    └── ServerError                     exit 1   5xx, HTML error pages, protocol violations
        ├── PayloadTooLarge             exit 1   413 from the server or its proxy
        └── RateLimited                 exit 1   429 or the registry's weekly limit

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

    exit_code: int = 1

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

    exit_code = 2


class NotFound(SregistryError, LookupError):
    """The collection, container, tag, image or local file does not exist."""

    exit_code = 3


class PermissionDenied(SregistryError):
    """The credentials are valid but do not allow this action."""

    exit_code = 4


class Frozen(PermissionDenied):
    """The tag is frozen on the server: it cannot be replaced or deleted."""


class AuthenticationError(SregistryError):
    """Credentials are missing, malformed, wrong, or signed in another hour."""

    exit_code = 4


class IntegrityError(SregistryError):
    """Transferred bytes do not match the expected size or checksum."""

    exit_code = 5


class DestinationExists(SregistryError, FileExistsError):
    """The target file exists and overwriting was not asked for."""

    @classmethod
    def at(cls, target: object) -> DestinationExists:
        """The error for ``target``, with the hint every command gives."""
        return cls(
            f"{target} already exists",
            hint="use --force to replace it, or -o to choose another path",
        )


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
        super().__init__(message, hint=hint, url=url, status=status, server_message=server_message)
        self.retry_after = retry_after
