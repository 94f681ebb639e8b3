"""sregistry: client library and command-line tool for Singularity/Apptainer registries.

``sregistry.get_client`` (also ``sregistry.main.get_client``) is the entry
point for scripts; it is imported on first use, so importing this package
does no I/O and imports nothing heavy.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (4 ms)
if TYPE_CHECKING:
    from typing import Any

    from sregistry.main import get_client as get_client

__version__ = "0.3.0"

__all__ = ["__version__", "get_client"]


def __getattr__(name: str) -> Any:
    """``get_client``, imported when first asked for."""
    if name == "get_client":
        from sregistry.main import get_client

        return get_client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
