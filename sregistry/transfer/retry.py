"""When to try an HTTP request again, and how long to wait first.

Only idempotent requests are retried on failures that may have reached the
server; a failure to connect (nothing was sent) may be retried for any method.
Delays grow exponentially up to a cap; a server's ``Retry-After`` is honoured
when it is not longer than :attr:`RetryPolicy.max_retry_after`.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

__all__ = ["IDEMPOTENT_METHODS", "RETRY_STATUSES", "RetryPolicy", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with capped exponential backoff."""

    attempts: int = 4
    """Tries in total, the first one included (1 disables retries)."""
    backoff: float = 0.5
    """Delay before the second try; doubled for each further one."""
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    """A ``Retry-After`` longer than this is not waited for: the answer is returned."""
    statuses: frozenset[int] = RETRY_STATUSES
    methods: frozenset[str] = IDEMPOTENT_METHODS

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        return float(min(self.max_backoff, self.backoff * (2 ** (attempt - 1))))

    def status_delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retrying a retryable status, or ``None`` not to retry."""
        if attempt >= self.attempts:
            return None
        if retry_after is None:
            return self.backoff_delay(attempt)
        if retry_after > self.max_retry_after:
            return None
        return max(0.0, retry_after)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
