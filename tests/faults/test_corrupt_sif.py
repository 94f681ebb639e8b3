"""Defect 9: inspect reports a SIF whose header disagrees with its descriptor table as corrupt."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from sregistry.cli import cli as sregistry_cli

FREE, TOTAL, OFFSET = 80, 88, 96
"""Byte offsets of the header's free count, total count and table offset (int64 LE)."""


def mutated(source: Path, target: Path, field: int, change: int) -> Path:
    shutil.copyfile(source, target)
    with target.open("r+b") as handle:
        handle.seek(field)
        (value,) = struct.unpack("<q", handle.read(8))
        handle.seek(field)
        handle.write(struct.pack("<q", value + change))
    return target


@pytest.mark.parametrize(
    ("field", "change"),
    [
        (OFFSET, 585 * 8),  # the table offset moved past the slots in use
        (OFFSET, -3000),  # moved back into the header's padding
        (TOTAL, -44),  # fewer descriptors than are in use
        (FREE, 2),  # more free than there are
    ],
    ids=["offset-forward", "offset-back", "count-below-used", "free-above"],
)
def test_inspect_says_corrupt(fixtures_dir: Path, tmp_path: Path, field: int, change: int) -> None:
    image = mutated(fixtures_dir / "with-descriptors.sif", tmp_path / "bad.sif", field, change)
    result = CliRunner().invoke(sregistry_cli, ["inspect", str(image)])
    assert result.exit_code == 1, result.output
    assert "corrupt SIF" in result.stderr, result.stderr
    assert "no container metadata" not in result.output


def test_the_unchanged_fixture_still_reads(fixtures_dir: Path) -> None:
    image = fixtures_dir / "with-descriptors.sif"
    result = CliRunner().invoke(sregistry_cli, ["inspect", str(image)])
    assert result.exit_code == 0, result.output
