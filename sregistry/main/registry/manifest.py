"""The pull manifest: ``GET /api/container/<collection>/<name>:<tag>``, signed when we can.

The server parses ``Authorization`` only for private collections, so signing
every lookup costs nothing for public ones and saves the unsigned-then-signed
round trip sregistry-cli makes for private ones.
"""

from __future__ import annotations

import re
from typing import Any

from sregistry.errors import NotFound, ServerError
from sregistry.main.registry.api import Exchange, Op, interpret
from sregistry.main.registry.signing import Clock, HmacAuth, Signer
from sregistry.main.registry.urls import RegistryUrls
from sregistry.names import ImageName
from sregistry.transfer import Expected, Transport

__all__ = ["check_version", "expected_digest", "fetch_manifest"]

_SHA256 = re.compile(r"^sha256\.([0-9a-f]{64})$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")


def fetch_manifest(
    transport: Transport,
    urls: RegistryUrls,
    ref: ImageName,
    *,
    signer: Signer | None,
    clock: Clock,
) -> dict[str, Any]:
    """The container row of ``ref`` (``id, name, image, tag, version, frozen, metadata, ...``)."""
    auth = HmacAuth(signer, "pull", ref.collection, ref.name, ref.tag) if signer else None
    response = transport.request("GET", urls.container(ref), auth=auth)
    subject = f"{ref.collection}/{ref.name}:{ref.tag}"
    data = interpret(
        response,
        Exchange(
            Op.MANIFEST,
            subject,
            user=signer.username if signer else None,
            signed_at=auth.signed_at if auth else None,
            now=clock(),
        ),
    )
    if not isinstance(data, dict):
        raise ServerError(f"the registry described {subject} in an unexpected form")
    return data


def expected_digest(version: Any) -> Expected:
    """What a download must hash to, from the manifest's ``version``.

    ``sha256.<hex>`` once the server's worker ran; an md5 hex (nginx's) before;
    anything else (``None``, a freeze timestamp) cannot be checked.
    """
    text = str(version or "").lower()
    match = _SHA256.match(text)
    if match:
        return Expected(sha256=match.group(1))
    if _MD5.match(text):
        return Expected(md5=text)
    return Expected()


def check_version(ref: ImageName, version: Any) -> None:
    """``@version`` in a reference must be the version the registry reports for the tag.

    The registry API resolves tags only (it ignores ``@version``), so a
    mismatch means the tag now points at other bytes.
    """
    if ref.version is None:
        return
    wanted = ref.version.removeprefix("sha256.")
    have = str(version or "").lower().removeprefix("sha256.")
    if wanted != have:
        raise NotFound(
            f"{ref.collection}/{ref.name}:{ref.tag} is version {version or 'unknown'} on the "
            f"registry, not {ref.version}",
            hint="the registry finds images by tag only; pull without @version to get the "
            "current one",
        )
