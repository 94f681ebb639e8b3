"""The one place HTTP bytes move.

* :mod:`.http`: :class:`Transport` (one session, timeouts, bounded retries,
  credential-safe redirects, TLS) and :class:`Timeout`;
* :mod:`.bodies`: upload bodies streamed from disk with progress;
* :mod:`.download`: verified, resumable, atomic downloads;
* :mod:`.hashing`: digests computed while bytes stream.

Nothing here knows a registry's URLs or status-code conventions: backends
build the requests and interpret the answers.
"""

from __future__ import annotations

from sregistry.transfer.bodies import BLOCK_SIZE, FileBody, MultipartBody, SourceError
from sregistry.transfer.download import Download, Downloaded, Expected, download, place
from sregistry.transfer.hashing import Digests, make_hasher
from sregistry.transfer.http import Timeout, Transport, make_session, user_agent
from sregistry.transfer.retry import RetryPolicy

__all__ = [
    "BLOCK_SIZE",
    "Digests",
    "Download",
    "Downloaded",
    "Expected",
    "FileBody",
    "MultipartBody",
    "RetryPolicy",
    "SourceError",
    "Timeout",
    "Transport",
    "download",
    "make_hasher",
    "make_session",
    "place",
    "user_agent",
]
