"""One HTTP session per client: timeouts, retries, redirects, TLS, errors.

:class:`Transport` wraps a :class:`requests.Session` and is the only code that
sends requests. It knows HTTP, not any registry protocol: callers turn the
responses it returns into results or errors.

* every request has a finite ``(connect, read)`` timeout;
* retries are bounded (:class:`~sregistry.transfer.retry.RetryPolicy`):
  idempotent requests on connection failures, resets, timeouts and
  408/429/502/503/504, other methods only when nothing was sent; an ``auth``
  object is applied again on each try, so a signature is made afresh;
* redirects are followed by hand for GET and HEAD, and credentials
  (``auth`` and any ``Authorization`` header) never follow a redirect to
  another origin;
* cookies are never stored; TLS is verified unless ``verify=False``.
"""

from __future__ import annotations

import http.client
import logging
import os
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import requests.auth
import requests.utils
import urllib3.exceptions

from sregistry import __version__
from sregistry.errors import ConfigError, TransferError
from sregistry.origin import same_origin
from sregistry.transfer.retry import RetryPolicy, parse_retry_after

__all__ = [
    "DEADLINE_ENV",
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "TIMEOUT_ENV",
    "Timeout",
    "Transport",
    "describe",
    "make_session",
    "user_agent",
]

log = logging.getLogger("sregistry.transfer")

TIMEOUT_ENV = "SREGISTRY_TIMEOUT"
MAX_ANSWER = 16 << 20
"""Bytes of an answer that is not a download kept (an error page, a JSON document)."""
DEADLINE_ENV = "SREGISTRY_DEADLINE"
DEFAULT_DEADLINE = 300.0
"""Seconds one request may wait for an answer, all its tries and pauses included."""
MAX_REDIRECTS = 10
Body = bytes | str | Iterable[bytes] | Mapping[str, Any] | None


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait to connect (and, while sending a body, for the socket to
    accept more) and for each read of the answer."""

    connect: float = 30.0
    read: float = 120.0

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)

    @classmethod
    def resolve(
        cls,
        value: Timeout | float | tuple[float, float] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Timeout:
        """From an option, else ``$SREGISTRY_TIMEOUT`` (``READ`` or ``CONNECT,READ``
        seconds), else the defaults."""
        if isinstance(value, Timeout):
            return value
        if isinstance(value, tuple):
            return cls._checked(float(value[0]), float(value[1]), "timeout")
        if isinstance(value, int | float):
            return cls._checked(min(cls.connect, float(value)), float(value), "timeout")
        env = os.environ if env is None else env
        text = env.get(TIMEOUT_ENV, "").strip()
        if not text:
            return cls()
        try:
            numbers = [float(part) for part in text.split(",")]
        except ValueError:
            numbers = []
        if len(numbers) == 1:
            return cls._checked(min(cls.connect, numbers[0]), numbers[0], TIMEOUT_ENV)
        if len(numbers) == 2:
            return cls._checked(numbers[0], numbers[1], TIMEOUT_ENV)
        raise ConfigError(
            f"{TIMEOUT_ENV}={text!r} is not a timeout",
            hint="give seconds to read (e.g. 120) or connect,read (e.g. 10,120)",
        )

    @classmethod
    def _checked(cls, connect: float, read: float, where: str) -> Timeout:
        if not (connect > 0 and read > 0) or connect == float("inf") or read == float("inf"):
            raise ConfigError(f"the {where} must be a finite number of seconds above 0")
        return cls(connect, read)


DEFAULT_TIMEOUT = Timeout()


def resolve_deadline(value: float | None = None, env: Mapping[str, str] | None = None) -> float:
    """From an option, else ``$SREGISTRY_DEADLINE`` (seconds), else :data:`DEFAULT_DEADLINE`."""
    where = "deadline"
    if value is None:
        text = (os.environ if env is None else env).get(DEADLINE_ENV, "").strip()
        if not text:
            return DEFAULT_DEADLINE
        where = DEADLINE_ENV
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(
                f"{DEADLINE_ENV}={text!r} is not a number of seconds", hint="e.g. 300"
            ) from None
    if not 0 < value < float("inf"):
        raise ConfigError(f"the {where} must be a finite number of seconds above 0")
    return float(value)


def _seconds(value: float) -> str:
    return "1 second" if round(value) == 1 else f"{value:.0f} seconds"


def _tries(count: int) -> str:
    return "1 try" if count == 1 else f"{count} tries"


def user_agent() -> str:
    """``sregistry/<version> python-requests/<version>``."""
    return f"sregistry/{__version__} python-requests/{requests.__version__}"


def make_session(*, verify: bool | str = True) -> requests.Session:
    """A session with our User-Agent, TLS setting and no cookie storage."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent()
    session.verify = verify
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


