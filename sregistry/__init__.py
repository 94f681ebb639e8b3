"""sregistry: client library and command-line tool for Singularity/Apptainer registries.

``from sregistry.main import get_client`` is the entry point for scripts.
Importing this package does no I/O and imports nothing heavy.
"""

__version__ = "0.3.0"

__all__ = ["__version__"]
