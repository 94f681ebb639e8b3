"""library:// reference parsing: examples, errors and a round-trip property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sregistry.errors import InvalidName
from sregistry.main.library.refs import LibraryRef, is_hash_tag, parse_library_ref

HEX = "e1" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("library://alice/demo/hello", LibraryRef("hello", "demo", "alice")),
        ("alice/demo/hello:v1", LibraryRef("hello", "demo", "alice", ("v1",))),
        ("library://alpine", LibraryRef("alpine")),
        ("library://default/alpine:3.8", LibraryRef("alpine", "default", tags=("3.8",))),
        (
            "library://alice/demo/hello:v1,latest",
            LibraryRef("hello", "demo", "alice", ("v1", "latest")),
        ),
        (
            f"library://alice/demo/hello:sha256.{HEX}",
            LibraryRef("hello", "demo", "alice", (f"sha256.{HEX}",)),
        ),
        (
            "library://Lib.Example.org:8443/alice/demo/hello:v1",
            LibraryRef("hello", "demo", "alice", ("v1",), "lib.example.org:8443"),
        ),
        ("LIBRARY://127.0.0.1/a/b/c", LibraryRef("c", "b", "a", host="127.0.0.1")),
        ("library://a-b/c_d/e.f:1.0-rc1", LibraryRef("e.f", "c_d", "a-b", ("1.0-rc1",))),
    ],
)
def test_examples(text: str, expected: LibraryRef) -> None:
    assert parse_library_ref(text) == expected


def test_properties() -> None:
    ref = parse_library_ref("library://alice/demo/hello")
    assert ref.tag == "latest"
    assert ref.push_tags == ("latest",)
    assert ref.api_ref == "alice/demo/hello:latest"
    assert ref.is_full
    assert not ref.is_hash
    hashed = parse_library_ref(f"alice/demo/hello:sha256.{HEX}")
    assert hashed.is_hash
    assert hashed.filename == "hello_sha256-e1e1e1e1e1e1.sif"
    short = parse_library_ref("library://alpine:3.8")
    assert short.path == "alpine"
    assert short.api_ref == "alpine:3.8"
    assert not short.is_full
    assert str(short.with_tags("a", "b")) == "library://alpine:a,b"
    assert is_hash_tag("sif.01234567-89ab-cdef-0123-456789abcdef")
    assert not is_hash_tag("sha256.abc")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "names no container"),
        ("library://", "names no container"),
        ("docker://alpine", "scheme must be library://"),
        ("library://Alice/demo/hello", "use 'alice'"),
        ("library://alice/demo/hello:V1", "the tag 'V1'"),
        ("library://a//c", "the collection is empty"),
        ("library://h/a/b/c/d", "too many parts"),
        ("library://a/b/c:", "tag after ':' is empty"),
        ("library://a/b/c:v1,", "a tag is empty"),
        ("library://a/b/c:sha256.abc", "not a valid image hash"),
        ("library://a/b/c:t:u", "more than one ':'"),
        ("library://host:8000/c/n", "':' before the last '/'"),
        ("library://a/b/c d", "whitespace"),
        ("library://a/b/c?x=1", "query"),
        ("library://user@h/a/b/c", "user info"),
        ("library://bad_host!/a/b/c", "not a valid host"),
        ("library://a/b/c-", "must be lowercase"),
    ],
)
def test_errors(text: str, fragment: str) -> None:
    with pytest.raises(InvalidName) as info:
        parse_library_ref(text)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("library://demo/hello", "push needs library://entity/collection/container"),
        ("library://hello", "push needs"),
        (f"library://a/b/c:sha256.{HEX}", "cannot push to the hash"),
    ],
)
def test_push_needs_three_parts_and_names(text: str, fragment: str) -> None:
    parse_library_ref(text)  # fine for pull
    with pytest.raises(InvalidName, match=fragment):
        parse_library_ref(text, push=True)


def test_not_a_string() -> None:
    with pytest.raises(InvalidName, match="must be a string"):
        parse_library_ref(42)  # type: ignore[arg-type]


PART = st.from_regex(r"\A[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4}){0,2}\Z")
# hex text, not from_regex: a 64-character regex strategy costs seconds per run
SHA = st.text("0123456789abcdef", min_size=64, max_size=64).map("sha256.".__add__)
TAG = st.one_of(PART, SHA)
HOST = st.one_of(
    st.none(),
    st.from_regex(r"\A[a-z0-9]{1,8}(?:\.[a-z0-9]{1,5}){0,2}(?::[0-9]{1,5})?\Z"),
)


@st.composite
def refs(draw: st.DrawFn) -> LibraryRef:
    n = draw(st.integers(1, 3))
    parts = draw(st.lists(PART, min_size=n, max_size=n))
    padded = [None] * (3 - n) + parts
    host = draw(HOST) if n == 3 else None
    tags = tuple(draw(st.lists(TAG, max_size=3)))
    return LibraryRef(parts[-1], padded[1], padded[0], tags, host)


@given(refs())
def test_round_trip(ref: LibraryRef) -> None:
    assert parse_library_ref(str(ref)) == ref
    assert parse_library_ref(str(ref).removeprefix("library://")) == ref
