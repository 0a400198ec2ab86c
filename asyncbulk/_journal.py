"""An append-only, fsynced journal file, and the identity of an input file.

One orjson object per line, flushed and fsynced at each step that matters, so a crash loses at most
the line being written; a torn last line is ignored when the journal is read back. What the lines
mean is the business of the workflow that writes them (a load's events live in
:mod:`asyncbulk._load._journal`).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Self

import orjson

from ._exceptions import ResumeError

__all__ = ["JOURNAL_NAME", "Event", "JournalFile", "file_identity"]

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


@dataclass(frozen=True, kw_only=True)
class Event:
    """One line of a journal: a frozen dataclass of JSON types (a workflow's events subclass it,
    converting their typed fields in ``_dump`` / ``_load``); ``kind`` names it in the file."""

    kind: ClassVar[str] = ""
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        """The line as JSON types, ``event`` naming the class."""
        data: dict[str, Any] = {"event": self.kind}
        for f in fields(self):
            data[f.name] = self._dump(f.name, getattr(self, f.name))
        return data

    def _dump(self, name: str, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """The event :meth:`to_json` wrote."""
        values = {f.name: cls._load(f.name, data[f.name]) for f in fields(cls) if f.name in data}
        return cls(**values)

    @classmethod
    def _load(cls, name: str, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value


class JournalFile:
    """Append-only, fsynced lines of JSON. Blocking: call it from a worker thread.

    :param path: the journal file (opened for appending).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("ab")

    @classmethod
    def create(cls, path: Path, first: dict[str, Any]) -> JournalFile:
        """Start a new journal at ``path`` (replacing an old one) whose first line is ``first``."""
        path.unlink(missing_ok=True)
        journal = cls(path)
        journal.append(first)
        return journal

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        """Every complete line of the journal at ``path`` (a torn last line is ignored).

        :raises ResumeError: there is no journal, or a line before the last is damaged.
        """
        if not path.exists():
            raise ResumeError(f"{path.parent}: nothing to resume, no {path.name} there")
        lines = list(_lines(path))
        events: list[dict[str, Any]] = []
        for number, line in enumerate(lines, start=1):
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                # Only the last line can be torn by a crash in the middle of a write.
                if number == len(lines):
                    break
                raise ResumeError(
                    f"{path}: line {number} is not valid JSON; the journal is damaged"
                ) from None
            if not isinstance(value, dict):
                raise ResumeError(f"{path}: line {number} is not a JSON object; the journal is damaged")
            events.append(value)
        return events

    def append(self, record: dict[str, Any]) -> None:
        """Append ``record`` and make it durable before returning."""
        self._handle.write(orjson.dumps(record) + b"\n")
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
