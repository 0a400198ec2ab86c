"""A result file's records, a block at a time: each parsed and as its raw text.

The merge writes every result row back byte for byte after the loader's three columns, so it needs
both the values (to find the input record) and the raw text of each record. Capturing lines from
inside ``csv.reader`` (a Python generator feeding it line by line) cost about 1 us per row in the
profile; here the raw records come from one regular expression per block, run in C, and the csv
module then parses that list of records, again in C. A record may span lines (a quoted line
break): blocks are cut at a line feed outside quotes, and the expression keeps quoted sections
whole.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from .._csv._records import last_record_end

__all__ = ["RESULT_BLOCK_SIZE", "read_blocks"]

#: Bytes of a result file read per block.
RESULT_BLOCK_SIZE = 1 << 20

# One record by quote parity: unquoted stretches and "..." sections (doubled quotes are two
# sections back to back), up to a line feed outside quotes.
_RECORD = re.compile(r'[^"\n]*+(?:"[^"]*+"[^"\n]*+)*+\n')


def read_blocks(
    path: Path | None, delimiter: str, *, block_size: int = RESULT_BLOCK_SIZE
) -> Iterator[tuple[list[list[str]], list[str]]]:
    """Yield ``(rows, raws)`` per block of the CSV file at ``path``: ``rows[i]`` is ``raws[i]``
    parsed (``raws[i]`` keeps its line ending; the file's last record may have none).

    The header is the first row of the first block. Nothing is yielded for an absent or empty file.
    Parsing is strict, as before: a malformed file raises :class:`csv.Error`.
    """
    if path is None or not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        carry = b""
        while True:
            piece = handle.read(max(block_size, len(carry)))
            buf = carry + piece if carry else piece
            if not piece:
                if buf:
                    yield _parse(buf.decode("utf-8"), delimiter)
                return
            end = last_record_end(buf, 0, len(buf))
            if end == 0:
                carry = buf  # one record longer than a block: read on
                continue
            carry = buf[end:]
            yield _parse((buf if end == len(buf) else buf[:end]).decode("utf-8"), delimiter)


def _parse(text: str, delimiter: str) -> tuple[list[list[str]], list[str]]:
    raws = _RECORD.findall(text)
    covered = sum(map(len, raws))
    if covered < len(text):
        tail = text[covered:]
        if "\n" in tail:
            # Quote parity broke (a stray quote): let the csv module say what is wrong, as before.
            return _parse_lines(text, delimiter)
        raws.append(tail)  # the file's last record, without a line ending
    rows = list(csv.reader(raws, delimiter=delimiter, strict=True))
    if len(rows) != len(raws):  # pragma: no cover - one record always parses to one row
        return _parse_lines(text, delimiter)
    return rows, raws


def _parse_lines(text: str, delimiter: str) -> tuple[list[list[str]], list[str]]:
    """The slow way: feed the csv module line by line and keep the lines of each record."""
    buffer: list[str] = []
    rows: list[list[str]] = []
    raws: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            buffer.append(line)
            yield line

    for row in csv.reader(lines(), delimiter=delimiter, strict=True):
        rows.append(row)
        raws.append("".join(buffer))
        buffer.clear()
    return rows, raws
