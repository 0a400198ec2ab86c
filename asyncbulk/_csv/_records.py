"""Record boundaries on raw bytes, by quote parity (no field parsing).

A record ends at a line feed outside quotes. Inside a quoted field quotes come in pairs (``""``
escapes one), so a line feed ends a record exactly when the number of quotes since the record start
is even. ``bytes.count`` / ``bytes.find`` / ``bytes.split`` (all C loops) find the boundaries.
"""

from __future__ import annotations

import re

__all__ = [
    "CR",
    "LF",
    "QUOTE",
    "count_records",
    "first_record_end",
    "last_record_end",
    "nth_newline_end",
    "nth_record_end",
]

QUOTE = 0x22
LF = 0x0A
CR = 0x0D

# A record by quote parity alone (no field structure): unquoted stretches and "..." sections up to
# an LF outside quotes. Used to find the n-th record end when cutting a chunk.
_ANY_RECORD = rb'[^"\n]*+(?:"[^"]*+"[^"\n]*+)*+\n'


def count_records(data: bytes, lo: int, hi: int) -> int:
    """Records that end in ``data[lo:hi]``, ``lo`` being a record start (even quote parity)."""
    newlines = data.count(b"\n", lo, hi)
    if data.find(b'"', lo, hi) == -1:
        return newlines
    # Every second piece between quotes is inside a quoted field; its line feeds end no record.
    inside = b"".join(data[lo:hi].split(b'"')[1::2])
    return newlines - inside.count(b"\n")


def nth_record_end(data: bytes, lo: int, n: int) -> int:
    """The offset just after the ``n``-th record that starts at ``lo`` (``lo`` itself for n=0).

    The caller guarantees at least ``n`` complete records follow ``lo``.
    """
    if n <= 0:
        return lo
    if data.find(b'"', lo) == -1:
        # No quotes: the n-th line feed. split() with maxsplit stops early and runs in C.
        rest = data[lo:].split(b"\n", n)[-1]
        return len(data) - len(rest)
    match = re.compile(rb"(?:%s){%d}" % (_ANY_RECORD, n)).match(data, lo)
    if match is None:  # pragma: no cover - callers count records first
        raise AssertionError("fewer records than counted")
    return match.end()


def last_record_end(data: bytes, lo: int, hi: int) -> int:
    """The last record end in ``(lo, hi]`` (``lo`` is a record start), or ``lo`` if there is none."""
    j = data.rfind(b"\n", lo, hi)
    if j == -1:
        return lo
    quotes = data.count(b'"', lo, j)
    while quotes % 2:
        # This line feed is inside a quoted field: step back to the previous one, keeping the
        # quote count current without recounting from lo.
        k = data.rfind(b"\n", lo, j)
        if k == -1:
            return lo
        quotes -= data.count(b'"', k, j)
        j = k
    return j + 1


def first_record_end(data: bytes, begin: int, search_from: int | None = None) -> int | None:
    """The offset just after the first record end (a line feed at even quote parity from
    ``begin``) at or after ``search_from``; ``None`` if ``data`` holds none."""
    j = data.find(b"\n", begin if search_from is None else search_from)
    quotes = data.count(b'"', begin, j) if j >= 0 else 0
    while j >= 0 and quotes % 2:
        k = data.find(b"\n", j + 1)
        if k >= 0:
            quotes += data.count(b'"', j, k)
        j = k
    return None if j < 0 else j + 1


def nth_newline_end(data: bytes, n: int) -> int:
    """The offset just after the ``n``-th line feed of ``data`` (0 for n=0)."""
    if n <= 0:
        return 0
    rest = data.split(b"\n", n)[-1]
    return len(data) - len(rest)
