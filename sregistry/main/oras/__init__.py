"""``oras://``: SIF images as OCI artifacts in OCI registries (Distribution API).

* :mod:`.reference`: ``oras://`` references, Docker Hub defaults, the plain-HTTP rule;
* :mod:`.manifest`: the manifest Apptainer writes and the ones it reads;
* :mod:`.api`: the one place registry answers become results or exceptions;
* :mod:`.credentials`: Docker/Apptainer config files and credential helpers;
* :mod:`.auth`: anonymous, Basic and Bearer token flows, tokens cached per scope;
* :mod:`.session`: requests to one registry with authentication applied;
* :mod:`.blobs`: blob existence, mounts, uploads that resume, verified downloads;
* :mod:`.distribution`: manifests, tags, catalog and deletes.

Nothing here prints, prompts or exits; HTTP goes through :mod:`sregistry.transfer`.
"""

from sregistry.main.backend import INSECURE, Backend, Option

__all__ = ["BACKEND"]

BACKEND = Backend(
    name="oras",
    client="sregistry.main.oras.client:OrasClient",
    login="sregistry.main.oras.account:login",
    logout="sregistry.main.oras.account:logout",
    report="sregistry.main.oras.account:report",
    options=(
        Option(
            "username",
            "--username",
            "Username to log in to an oras:// registry with.",
            metavar="NAME",
            operations=frozenset({"login"}),
        ),
        Option(
            "arch",
            "--arch",
            "For oras://: the architecture to take from an image index (default: this machine's).",
            metavar="ARCH",
            operations=frozenset({"pull", "inspect"}),
        ),
        INSECURE,
    ),
)
"""What the ``sregistry.backends`` entry point ``oras`` names."""
