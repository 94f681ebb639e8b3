"""Container metadata (labels, scripts, environment, arch) of SIF images.

``inspect_image(path)`` is the entry point; it runs ``singularity``/``apptainer
inspect`` when one is installed and otherwise reads the SIF file natively
(header, descriptors, the image's stored inspect metadata or its squashfs root
file system). No network I/O, no printing.

    >>> from sregistry.metadata import inspect_image
    >>> result = inspect_image("busybox.sif", method="native")
    >>> result.labels["org.label-schema.usage.singularity.version"]
    '3.8.1'
"""

from __future__ import annotations

from sregistry.errors import MetadataError
from sregistry.metadata.inspect import METHODS, Method, inspect_image
from sregistry.metadata.native import inspect_native
from sregistry.metadata.result import InspectResult
from sregistry.metadata.runtime import find_runtime, inspect_with_runtime, normalize_inspect_output
from sregistry.metadata.sif import DataType, Descriptor, SifHeader, SifImage, read_sif

__all__ = [
    "METHODS",
    "DataType",
    "Descriptor",
    "InspectResult",
    "MetadataError",
    "Method",
    "SifHeader",
    "SifImage",
    "find_runtime",
    "inspect_image",
    "inspect_native",
    "inspect_with_runtime",
    "normalize_inspect_output",
    "read_sif",
]