def redact(url: str) -> str:
    """The URL without its query string (which may hold signatures)."""
    parts = urlsplit(url)
    return parts._replace(query="", fragment="").geturl()


@dataclass(frozen=True)
class _Failure:
    error: TransferError | ConfigError
    transient: bool
    nothing_sent: bool


def _reason(exc: BaseException) -> BaseException:
    """The urllib3 cause inside a requests exception."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    if isinstance(inner, urllib3.exceptions.MaxRetryError) and inner.reason is not None:
        return inner.reason
    return inner


def classify(exc: requests.exceptions.RequestException, where: str) -> _Failure:
    """Turn a requests exception into our error, and say whether to retry."""
    return _classify_request(exc, where) or _classify_connection(exc, where)


def _classify_request(exc: requests.exceptions.RequestException, where: str) -> _Failure | None:
    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure(_tls_error(exc, where), transient=False, nothing_sent=True)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _Failure(
            TransferError(
                f"cannot connect to {where}: timed out",
                hint=f"check the registry URL and your network, or raise {TIMEOUT_ENV}",
                url=where,
            ),
            transient=True,
            nothing_sent=True,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _Failure(
            TransferError(
                f"{where} did not answer in time",
                hint=f"the server may be overloaded; raise {TIMEOUT_ENV} (seconds) to wait longer",
                url=where,
            ),
            transient=True,
            nothing_sent=False,
        )
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return _Failure(
            ConfigError(f"invalid URL {where}: {exc}"), transient=False, nothing_sent=True
        )
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return _Failure(
            ConfigError(f"unsupported URL {where}: use http:// or https://"),
            transient=False,
            nothing_sent=True,
        )
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (requests -> urllib3 -> ssl/socket), outermost first."""
    found = [exc]
    while len(found) < 8:
        inner = _reason(found[-1])
        if inner is found[-1]:
            inner = found[-1].__cause__ or found[-1].__context__ or inner
        if inner is found[-1] or inner in found:
            break
        found.append(inner)
    return found


def _tls_error(exc: BaseException, where: str) -> TransferError:
    """A failed certificate check (with CA advice), or another TLS failure."""
    cause = next((c for c in _chain(exc) if isinstance(c, ssl.SSLCertVerificationError)), None)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return TransferError(
            f"TLS verification failed for {where}: {cause.verify_message or cause.reason}",
            hint="point REQUESTS_CA_BUNDLE at your site's CA bundle, or turn verification off "
            "(SREGISTRY_HTTPS_NOVERIFY=1) only if you trust the network",
            url=where,
        )
    return TransferError(
        f"the TLS handshake with {where} failed: {_short(_reason(exc))}",
        hint="check the URL's scheme (https:// or http://) and port",
        url=where,
    )


def _classify_connection(exc: requests.exceptions.RequestException, where: str) -> _Failure:
    reason = _reason(exc)
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        host = urlsplit(where).hostname
        return _Failure(
            TransferError(
                f"cannot resolve the host name {host!r}",
                hint="check the server URL",
                url=where,
            ),
            transient=False,
            nothing_sent=True,
        )
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return _Failure(
            TransferError(
                f"cannot connect to {where}: {_short(reason)}",
                hint="check the server URL and that the server is up",
                url=where,
            ),
            transient=True,
            nothing_sent=True,
        )
    return _Failure(
        TransferError(f"the connection to {where} failed: {describe(exc)}", url=where),
        transient=True,
        nothing_sent=False,
    )


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "]" in text and "Errno" in text:
        text = text.rsplit("]", 1)[-1].strip() or text
    if ": " in text and text.startswith(("<", "HTTPConnection", "HTTPSConnection")):
        text = text.split(": ", 1)[1]
    return text


