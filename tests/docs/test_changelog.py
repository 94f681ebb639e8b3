"""CHANGELOG.md keeps the Keep a Changelog form (https://keepachangelog.com/en/1.1.0/)."""

from __future__ import annotations

import re

import sregistry
from tests.docs.runner import REPO

CHANGELOG = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
RELEASE = re.compile(r"^\[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$")


def _headings(level: int) -> list[str]:
    return re.findall(rf"^{'#' * level} (.+?)\s*$", CHANGELOG, re.MULTILINE)


def test_title_and_unreleased_come_first() -> None:
    assert CHANGELOG.startswith("# Changelog\n")
    assert "keepachangelog.com" in CHANGELOG
    assert _headings(2)[0] == "[Unreleased]"


def test_releases_are_dated_and_newest_first() -> None:
    releases = [RELEASE.match(heading) for heading in _headings(2)[1:]]
    assert all(releases), _headings(2)
    versions = [tuple(int(n) for n in m.group(1).split(".")) for m in releases if m]
    dates = [m.group(2) for m in releases if m]
    assert versions == sorted(versions, reverse=True)
    assert dates == sorted(dates, reverse=True)
    for version in versions:
        assert version <= tuple(int(n) for n in sregistry.__version__.split("."))


def test_changes_are_grouped_by_kind() -> None:
    kinds = _headings(3)
    assert kinds, "no ### Added/Changed/... sections"
    assert set(kinds) <= set(KINDS), kinds
    for release in re.split(r"^## ", CHANGELOG, flags=re.MULTILINE)[1:]:
        found = re.findall(r"^### (.+?)\s*$", release, re.MULTILINE)
        assert len(found) == len(set(found)), f"a kind repeated in one release: {found}"


def test_entries_are_list_items() -> None:
    # per release, so that a release's intro paragraph is not read as the end of
    # the section before it
    for release in re.split(r"^## ", CHANGELOG, flags=re.MULTILINE)[1:]:
        for section in re.split(r"^### ", release, flags=re.MULTILINE)[1:]:
            body = [line for line in section.splitlines()[1:] if line.strip()]
            assert body, "an empty section"
            assert body[0].startswith("- "), body[0]
            assert all(line.startswith(("- ", "  ")) for line in body), body
