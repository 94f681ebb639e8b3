"""Manifests, tags, the catalog and deletes (OCI Distribution API).

Every call takes a :class:`~sregistry.main.oras.session.RegistrySession` and a
repository; the answers pass through :func:`~sregistry.main.oras.api.interpret`.
Lists follow ``Link: <...>; rel="next"`` pages, with a bound and a guard
against a registry that sends the same page again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sregistry.errors import IntegrityError, ServerError
from sregistry.main.oras.api import Op
from sregistry.main.oras.auth import catalog_scope, repository_scope
from sregistry.main.oras.manifest import ACCEPT, MANIFEST_LIMIT, digest_of
from sregistry.main.oras.reference import is_digest

if TYPE_CHECKING:
    import requests

    from sregistry.main.oras.session import RegistrySession

__all__ = [
    "MAX_PAGES",
    "PAGE_SIZE",
    "FetchedManifest",
    "catalog",
    "delete_manifest",
    "get_manifest",
    "put_manifest",
    "resolve_digest",
    "tags",
]

PAGE_SIZE = 100
MAX_PAGES = 10_000
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)


@dataclass(frozen=True)
class FetchedManifest:
    """A manifest's bytes as the registry sent them."""

    data: bytes
    media_type: str | None
    digest: str
    """sha256 of ``data`` (checked against the digest asked for and the registry's header)."""


def _subject(session: RegistrySession, repository: str, reference: str) -> str:
    separator = "@" if is_digest(reference) else ":"
    return f"oras://{session.registry}/{repository}{separator}{reference}"


def put_manifest(
    session: RegistrySession, repository: str, reference: str, data: bytes, media_type: str
) -> str:
    """``PUT`` a manifest under a tag (or its digest); returns its digest."""
    digest = digest_of(data)
    subject = _subject(session, repository, reference)
    response = session.send(
        "PUT",
        f"/v2/{repository}/manifests/{reference}",
        op=Op.MANIFEST_PUT,
        subject=subject,
        scopes=[repository_scope(repository, "pull", "push")],
        expect=(201,),
        headers={"Content-Type": media_type},
        data=data,
    )
    response.close()
    said = response.headers.get("Docker-Content-Digest")
    if said and said != digest:
        raise IntegrityError(f"the registry stored {subject} as {said}, not {digest}")
    return digest


def _read_manifest(response: requests.Response, subject: str) -> bytes:
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MANIFEST_LIMIT:
        response.close()
        raise ServerError(f"the manifest of {subject} is larger than {MANIFEST_LIMIT} bytes")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_content(65536):
        total += len(chunk)
        if total > MANIFEST_LIMIT:
            response.close()
            raise ServerError(f"the manifest of {subject} is larger than {MANIFEST_LIMIT} bytes")
        chunks.append(chunk)
    response.close()
    return b"".join(chunks)


def get_manifest(session: RegistrySession, repository: str, reference: str) -> FetchedManifest:
    """``GET`` a manifest or index by tag or digest, verified when fetched by digest."""
    subject = _subject(session, repository, reference)
    response = session.send(
        "GET",
        f"/v2/{repository}/manifests/{reference}",
        op=Op.MANIFEST_GET,
        subject=subject,
        scopes=[repository_scope(repository, "pull")],
        headers={"Accept": ACCEPT},
        stream=True,
    )
    data = _read_manifest(response, subject)
    digest = digest_of(data)
    said = response.headers.get("Docker-Content-Digest")
    expected = reference if is_digest(reference) else said if said and is_digest(said) else None
    if expected is not None and expected != digest:
        raise IntegrityError(
            f"the manifest of {subject} has digest {digest}, expected {expected}",
            hint="the registry or a proxy altered it; try again",
        )
    return FetchedManifest(data, response.headers.get("Content-Type"), digest)


def resolve_digest(session: RegistrySession, repository: str, reference: str) -> str:
    """The digest a tag points at (``HEAD``; a ``GET`` when the registry does not say)."""
    if is_digest(reference):
        return reference
    response = session.send(
        "HEAD",
        f"/v2/{repository}/manifests/{reference}",
        op=Op.MANIFEST_GET,
        subject=_subject(session, repository, reference),
        scopes=[repository_scope(repository, "pull")],
        headers={"Accept": ACCEPT},
    )
    response.close()
    said = response.headers.get("Docker-Content-Digest")
    if said and is_digest(said):
        return said
    return get_manifest(session, repository, reference).digest


def delete_manifest(session: RegistrySession, repository: str, reference: str) -> str:
    """Delete the manifest a tag or digest names (by digest); returns the digest."""
    digest = resolve_digest(session, repository, reference)
    response = session.send(
        "DELETE",
        f"/v2/{repository}/manifests/{digest}",
        op=Op.DELETE,
        subject=_subject(session, repository, reference),
        scopes=[repository_scope(repository, "delete")],
        expect=(200, 202, 204),
    )
    response.close()
    return digest


def _pages(
    session: RegistrySession, first: str, *, key: str, op: Op, subject: str, scope: str
) -> Iterator[str]:
    url: str | None = first
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        if url is None or url in seen:
            return
        seen.add(url)
        response = session.send("GET", url, op=op, subject=subject, scopes=[scope])
        try:
            data = response.json()
        except ValueError:
            raise ServerError(f"the registry's answer to list {subject} is not JSON") from None
        finally:
            response.close()
        items = data.get(key) if isinstance(data, dict) else None
        if items is not None and not isinstance(items, list):
            raise ServerError(f"the registry's answer to list {subject} has no {key} list")
        yield from (item for item in items or [] if isinstance(item, str))
        match = _LINK_NEXT.search(response.headers.get("Link", ""))
        url = session.url(match.group(1)) if match else None
    raise ServerError(f"the registry sent more than {MAX_PAGES} pages for {subject}")


def tags(session: RegistrySession, repository: str, *, page_size: int = PAGE_SIZE) -> list[str]:
    """Every tag of ``repository``, following ``Link`` pages."""
    subject = f"oras://{session.registry}/{repository}"
    return list(
        _pages(
            session,
            f"/v2/{repository}/tags/list?n={page_size}",
            key="tags",
            op=Op.TAGS,
            subject=subject,
            scope=repository_scope(repository, "pull"),
        )
    )


def catalog(session: RegistrySession, *, page_size: int = PAGE_SIZE) -> list[str]:
    """Every repository of the registry (many hosted registries refuse this)."""
    return list(
        _pages(
            session,
            f"/v2/_catalog?n={page_size}",
            key="repositories",
            op=Op.CATALOG,
            subject=f"oras://{session.registry}",
            scope=catalog_scope(),
        )
    )
