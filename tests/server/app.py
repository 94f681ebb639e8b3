"""The WSGI application: request log, fault injection, throttle, routing, dispatch."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from tests.server import (
    library_api,
    library_tags,
    library_upload,
    openapi,
    registry_api,
    registry_push,
)
from tests.server.config import ServerConfig
from tests.server.context import Context, Route
from tests.server.faults import InjectedDrop, apply_fault, take_fault
from tests.server.store import Store
from tests.server.wire import detail, json_response, not_found_html, server_error

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["RegistryApp"]

log = logging.getLogger("tests.server")

_DRF_PREFIXES = ("/api/", "/v1/", "/v2/", "/version")


class Throttle:
    """DRF's ``AnonRateThrottle``: at most N requests per period per client address."""

    def __init__(self, rate: tuple[int, float]) -> None:
        self.requests, self.period = rate
        self._history: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, address: str) -> float | None:
        """Seconds until the next request is allowed, or ``None`` (and count this one)."""
        now = time.monotonic()
        with self._lock:
            history = self._history.setdefault(address, deque())
            while history and history[0] <= now - self.period:
                history.popleft()
            if len(history) >= self.requests:
                return self.period - (now - history[0])
            history.append(now)
            return None


class RequestLog:
    """Appends one JSON line per request to ``requests.jsonl`` in the data directory:
    ``time, method, path, query, status, headers`` and ``fault`` (the id of the
    injected fault, or null). A request dropped before any answer has status 0."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, environ: WSGIEnvironment, status: str, fault: int | None = None) -> None:
        headers = {
            key[5:].replace("_", "-").title(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").title()] = str(environ[key])
        entry = {
            "time": time.time(),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING", ""),
            "status": int(status.split(" ", 1)[0]),
            "headers": headers,
            "fault": fault,
        }
        line = json.dumps(entry) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)


class RegistryApp:
    """Routes requests to the registry and library handlers, one shared store."""

    def __init__(self, store: Store, config: ServerConfig) -> None:
        self.store = store
        self.config = config
        self.routes: list[Route] = [
            Route("/api/", ("GET",), self.api_root),
            *registry_api.ROUTES,
            *registry_push.ROUTES,
            *library_api.ROUTES,
            *library_tags.ROUTES,
            *library_upload.ROUTES,
        ]
        self.url_map = Map(
            [Rule(r.rule, methods=list(r.methods), endpoint=i) for i, r in enumerate(self.routes)]
        )
        self.throttle = Throttle(config.throttle) if config.throttle else None
        self.request_log = RequestLog(store.data_dir / "requests.jsonl")

    def api_root(self, ctx: Context) -> Response:
        """This document: the OpenAPI description of every route served."""
        return json_response(openapi.document(self.routes, ctx.base_url, self.config.api_version))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        fault = None
        with self.store.read() as db:
            pending = db.execute("SELECT 1 FROM faults WHERE remaining > 0 LIMIT 1").fetchone()
        if pending is not None:
            with self.store.write() as db:
                fault = take_fault(db, method, path)
        fault_id = fault.id if fault is not None else None

        def logged_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            self.request_log.write(environ, status, fault_id)
            return start_response(status, headers, exc_info)

        if fault is None:
            return self.dispatch(environ, logged_start_response)
        log.info("fault %s applied to %s %s", fault.id, method, path)
        try:
            return apply_fault(fault, self.dispatch, environ, logged_start_response)
        except InjectedDrop:
            self.request_log.write(environ, "0 dropped", fault_id)
            raise

    def dispatch(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:  # noqa: PLR0911 - one early answer per protocol check
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, arguments = adapter.match()
        except RequestRedirect as redirect:
            # Django's APPEND_SLASH answers 301 where Werkzeug would say 308.
            location = redirect.new_url
            if self.config.quirks.relative_redirects:
                parts = urlsplit(location)
                location = urlunsplit(("", "", parts.path, parts.query, ""))
            return Response(b"", status=301, headers={"Location": location})
        except MethodNotAllowed:
            if request.path.startswith(_DRF_PREFIXES):
                return detail(405, f'Method "{request.method}" not allowed.')
            return Response(b"", status=405)
        except NotFound:
            return not_found_html()
        route = self.routes[int(endpoint)]
        if route.drf and self.throttle is not None:
            wait = self.throttle.wait(request.remote_addr or "")
            if wait is not None:
                seconds = math.ceil(wait)
                response = detail(
                    429, f"Request was throttled. Expected available in {seconds} seconds."
                )
                response.headers["Retry-After"] = str(seconds)
                return response
        try:
            return route.handler(Context(request, self.store, self.config), **arguments)
        except Exception:
            log.exception("error handling %s %s", request.method, request.path)
            return server_error()
