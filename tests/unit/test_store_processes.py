"""Several processes on one store, and processes killed mid-write.

Every scenario ends with the same independent check (tests.unit.storecheck):
each row's file exists, has the row's size and hashes to its digest; no file
without a row; no temporary file once the dead writers' leftovers are swept.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sregistry.store import ImageStore
from tests.unit.storecheck import problems, rows, sha256_of

pytestmark = pytest.mark.slow  # 200 MiB files copied, processes killed mid-way

WORKER = Path(__file__).with_name("store_worker.py")
BIG = 200 << 20


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def random_file(path: Path, size: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "wb") as handle:
        left = size
        while left:
            count = min(left, 8 << 20)
            handle.write(rng.randbytes(count))
            left -= count
    return path


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 200 MiB file of random bytes (copying it takes a noticeable time)."""
    return random_file(tmp_path_factory.mktemp("big") / "big.sif", BIG)


def kill_mid_way(
    start: Callable[[], subprocess.Popen[str]],
    ready: Callable[[], bool],
    reset: Callable[[], None],
    attempts: int = 5,
) -> None:
    """Start a worker and SIGKILL it as soon as ``ready()``.

    On a loaded machine the worker may finish before this process looks
    again; then ``reset()`` and try anew (a few times) rather than fail.
    """
    for _attempt in range(attempts):
        process = start()
        deadline = time.monotonic() + 60
        while not ready() and process.poll() is None:
            assert time.monotonic() < deadline, "the worker never reached the kill point"
            time.sleep(0.0005)
        process.send_signal(signal.SIGKILL)
        _out, err = process.communicate(timeout=30)
        if process.returncode == -signal.SIGKILL:
            return
        assert process.returncode == 0, err
        reset()
    pytest.fail(f"the worker finished before it could be killed, {attempts} times")


def temps(directory: Path) -> list[Path]:
    try:
        return [path for path in directory.iterdir() if path.name.startswith("tmp.")]
    except FileNotFoundError:
        return []


def has_data(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def partial_temp(directory: Path) -> bool:
    return any(has_data(path) for path in temps(directory))


def test_two_processes_pushing_and_pulling_at_once(tmp_path: Path) -> None:
    root = tmp_path / "store"
    pool = tmp_path / "pool"
    pool.mkdir()
    for index in range(5):
        random_file(pool / f"image{index}.sif", (1 << 20) + index * 4096, seed=index)
    go = tmp_path / "go"
    workers = []
    for worker in (1, 2):
        out_dir = tmp_path / f"out{worker}"
        out_dir.mkdir()
        workers.append(
            spawn("churn", str(root), str(worker), str(pool), str(out_dir), "150", str(go))
        )
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{worker}").exists() for worker in (1, 2)):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.01)
    go.touch()
    finals = []
    for process in workers:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        finals.append(json.loads(out))

    assert max(f["started"] for f in finals) < min(f["ended"] for f in finals), "no overlap"
    assert problems(root) == []
    stored = {f"{c}/{n}:{t}": digest for c, n, t, digest, _size in rows(root)}
    for worker, final in zip((1, 2), finals, strict=True):
        own = {uri: digest for uri, digest in stored.items() if uri.startswith(f"w{worker}/")}
        assert own == final["images"], f"worker {worker}'s images are not what it left"
    assert ImageStore(root).check(verify=True).ok


def test_killed_mid_push_leaves_no_half_image(tmp_path: Path, big_file: Path) -> None:
    root = tmp_path / "store"
    blobs = root / "blobs" / "sha256"
    kill_mid_way(
        lambda: spawn("push", str(root), str(big_file), "big/image:v1"),
        lambda: partial_temp(blobs),
        lambda: shutil.rmtree(root),
    )

    assert rows(root) == [], "nothing recorded for the interrupted push"
    assert temps(blobs), "the half-written copy is still a temporary file"
    assert problems(root, allow_garbage=True) == []
    with ImageStore(root) as store:
        assert store.search() == []
        swept = store.sweep(min_age=0)
    assert len(swept.temps) == 1
    assert problems(root) == []

    finished = spawn("push", str(root), str(big_file), "big/image:v1")
    _out, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err
    assert problems(root) == []
    assert [row[3] for row in rows(root)] == [sha256_of(big_file)]


def test_killed_mid_move_in_keeps_the_source(tmp_path: Path, big_file: Path) -> None:
    root = tmp_path / "store"
    blobs = root / "blobs" / "sha256"
    source = tmp_path / "mine.sif"

    def start() -> subprocess.Popen[str]:
        shutil.copyfile(big_file, source)
        return spawn("add-move", str(root), str(source), "mine/image")

    kill_mid_way(start, lambda: bool(temps(blobs)), lambda: shutil.rmtree(root))

    assert source.exists(), "the file is moved only once the image is recorded"
    assert sha256_of(source) == sha256_of(big_file)
    assert rows(root) == []
    ImageStore(root).sweep(min_age=0)
    assert problems(root) == []
    assert source.stat().st_nlink == 1, "no stray link to the user's file is left"


def test_killed_mid_pull_leaves_no_half_file(tmp_path: Path, big_file: Path) -> None:
    root = tmp_path / "store"
    with ImageStore(root) as store:
        store.add(big_file, "big/image")
    dest = tmp_path / "out" / "pulled.sif"
    dest.parent.mkdir()

    def partial() -> bool:
        return any(has_data(path) for path in dest.parent.glob(".pulled.sif.*.incomplete"))

    kill_mid_way(lambda: spawn("export", str(root), "big/image", str(dest)), partial, dest.unlink)
    assert not dest.exists(), "the target name appears only when the copy is complete"
    assert problems(root) == []


def test_killed_at_random_moments(tmp_path: Path) -> None:
    """Kills anywhere in a push, transaction included, never break the store."""
    root = tmp_path / "store"
    image = random_file(tmp_path / "image.sif", 32 << 20, seed=3)
    other = random_file(tmp_path / "other.sif", 1 << 20, seed=4)
    with ImageStore(root) as store:
        store.add(other, "keep/me")
    rng = random.Random(42)
    outcomes = set()
    for attempt in range(8):
        process = spawn("push", str(root), str(image), f"try/image:{attempt % 3}")
        time.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        outcomes.add(process.returncode)
        assert problems(root, allow_garbage=True) == [], f"attempt {attempt}"
        with ImageStore(root) as store:
            assert store.get("keep/me").sha256 == sha256_of(other)
    ImageStore(root).sweep(min_age=0)
    assert problems(root) == []
    assert -signal.SIGKILL in outcomes
