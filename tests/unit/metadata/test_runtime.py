"""The singularity/apptainer route, run against a stand-in executable on PATH.

The stand-in (tests/unit/metadata/standin.py) is a shell script, not the real
runtime: it prints outputs in the JSON shape each version documents
(docs/sif-and-inspect.md §5.2), built here from the busybox-like fixture's
files, and records the arguments it was given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from sregistry.errors import MetadataError, NotFound
from sregistry.metadata import inspect_with_runtime, normalize_inspect_output
from sregistry.metadata.runtime import find_runtime, inspect_arguments, parse_version
from tests.unit.metadata import standin
from tests.unit.metadata.expected import BUSYBOX_LIKE

ENV90 = "/.singularity.d/env/90-environment.sh"
LABELS = BUSYBOX_LIKE["labels"]
# The files as they are in the image (before inspect strips trailing newlines).
FILES = {
    "runscript": f"{BUSYBOX_LIKE['runscript']}\n\n\n",
    "test": f"{BUSYBOX_LIKE['test']}\n\n",
    "helpfile": f"{BUSYBOX_LIKE['helpfile']}\n\n\n",
    "deffile": f"{BUSYBOX_LIKE['deffile']}\n",
    "env90": f"{BUSYBOX_LIKE['environment'][ENV90]}\n\n\n",
}
LEGACY_FLAGS = "inspect --labels --deffile --runscript --test --environment --helpfile --json"
TRIMMED = {key: BUSYBOX_LIKE[key] for key in ("runscript", "test", "helpfile")}
ENV_90_ONLY = {ENV90: BUSYBOX_LIKE["environment"][ENV90]}

VERSIONS: list[tuple[str, str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "2.x",
        "2.6.1-dist",
        {
            "data": {
                "attributes": {
                    "labels": LABELS,
                    "help": FILES["helpfile"],
                    "deffile": FILES["deffile"],
                    "runscript": FILES["runscript"],
                    "test": FILES["test"],
                    "environment": FILES["env90"],
                },
                "type": "container",
            }
        },
        LEGACY_FLAGS,
        {"labels": LABELS, **TRIMMED, "deffile": FILES["deffile"], "environment": ENV_90_ONLY},
    ),
    (
        "3.0",
        "singularity version 3.0.3-1",
        {
            "attributes": {
                "labels": standin.go_indent(LABELS),
                "deffile": BUSYBOX_LIKE["deffile"],
                "runscript": BUSYBOX_LIKE["runscript"],
                "test": BUSYBOX_LIKE["test"],
                "environment": BUSYBOX_LIKE["environment"][ENV90],
                "helpfile": BUSYBOX_LIKE["helpfile"],
            },
            "type": "container",
        },
        LEGACY_FLAGS,
        {
            "labels": LABELS,
            **TRIMMED,
            "deffile": BUSYBOX_LIKE["deffile"],
            "environment": ENV_90_ONLY,
        },
    ),
    (
        "3.4",
        "singularity version 3.4.2",
        {
            "attributes": {
                "labels": LABELS,
                "deffile": FILES["deffile"],
                "runscript": FILES["runscript"],
                "test": FILES["test"],
                "helpfile": FILES["helpfile"],
                "environment": {"90-environment.sh": FILES["env90"]},
                "apps": "",
            },
            "type": "container",
        },
        LEGACY_FLAGS,
        {"labels": LABELS, **TRIMMED, "deffile": FILES["deffile"], "environment": ENV_90_ONLY},
    ),
    (
        "3.5",
        "singularity version 3.5.3",
        {
            "data": {
                "attributes": {
                    "labels": LABELS,
                    "deffile": FILES["deffile"],
                    "runscript": FILES["runscript"],
                    "test": FILES["test"],
                    "helpfile": FILES["helpfile"],
                    "environment": FILES["env90"],
                }
            },
            "type": "container",
        },
        LEGACY_FLAGS,
        {"labels": LABELS, **TRIMMED, "deffile": FILES["deffile"], "environment": ENV_90_ONLY},
    ),
    (
        "3.8",
        "singularity version 3.8.1",
        {"data": {"attributes": BUSYBOX_LIKE}, "type": "container"},
        "inspect --all",
        BUSYBOX_LIKE,
    ),
    (
        "ce-4",
        "singularity-ce version 4.1.0-jammy",
        {"data": {"attributes": BUSYBOX_LIKE}, "type": "container"},
        "inspect --all",
        BUSYBOX_LIKE,
    ),
    (
        "apptainer",
        "apptainer version 1.3.6",
        {"data": {"attributes": BUSYBOX_LIKE}, "type": "container"},
        "inspect --all",
        BUSYBOX_LIKE,
    ),
]


@pytest.mark.parametrize("case", VERSIONS, ids=[v[0] for v in VERSIONS])
def test_each_version_shape_is_normalized(
    bindir: Path, busybox_like: Path, case: tuple[str, str, dict[str, Any], str, dict[str, Any]]
) -> None:
    label, version, output, flags, expected = case
    name = "apptainer" if label == "apptainer" else "singularity"
    fake = standin.install(bindir, name=name, version=version, output=standin.go_indent(output))
    result = inspect_with_runtime(busybox_like, timeout=30)
    assert fake.calls() == ["--version", f"{flags} {busybox_like}"]
    assert result.attributes == expected
    assert result.source == name
    assert (result.arch, result.size, result.path) == ("amd64", 36864, str(busybox_like))
    if label in ("2.x", "3.0", "3.5"):
        assert any("without file names" in warning for warning in result.warnings)


def test_singularity_is_preferred_and_apptainer_found_alone(bindir: Path) -> None:
    assert find_runtime() is None
    standin.install(bindir, name="apptainer")
    assert find_runtime() == str(bindir / "apptainer")
    standin.install(bindir, name="singularity")
    assert find_runtime() == str(bindir / "singularity")


@pytest.mark.parametrize(
    ("text", "product", "version", "flags"),
    [
        ("apptainer version 1.0.0", "apptainer", (1, 0), "--all"),
        ("singularity version 3.6.0", "singularity", (3, 6), "--all"),
        ("singularity version 3.5.3", "singularity", (3, 5), "--json"),
        ("2.6.1-dist", "singularity", (2, 6), "--json"),
        ("garbage", "singularity", (0, 0), "--json"),
    ],
)
def test_version_parsing(text: str, product: str, version: tuple[int, int], flags: str) -> None:
    assert parse_version(text) == (product, version)
    assert inspect_arguments(product, version)[-1] == flags


def test_failure_is_an_exception_with_the_runtimes_message(
    bindir: Path, busybox_like: Path
) -> None:
    standin.install(
        bindir,
        output="",
        stderr="INFO:    Using cached image\nFATAL:   Failed to open image: permission denied\n",
        exit_code=255,
    )
    with pytest.raises(MetadataError) as caught:
        inspect_with_runtime(busybox_like)
    assert caught.value.message == (
        "`singularity inspect` failed (exit 255): FATAL:   Failed to open image: permission denied"
    )


def test_the_runtime_cannot_read_stdin_and_has_its_own_session(
    bindir: Path, busybox_like: Path, tmp_path: Path
) -> None:
    """Run from a process whose stdin is an open pipe: the runtime still gets /dev/null."""
    record = tmp_path / "seen.json"
    runtime = bindir / "singularity"
    runtime.write_text(
        f"#!{sys.executable}\n"
        "# Stand-in for the real runtime (tests only): records its stdin and session.\n"
        "import json, os, stat, sys\n"
        "if sys.argv[1] == '--version':\n"
        "    print('singularity version 3.8.1')\n"
        "    sys.exit(0)\n"
        "seen, null = os.fstat(0), os.stat(os.devnull)\n"
        "devnull = stat.S_ISCHR(seen.st_mode) and seen.st_rdev == null.st_rdev\n"
        "leader = os.getsid(0) == os.getpid()\n"
        f"open({str(record)!r}, 'w').write(json.dumps([devnull, leader]))\n"
        "print(json.dumps({'data': {'attributes': {'labels': {'a': 'b'}}}}))\n"
    )
    runtime.chmod(0o755)
    code = (
        "import sys\n"
        "from sregistry.metadata import inspect_with_runtime\n"
        "print(inspect_with_runtime(sys.argv[1]).attributes)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(busybox_like)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PATH": str(bindir)},
    ) as child:
        assert child.stdout is not None
        out = child.stdout.read()  # stdin stays open (an inheriting runtime would see the pipe)
        child.wait(timeout=60)
    assert (child.returncode, out) == (0, b"{'labels': {'a': 'b'}}\n")
    assert json.loads(record.read_text()) == [True, True]


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def test_timeout_kills_the_process_group(bindir: Path, busybox_like: Path) -> None:
    fake = standin.install(bindir, hang=True)
    started = time.monotonic()
    with pytest.raises(MetadataError, match="did not finish within 1 s and was stopped"):
        inspect_with_runtime(busybox_like, timeout=1.0)
    assert time.monotonic() - started < 10
    pids = [int(line) for line in fake.pids.read_text().split()]
    assert len(pids) == 2  # the foreground sleep and a background one it left behind
    deadline = time.monotonic() + 5
    while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in pids)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("Segmentation fault", "printed no JSON"),
        ("[1, 2]", "not an object"),
        ('{"data": {"nothing": 1}}', "without attributes"),
    ],
)
def test_unusable_output(bindir: Path, busybox_like: Path, output: str, message: str) -> None:
    standin.install(bindir, output=output)
    with pytest.raises(MetadataError, match=message):
        inspect_with_runtime(busybox_like)


def test_noise_around_the_json_is_tolerated(bindir: Path, busybox_like: Path) -> None:
    document = {"data": {"attributes": {"labels": {"a": "b"}}}, "type": "container"}
    standin.install(bindir, output=f"WARNING: something\n{json.dumps(document)}\n")
    assert inspect_with_runtime(busybox_like).attributes == {"labels": {"a": "b"}}


def test_missing_runtime_or_file(bindir: Path, busybox_like: Path, tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="neither singularity nor apptainer is on PATH"):
        inspect_with_runtime(busybox_like)
    fake = standin.install(bindir)
    with pytest.raises(NotFound):
        inspect_with_runtime(tmp_path / "missing.sif")
    assert fake.calls() == []


def test_non_sif_image_has_no_arch(bindir: Path, tmp_path: Path) -> None:
    """Singularity 2.x images are squashfs or ext3 files: the runtime reads them, we do not."""
    image = tmp_path / "old.simg"
    image.write_bytes(b"#!/usr/bin/env run-singularity\n" + b"hsqs" + bytes(100))
    standin.install(
        bindir, version="2.6.1-dist", output='{"data": {"attributes": {"labels": null}}}'
    )
    result = inspect_with_runtime(image)
    assert (result.attributes, result.arch, result.size) == ({}, None, 135)


def test_spython_return_values_are_understood() -> None:
    warnings: list[str] = []
    # spython >= 0.0.60 unwraps "data" and parses labels: {"attributes": {...}} for 3.5+.
    spython_result = {"attributes": {"labels": {"a": "b"}, "runscript": "#!/bin/sh\n\nexec x\n"}}
    assert normalize_inspect_output(spython_result, warnings) == {
        "labels": {"a": "b"},
        "runscript": "#!/bin/sh\n\nexec x",
    }
    failure = {"message": ["", "FATAL:   could not open image x.sif\n"], "return_code": 255}
    with pytest.raises(MetadataError, match=r"exit 255\): FATAL:   could not open image x.sif"):
        normalize_inspect_output(failure, warnings)


def test_legacy_apps_and_errors() -> None:
    warnings: list[str] = []
    assert normalize_inspect_output({"attributes": {"apps": "hello\nworld\n"}}, warnings) == {
        "apps": {"hello": {}, "world": {}}
    }
    nothing = {"errors": [{"code": 404, "detail": "This container has no metadata"}]}
    assert normalize_inspect_output(nothing, warnings) == {}
    assert warnings == ["singularity found no metadata: This container has no metadata"]
    warnings.clear()
    assert normalize_inspect_output({"attributes": {"labels": "{not json"}}, warnings) == {}
    assert warnings == ["labels are not valid JSON; skipped"]
