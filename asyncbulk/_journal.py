"""The load journal: what a crashed load needs to resume without losing or repeating a record.

One orjson object per line in ``out_dir/journal.jsonl``, flushed and fsynced at each step that
matters (a job about to be created, a job created, uploaded, merged). The first line names the
input (size, modification time, a hash of its first MiB) and the options; a resumed load refuses
to go on when either changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ._exceptions import ResumeError

__all__ = ["Journal", "file_identity"]

JOURNAL_NAME = "journal.jsonl"
_HEAD_BYTES = 1 << 20


def file_identity(path: Path, *, whole: bool = False) -> dict[str, Any]:
    """Size, modification time and a hash of the head of ``path``.

    With ``whole``, a hash of the whole content and no time: for a file asyncbulk writes itself
    (rows serialised from an iterable), whose time changes on every run but whose content must not.
    """
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        if whole:
            while block := handle.read(_HEAD_BYTES):
                digest.update(block)
            return {"rows_size": stat.st_size, "rows_sha256": digest.hexdigest()}
        digest.update(handle.read(_HEAD_BYTES))
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "head_sha256": digest.hexdigest(),
    }


class Journal:
    """Append-only, fsynced event log of one load. Blocking: call it from a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("ab")

    @classmethod
    def create(cls, out_dir: Path, header: dict[str, Any]) -> Journal:
        """Start a new journal (replacing an old one) whose first line is ``header``."""
        path = out_dir / JOURNAL_NAME
        path.unlink(missing_ok=True)
        journal = cls(path)
        journal.write({"event": "start", **header})
        return journal

    @staticmethod
    def read(out_dir: Path) -> list[dict[str, Any]]:
        """Every complete event of the journal in ``out_dir`` (a torn last line is ignored)."""
        path = out_dir / JOURNAL_NAME
        if not path.exists():
            raise ResumeError(f"{out_dir}: nothing to resume, no {JOURNAL_NAME} there")
        events = []
        for number, line in enumerate(_lines(path), start=1):
            try:
                events.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                # Only the last line can be torn by a crash in the middle of a write.
                if number == sum(1 for _ in _lines(path)):
                    break
                raise ResumeError(
                    f"{path}: line {number} is not valid JSON; the journal is damaged"
                ) from None
        if not events or events[0].get("event") != "start":
            raise ResumeError(f"{path}: the journal has no start record")
        return events

    def write(self, event: dict[str, Any]) -> None:
        """Append ``event`` and make it durable before returning."""
        self._handle.write(orjson.dumps(event) + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield line
