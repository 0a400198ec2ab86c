"""The index of loads: which input went into which org and object, and whether that load finished.

A load started again after a crash with the same command (not ``resume``) would send every record
again; with the default out folder (a new one per run) nothing would even hint at it. So each load
notes its start and its end in a small file, and a new load of the same input into the same org and
object first looks there for one that did not finish.

The file is ``loads.jsonl`` in ``$ASYNCBULK_STATE_DIR``, else ``$XDG_STATE_HOME/asyncbulk``, else
``~/.local/state/asyncbulk`` (the XDG Base Directory place for state that should persist between
runs but is not worth backing up). It holds no credential and can be deleted at any time: the
journal in each out folder stays the source of truth, the index only points at it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .._journal import JOURNAL_NAME

__all__ = ["LoadIndex", "PastLoad", "state_dir"]

_NAME = "loads.jsonl"


def state_dir() -> Path:
    """Where asyncbulk keeps its index of loads."""
    explicit = os.environ.get("ASYNCBULK_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "asyncbulk"


@dataclass(frozen=True)
class PastLoad:
    """A load the index knows of.

    :param out_dir: its out folder.
    :param started: when it started (Unix time).
    :param finished: when it finished, or ``None``.
    """

    out_dir: Path
    started: float
    finished: float | None


def load_key(instance_url: str, object_name: str, identity: dict[str, Any]) -> str:
    """What makes two loads "the same": the org, the object, and the input (path, size, content
    of its head; not its time, which a restored copy changes)."""
    parts = {
        "org": instance_url.rstrip("/").lower(),
        "object": object_name.lower(),
        "input": {k: v for k, v in identity.items() if k != "mtime_ns"},
    }
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


class LoadIndex:
    """Reads and appends the index file. Blocking; errors writing it never stop a load.

    :param directory: where the index lives (:func:`state_dir` by default).
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or state_dir()) / _NAME

    def unfinished(self, key: str, *, except_out: Path | None = None) -> PastLoad | None:
        """The latest load with ``key`` that did not finish and can still be resumed."""
        loads: dict[str, PastLoad] = {}
        try:
            with self.path.open("rb") as handle:
                for line in handle:
                    try:
                        entry = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue  # a torn line of a crashed writer
                    if not isinstance(entry, dict) or entry.get("key") != key:
                        continue
                    out = str(entry.get("out_dir"))
                    if entry.get("event") == "start":
                        loads[out] = PastLoad(Path(out), float(entry.get("at") or 0), None)
                    elif entry.get("event") == "finish" and out in loads:
                        past = loads[out]
                        loads[out] = PastLoad(past.out_dir, past.started, float(entry.get("at") or 0))
        except OSError:
            return None
        candidates = [
            p
            for p in loads.values()
            if p.finished is None
            and (p.out_dir / JOURNAL_NAME).exists()
            and (except_out is None or p.out_dir.resolve() != except_out.resolve())
        ]
        return max(candidates, key=lambda p: p.started, default=None)

    def started(self, key: str, out_dir: Path, input_name: str, object_name: str) -> None:
        """Note that a load began."""
        self._append(
            {
                "event": "start",
                "key": key,
                "out_dir": str(out_dir.resolve()),
                "input": input_name,
                "object": object_name,
                "at": time.time(),
            }
        )

    def finished(self, key: str, out_dir: Path) -> None:
        """Note that a load ended (no resume is needed)."""
        self._append({"event": "finish", "key": key, "out_dir": str(out_dir.resolve()), "at": time.time()})

    def _append(self, entry: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One short line per write, in append mode: concurrent loads do not tear each other's.
            with self.path.open("ab") as handle:
                handle.write(orjson.dumps(entry) + b"\n")
