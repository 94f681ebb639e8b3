"""`Secret` never shows its value except through `reveal()`; `Sourced` is plain data."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import sys
import traceback

import pytest

from sregistry.credentials import Secret, Sourced

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def test_reveal_is_the_only_way_to_the_value() -> None:
    secret = Secret(TOKEN)
    assert secret.reveal() == TOKEN
    for shown in (
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>60}",
        "%s %r" % (secret, secret),  # noqa: UP031 - %-formatting is what is tested
        "{}".format(secret),  # noqa: UP032
        json.dumps({"token": secret}, default=str),
        str([secret]),
        str({"t": secret}),
    ):
        assert TOKEN not in shown
        assert "****4567" in shown


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (TOKEN, "****4567"),
        ("abcdefghijkl", "****ijkl"),
        ("abcdefghijk", "****"),
        ("1234", "****"),
        ("x", "****"),
    ],
)
def test_masking_shows_at_most_the_last_four(value: str, masked: str) -> None:
    assert Secret(value).masked() == masked


def test_equality_and_hash_follow_the_value() -> None:
    assert Secret(TOKEN) == Secret(TOKEN)
    assert Secret(TOKEN) != Secret(TOKEN[:-1] + "8")
    assert Secret(TOKEN) != TOKEN  # a Secret is not a str
    assert len({Secret(TOKEN), Secret(TOKEN), Secret("other-token-value")}) == 2


def test_truthiness() -> None:
    assert Secret(TOKEN)
    assert not Secret("")


def test_not_a_str() -> None:
    with pytest.raises(TypeError):
        _ = "Bearer " + Secret(TOKEN)  # type: ignore[operator]
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_immutable_and_copies_share_the_instance() -> None:
    secret = Secret(TOKEN)
    with pytest.raises(AttributeError):
        secret.value = "x"
    assert copy.copy(secret) is secret
    assert copy.deepcopy({"s": secret})["s"] is secret


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling_is_refused(protocol: int) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(TOKEN), protocol=protocol)


def _fail_with_secret_in_locals() -> None:
    token = Secret(TOKEN)
    raise RuntimeError(f"could not use {token}")


def test_tracebacks_do_not_show_it() -> None:
    try:
        _fail_with_secret_in_locals()
    except RuntimeError:
        formatted = traceback.format_exc()
        exc_type, exc, tb = sys.exc_info()
        with_locals = "".join(
            traceback.TracebackException(
                exc_type,  # type: ignore[arg-type]
                exc,  # type: ignore[arg-type]
                tb,
                capture_locals=True,
            ).format()
        )
    assert "could not use ****4567" in formatted
    assert TOKEN not in formatted
    # tracebacks that print locals (pytest --showlocals, rich, TracebackException)
    assert "token = Secret('****4567')" in with_locals
    assert TOKEN not in with_locals


def test_logging_does_not_show_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("sregistry.test").debug("using %s / %r", Secret(TOKEN), Secret(TOKEN))
    assert TOKEN not in caplog.text
    assert "****4567" in caplog.text


def test_sourced_is_frozen_data() -> None:
    item = Sourced(Secret(TOKEN), "$SREGISTRY_REGISTRY_TOKEN")
    assert item.source == "$SREGISTRY_REGISTRY_TOKEN"
    assert TOKEN not in repr(item)
    with pytest.raises(AttributeError):
        item.value = Secret("x")  # type: ignore[misc]
