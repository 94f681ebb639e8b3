"""Defect 2: text from a server or a file never reaches the terminal raw."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from sregistry.cli import cli as sregistry_cli
from sregistry.cli.output import printable
from tests.e2e.conftest import Registry
from tests.faults.capture import CaptureServer, canned

OSC = "\x1b]0;TITLE\x07"
TAG = f"t{OSC}x"


def run(*args: str) -> Result:
    return CliRunner().invoke(sregistry_cli, list(args), catch_exceptions=False)


def assert_safe(text: str) -> None:
    assert "\x1b" not in text
    assert "\x07" not in text


@pytest.fixture
def hostile_tag(as_vsoch: Registry) -> Registry:
    as_vsoch.server.add_image(
        "vsoch",
        "hello",
        TAG,
        b"bytes",
        owner="vsoch",
        metadata={
            "data": {"attributes": {"runscript": f"#!/bin/sh\necho {OSC}\n"}},
            "type": "container",
        },
    )
    return as_vsoch


def test_printable_escapes_controls_and_keeps_plain_text() -> None:
    assert printable(TAG) == "t\\x1b]0;TITLE\\x07x"
    assert printable("a\tb\nc\rd") == "a\\x09b\\x0ac\\x0dd"
    assert printable("a\tb\nc\rd", lines=True) == "a\tb\nc\\x0dd"
    assert printable("caf\u00e9 \u202eevil") == "caf\u00e9 \\u202eevil"
    assert printable("plain: text/with [brackets]") == "plain: text/with [brackets]"


def test_list_tab_separated_output_is_escaped(hostile_tag: Registry) -> None:
    result = run("list", "vsoch")
    assert result.exit_code == 0, result.stderr
    assert_safe(result.stdout + result.stderr)
    assert "t\\x1b]0;TITLE\\x07x" in result.stdout


def test_list_runscript_headers_and_sections_are_escaped(hostile_tag: Registry) -> None:
    result = run("list", "vsoch", "--runscript")
    assert result.exit_code == 0, result.stderr
    assert_safe(result.stdout + result.stderr)
    assert "== vsoch/hello:t\\x1b]0;TITLE\\x07x ==" in result.stdout
    assert "echo \\x1b]0;TITLE\\x07" in result.stdout


def test_json_escapes_it(hostile_tag: Registry) -> None:
    result = run("list", "vsoch", "--json")
    assert result.exit_code == 0, result.stderr
    assert_safe(result.stdout)
    assert json.loads(result.stdout)[0]["tag"] == TAG


@pytest.fixture
def hostile_library() -> Iterator[CaptureServer]:
    body = json.dumps({"error": {"code": 400, "message": f"bad{OSC}"}}).encode()
    server = CaptureServer(lambda head: canned(400, body, {"Content-Type": "application/json"}))
    try:
        yield server
    finally:
        server.close()


def test_library_error_messages_are_escaped(hostile_library: CaptureServer) -> None:
    result = run("pull", "--library", hostile_library.url, "library://alice/default/hello:latest")
    assert result.exit_code != 0
    assert_safe(result.stdout + result.stderr)
    assert "bad\\x1b]0;TITLE\\x07" in result.stderr
