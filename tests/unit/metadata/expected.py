"""Expected inspect results of the fixtures, written out by hand."""

from __future__ import annotations

import json
from typing import Any

SH = "#!/bin/sh\n"
PATH_EXPORT = 'export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

# What the fixture README and make-fixtures.sh say `inspect --all --json` gives
# for busybox-like.sif, written out by hand (file contents, trailing \n stripped).
BUSYBOX_LIKE: dict[str, Any] = {
    "environment": {
        "/.singularity.d/env/10-docker2singularity.sh": SH + PATH_EXPORT,
        "/.singularity.d/env/90-environment.sh": SH
        + "# Custom environment shell code should follow\n\n\n"
        + '    export LC_ALL=C\n    export GREETING="hello from busybox-like"',
    },
    "labels": {
        "FIXTURE": "a",
        "MAINTAINER": '"Fixture Maintainer <fixtures@example.invalid>"',
        "org.label-schema.build-arch": "amd64",
        "org.label-schema.build-date": "Tuesday_14_November_2023_22:13:20_UTC",
        "org.label-schema.schema-version": "1.0",
        "org.label-schema.usage": "/.singularity.d/runscript.help",
        "org.label-schema.usage.apptainer.runscript.help": "/.singularity.d/runscript.help",
        "org.label-schema.usage.apptainer.version": "1.3.6",
        "org.label-schema.usage.singularity.deffile.bootstrap": "docker",
        "org.label-schema.usage.singularity.deffile.from": "busybox:1.36",
        "org.opencontainers.image.architecture": "amd64",
        "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
        "org.opencontainers.image.title": "busybox-like",
        "org.opencontainers.image.version": "1.36.1",
    },
    "runscript": SH + '\n    echo "$GREETING"\n    exec "$@"',
    "test": SH + "\n    test -d /etc\n    grep -q '^root:' /etc/passwd",
    "helpfile": "    busybox-like fixture: a tiny image for registry metadata extraction tests.\n"
    "    Usage: apptainer run busybox-like.sif [command...]",
    "deffile": "Bootstrap: docker\nFrom: busybox:1.36\n\n%help\n"
    "    busybox-like fixture: a tiny image for registry metadata extraction tests.\n"
    "    Usage: apptainer run busybox-like.sif [command...]\n\n%labels\n"
    '    MAINTAINER "Fixture Maintainer <fixtures@example.invalid>"\n'
    "    org.opencontainers.image.title busybox-like\n"
    "    org.opencontainers.image.version 1.36.1\n    FIXTURE a\n\n%environment\n"
    '    export LC_ALL=C\n    export GREETING="hello from busybox-like"\n\n%runscript\n'
    '    echo "$GREETING"\n    exec "$@"\n\n%test\n    test -d /etc\n'
    "    grep -q '^root:' /etc/passwd",
    "startscript": "#!/bin/sh",
}


def go_json(data: object) -> bytes:
    """Compact JSON as Go's encoding/json writes it (HTML characters escaped)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return text.encode()
