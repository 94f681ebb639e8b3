"""Container metadata read from the SIF file itself, without singularity/apptainer.

Follows what ``inspect --all`` does in Singularity 3.6+ and Apptainer
(``docs/sif-and-inspect.md`` §5.3, §7.2):

1. the ``inspect-metadata.json`` descriptor, when present, is the answer
   (builders since Singularity 3.7 store it);
2. otherwise the files under ``/.singularity.d`` (and ``/scif/apps``) of the
   primary squashfs partition are read, each with its trailing newlines
   stripped, and a ``Def.FILE`` descriptor, when present, gives the deffile
   verbatim.

The squashfs is read by :mod:`.squashfs` (gzip, xz, lzma, zstd); for lzo and
lz4 ``unsquashfs`` is used when it is installed. Only the header, the
descriptor table, the metadata objects and the few files needed are read: the
cost does not grow with the image size.
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from fnmatch import fnmatchcase
from typing import Any, Protocol

from sregistry.errors import MetadataError
from sregistry.metadata.result import InspectResult, clean_attributes
from sregistry.metadata.sif import (
    DataType,
    Descriptor,
    FsType,
    ImageFile,
    ImageSource,
    Positional,
    SifImage,
    read_sif,
)
from sregistry.metadata.squashfs import DirEntry, SquashFS, UnsupportedCompression
from sregistry.metadata.unsquashfs import Unsquashfs

__all__ = ["INSPECT_METADATA", "inspect_native", "read_rootfs"]

INSPECT_METADATA = "inspect-metadata.json"
MAX_METADATA_BYTES = 16 << 20
SINGULARITY_D = "/.singularity.d"
_TEXT_FILES = {
    "runscript": "runscript",
    "test": "test",
    "helpfile": "runscript.help",
    "deffile": "Singularity",
    "startscript": "startscript",
}
_MAIN_ENV = ("10-docker*.sh", "9*-environment.sh")
_APP_ENV = ("9*-environment.sh",)


def inspect_native(
    path: ImageSource, *, from_rootfs: bool = False, timeout: float = 60.0
) -> InspectResult:
    """Read a SIF image's inspect metadata in pure Python.

    ``from_rootfs=True`` ignores the metadata descriptors (inspect-metadata.json
    and Def.FILE) and reads only the root file system: the two routes give the
    same result on images built by Singularity >= 3.7 / Apptainer. ``timeout``
    bounds ``unsquashfs``, used only for lzo/lz4 root file systems of files
    on disk. ``path`` may also be a seekable binary file object or a
    :class:`~sregistry.metadata.sif.Positional` reader (a remote image read
    in HTTP ranges): only the bytes the metadata needs are read from it.

    Raises :class:`~sregistry.errors.NotFound` for a missing file and
    :class:`~sregistry.errors.MetadataError` for anything unreadable.
    """
    sif = read_sif(path)
    warnings: list[str] = []
    attributes: dict[str, Any] | None = None
    source = "descriptor"
    stored = None if from_rootfs else sif.find(DataType.GENERIC_JSON, INSPECT_METADATA)
    if stored is not None:
        attributes = _from_descriptor(sif.read_object(stored, limit=MAX_METADATA_BYTES), warnings)
    if attributes is None:
        attributes, source = _from_partition(sif, warnings, timeout)
        deffile = None if from_rootfs else sif.find(DataType.DEFFILE)
        if deffile is not None:
            text = _decode(sif.read_object(deffile, limit=MAX_METADATA_BYTES))
            attributes.pop("deffile", None)
            attributes = clean_attributes({**attributes, "deffile": text}, warnings)
    return InspectResult(
        attributes=attributes,
        size=sif.size,
        arch=sif.arch,
        source=source,
        path=sif.path,
        warnings=tuple(warnings),
    )


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


class RootFS(Protocol):
    """What reading the metadata needs from a root file system."""

    def read_file(self, path: str, *, limit: int = ...) -> bytes | None: ...
    def listdir(self, path: str) -> list[DirEntry]: ...
    def is_dir(self, path: str) -> bool: ...


def _from_descriptor(data: bytes, warnings: list[str]) -> dict[str, Any] | None:
    """The attributes stored in inspect-metadata.json, ``None`` when it is unusable."""
    try:
        document = json.loads(data)
        attributes = document["data"]["attributes"]
    except (ValueError, TypeError, KeyError):
        attributes = None
    if not isinstance(attributes, dict):
        warnings.append(f"{INSPECT_METADATA} is not inspect JSON; read the root file system")
        return None
    return clean_attributes(attributes, warnings)


def _from_partition(
    sif: SifImage, warnings: list[str], timeout: float
) -> tuple[dict[str, Any], str]:
    if sif.is_oci_sif:
        warnings.append("an OCI-SIF image keeps its metadata in its OCI config, which is not read")
        return {}, "sif"
    primary = sif.primary_partition
    info = primary.partition if primary is not None else None
    if primary is None or info is None:
        warnings.append("no primary system partition: the image holds no container metadata")
        return {}, "sif"
    if info.fs_type != FsType.SQUASHFS:
        warnings.append(
            f"the primary partition is {info.fs_name}, which this reader cannot open: "
            "only the SIF descriptors were read"
        )
        return {}, "sif"
    with ExitStack() as stack:
        handle = sif.reader or stack.enter_context(ImageFile(sif.path))
        try:
            return read_rootfs(_open_rootfs(handle, primary, timeout), warnings), "squashfs"
        except MetadataError as exc:
            raise MetadataError(
                f"{sif.path}: primary partition (object {primary.id}): {exc.message}",
                hint=exc.hint,
            ) from None


def _open_rootfs(handle: Positional, primary: Descriptor, timeout: float) -> RootFS:
    """Our squashfs reader, or ``unsquashfs`` for a compression it lacks (when
    installed, and the image is a file on disk)."""
    try:
        return SquashFS(handle, offset=primary.offset, size=primary.size)
    except UnsupportedCompression:
        unsquashfs = shutil.which("unsquashfs")
        if unsquashfs is None or not isinstance(handle, ImageFile):
            raise
        return Unsquashfs(unsquashfs, handle.path, primary.offset, timeout=timeout)


def _text(fs: RootFS, path: str) -> str | None:
    data = fs.read_file(path, limit=MAX_METADATA_BYTES)
    return None if data is None else _decode(data).rstrip("\n")


def _labels(fs: RootFS, path: str, warnings: list[str]) -> dict[str, Any] | None:
    data = fs.read_file(path, limit=MAX_METADATA_BYTES)
    if data is None:
        return None
    try:
        labels = json.loads(data)
    except ValueError:
        warnings.append(f"{path} is not valid JSON; labels skipped")
        return None
    return labels if isinstance(labels, dict) else None


def _environment(fs: RootFS, directory: str, patterns: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in fs.listdir(directory):
        if any(fnmatchcase(entry.name, pattern) for pattern in patterns):
            text = _text(fs, f"{directory}/{entry.name}")
            if text is not None:
                env[f"{directory}/{entry.name}"] = text
    return env


def _section_files(fs: RootFS, base: str, warnings: list[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {"labels": _labels(fs, f"{base}/labels.json", warnings)}
    for name, filename in _TEXT_FILES.items():
        attributes[name] = _text(fs, f"{base}/{filename}")
    return attributes


def read_rootfs(fs: RootFS, warnings: list[str]) -> dict[str, Any]:
    """The inspect attributes found in a container root file system."""
    attributes = _section_files(fs, SINGULARITY_D, warnings)
    attributes["environment"] = _environment(fs, f"{SINGULARITY_D}/env", _MAIN_ENV)
    apps: dict[str, Any] = {}
    for entry in fs.listdir("/scif/apps"):
        base = f"/scif/apps/{entry.name}/scif"
        if not fs.is_dir(base):
            continue
        app = _section_files(fs, base, warnings)
        app.pop("deffile")
        app["environment"] = _environment(fs, f"{base}/env", _APP_ENV)
        apps[entry.name] = app
    attributes["apps"] = apps
    return clean_attributes(attributes, warnings)
