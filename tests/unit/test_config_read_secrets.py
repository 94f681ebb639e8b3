"""`read_secrets`: tolerant of absence and emptiness, strict and discreet otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from sregistry.config import read_secrets
from sregistry.errors import ConfigError

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def test_invalid_utf8_names_the_path_without_content(tmp_path: Path) -> None:
    path = tmp_path / ".sregistry"
    path.write_bytes(b'{"registry": {"token": "' + TOKEN.encode() + b'\xff"}}')
    with pytest.raises(ConfigError) as caught:
        read_secrets(path)
    text = f"{caught.value} {caught.value.hint}"
    assert str(path) in text
    assert TOKEN not in text
    assert "0xff" not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
