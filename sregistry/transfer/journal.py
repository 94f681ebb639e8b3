"""The ``.incomplete`` file of a ranged download, and resuming it in a later run.

A download whose SHA-256 is known writes to ``<target>.<sha256[:16]>.incomplete``
(otherwise to a random name). When a run fails or is interrupted after some
bytes arrived, it keeps that file and saves a journal beside it
(``….incomplete.json``: the sha256, the size and the byte spans on disk). The
next run for the same target and content reuses the spans and fetches only
what is missing.

Why reuse is safe:

* the file name and the journal are bound to the expected sha256 and size; a
  journal for other content, another size or with malformed spans is ignored
  and the file started afresh;
* a span is recorded only after ``pwrite`` returned for all of its bytes, and
  a resumed run only writes outside the recorded spans;
* concurrent runs cannot share the file: it is locked (``flock``), and a run
  that finds it locked uses a random name without resuming;
* the whole file is still hashed and compared before it is renamed into
  place, and a resumed file that does not match (e.g. pages lost in a crash
  after the journal was written) is discarded and downloaded again from
  scratch, once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sregistry.errors import NotFound, TransferError
from sregistry.transfer.download import Incomplete

__all__ = [
    "Span",
    "Temporary",
    "coalesce",
    "kept_note",
    "kept_since",
    "open_temporary",
    "remove_stale",
    "resumable",
]

log = logging.getLogger("sregistry.transfer")

Span = tuple[int, int]
"""``[start, end)`` byte offsets."""
_VERSION = 1


def coalesce(spans: list[Span]) -> list[Span]:
    """Sorted, merged, non-empty spans."""
    merged: list[Span] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass
class Temporary:
    """An open ``.incomplete`` file; ``spans`` are the bytes already on disk."""

    path: Path
    fd: int
    spans: list[Span]
    journal: Path | None
    """Where progress is saved on failure; ``None`` when this file cannot be resumed."""

    @property
    def reused(self) -> int:
        """Bytes taken over from an earlier run."""
        return sum(end - start for start, end in self.spans)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def keep(self, spans: list[Span], sha256: str, size: int) -> bool:
        """Save the journal and close, keeping the file; False (and discard) if not resumable."""
        done = coalesce(spans)
        if self.journal is None or not done:
            self.discard()
            return False
        data = {"version": _VERSION, "sha256": sha256, "size": size, "spans": done}
        partial = self.journal.with_name(self.journal.name + ".tmp")
        try:
            partial.write_text(json.dumps(data), encoding="utf-8")
            os.replace(partial, self.journal)
        except OSError as exc:
            log.debug("cannot save %s: %s", self.journal, exc)
            self.discard()
            return False
        self.close()
        return True

    def discard(self) -> None:
        """Close and delete the file and its journal."""
        self.close()
        for path in (self.path, self.journal):
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()

    def forget_journal(self) -> None:
        """Delete the journal (the file is complete, or about to be replaced)."""
        if self.journal is not None:
            with contextlib.suppress(OSError):
                self.journal.unlink()


def _load(journal: Path, sha256: str, size: int) -> list[Span]:
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not (
        isinstance(data, dict)
        and data.get("version") == _VERSION
        and data.get("sha256") == sha256
        and data.get("size") == size
        and isinstance(data.get("spans"), list)
    ):
        return []
    spans: list[Span] = []
    for item in data["spans"]:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in item)
            and 0 <= item[0] < item[1] <= size
        ):
            return []
        spans.append((item[0], item[1]))
    return coalesce(spans)


def _create_random(target: Path) -> Temporary:
    path, fd = Incomplete(target).create(os.O_RDWR)
    return Temporary(path, fd, [], None)


def _lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # not POSIX: no resuming
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def kept_note(path: Path) -> str:
    """What to tell about a partial download kept at ``path``."""
    return (
        f"the partial download is kept at {path}: run the same pull again to resume it, or "
        f"delete it and {path.name}.json to discard it"
    )


def kept_since(folder: Path, since: float) -> list[Path]:
    """The partial downloads in ``folder`` whose journal was written at or after
    ``since`` (``time.time()``): what an interrupted run kept."""
    try:
        journals = [p for p in folder.glob("*.incomplete.json") if p.stat().st_mtime >= since]
    except OSError:
        return []
    return sorted(p.with_name(p.name.removesuffix(".json")) for p in journals)


def remove_stale(target: Path) -> list[Path]:
    """Delete the kept partial downloads of ``target`` (for any content) that no run is
    using; called once ``target`` is complete. Returns what was removed."""
    pattern = re.compile(re.escape(target.name) + r"\.[0-9a-f]{16}\.incomplete")
    removed = []
    try:
        found = [p for p in target.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return []
    for path in found:
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            if not _lock(fd):
                continue  # another run is writing it
            for stale in (path, path.with_name(path.name + ".json")):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
            removed.append(path)
        except OSError as exc:
            log.debug("cannot remove %s: %s", path, exc)
        finally:
            os.close(fd)
    return removed


def _paths(target: Path, sha256: str) -> tuple[Path, Path]:
    path = target.with_name(f"{target.name}.{sha256[:16]}.incomplete")
    return path, path.with_name(path.name + ".json")


def resumable(target: Path, sha256: str | None) -> bool:
    """True when an earlier run left a journal for this target and content."""
    return sha256 is not None and _paths(target, sha256)[1].is_file()


def open_temporary(target: Path, *, sha256: str | None, size: int) -> Temporary:
    """The ``.incomplete`` file for ``target``: resumed when a matching journal says so."""
    if not target.parent.is_dir():
        raise NotFound(f"the directory {target.parent} does not exist")
    if sha256 is None:
        return _create_random(target)
    path, journal = _paths(target, sha256)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise TransferError(
            f"cannot write in {target.parent}: {exc.strerror}", hint="choose another destination"
        ) from None
    if not _lock(fd):
        os.close(fd)
        log.debug("%s is in use by another download: not resuming", path)
        return _create_random(target)
    spans = _load(journal, sha256, size) if os.fstat(fd).st_size == size else []
    if spans:
        log.debug("resuming %s: %d bytes already there", path, sum(e - s for s, e in spans))
    else:
        with contextlib.suppress(OSError):
            journal.unlink()
        os.ftruncate(fd, 0)
    return Temporary(path, fd, spans, journal)
