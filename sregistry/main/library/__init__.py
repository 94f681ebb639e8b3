"""Backend for the Sylabs/Apptainer Library API (``library://``, Bearer token).

Also spoken by Singularity Registry Server's ``/v1``/``/v2`` views. The client
lives in :mod:`sregistry.main.library.client`; references in :mod:`.refs`.
"""

from sregistry.main.backend import INSECURE, OPERATIONS, Backend, Option

__all__ = ["BACKEND"]

BACKEND = Backend(
    name="library",
    client="sregistry.main.library.client:LibraryClient",
    options=(
        Option(
            "base",
            "--library",
            "Library API base URL for library:// references.",
            metavar="URL",
            selects=True,
        ),
        Option(
            "remote",
            "--remote",
            "Singularity/Apptainer remote (remote.yaml) to take the library server and token from.",
            metavar="NAME",
            operations=OPERATIONS - {"login", "logout"},
            selects=True,
        ),
        INSECURE,
        Option(
            "arch",
            "--arch",
            "Architecture of a library:// image (amd64, arm64, ...). Default: the image's "
            "own (push) or this machine's (pull, delete, inspect).",
            metavar="ARCH",
            operations=frozenset({"push", "pull", "delete", "inspect"}),
            strict=True,
        ),
        Option(
            "connections",
            "--connections",
            "Parallel connections for library:// transfers "
            "(also SREGISTRY_LIBRARY_CONNECTIONS; default: one, then one more while "
            "that raises the throughput, up to 8).",
            metavar="N",
            integer=(1, 32),
            operations=frozenset({"push", "pull"}),
            strict=True,
        ),
        Option(
            "part_size",
            "--part-size",
            "Size of each parallel part of a library:// pull, e.g. 64M "
            "(also SREGISTRY_LIBRARY_PART_SIZE; default 32M).",
            metavar="BYTES",
            operations=frozenset({"pull"}),
            strict=True,
        ),
    ),
    login="sregistry.main.library.account:login",
    logout="sregistry.main.library.account:logout",
    report="sregistry.main.library.account:report",
)
"""What the ``sregistry.backends`` entry point ``library`` names."""
