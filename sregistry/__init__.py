"""sregistry: client library and command-line tool for Singularity/Apptainer registries.

``sregistry.get_client`` (also ``sregistry.main.get_client``) is the entry
point for scripts; it is imported on first use, so importing this package
does no I/O and imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sregistry.main import get_client as get_client

__version__ = "0.3.0"

__all__ = ["__version__", "get_client"]


def __getattr__(name: str) -> Any:
    """``get_client``, imported when first asked for."""
    if name == "get_client":
        from sregistry.main import get_client

        return get_client
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