def _innermost(exc: BaseException) -> BaseException:
    """Unwrap requests -> urllib3 -> socket-level causes."""
    current = _reason(exc)
    for _ in range(5):
        if isinstance(current, urllib3.exceptions.ProtocolError) and len(current.args) > 1:
            inner = current.args[1]
            if isinstance(inner, BaseException):
                current = inner
                continue
        break
    return current


def describe(exc: BaseException) -> str:
    """A short reason for a failed exchange, e.g. ``the connection was reset``."""
    cause = _innermost(exc)
    if isinstance(cause, http.client.IncompleteRead):
        got = len(cause.partial) if isinstance(cause.partial, bytes) else int(cause.partial)
        missing = f", {cause.expected} missing" if cause.expected is not None else ""
        return f"the connection closed early ({got} bytes of the answer received{missing})"
    if isinstance(cause, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(cause, ConnectionResetError):
        return "the connection was reset"
    if isinstance(cause, BrokenPipeError):
        return "the server closed the connection while the request was being sent"
    if isinstance(cause, TimeoutError | urllib3.exceptions.ReadTimeoutError):
        return "no data arrived in time"
    return _short(cause)


class Transport:
    """Sends requests through one session with the policies above.

    ``sleep`` is injectable so tests need not wait.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        verify: bool | str = True,
        timeout: Timeout | float | tuple[float, float] | None = None,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,
    ) -> None:
        self._owns_session = session is None
        self.session = session if session is not None else make_session(verify=verify)
        default_agent = requests.utils.default_user_agent()
        self._agent = (
            {"User-Agent": user_agent()}
            if self.session.headers.get("User-Agent") == default_agent
            else {}
        )
        """Our User-Agent for a caller's session that has only requests' own."""
        self.verify = verify
        self.timeout = Timeout.resolve(timeout, env)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.deadline = resolve_deadline(deadline, env)
        """Seconds one request may wait for an answer, all its tries and pauses included."""

    def _read_answer(self, response: requests.Response, first: float, where: str) -> None:
        """Read an answer that is not a download: at most :data:`MAX_ANSWER` bytes (the rest
        is dropped, with the connection) and not past the request's deadline."""
        kept = bytearray()
        whole = True
        try:
            for block in response.raw.stream(1 << 16, decode_content=True):
                kept += block
                if len(kept) > MAX_ANSWER:
                    whole = False
                    log.debug("%s: answer cut at %d bytes", where, MAX_ANSWER)
                    break
                if time.monotonic() - first > self.deadline:
                    raise self.gave_up(where, first, 1, "the answer never ended")
        except urllib3.exceptions.ReadTimeoutError as exc:
            response.close()
            raise requests.exceptions.ReadTimeout(exc) from exc
        except urllib3.exceptions.HTTPError as exc:
            response.close()
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        except BaseException:
            response.close()
            raise
        response._content = bytes(kept[:MAX_ANSWER])
        response._content_consumed = True  # type: ignore[attr-defined]
        if whole:
            response.raw.release_conn()
        else:
            response.close()

    def within_deadline(self, timeout: Timeout, started: float) -> Timeout:
        """``timeout`` shortened so that a try cannot outlast the deadline of a
        request that began at ``started`` (``time.monotonic()``)."""
        left = max(0.05, self.deadline - (time.monotonic() - started))
        return Timeout(min(timeout.connect, left), min(timeout.read, left))

    def gave_up(self, where: str, started: float, tries: int, reason: str) -> TransferError:
        """The error for a request that ran out of time."""
        waited = time.monotonic() - started
        return TransferError(
            f"no answer from {where}: gave up after waiting {_seconds(waited)} over "
            f"{_tries(tries)} ({reason})",
            hint=f"the deadline is {_seconds(self.deadline)}: set another with --deadline or "
            f"{DEADLINE_ENV}",
            url=where,
        )

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self._owns_session:
            self.session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        auth: requests.auth.AuthBase | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Body | Callable[[], Body] = None,
        stream: bool = False,
        timeout: Timeout | None = None,
        retry: bool | None = None,
        follow_redirects: bool | None = None,
        log_as: str | None = None,
    ) -> requests.Response:
        """Send one request (with retries and redirects) and return the final answer.

        ``data`` may be a zero-argument callable building a fresh body for each
        try. ``retry`` overrides whether failures after sending are retried
        (default: for idempotent methods). Redirects are followed for GET and
        HEAD unless ``follow_redirects`` says otherwise. ``log_as`` replaces
        the URL in logs and errors (for URLs carrying secrets). Raises
        :class:`~sregistry.errors.TransferError` when no answer arrives.
        """
        method = method.upper()
        follow = method in {"GET", "HEAD"} if follow_redirects is None else follow_redirects
        start = url
        sent_headers = {**self._agent, **(headers or {})}
        history: list[requests.Response] = []
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send_with_retries(
                method,
                url,
                auth=auth,
                headers=sent_headers,
                params=params,
                json=json,
                data=data,
                stream=stream,
                timeout=timeout or self.timeout,
                retry=retry,
                log_as=log_as,
            )
            if not (follow and response.is_redirect):
                response.history = history
                return response
            target = urljoin(response.url or url, response.headers["Location"])
            response.close()
            history.append(response)
            if (auth is not None or _has_auth(sent_headers)) and not same_origin(target, start):
                log.debug("redirected to another origin: not sending credentials there")
                auth = None
                sent_headers = {k: v for k, v in sent_headers.items() if not _is_auth(k)}
            url, params, log_as = target, None, None
        raise TransferError(
            f"more than {MAX_REDIRECTS} redirects from {log_as or redact(url)}", url=redact(url)
        )

    def _send_with_retries(
        self,
        method: str,
        url: str,
        *,
        auth: requests.auth.AuthBase | None,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
        json: Any,
        data: Body | Callable[[], Body],
        stream: bool,
        timeout: Timeout,
        retry: bool | None,
        log_as: str | None,
    ) -> requests.Response:
        where = log_as or redact(url)
        retryable = method in self.retry.methods if retry is None else retry
        attempt = 0
        first = time.monotonic()
        while True:
            attempt += 1
            body = data() if callable(data) else data
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    auth=auth,
                    headers=headers,
                    params=params,
                    json=json,
                    data=body,
                    stream=True,
                    timeout=self.within_deadline(timeout, first).as_tuple(),
                    verify=self.verify,
                    allow_redirects=False,
                )
                if not stream:
                    self._read_answer(response, first, where)
            except requests.exceptions.RequestException as exc:
                failure = classify(exc, where)
                may_retry = failure.transient and (failure.nothing_sent or retryable)
                log.debug("%s %s failed (try %d): %s", method, where, attempt, failure.error)
                pause = self.retry.backoff_delay(attempt)
                out_of_time = time.monotonic() - first + pause >= self.deadline
                if may_retry and attempt < self.retry.attempts and not out_of_time:
                    self.sleep(pause)
                    continue
                if out_of_time and failure.transient:
                    raise self.gave_up(where, first, attempt, failure.error.message) from exc
                raise failure.error from exc
            log.debug(
                "%s %s -> %d (%.2fs)",
                method,
                where,
                response.status_code,
                time.monotonic() - started,
            )
            if retryable and response.status_code in self.retry.statuses:
                delay = self.retry.status_delay(
                    attempt, parse_retry_after(response.headers.get("Retry-After"))
                )
                if delay is not None and time.monotonic() - first + delay < self.deadline:
                    response.close()
                    log.debug("retrying %s %s in %.1fs", method, where, delay)
                    self.sleep(delay)
                    continue
            return response


def _is_auth(name: str) -> bool:
    return name.lower() in {"authorization", "proxy-authorization", "cookie"}


def _has_auth(headers: Mapping[str, str]) -> bool:
    return any(_is_auth(name) for name in headers)
