"""The inspect result every route returns, in the ``inspect --all --json`` (3.6+) form."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "APP_ATTRIBUTES",
    "ATTRIBUTES",
    "TEXT_ATTRIBUTES",
    "InspectResult",
    "clean_attributes",
]

ATTRIBUTES = (
    "apps",
    "environment",
    "labels",
    "runscript",
    "test",
    "helpfile",
    "deffile",
    "startscript",
)
"""Container attributes in the order ``inspect --json`` prints them."""
APP_ATTRIBUTES = ("environment", "labels", "runscript", "startscript", "test", "helpfile")
"""Attributes of one SCIF app."""
TEXT_ATTRIBUTES = ("runscript", "test", "helpfile", "deffile", "startscript")


@dataclass(frozen=True)
class InspectResult:
    """A container's metadata, however it was read.

    ``attributes`` follows Singularity 3.6+ / Apptainer ``inspect --all --json``:
    only present sections appear (an image without ``%test`` has no ``test``),
    maps have sorted keys, script texts have their trailing newlines stripped.
    Treat it as read-only; :meth:`to_json` returns a copy.
    """

    attributes: dict[str, Any]
    size: int
    """File size in bytes."""
    arch: str | None = None
    """Go architecture name (``amd64``, ``arm64``, ...) from the SIF header, if known."""
    source: str = "descriptor"
    """Where the metadata came from: ``descriptor`` (the image's stored
    inspect-metadata.json), ``squashfs`` (files in the root file system),
    ``sif`` (descriptors only: no metadata found), ``singularity`` or
    ``apptainer`` (the runtime's own inspect)."""
    path: str = ""
    warnings: tuple[str, ...] = field(default=())
    """Things worth telling the user: fallbacks taken, sections that could not be read."""
    manifest: dict[str, Any] | None = None
    """For an image read in an OCI registry (``oras://``): ``digest``,
    ``mediaType``, ``index`` (the index's digest when the tag names one),
    ``annotations`` and ``document`` (the manifest as the registry sent it);
    ``None`` for every other image."""

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.attributes.get("labels") or {})

    @property
    def environment(self) -> dict[str, str]:
        """In-container path of each environment file -> its content."""
        return dict(self.attributes.get("environment") or {})

    @property
    def apps(self) -> dict[str, dict[str, Any]]:
        """SCIF app name -> its attributes (``environment``, ``labels``, ``runscript``, ...)."""
        return copy.deepcopy(self.attributes.get("apps") or {})

    @property
    def runscript(self) -> str | None:
        return self._text("runscript")

    @property
    def test(self) -> str | None:
        return self._text("test")

    @property
    def helpfile(self) -> str | None:
        return self._text("helpfile")

    @property
    def deffile(self) -> str | None:
        return self._text("deffile")

    @property
    def startscript(self) -> str | None:
        return self._text("startscript")

    def _text(self, name: str) -> str | None:
        value = self.attributes.get(name)
        return value if isinstance(value, str) else None

    @property
    def is_empty(self) -> bool:
        """True when no metadata section was found."""
        return not self.attributes

    def to_json(self) -> dict[str, Any]:
        """``{"data": {"attributes": {...}}, "type": "container"}`` (a fresh copy)."""
        return {"data": {"attributes": copy.deepcopy(self.attributes)}, "type": "container"}

    def upload_metadata(self) -> dict[str, Any]:
        """The registry upload's metadata field: :meth:`to_json` plus ``arch`` when known."""
        data = self.to_json()
        if self.arch:
            data["arch"] = self.arch
        return data


def _string_map(name: str, value: object, warnings: list[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        if value not in (None, "", []):
            warnings.append(f"ignored {name}: expected a JSON object, got {type(value).__name__}")
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            out[str(key)] = item
        else:
            warnings.append(f"{name} {key!r}: not a string, kept as JSON text")
            out[str(key)] = json.dumps(item)
    return dict(sorted(out.items()))


def clean_attributes(
    raw: dict[str, Any], warnings: list[str], *, keys: tuple[str, ...] = ATTRIBUTES
) -> dict[str, Any]:
    """Validate attributes in the 3.6+ form: drop empty sections, sort maps, order keys.

    Values of the wrong type are dropped (or, for map values, kept as JSON
    text) with a note in ``warnings``; unknown keys are kept, after the known ones.
    """
    out: dict[str, Any] = {}
    for name in keys:
        value = raw.get(name)
        if value is None:
            continue
        if name == "apps":
            apps = value if isinstance(value, dict) else {}
            if not isinstance(value, dict) and value != "":
                warnings.append("ignored apps: expected a JSON object")
            cleaned = {
                str(app): clean_attributes(
                    attrs if isinstance(attrs, dict) else {}, warnings, keys=APP_ATTRIBUTES
                )
                for app, attrs in sorted(apps.items())
            }
            if cleaned:
                out[name] = cleaned
        elif name in ("labels", "environment"):
            mapping = _string_map(name, value, warnings)
            if mapping:
                out[name] = mapping
        elif isinstance(value, str):
            if value:
                out[name] = value
        else:
            warnings.append(f"ignored {name}: expected a string, got {type(value).__name__}")
    if keys is ATTRIBUTES:
        out.update((key, value) for key, value in raw.items() if key not in ATTRIBUTES)
    return out
