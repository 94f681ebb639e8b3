"""The ``local`` backend: the embedded image store behind the Client API."""

from sregistry.main.backend import Backend

__all__ = ["BACKEND"]

BACKEND = Backend(name="local", client="sregistry.main.local.client:LocalClient")
"""What the ``sregistry.backends`` entry point ``local`` names (no options)."""
