"""inspect_image(): which route runs, and the fallback to native in auto mode.

The runtime is a stand-in script (tests/unit/metadata/standin.py), not the
real singularity.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sregistry.cli.status import exit_status
from sregistry.errors import MetadataError, NotFound, SregistryError
from sregistry.metadata import METHODS, InspectResult, inspect_image, inspect_native
from tests.unit.metadata import standin

RECORDED = '{"data": {"attributes": {"labels": {"from": "stand-in"}}}, "type": "container"}'


def test_metadata_error_is_an_sregistry_error() -> None:
    assert issubclass(MetadataError, SregistryError)
    assert exit_status(MetadataError("x")) == 1


def test_auto_without_runtime_is_native(bindir: Path, real_sif: Path) -> None:
    result = inspect_image(real_sif)
    assert result == inspect_native(real_sif)
    assert result.source == "descriptor"
    assert result.warnings == ()


def test_auto_prefers_the_runtime(bindir: Path, real_sif: Path) -> None:
    fake = standin.install(bindir, output=RECORDED)
    result = inspect_image(real_sif)
    assert result.source == "singularity"
    assert result.labels == {"from": "stand-in"}
    assert result.arch == "amd64"
    assert len(fake.calls()) == 2


def test_auto_falls_back_to_native_and_says_why(bindir: Path, real_sif: Path) -> None:
    standin.install(bindir, stderr="FATAL:   kaput", exit_code=255)
    result = inspect_image(real_sif)
    assert result.attributes == inspect_native(real_sif).attributes
    assert result.source == "descriptor"
    assert result.warnings == (
        "singularity inspect failed, read natively: "
        "`singularity inspect` failed (exit 255): FATAL:   kaput",
    )


def test_auto_falls_back_after_a_timeout(bindir: Path, busybox_like: Path) -> None:
    standin.install(bindir, hang=True)
    result = inspect_image(busybox_like, timeout=0.5)
    assert result.source == "squashfs"
    assert "did not finish within 0.5 s" in result.warnings[0]


def test_native_never_runs_the_runtime(bindir: Path, real_sif: Path) -> None:
    fake = standin.install(bindir, output=RECORDED)
    assert inspect_image(real_sif, method="native").source == "descriptor"
    assert fake.calls() == []


def test_singularity_method_raises(bindir: Path, real_sif: Path) -> None:
    with pytest.raises(MetadataError, match="neither singularity nor apptainer"):
        inspect_image(real_sif, method="singularity")
    standin.install(bindir, name="apptainer", stderr="FATAL: no", exit_code=255)
    with pytest.raises(MetadataError, match=r"`apptainer inspect` failed \(exit 255\)"):
        inspect_image(real_sif, method="singularity")


def test_missing_file_is_not_found_in_every_mode(bindir: Path, tmp_path: Path) -> None:
    fake = standin.install(bindir, output=RECORDED)
    for method in METHODS:
        with pytest.raises(NotFound):
            inspect_image(tmp_path / "missing.sif", method=method)
    assert fake.calls() == []


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        inspect_image("x", method="docker")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be positive"):
        inspect_image("x", timeout=0)


def test_public_api_names() -> None:
    import sregistry.metadata as api

    for name in ("inspect_image", "InspectResult", "read_sif", "SifImage", "MetadataError"):
        assert name in api.__all__
        assert hasattr(api, name)
    assert InspectResult.__dataclass_params__.frozen  # type: ignore[attr-defined]
