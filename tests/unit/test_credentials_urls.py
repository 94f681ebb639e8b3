"""Base URL rules: one key per server for the keyring and comparisons."""

from __future__ import annotations

import pytest

from sregistry.credentials import library_base, registry_base, same_server
from sregistry.errors import ConfigError


@pytest.mark.parametrize(
    ("given", "options", "expected"),
    [
        ("https://Sreg.Example.org/", {}, "https://sreg.example.org"),
        ("HTTPS://sreg.example.org:443", {}, "https://sreg.example.org"),
        ("http://sreg.example.org:80/", {}, "http://sreg.example.org"),
        ("sreg.example.org", {}, "https://sreg.example.org"),
        ("sreg.example.org:8000", {"nohttps": True}, "http://sreg.example.org:8000"),
        ("https://sreg.example.org/api", {"strip_api": True}, "https://sreg.example.org"),
        ("https://sreg.example.org/api/", {"strip_api": True}, "https://sreg.example.org"),
        ("https://sreg.example.org/api", {}, "https://sreg.example.org/api"),
        ("https://h.org/prefix/api", {"strip_api": True}, "https://h.org/prefix"),
        ("https://api.example.org/api", {"strip_api": True}, "https://api.example.org"),
        ("https://[::1]:8000", {}, "https://[::1]:8000"),
        ("  https://h.org  ", {}, "https://h.org"),
    ],
)
def test_normalize(given: str, options: dict[str, bool], expected: str) -> None:
    """``strip_api`` is the registry's rule; a library base keeps its path."""
    if options.pop("strip_api", False) or options:
        assert str(registry_base(given, **options)) == expected
    else:
        assert str(library_base(given)) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "ftp://h.org",
        "https://",
        "https://h.org?x=1",
        "https://h.org#f",
        "https://h:99999",
    ],
)
def test_rejects(bad: str) -> None:
    with pytest.raises(ConfigError):
        library_base(bad)
    with pytest.raises(ConfigError):
        registry_base(bad)


def test_user_info_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError) as caught:
        registry_base("https://vsoch:s3cretpassword@h.org")
    assert "s3cretpassword" not in str(caught.value)


def test_same_server_ignores_scheme_and_default_ports() -> None:
    assert same_server("library", "https://h.org", "http://h.org/")
    assert same_server("library", "https://h.org:8000", "h.org:8000")
    assert same_server("registry", "https://h.org", "https://h.org/api")
    assert not same_server("library", "https://h.org", "https://h.org/api")
    assert not same_server("library", "https://h.org", "https://other.org")
    assert not same_server("library", "https://h.org:8000", "https://h.org:8001")
    assert not same_server("library", "https://h.org", "ftp://h.org")
