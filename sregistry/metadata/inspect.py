"""Choosing how to read an image's metadata: the runtime's inspect or the native reader."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Literal

from sregistry.errors import MetadataError
from sregistry.metadata.native import inspect_native
from sregistry.metadata.result import InspectResult
from sregistry.metadata.runtime import find_runtime, inspect_with_runtime

__all__ = ["METHODS", "Method", "inspect_image"]

Method = Literal["auto", "native", "singularity"]
METHODS: tuple[Method, ...] = ("auto", "native", "singularity")


def inspect_image(
    path: str | os.PathLike[str], *, method: Method = "auto", timeout: float = 60.0
) -> InspectResult:
    """The inspect metadata, architecture and size of the image at ``path``.

    ``method``:

    - ``"native"``: read the SIF file in Python (no subprocess, except
      ``unsquashfs`` for an lzo/lz4 root file system when it is installed);
    - ``"singularity"``: run ``singularity``/``apptainer inspect`` (whichever
      is on ``PATH``) within ``timeout`` seconds;
    - ``"auto"`` (default): the runtime when one is installed, else native; if
      the runtime fails or times out, native, with the reason in ``warnings``.

    Raises :class:`~sregistry.errors.NotFound` when ``path`` does not exist
    and :class:`~sregistry.errors.MetadataError` when the image cannot be read.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    if method == "native":
        return inspect_native(path, timeout=timeout)
    executable = find_runtime()
    if method == "singularity":
        return inspect_with_runtime(path, executable=executable, timeout=timeout)
    if executable is None:
        return inspect_native(path, timeout=timeout)
    try:
        return inspect_with_runtime(path, executable=executable, timeout=timeout)
    except MetadataError as exc:
        reason = f"{os.path.basename(executable)} inspect failed, read natively: {exc}"
    result = inspect_native(path, timeout=timeout)
    return replace(result, warnings=(reason, *result.warnings))
