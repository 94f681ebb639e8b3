"""A separate process working on a store, for the concurrency and crash tests.

    python store_worker.py churn ROOT WORKER POOL_DIR OUT_DIR ITERATIONS GO_FILE
    python store_worker.py push ROOT FILE NAME
    python store_worker.py add-move ROOT FILE NAME
    python store_worker.py export ROOT NAME DEST

``churn`` mixes pushes, pulls, deletes, renames, moves and moved-in adds on
its own names (``w<WORKER>/...``) and on one name every worker fights over
(``shared/img``), then prints its own names' final digests and its start and end times as JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import shutil
import sys
import time
from pathlib import Path

from sregistry.errors import NotFound
from sregistry.main.local.client import LocalClient
from sregistry.store import ImageStore


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def churn(root: Path, *, worker: int, pool_dir: Path, out: Path, iterations: int, go: Path) -> None:
    pool = sorted(pool_dir.iterdir())
    digests = {sha256_of(path) for path in pool}
    rng = random.Random(worker)
    mine: dict[str, str] = {}
    client = LocalClient(storage=root)
    store = client.store
    (go.parent / f"ready{worker}").touch()
    while not go.exists():
        time.sleep(0.001)
    started = time.time()
    for i in range(iterations):
        source = rng.choice(pool)
        own = f"w{worker}/img{rng.randrange(4)}:t"
        action = rng.choice(
            ["push", "push-shared", "pull-shared", "delete-shared", "move", "add-move", "rename"]
        )
        if action == "push":
            result = client.push(source, own, inspect=False)
            mine[result.name] = result.sha256
        elif action == "push-shared":
            client.push(source, "shared/img", inspect=False)
        elif action == "pull-shared":
            try:
                pulled = client.pull("shared/img", out / f"pull-{i}.sif")
            except NotFound:
                continue
            assert sha256_of(pulled.path) == pulled.sha256, "pulled bytes differ from their digest"
            assert pulled.sha256 in digests, "pulled bytes that were never pushed"
        elif action == "delete-shared":
            with contextlib.suppress(NotFound):
                client.delete("shared/img")
        elif action == "move" and own in mine:
            target = store.export(own, out / f"moved-{i}.sif", move=True)
            assert sha256_of(target) == mine.pop(own)
        elif action == "add-move":
            copy = out / f"in-{i}.sif"
            shutil.copyfile(source, copy)
            image = store.add(copy, own, copy=False)
            assert not copy.exists()
            mine[image.uri] = image.sha256
        elif action == "rename" and own in mine:
            new = f"w{worker}/renamed{i}:t"
            store.rename(own, new)
            mine[new] = mine.pop(own)
    client.close()
    print(json.dumps({"images": mine, "started": started, "ended": time.time()}))


def main(argv: list[str]) -> None:
    command, root = argv[0], Path(argv[1])
    if command == "churn":
        churn(
            root,
            worker=int(argv[2]),
            pool_dir=Path(argv[3]),
            out=Path(argv[4]),
            iterations=int(argv[5]),
            go=Path(argv[6]),
        )
    elif command == "push":
        LocalClient(storage=root).push(argv[2], argv[3], inspect=False)
    elif command == "add-move":
        ImageStore(root).add(argv[2], argv[3], copy=False)
    elif command == "export":
        ImageStore(root).export(argv[2], argv[3])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
