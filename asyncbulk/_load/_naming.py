"""OS errors that name their file: a full disk says which file or folder it could not write."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

__all__ = ["naming"]


@contextlib.contextmanager
def naming(path: Path | str) -> Iterator[None]:
    """Give an OS error raised inside the block the file's name (a full disk says which file)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        strerror = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            strerror += " (the disk is full: free some space, then continue with `asyncbulk resume`)"
        raise OSError(exc.errno, strerror, str(path)) from exc
