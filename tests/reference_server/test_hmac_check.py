"""The server-side HMAC verifier against the documented test vector."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sregistry.main.registry.auth import authorization_header
from tests.server.hmac_check import HmacError, parse_header, verify

TOKEN = "0123456789abcdef0123456789abcdef01234567"
WHEN = datetime(2026, 11, 26, 20, 44, 6, tzinfo=timezone.utc)
VECTOR = (
    "SREGISTRY-HMAC-SHA256 Credential=push/dnNvY2g=/20261126T20Z,"
    "Signature=cfd3fb1dd6b954a52a06ce7707f514d176be5c9a5e59d8cee6e2691269b8b10d"
)


def check(header: str | None, *, kind: str = "push", now: datetime = WHEN) -> str:
    return verify(
        header,
        kind=kind,
        collection="dinosaur-collection",
        name="busybox",
        tag="latest",
        token_of=lambda user: TOKEN if user == "vsoch" else None,
        now=now,
    )


def test_documented_vector_verifies() -> None:
    assert check(VECTOR) == "vsoch"
    assert parse_header(VECTOR).timestamp == "20261126T20Z"


def test_same_hour_is_accepted_next_hour_is_stale() -> None:
    assert check(VECTOR, now=WHEN.replace(minute=59, second=59)) == "vsoch"
    with pytest.raises(HmacError) as stale:
        check(VECTOR, now=WHEN + timedelta(hours=1))
    assert stale.value.reason == "stale"
    assert not stale.value.malformed


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("Bearer " + TOKEN, "malformed"),
        (VECTOR.replace(" ", "  "), "malformed"),
        (VECTOR.replace(",", ", "), "malformed"),
        (VECTOR.replace("dnNvY2g=", "not*base64"), "malformed"),
        (VECTOR.replace("push/", "push/x/"), "malformed"),
        (VECTOR.replace("Credential=push", "Credential=pull"), "kind"),
        (VECTOR.replace("dnNvY2g=", "Ym9i"), "user"),
        (VECTOR[:-1] + "0", "signature"),
    ],
)
def test_failures_have_reasons(header: str | None, reason: str) -> None:
    with pytest.raises(HmacError) as failure:
        check(header)
    assert failure.value.reason == reason
    assert failure.value.malformed == (reason in {"missing", "malformed"})


def test_client_header_round_trips_for_every_kind() -> None:
    for kind in ("push", "upload", "pull", "delete"):
        header = authorization_header(
            kind, "vsoch", TOKEN, "dinosaur-collection", "busybox", "latest", now=WHEN
        )
        assert check(header, kind=kind) == "vsoch"
