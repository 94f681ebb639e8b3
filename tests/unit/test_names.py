"""Registry reference parsing: examples, errors, and properties (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sregistry.errors import InvalidName
from sregistry.names import ImageName, normalize_collection, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ubuntu", ImageName("library", "ubuntu", "latest")),
        ("dinosaur/avocado", ImageName("dinosaur", "avocado", "latest")),
        ("dinosaur/avocado:delicious", ImageName("dinosaur", "avocado", "delicious")),
        ("vsoch/hello.sif", ImageName("vsoch", "hello", "latest")),
        ("vsoch/hello.simg:v1", ImageName("vsoch", "hello", "v1")),
        ("lab/img.sif-utils:1", ImageName("lab", "img.sif-utils", "1")),
        ("My_Coll/Hello:V1", ImageName("my-coll", "hello", "v1")),
        (
            "Dinosaur Collection/x".replace(" ", "_"),
            ImageName("dinosaur-collection", "x", "latest"),
        ),
        ("c/n:t@sha256.ABCDEF", ImageName("c", "n", "t", "sha256.abcdef")),
        ("registry://c/n", ImageName("c", "n", "latest")),
        (
            "registry://Host.Example.org:8443/c/n:t",
            ImageName("c", "n", "t", registry="host.example.org:8443"),
        ),
        ("127.0.0.1:5000/c/n", ImageName("c", "n", "latest", registry="127.0.0.1:5000")),
        ("localhost:5000/n", ImageName("library", "n", "latest", registry="localhost:5000")),
        ("registry://myhost/c/n", ImageName("c", "n", "latest", registry="myhost")),
    ],
)
def test_examples(text: str, expected: ImageName) -> None:
    assert parse(text) == expected


def test_notes_say_what_changed() -> None:
    ref = parse("My_Coll/Hello:V1")
    assert any("my-coll" in note for note in ref.notes)
    assert any("lowercased" in note for note in ref.notes)
    assert parse("c/n:t").notes == ()


def test_overrides() -> None:
    assert parse("c/n:t", tag="other").tag == "other"
    assert parse("c/n", registry="h.org").registry == "h.org"
    assert parse("x.org/c/n", registry="h.org").registry == "x.org"
    assert parse("c/n").with_tag("v2") == ImageName("c", "n", "v2")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a//b", "empty part"),
        ("/avocado", "empty part"),
        ("c/", "empty part"),
        ("../n", "'..'"),
        ("c/..", "'..'"),
        ("c/.", "'.'"),
        ("a/b/c", "does not look like a host"),
        ("h.org/a/b/c", "too many parts"),
        ("c/n:", "tag after ':' is empty"),
        ("c/n:a:b", "more than one ':'"),
        ("c/n@a@b", "more than one '@'"),
        ("c/n\\x", "path separator"),
        ("c/-n", "may only contain"),
        ("c/n:t!", "may only contain"),
        ("docker://busybox", "not a registry reference"),
        ("c/" + "n" * 251, "characters long"),
        ("c/" + "n" * 150 + ":" + "t" * 60, "too long"),
        ("---/n", "no letters or digits"),
        ("c/n name", "whitespace"),
        ("h_x.org:99999999/c/n", "not a valid host"),
    ],
)
def test_errors(text: str, fragment: str) -> None:
    with pytest.raises(InvalidName, match=None) as info:
        parse(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_normalize_collection_matches_server_examples() -> None:
    assert normalize_collection("Dinosaur Collection") == "dinosaur-collection"
    assert normalize_collection("my_coll") == "my-coll"
    assert normalize_collection("A.B") == "a-b"
    assert normalize_collection("--x--") == "x"


@settings(max_examples=500)
@given(st.text(max_size=80))
def test_parse_never_crashes(text: str) -> None:
    try:
        ref = parse(text)
    except InvalidName:
        return
    assert parse(str(ref)) == ref


# Built from text strategies: the same languages as the regexes in the comments, but
# from_regex takes seconds per run to draw them.
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
# [a-z0-9][a-z0-9._-]{0,20}, not ending like an image file
_word = st.builds(
    str.__add__, st.sampled_from(_ALNUM), st.text(_ALNUM + "._-", max_size=20)
).filter(lambda w: not w.lower().endswith((".sif", ".img", ".simg")))
# already-normalised collections: single dashes between alphanumeric runs ("0--0" is not),
# [a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}
_collection = st.lists(st.text(_ALNUM, min_size=1, max_size=8), min_size=1, max_size=4).map(
    "-".join
)
_host = st.sampled_from([None, "localhost:5000", "registry.example.org", "10.0.0.1:8443"])


@given(_collection, _word, _word, st.one_of(st.none(), _word), _host)
def test_round_trip(
    collection: str, name: str, tag: str, version: str | None, host: str | None
) -> None:
    ref = ImageName(collection, name, tag, version, host)
    assert parse(str(ref)) == ref
    assert parse(str(ref)).notes == ()


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_normalize_collection_is_idempotent(text: str) -> None:
    once = normalize_collection(text)
    assert normalize_collection(once) == once
