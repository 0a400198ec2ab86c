"""Result pages of a query job: CSV lines, locators, and where a page starts and ends.

Decisions where "Get Results for a Query Job"
(https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm)
leaves things open:

* Every header and value is double-quoted (``"`` doubled), as in the page's example; a null is ``""``
  (clients cannot tell it from an empty text anyway). The job's delimiter and line ending are used, the
  line ending after every line.
* A locator is the unpadded, URL-safe base64 of ``"<first row>:<job id>"`` (a real one decodes to
  ``0:0GaHn000005s2T4KAI:1``, forcedotcom/cli#2968): opaque to clients, stable while the job exists.
  A page is the rows from the locator's row on, so the chain's locators depend on ``maxRecords``
  (a client may change it mid-chain: the pages simply continue from where the last one stopped).
* A page holds ``maxRecords`` rows, at most ``query_page_records``, and ends before the row that would
  take its body past ``query_page_bytes`` ("The request is still subject to the size limits").
"""

from __future__ import annotations

import base64
import binascii
from array import array
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from .._ingest import ApiError

__all__ = [
    "Page",
    "bad_locator",
    "decode_locator",
    "encode_locator",
    "header_line",
    "page_span",
    "render_chunk",
]


def _quote(values: Sequence[str]) -> list[str]:
    return [v.replace('"', '""') for v in values] if any('"' in v for v in values) else list(values)


def header_line(columns: Sequence[str], delimiter: str, eol: str) -> bytes:
    """A page's header line."""
    return ('"' + f'"{delimiter}"'.join(_quote(columns)) + '"' + eol).encode()


def render_chunk(block: Sequence[Sequence[str]], delimiter: str, eol: str) -> tuple[int, bytes, bytes]:
    """Column-wise rendered values as CSV lines: (rows, the lines, the packed end offset of each line)."""
    cols = [_quote(col) for col in block]
    sep = f'"{delimiter}"'
    lines = [('"' + sep.join(row) + '"' + eol).encode() for row in zip(*cols, strict=True)]
    ends = array("Q", accumulate(map(len, lines)))
    return len(lines), b"".join(lines), ends.tobytes()


def encode_locator(row: int, job_id: str) -> str:
    """The locator of the page that starts at ``row``."""
    return base64.urlsafe_b64encode(f"{row}:{job_id}".encode()).decode().rstrip("=")


def bad_locator() -> ApiError:
    """A locator the job never handed out (decision: the REST API's answer to a bad query locator)."""
    return ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


def decode_locator(locator: str, job_id: str, total: int) -> int:
    """The first row of the page ``locator`` names.

    :raises ApiError: 400 ``INVALID_QUERY_LOCATOR`` for a locator of another job, or garbage.
    """
    try:
        text = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_locator() from None
    row, _, owner = text.partition(":")
    if owner != job_id or not row.isdigit() or int(row) > total:
        raise bad_locator()
    return int(row)


@dataclass(frozen=True)
class Page:
    """One page: rows ``[start, stop)``, the byte ranges ``(chunk, lo, hi)`` of them, the next locator."""

    start: int
    stop: int
    pieces: tuple[tuple[int, int, int], ...]
    next_locator: str

    @property
    def rows(self) -> int:
        """``Sforce-NumberOfRecords``."""
        return self.stop - self.start


#: Reads the packed row ends of chunks ``first`` to ``last``.
ReadEnds = Callable[[int, int], list[bytes]]


def page_span(
    start: int, limit: int, total: int, chunk_rows: int, budget: int, read_ends: ReadEnds
) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """Where the page from row ``start`` of at most ``limit`` rows and ``budget`` bytes ends.

    Returns the row after the page and the byte ranges ``(chunk, lo, hi)`` of its rows; a page always
    holds at least one row when one is left.
    """
    stop = min(total, start + limit)
    if start >= stop:
        return start, ()
    pieces: list[tuple[int, int, int]] = []
    used = 0
    first, last = start // chunk_rows, (stop - 1) // chunk_rows
    for seq, raw in zip(range(first, last + 1), read_ends(first, last), strict=True):
        ends = array("Q")
        ends.frombytes(raw)
        base = seq * chunk_rows
        lo_row, hi_row = max(start, base) - base, min(stop, base + chunk_rows) - base
        lo = ends[lo_row - 1] if lo_row else 0
        hi = ends[hi_row - 1]
        if used + hi - lo > budget:
            fit = bisect_right(ends, budget - used + lo, lo_row, hi_row)
            if fit == lo_row and not pieces:
                fit = lo_row + 1
            if fit > lo_row:
                pieces.append((seq, lo, ends[fit - 1]))
            return base + fit, tuple(pieces)
        pieces.append((seq, lo, hi))
        used += hi - lo
    return stop, tuple(pieces)
