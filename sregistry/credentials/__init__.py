"""Credentials: tokens that never show themselves, and base URLs as lookup keys."""

from __future__ import annotations

from sregistry.credentials.secret import Secret, Sourced
from sregistry.credentials.urls import normalize_base, same_server

__all__ = ["Secret", "Sourced", "normalize_base", "same_server"]
