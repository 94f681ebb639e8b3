"""Backend for Singularity Registry Server's registry API (``/api``, HMAC-signed).

Import-light on purpose: the server imports :mod:`.auth` from this package.
The client lives in :mod:`sregistry.main.registry.client`.
"""
