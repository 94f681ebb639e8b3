"""HMAC signing against the test vectors of legacy-client.md §2 / server-api.md §4.2."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from sregistry.errors import ConfigError
from sregistry.main.registry import auth, utils

TOKEN = "0123456789abcdef0123456789abcdef01234567"
WHEN = datetime(2026, 11, 26, 20, 44, 6, tzinfo=timezone.utc)
VECTORS = {
    "push": "cfd3fb1dd6b954a52a06ce7707f514d176be5c9a5e59d8cee6e2691269b8b10d",
    "upload": "25d24827d99942bf216b7532dab0f6c694c699b0c201e38210498ff735bf0c02",
    "pull": "67408fb5da2717943ad1e47a0997a41c28d8de1eaae105a5dbfaa8ec64a2592d",
    "delete": "2dfabf7d0c67fbc84508859f9e9f190305a0fc2e347d8b5f3de10f6eb2fbd8b4",
}


def test_timestamp_is_utc_hour() -> None:
    assert utils.generate_timestamp(WHEN) == "20261126T20Z"
    chicago = WHEN.astimezone(timezone(timedelta(hours=-6)))
    assert utils.generate_timestamp(chicago) == "20261126T20Z"
    assert re.fullmatch(r"\d{8}T\d{2}Z", auth.generate_timestamp())


def test_credential_is_padded_base64() -> None:
    assert utils.generate_credential("vsoch") == "dnNvY2g="


@pytest.mark.parametrize(("kind", "signature"), sorted(VECTORS.items()))
def test_signature_vectors(kind: str, signature: str) -> None:
    payload = utils.generate_payload(
        kind, "dinosaur-collection", "20261126T20Z", "busybox", "latest"
    )
    assert payload == f"{kind}|dinosaur-collection|20261126T20Z|busybox|latest|"
    assert utils.generate_signature(payload, TOKEN) == signature
    assert utils.generate_signature(payload.encode(), TOKEN.encode()) == signature


@pytest.mark.parametrize(("kind", "signature"), sorted(VECTORS.items()))
def test_authorization_header(kind: str, signature: str) -> None:
    header = auth.authorization_header(
        kind, "vsoch", TOKEN, "dinosaur-collection", "busybox", "latest", now=WHEN
    )
    assert header == (
        f"SREGISTRY-HMAC-SHA256 Credential={kind}/dnNvY2g=/20261126T20Z,Signature={signature}"
    )


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError, match="unknown signature kind"):
        auth.authorization_header("build2", "vsoch", TOKEN, "c", "n", "t")


def test_username_whose_base64_has_a_slash_is_refused() -> None:
    assert "/" in utils.generate_credential("ÿÿÿ")
    with pytest.raises(ConfigError, match="base64"):
        auth.authorization_header("push", "ÿÿÿ", TOKEN, "c", "n", "t")


def test_legacy_header_signature_form() -> None:
    header = utils.generate_header_signature(TOKEN, "push|c|t|n|t|", "push")
    assert re.fullmatch(
        r"SREGISTRY-HMAC-SHA256 Credential=push/\d{8}T\d{2}Z,Signature=[0-9a-f]{64}", header
    )


def test_server_import_paths_are_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sregistry.main.registry.auth import generate_timestamp\n"
        "from sregistry.main.registry.utils import generate_timestamp as g2\n"
        "from sregistry.utils import parse_image_name, get_file_hash, read_json\n"
        "heavy = {'requests', 'rich', 'click', 'keyring', 'spython', 'yaml'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert generate_timestamp is g2\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
