"""``GET /api/``: an OpenAPI 3 document generated from the routes this server serves."""

from __future__ import annotations

import inspect
import re
from typing import Any

from tests.server.context import Route

__all__ = ["document"]

_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = [
        {
            "name": m["name"],
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if m["converter"] == "int" else "string"},
        }
        for m in _PARAM.finditer(rule)
    ]
    return _PARAM.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def document(routes: list[Route], base_url: str, api_version: str | None) -> dict[str, Any]:
    """Every route with its methods; summaries are the handlers' docstrings."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path, parameters = _path(route.rule)
        doc = inspect.getdoc(route.handler) or ""
        summary, _, description = doc.partition("\n\n")
        for method in route.methods:
            operation: dict[str, Any] = {
                "summary": " ".join(summary.split()),
                "operationId": f"{method.lower()}{re.sub(r'[^0-9A-Za-z]+', '_', path)}",
                "responses": {"default": {"description": "see the summary"}},
            }
            if description:
                operation["description"] = description
            if parameters:
                operation["parameters"] = parameters
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Reference Singularity Registry Server (tests)",
            "version": api_version or "unversioned",
            "description": "Registry API (/api, HMAC) and library API (/v1, /v2, Bearer).",
        },
        "servers": [{"url": base_url}],
        "paths": dict(sorted(paths.items())),
    }
