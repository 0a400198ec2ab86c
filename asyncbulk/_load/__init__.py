"""One load, as stages: prepare, submit, poll, collect (merge), retry rounds, finish; and the
Connection that runs loads and extracts over one session."""

from ._api import extract as extract
from ._api import load as load
from ._connection import Connection as Connection
from ._connection import journal_kind as journal_kind
from ._connection import resolve_extract_dir as resolve_extract_dir
from ._finish import resumable as resumable
from ._prepare import stat_input as stat_input

__all__ = ["Connection", "extract", "journal_kind", "load", "resolve_extract_dir", "resumable", "stat_input"]
