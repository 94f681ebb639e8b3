"""Fault tests reuse the end-to-end fixtures (a reference server with vsoch and alice)."""

from __future__ import annotations

from tests.e2e.conftest import as_vsoch, make_image, registry

__all__ = ["as_vsoch", "make_image", "registry"]
