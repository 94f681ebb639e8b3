"""Container metadata from ``singularity inspect`` / ``apptainer inspect``.

The executable runs with a deadline (its whole process group is killed when
the deadline passes) and stdin closed, so it can neither hang a push nor
prompt. spython's ``Client.inspect()`` is deliberately not the runner: it has
no timeout, always runs ``singularity`` (an Apptainer without the compat
symlink fails), can ``sys.exit`` and print, and never asks for the
startscript or apps. Its return values are still understood by
:func:`normalize_inspect_output`, error dictionaries included.

Each version's ``--json`` shape (``docs/sif-and-inspect.md`` §5.2) is turned
into the 3.6+ attribute form: 2.x (``help``, environment as one string),
3.0-3.1 (labels as JSON text), 3.2-3.4 (environment keyed by file name,
``"apps": ""``), 3.5 (environment as one string) and 3.6+/Apptainer as is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from typing import Any

from sregistry.errors import MetadataError
from sregistry.metadata.process import last_line, run_bounded
from sregistry.metadata.result import InspectResult, clean_attributes
from sregistry.metadata.sif import ImageFile, read_sif

__all__ = [
    "find_runtime",
    "inspect_arguments",
    "inspect_with_runtime",
    "normalize_inspect_output",
    "parse_version",
]

RUNTIMES = ("singularity", "apptainer")
ENV_DIR = "/.singularity.d/env"
_LEGACY_FLAGS = (
    "--labels",
    "--deffile",
    "--runscript",
    "--test",
    "--environment",
    "--helpfile",
    "--json",
)


def find_runtime() -> str | None:
    """The path of ``singularity`` or else ``apptainer`` on ``PATH``, if either is there."""
    for name in RUNTIMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def parse_version(text: str) -> tuple[str, tuple[int, int]]:
    """``(product, (major, minor))`` from ``--version`` output.

    ``apptainer version 1.3.6`` -> ``("apptainer", (1, 3))``;
    ``singularity-ce version 4.1.0`` and ``singularity version 3.8.1`` -> ``singularity``;
    Singularity 2.x prints only the number (``2.6.1-dist``). ``(0, 0)`` when unknown.
    """
    product = "apptainer" if "apptainer" in text.lower() else "singularity"
    match = re.search(r"(\d+)\.(\d+)", text)
    version = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    return product, version


def inspect_arguments(product: str, version: tuple[int, int]) -> list[str]:
    """The ``inspect`` arguments asking for every section this version knows."""
    if product == "apptainer" or version >= (3, 6):
        return ["inspect", "--all"]  # implies --json; adds startscript and apps
    return ["inspect", *_LEGACY_FLAGS]


def _run(argv: list[str], deadline: float, timeout: float) -> bytes:
    """Run ``argv`` until ``deadline``; its stdout, or ``MetadataError``."""
    done = run_bounded(
        argv,
        deadline=deadline,
        timeout=timeout,
        hint="raise the timeout or read the image natively",
    )
    if done.returncode != 0:
        command = f"{os.path.basename(argv[0])} {argv[1]}"
        raise MetadataError(
            f"`{command}` failed (exit {done.returncode}): {last_line(done.stderr)}"
        )
    return done.stdout


def _parse_json(stdout: bytes, command: str) -> Any:
    text = stdout.decode("utf-8", "replace")
    candidates = [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 < start < end:  # tolerate lines printed around the JSON
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise MetadataError(f"`{command}` printed no JSON: {text.strip()[:200]!r}")


def inspect_with_runtime(
    path: str | os.PathLike[str], *, executable: str | None = None, timeout: float = 60.0
) -> InspectResult:
    """Run ``singularity``/``apptainer inspect`` on ``path`` within ``timeout`` seconds.

    Raises :class:`~sregistry.errors.NotFound` for a missing file and
    :class:`~sregistry.errors.MetadataError` when no runtime is installed, it
    fails, times out or prints something that is not inspect JSON.
    """
    executable = executable or find_runtime()
    if executable is None:
        raise MetadataError(
            "neither singularity nor apptainer is on PATH",
            hint="install one, or read the image natively",
        )
    with ImageFile(path) as handle:
        size, image = handle.size, handle.path
    deadline = time.monotonic() + timeout
    product, version = parse_version(
        _run([executable, "--version"], deadline, timeout).decode("utf-8", "replace")
    )
    argv = [executable, *inspect_arguments(product, version), image]
    data = _parse_json(_run(argv, deadline, timeout), f"{product} inspect")
    warnings: list[str] = []
    attributes = normalize_inspect_output(data, warnings)
    try:
        arch = read_sif(image).arch
    except MetadataError:
        arch = None  # e.g. a Singularity 2.x squashfs image: the runtime reads it, we do not
    return InspectResult(attributes, size, arch, product, image, tuple(warnings))


def _strip(value: Any) -> Any:
    return value.rstrip("\n") if isinstance(value, str) else value


def _normalize_environment(value: Any, warnings: list[str]) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        # 2.x to 3.5 report one environment file's content without its name.
        warnings.append(
            "this singularity reports the environment without file names; "
            f"it is shown as {ENV_DIR}/90-environment.sh"
        )
        return {f"{ENV_DIR}/90-environment.sh": _strip(value)}
    if isinstance(value, dict):
        return {
            (key if str(key).startswith("/") else f"{ENV_DIR}/{key}"): _strip(text)
            for key, text in value.items()
        }
    return value


def _normalize_labels(value: Any, warnings: list[str]) -> Any:
    if isinstance(value, str):  # 3.0-3.1: the text of labels.json
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            warnings.append("labels are not valid JSON; skipped")
            return None
    return value


def _normalize_apps(value: Any) -> Any:
    if isinstance(value, str):  # 3.3-3.5: app names, one per line (or "")
        return {name: {} for name in value.split()}
    if isinstance(value, dict):
        return {
            name: {key: _strip(text) for key, text in attrs.items()}
            if isinstance(attrs, dict)
            else attrs
            for name, attrs in value.items()
        }
    return value


def normalize_inspect_output(data: Any, warnings: list[str]) -> dict[str, Any]:
    """Attributes in the 3.6+ form from any version's ``inspect --json`` output.

    Also accepts what spython's ``Client.inspect()`` returns: its unwrapped
    ``{"attributes": ...}`` dictionaries, and its ``{"message": [...],
    "return_code": N}`` failure dictionary, which raises ``MetadataError``.
    Script texts lose their trailing newlines like 3.6+ gives them; the deffile
    is kept as the runtime printed it.
    """
    if not isinstance(data, dict):
        raise MetadataError("inspect printed JSON that is not an object")
    if "return_code" in data and "message" in data:
        message = data["message"]
        parts = message if isinstance(message, list) else [message]
        lines = [line.strip() for part in parts for line in str(part).splitlines() if line.strip()]
        detail = lines[-1] if lines else "no error message"
        raise MetadataError(f"singularity inspect failed (exit {data['return_code']}): {detail}")
    body = data.get("data", data)
    if isinstance(body, dict) and "attributes" not in body and "errors" in data:
        errors = data["errors"] if isinstance(data["errors"], list) else [data["errors"]]
        details = "; ".join(
            str(error.get("detail") or error.get("title") or error)
            if isinstance(error, dict)
            else str(error)
            for error in errors
        )
        warnings.append(f"singularity found no metadata: {details}")
        return {}
    raw = body.get("attributes") if isinstance(body, dict) else None
    if not isinstance(raw, dict):
        raise MetadataError("inspect printed JSON without attributes")
    attributes: dict[str, Any] = {}
    for key, value in raw.items():
        name = "helpfile" if key == "help" else key
        if name == "labels":
            attributes[name] = _normalize_labels(value, warnings)
        elif name == "environment":
            attributes[name] = _normalize_environment(value, warnings)
        elif name == "apps":
            attributes[name] = _normalize_apps(value)
        else:
            attributes[name] = value if name == "deffile" else _strip(value)
    return clean_attributes(attributes, warnings)
