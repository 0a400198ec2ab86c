"""The output file of an extract: one header, then every page's rows, in the server's order.

Each results page is a complete CSV with its own header line (Salesforce repeats it), so the first
page is copied whole and the later ones without their header, which must be the same. The file is
``OUT.partial`` until the last page is in, then renamed to ``OUT``: a file at ``OUT`` is complete.
Pages are copied in blocks; nothing grows with the result.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._csv import first_record_end
from .._exceptions import AsyncBulkError
from .._limits import HEADER_MAX_CHARS

__all__ = ["OutputFile"]

_BLOCK = 1 << 20
_HEADER_BYTES = 4 * HEADER_MAX_CHARS + 8


def _header_of(path: Path) -> bytes:
    """The first record (the header line, its line ending included) of a CSV file."""
    with path.open("rb") as handle:
        head = handle.read(_HEADER_BYTES)
    end = first_record_end(head, 0)
    return head if end is None else head[:end]


class OutputFile:
    """Blocking: run its methods in a worker thread.

    :param final: where the complete file goes.
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self.partial = final.with_name(final.name + ".partial")
        self.header: bytes | None = None
        self.size = 0

    def open(self, *, size: int | None) -> None:
        """Start the file, or (resuming) cut it back to ``size``: the end of the last page journaled."""
        self.final.parent.mkdir(parents=True, exist_ok=True)
        if size is None or not self.partial.exists():
            self.partial.write_bytes(b"")
            self.size = 0
            return
        with self.partial.open("r+b") as handle:
            handle.truncate(size)
        self.size = size
        self.header = _header_of(self.partial) if size else None

    def append(self, page: Path) -> int:
        """Add one downloaded page; return the output's size after it (made durable)."""
        header = _header_of(page)
        with page.open("rb") as source, self.partial.open("ab") as out:
            if self.header is None:
                self.header = header
                out.write(header)
            elif header.rstrip(b"\r\n") != self.header.rstrip(b"\r\n"):
                raise AsyncBulkError(
                    f"{page}: this results page has other columns than the first one "
                    f"({header[:200]!r} against {self.header[:200]!r}); the query's pages do not fit together"
                )
            source.seek(len(header))
            while block := source.read(_BLOCK):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
            self.size = out.tell()
        return self.size

    def finish(self) -> None:
        """The last page is in: the complete file takes its place (replacing an older one)."""
        if self.header is None:
            raise AsyncBulkError(f"{self.partial}: no page was written")
        os.replace(self.partial, self.final)
