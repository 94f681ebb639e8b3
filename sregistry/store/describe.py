"""The metadata the store keeps with an image, read without ever failing an add."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from sregistry.errors import SregistryError

__all__ = ["Described", "describe_image"]


@dataclass(frozen=True)
class Described:
    """Inspect attributes and architecture of an image, and what went wrong reading them."""

    metadata: dict[str, Any] = field(default_factory=dict)
    arch: str | None = None
    warnings: tuple[str, ...] = ()


def describe_image(path: str | os.PathLike[str], *, timeout: float = 60.0) -> Described:
    """Read the image's metadata (:func:`sregistry.metadata.inspect_image`).

    A file that cannot be inspected gives empty metadata and a warning
    instead of an error: storing an image never depends on reading it.
    """
    from sregistry.metadata import inspect_image

    try:
        result = inspect_image(path, timeout=timeout)
    except (SregistryError, OSError) as exc:
        return Described(warnings=(f"{os.fspath(path)}: no metadata stored ({exc})",))
    return Described(dict(result.attributes), result.arch, tuple(result.warnings))
