"""Crash points for the SIGKILL tests: the load kills itself where a real crash would hurt most.

``ASYNCBULK_CRASH_AT=name:n`` kills the process (SIGKILL, no clean-up) the n-th time the load
reaches crash point ``name``: a load's ``planned``, ``create_sent``, ``uploaded``, ``polled``,
``merge``; an extract's ``query_created``, ``page_written``.
"""

from __future__ import annotations

import os
import signal

__all__ = ["crash_point"]

_CRASH_AT = os.environ.get("ASYNCBULK_CRASH_AT", "")
_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Die here if the environment asks for it (a test hook; a no-op otherwise)."""
    if not _CRASH_AT:
        return
    want, _, nth = _CRASH_AT.partition(":")
    if want != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
