"""Origins and base URLs: the one place that decides whether two URLs are one server.

Properties over ports, default ports, trailing slashes, IPv6 literals, user
info and case; the redirect guard (:func:`same_origin`) and the credential
lookup (:meth:`BaseUrl.same_server`) both read these values.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sregistry.errors import ConfigError
from sregistry.origin import DEFAULT_PORTS, BaseUrl, Origin, same_origin

_schemes = st.sampled_from(["http", "https"])
_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
_dns = st.lists(_label, min_size=1, max_size=3).map(".".join).filter(lambda h: not h.isdigit())
_ipv4 = st.ip_addresses(v=4).map(str)
_ipv6 = st.ip_addresses(v=6).map(lambda a: a.compressed)
_hosts = st.one_of(_dns, _ipv4, _ipv6)
_ports = st.integers(min_value=1, max_value=65535)
_segment = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~",
    min_size=1,
    max_size=8,
).filter(lambda s: s not in {".", ".."})
_paths = st.lists(_segment, max_size=3).map(lambda parts: "".join(f"/{p}" for p in parts))
_userinfo = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=8)


def _netloc(host: str, port: int | None = None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


@st.composite
def _recased(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, flips, strict=True))


@given(_schemes, _hosts, _paths)
def test_the_default_port_is_no_port(scheme: str, host: str, path: str) -> None:
    explicit = f"{scheme}://{_netloc(host, DEFAULT_PORTS[scheme])}{path}"
    implicit = f"{scheme}://{_netloc(host)}{path}"
    assert Origin.of(explicit) == Origin.of(implicit)
    assert Origin.of(explicit).port is None
    assert Origin.of(explicit).effective_port == DEFAULT_PORTS[scheme]
    assert str(BaseUrl.parse(explicit)) == implicit
    assert same_origin(explicit, implicit)


@given(_schemes, _hosts, _ports, _ports)
def test_ports_tell_origins_apart(scheme: str, host: str, one: int, two: int) -> None:
    first = Origin.of(f"{scheme}://{_netloc(host, one)}/")
    second = Origin.of(f"{scheme}://{_netloc(host, two)}/")
    assert (first == second) == (one == two)
    assert first.effective_port == one


@given(_hosts, st.one_of(st.none(), _ports), _paths)
def test_the_scheme_splits_origins_not_servers(host: str, port: int | None, path: str) -> None:
    """A redirect from https to http drops the token; a token stored for https://host
    is still offered to http://host configured by the user (same host and port as
    written, same path)."""
    if port in DEFAULT_PORTS.values():
        port = None
    secure = BaseUrl.parse(f"https://{_netloc(host, port)}{path}")
    plain = BaseUrl.parse(f"http://{_netloc(host, port)}{path}")
    assert secure.origin != plain.origin
    assert not same_origin(str(secure), str(plain))
    assert secure.same_server(plain)


@given(_schemes, _hosts, _ports, _paths, st.integers(min_value=1, max_value=3))
def test_trailing_slashes_do_not_count(
    scheme: str, host: str, port: int, path: str, slashes: int
) -> None:
    text = f"{scheme}://{_netloc(host, port)}{path}"
    base = BaseUrl.parse(text)
    assert BaseUrl.parse(text + "/" * slashes) == base
    assert not str(base).endswith("/")
    assert BaseUrl.parse(str(base)) == base
    assert base.path == path


@given(_schemes, st.ip_addresses(v=6), st.one_of(st.none(), _ports), _paths)
def test_ipv6_literals_are_one_host_however_spelled(
    scheme: str, address: ipaddress.IPv6Address, port: int | None, path: str
) -> None:
    spellings = {address.exploded, address.compressed, address.compressed.upper()}
    origins = {Origin.of(f"{scheme}://{_netloc(s, port)}{path}") for s in spellings}
    assert len(origins) == 1
    (origin,) = origins
    assert origin.host == address.compressed
    shown_port = None if port == DEFAULT_PORTS[scheme] else port
    assert origin.netloc == _netloc(address.compressed, shown_port)
    assert Origin.of(str(origin)) == origin
    assert origin.named_by(_netloc(address.exploded, port))


@given(_schemes, _hosts, st.one_of(st.none(), _ports), _userinfo, _userinfo)
def test_user_info_is_never_identity_and_never_shown(
    scheme: str, host: str, port: int | None, user: str, word: str
) -> None:
    password = f"S3cret-{word}"
    netloc = _netloc(host, port)
    with_info = f"{scheme}://{user}:{password}@{netloc}/x"
    origin = Origin.of(with_info)
    assert origin == Origin.of(f"{scheme}://{netloc}/x")
    assert same_origin(with_info, f"{scheme}://{netloc}/y")
    assert password not in f"{origin} {origin!r} {origin.netloc}"
    with pytest.raises(ConfigError) as refused:
        BaseUrl.parse(with_info)
    assert password not in str(refused.value)


@given(st.data(), _schemes, _hosts, st.one_of(st.none(), _ports), _paths)
def test_scheme_and_host_ignore_case_the_path_does_not(
    data: st.DataObject, scheme: str, host: str, port: int | None, path: str
) -> None:
    front = f"{scheme}://{_netloc(host, port)}"
    shouted = data.draw(_recased(front))
    assert Origin.of(shouted + path) == Origin.of(front + path)
    assert BaseUrl.parse(shouted + path) == BaseUrl.parse(front + path)
    if path.lower() != path.upper():
        swapped = BaseUrl.parse(front + path.swapcase())
        assert swapped.origin == BaseUrl.parse(front + path).origin
        assert swapped != BaseUrl.parse(front + path)
        assert not swapped.same_server(BaseUrl.parse(front + path))


@given(_schemes, _hosts, _ports, _ports)
def test_a_reference_host_names_an_origin(scheme: str, host: str, port: int, other: int) -> None:
    origin = Origin.of(f"{scheme}://{_netloc(host, port)}")
    assert origin.named_by(origin.netloc)
    assert origin.named_by(origin.netloc.upper())
    assert origin.named_by(_netloc(host, other)) == (port == other)
    default = Origin.of(f"{scheme}://{_netloc(host)}")
    assert default.named_by(_netloc(host, DEFAULT_PORTS[scheme]))


@given(_schemes, _hosts, _ports, _paths, _paths)
def test_a_base_serves_its_origin_only(
    scheme: str, host: str, port: int, path: str, elsewhere: str
) -> None:
    base = BaseUrl.parse(f"{scheme}://{_netloc(host, port)}{path}")
    assert base.serves(f"{base}/v1/images{elsewhere}?arch=amd64")
    assert base.serves(f"{scheme}://{_netloc(host, port)}{elsewhere}")
    assert not base.serves(f"{scheme}://{_netloc(host, port % 65535 + 1)}{path}")
    assert not base.serves(f"{'http' if scheme == 'https' else 'https'}://{base.netloc}{path}")


@pytest.mark.parametrize(
    "url",
    ["ftp://h.org/", "https://", "/relative", "h.org", "https://h.org:99999/", "https://[::zz]/"],
)
def test_what_is_not_an_http_origin_is_never_the_same_origin(url: str) -> None:
    """The redirect guard fails closed: credentials are dropped when in doubt."""
    with pytest.raises(ConfigError):
        Origin.of(url)
    assert not same_origin(url, "https://h.org/")
    assert not same_origin("https://h.org/", url)


def test_base_urls_need_a_scheme_only_when_asked() -> None:
    assert str(BaseUrl.parse("h.org:8000/lib/")) == "https://h.org:8000/lib"
    assert str(BaseUrl.parse("h.org", default_scheme="http")) == "http://h.org"
    with pytest.raises(ConfigError, match="needs a scheme"):
        BaseUrl.parse("h.org", default_scheme=None)
    with pytest.raises(ConfigError, match="query or fragment"):
        BaseUrl.parse("https://h.org/?token=x")


def test_a_final_segment_is_dropped_only_when_it_is_whole() -> None:
    assert str(BaseUrl.parse("https://h.org/x/api/").without_suffix("api")) == "https://h.org/x"
    assert str(BaseUrl.parse("https://h.org/myapi").without_suffix("api")) == "https://h.org/myapi"
    assert str(BaseUrl.parse("https://api.org").without_suffix("api")) == "https://api.org"
