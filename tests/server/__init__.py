"""A reference Singularity Registry Server for tests: both client APIs, one store.

Start it with ``python -m tests.server --data DIR --user NAME:TOKEN`` (it prints
its base URL on the first stdout line) or through the ``registry_server`` /
``make_registry_server`` fixtures of :mod:`tests.server.pytest_plugin`.

It speaks the registry API (``/api``, HMAC-signed push/pull/delete) and the
library API (``/version``, ``/v1``, ``/v2``, Bearer tokens) as described in
``docs/server-api.md`` and ``docs/library-api.md``: the wire formats and
status codes a client must tolerate are reproduced (R1-R22), the real
server's crashes and security holes are not (B1-B19 behave as intended).

Modules: :mod:`.config` (switches), :mod:`.store` (SQLite schema, records,
connections), :mod:`.queries`, :mod:`.blobs` (image files and hashing),
:mod:`.hmac_check`, :mod:`.context` (per-request state, credentials, signed
URLs), :mod:`.wire` (response formats), :mod:`.faults` (fault injection),
:mod:`.app` (routing), :mod:`.registry_api`, :mod:`.registry_push`,
:mod:`.library_api`, :mod:`.library_tags`, :mod:`.library_upload`,
:mod:`.openapi`, :mod:`.__main__` (the process) and :mod:`.pytest_plugin`
(fixtures).
"""
