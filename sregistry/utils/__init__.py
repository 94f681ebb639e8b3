"""Helpers kept at the import paths Singularity Registry Server uses.

``from sregistry.utils import parse_image_name, get_file_hash, read_json``
"""

from sregistry.utils.fileio import get_file_hash, read_json
from sregistry.utils.names import parse_image_name, remove_uri

__all__ = ["get_file_hash", "parse_image_name", "read_json", "remove_uri"]
