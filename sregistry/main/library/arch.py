"""Architecture names as the Library API spells them (Go's GOARCH)."""

from __future__ import annotations

import os
import platform

from sregistry.errors import InvalidName

__all__ = ["KNOWN_ARCHES", "check_arch", "host_arch", "image_arch"]

KNOWN_ARCHES = frozenset(
    {"386", "amd64", "arm", "arm64", "ppc64", "ppc64le", "mips", "mipsle", "mips64"}
    | {"mips64le", "riscv64", "s390x"}
)
_MACHINES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "ppc64le": "ppc64le",
    "ppc64": "ppc64",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "i386": "386",
    "i486": "386",
    "i586": "386",
    "i686": "386",
}


def host_arch(machine: str | None = None) -> str:
    """This machine's architecture (``amd64``, ``arm64``, ...), as a pull defaults to."""
    name = (machine if machine is not None else platform.machine()).lower()
    if name in _MACHINES:
        return _MACHINES[name]
    if name.startswith("arm"):
        return "arm"
    return name or "amd64"


def check_arch(arch: str) -> str:
    """``arch`` if it is a known GOARCH name, else :class:`InvalidName`."""
    if arch not in KNOWN_ARCHES:
        raise InvalidName(
            f"unknown architecture {arch!r}", hint=f"use one of: {', '.join(sorted(KNOWN_ARCHES))}"
        )
    return arch


def image_arch(path: str | os.PathLike[str]) -> str | None:
    """The architecture recorded in a SIF image's header, ``None`` when unknown."""
    from sregistry.metadata import read_sif

    return read_sif(path).arch
