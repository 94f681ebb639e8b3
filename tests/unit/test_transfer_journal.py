"""The resume journal of ranged downloads: when a kept file is reused, and when not."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sregistry.transfer.journal import coalesce, open_temporary, resumable
from sregistry.transfer.parallel import Part, plan_parts
from sregistry.transfer.partfile import layout

SHA = "ab" * 32
SIZE = 1000


def _keep(target: Path, spans: list[tuple[int, int]], sha: str = SHA) -> Path:
    temp = open_temporary(target, sha256=sha, size=SIZE)
    assert temp.spans == []
    assert temp.reused == 0
    os.ftruncate(temp.fd, SIZE)
    assert temp.keep(spans, sha, SIZE)
    assert temp.journal is not None
    return temp.journal


@pytest.fixture
def where(tmp_path: Path) -> Path:
    """An empty directory for the target."""
    directory = tmp_path / "downloads"
    directory.mkdir()
    return directory


def test_coalesce() -> None:
    assert coalesce([(5, 9), (0, 3), (3, 4), (8, 12), (20, 20)]) == [(0, 4), (5, 12)]


def test_a_kept_file_is_resumed_only_for_the_same_content_and_size(where: Path) -> None:
    target = where / "x.sif"
    journal = _keep(target, [(0, 100), (200, 300), (100, 150)])
    assert resumable(target, SHA)
    assert not resumable(target, "cd" * 32)
    assert not resumable(target, None)
    again = open_temporary(target, sha256=SHA, size=SIZE)
    assert again.spans == [(0, 150), (200, 300)]
    assert again.reused == 250
    again.discard()
    assert not journal.exists()
    assert list(where.iterdir()) == []

    _keep(target, [(0, 100)])
    other_size = open_temporary(target, sha256=SHA, size=SIZE + 1)
    assert other_size.spans == []  # started afresh: the file is emptied, the journal gone
    assert not resumable(target, SHA)
    other_size.discard()


@pytest.mark.parametrize(
    "spans",
    [
        [[0, 2000]],
        [[-1, 10]],
        [[10, 10]],
        [[0, True]],
        "everything",
        [[0, 1, 2]],
    ],
)
def test_a_malformed_journal_is_ignored(where: Path, spans: object) -> None:
    target = where / "x.sif"
    journal = _keep(target, [(0, 100)])
    data = json.loads(journal.read_text())
    data["spans"] = spans
    journal.write_text(json.dumps(data))
    temp = open_temporary(target, sha256=SHA, size=SIZE)
    assert temp.spans == []
    temp.discard()


def test_nothing_written_leaves_nothing(where: Path) -> None:
    target = where / "x.sif"
    temp = open_temporary(target, sha256=SHA, size=SIZE)
    assert not temp.keep([], SHA, SIZE)
    assert list(where.iterdir()) == []
    unknown = open_temporary(target, sha256=None, size=SIZE)
    assert unknown.journal is None
    assert ".incomplete" in unknown.path.name
    assert not unknown.keep([(0, 10)], "", SIZE)  # not verifiable: never resumed
    assert list(where.iterdir()) == []


def test_a_file_in_use_by_another_download_is_not_shared(where: Path) -> None:
    target = where / "x.sif"
    first = open_temporary(target, sha256=SHA, size=SIZE)
    second = open_temporary(target, sha256=SHA, size=SIZE)
    assert second.path != first.path
    assert second.journal is None
    first.discard()
    second.discard()
    assert list(where.iterdir()) == []


def _slots(
    total: int, spans: list[tuple[int, int]], *, single: bool = False
) -> list[tuple[int, int, int, int]]:
    found = layout(total, spans, head=100, part_size=100, single=single)
    return [(s.part.number, s.part.offset, s.part.size, s.written) for s in found]


def test_parts_around_what_is_on_disk() -> None:
    assert _slots(450, []) == [
        (1, 0, 100, 0),
        (2, 100, 100, 0),
        (3, 200, 100, 0),
        (4, 300, 100, 0),
        (5, 400, 50, 0),
    ]
    assert _slots(450, [], single=True) == [(1, 0, 100, 0), (2, 100, 350, 0)]
    assert _slots(450, [(0, 150), (300, 320)]) == [
        (1, 0, 150, 150),
        (2, 150, 100, 0),
        (3, 250, 50, 0),
        (4, 300, 20, 20),
        (5, 320, 100, 0),
        (6, 420, 30, 0),
    ]
    assert _slots(180, [(50, 60)], single=True) == [  # one part per gap
        (1, 0, 50, 0),
        (2, 50, 10, 10),
        (3, 60, 120, 0),
    ]
    assert plan_parts(250, 100, first=30) == [
        Part(1, 0, 30),
        Part(2, 30, 100),
        Part(3, 130, 100),
        Part(4, 230, 20),
    ]
