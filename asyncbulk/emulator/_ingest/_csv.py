"""Uploads in: what is checked while an upload streams in, and the batches parsed from its file.

The rules are Salesforce's ("Valid CSV Record Rows",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/datafiles_csv_valid_record_rows.htm):

* Line endings must be the job's ``lineEnding``, else the job fails with ``ClientInputError :
  LineEnding is invalid on user data. Current LineEnding setting is LF`` (or ``CRLF``; texts from
  real jobs' ``errorMessage`` in public projects' notes). Only the ends of records count: a line
  break inside a quoted value is the value's.
* A record that cannot be read fails *that row*, in ``failedResults``, and the job goes on ("A
  space before or after a double quote generates an error for the row"; a real org's job with
  five-column rows under a four-column header ended ``JobComplete`` with those rows failed,
  salesforcecli/plugin-data ``test/commands/data/bulk/results.nut.ts``). The reasons are the texts
  of Salesforce's own CSV reader (``com.sforce.async.CSVReader`` in forcedotcom/wsc): "Found
  unescaped quote. A value with quote should be within a quote" (a quote inside an unquoted
  value, which is also what a real org's job reports for a quoted header behind a byte-order
  mark), "Not expecting more text after end quote", "EOF reached before closing an opened quote"
  and "Exceeded max field size". The ``sf__Error`` code around them, ``INVALID_FIELD``, and the
  wording for a wrong number of columns are the emulator's (no capture shows them).
* A header that cannot be read fails the job: ``InvalidBatch : Failed to parse CSV. <reason>``.

Performance notes: the common case (a well-formed file) is parsed by the csv module a few hundred
rows at a time straight into column tuples, which the garbage collector stops tracking (a million
row lists made its full passes hold the GIL for 100-400 ms). Only a chunk of rows in which
something is wrong is parsed again, record by record, by :func:`careful_records`.
"""

from __future__ import annotations

import codecs
import collections
import csv
import io
import itertools
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import IO

from .._data import Block
from .._vocab import LineEnding

__all__ = ["Batch", "BlockReader", "CsvParseError", "UploadCheck", "careful_records", "line_ending_error"]

#: One batch of a job: its cells column-wise, and the rows that fail as unreadable CSV.
Batch = tuple[Block, dict[int, str]]

_PARSE_CHUNK = 500  # rows read at a time
#: The longest value read (the csv module's default limit, which is also Salesforce's: "Maximum
#: number of characters in a field", 131,072, in the Bulk API 2.0 limits).
FIELD_LIMIT = csv.field_size_limit()

_UNESCAPED_QUOTE = "Found unescaped quote. A value with quote should be within a quote"
_AFTER_QUOTE = "Not expecting more text after end quote"
_OPEN_QUOTE = "EOF reached before closing an opened quote"


class CsvParseError(Exception):
    """An upload Salesforce cannot read at all; the message is the failed job's ``errorMessage``."""


def row_error(reason: str) -> str:
    """The ``sf__Error`` of a row the CSV parser could not read."""
    return f"INVALID_FIELD:Failed to parse CSV. {reason}:--"


def line_ending_error(line_ending: LineEnding) -> str:
    """The failed job's ``errorMessage`` for data whose line endings are not the job's."""
    return (
        f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {line_ending}"
    )


# ----- while the upload streams in ------------------------------------------------------------
_BREAKS = re.compile(rb"\r\n|\r|\n")


class UploadCheck:
    """Checks an upload chunk by chunk as it arrives: line endings and UTF-8.

    Quotes are counted to tell a record's end from a line break inside a quoted value (an even
    number of quotes before it: a record's end). :meth:`problem` is the failed job's
    ``errorMessage``, or ``None``. Everything but the rare slow path runs in C.

    :param line_ending: the job's ``lineEnding``.
    """

    def __init__(self, line_ending: LineEnding) -> None:
        self.line_ending = line_ending
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._quotes = 0  # parity of the quotes seen so far
        self._held = b""  # a trailing "\r" waiting for the next chunk's first byte
        self._offset = 0
        self._problem: str | None = None
        #: Line breaks seen (an upper bound of the rows, for estimates).
        self.lines = 0

    @property
    def problem(self) -> str | None:
        """Why the job will fail, or ``None``."""
        return self._problem

    def feed(self, chunk: bytes) -> None:
        """Check the next chunk of the upload."""
        if self._problem is not None or not chunk:
            return
        try:
            self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            self._problem = (
                f"InvalidBatch : Failed to parse CSV. Invalid UTF-8 at byte {self._offset + exc.start}"
            )
            return
        self._offset += len(chunk)
        self.lines += chunk.count(b"\n")
        data = self._held + chunk
        self._held = b""
        if data.endswith(b"\r"):
            self._held, data = b"\r", data[:-1]
        self._check_breaks(data)

    def finish(self) -> str | None:
        """The end of the upload; returns :attr:`problem`."""
        if self._problem is None:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._problem = f"InvalidBatch : Failed to parse CSV. Invalid UTF-8 at byte {self._offset}"
        if self._problem is None and self._held:
            self._check_breaks(self._held)
        return self._problem

    def _check_breaks(self, data: bytes) -> None:
        crlf = data.count(b"\r\n")
        if self.line_ending is LineEnding.LF:
            clean = b"\r" not in data
        else:
            clean = crlf == data.count(b"\n") == data.count(b"\r")
        if clean:
            self._quotes = (self._quotes + data.count(b'"')) & 1
            return
        # Slow path: some line break is not the job's; is it a record's end or inside quotes?
        wanted = self.line_ending.chars.encode()
        quotes, last = self._quotes, 0
        for m in _BREAKS.finditer(data):
            quotes = (quotes + data.count(b'"', last, m.start())) & 1
            last = m.start()
            if m.group() != wanted and not quotes:
                self._problem = line_ending_error(self.line_ending)
                return
        self._quotes = (quotes + data.count(b'"', last)) & 1


# ----- the careful parser ---------------------------------------------------------------------
@lru_cache(maxsize=8)
def _patterns(delimiter: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    d = re.escape(delimiter)
    quoted = re.compile(r'"((?:[^"]|"")*)"', re.DOTALL)
    unquoted = re.compile(f'[^"{d}\\r\\n]*')
    return quoted, unquoted


def _line_end(text: str, pos: int) -> int:
    """The position after the line break that ends the physical line at ``pos`` (or the end)."""
    n = len(text)
    while pos < n and text[pos] not in "\r\n":
        pos += 1
    if pos < n:
        pos += 2 if text.startswith("\r\n", pos) else 1
    return pos


def careful_records(text: str, delimiter: str) -> Iterator[tuple[list[str], str | None]]:
    """Every record of ``text`` with the reason it cannot be read (``None`` if it can).

    A record that goes wrong ends at the end of its physical line, where the csv module starts
    again too, so both agree on where the next record begins. Blank lines are skipped.
    """
    quoted, unquoted = _patterns(delimiter)
    pos, n = 0, len(text)
    while pos < n:
        if text[pos] in "\r\n":  # a blank line
            pos += 2 if text.startswith("\r\n", pos) else 1
            continue
        fields: list[str] = []
        error: str | None = None
        while True:
            if pos < n and text[pos] == '"':
                m = quoted.match(text, pos)
                if m is None:
                    fields.append(text[pos + 1 :])
                    error, pos = _OPEN_QUOTE, n
                    break
                value = m.group(1).replace('""', '"')
                pos = m.end()
                if pos < n and text[pos] not in delimiter + "\r\n":
                    fields.append(value + text[pos : _line_end(text, pos)].rstrip("\r\n"))
                    error, pos = _AFTER_QUOTE, _line_end(text, pos)
                    break
            else:
                m = unquoted.match(text, pos)
                assert m is not None  # the pattern matches the empty string
                value, pos = m.group(), m.end()
                if pos < n and text[pos] == '"':
                    end = _line_end(text, pos)
                    fields.append(value + text[pos:end].rstrip("\r\n"))
                    error, pos = _UNESCAPED_QUOTE, end
                    break
            if len(value) > FIELD_LIMIT:
                error = f"Exceeded max field size: {len(value)}"
            fields.append(value)
            if pos < n and text[pos] == delimiter:
                pos += 1
                continue
            if pos < n:  # a line break
                pos += 2 if text.startswith("\r\n", pos) else 1
            break
        yield fields, error


# ----- batches from the file -------------------------------------------------------------------
def _quoted_as_written(values: list[str], raw: str) -> bool:
    """Whether every value holding a quote was written as a quoted value (its quotes doubled).

    The csv module takes a quote inside an unquoted value (``B"x``) as part of it; Salesforce
    fails that row. A value that came from a quoted field appears in the raw text quoted, after
    the one before it; one that came from a stray quote does not (short of the same text quoted
    further on in the chunk).
    """
    pos = 0
    for v in values:
        found = raw.find('"' + v.replace('"', '""') + '"', pos)
        if found < 0:
            return False
        pos = found + 1
    return True


class BlockReader:
    """The batches of an upload, parsed from its file one at a time (never the whole file at once).

    :param stream: the upload, opened in binary mode (closed by :meth:`close`).
    :param delimiter: the job's delimiter character.
    :param size: rows per batch.
    :raises CsvParseError: if the header cannot be read.
    """

    def __init__(self, stream: IO[bytes], delimiter: str, size: int) -> None:
        self._stream = stream
        self._text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
        lines, self._raw = itertools.tee(self._text)
        self._reader = csv.reader(lines, delimiter=delimiter, strict=True)
        self._delimiter = delimiter
        self._size = size
        self._carry: collections.deque[tuple[list[str], str | None]] = collections.deque()
        self._done = False
        self.header: list[str] = self._read_header()
        self._width = len(self.header)

    def close(self) -> None:
        """Close the upload file."""
        self._text.close()

    @property
    def exhausted(self) -> bool:
        """Whether every batch has been read (the next :meth:`next_batch` would be ``None``)."""
        return self._done and not self._carry

    def _read_header(self) -> list[str]:
        """The first record that is not blank; one that cannot be read fails the job."""
        while True:
            start = self._reader.line_num
            try:
                row, broken = next(self._reader, None), False
            except csv.Error:
                row, broken = None, True
            raw = "".join(itertools.islice(self._raw, self._reader.line_num - start))
            if row is None and not broken:
                self._done = True
                return []
            if broken or (row and any('"' in v for v in row)):
                record = next(careful_records(raw, self._delimiter), None)
                if record is None:
                    continue
                fields, error = record
                if error is not None:
                    raise CsvParseError(f"InvalidBatch : Failed to parse CSV. {error}")
                row = fields
            if row:
                return row

    def next_batch(self) -> Batch | None:
        """The next batch, or ``None`` at the end of the file."""
        width, size = self._width, self._size
        columns: list[list[str]] = [[] for _ in range(width)]
        errors: dict[int, str] = {}
        filled = 0
        while filled < size:
            if self._carry:
                filled = self._take(self._carry, columns, errors, filled, size)
                continue
            if self._done:
                break
            start = self._reader.line_num
            try:
                chunk = list(itertools.islice(self._reader, min(_PARSE_CHUNK, size - filled)))
                broken = False
            except csv.Error:
                chunk, broken = [], True
            consumed = self._reader.line_num - start
            if not broken and not chunk:
                self._done = True
                break
            rows = [row for row in chunk if row] if not broken else []
            parts = (
                list(zip(*rows, strict=True))
                if not broken and rows and set(map(len, rows)) == {width}
                else None
            )
            quoted = (
                []
                if parts is None
                else [v for part in parts if '"' in "".join(part) for v in part if '"' in v]
            )
            if parts is None or quoted:
                raw = "".join(itertools.islice(self._raw, consumed))
                if (parts is None and (broken or rows)) or not _quoted_as_written(quoted, raw):
                    self._carry.extend(careful_records(raw, self._delimiter))
                    continue
            else:
                collections.deque(itertools.islice(self._raw, consumed), maxlen=0)  # skip the raw lines
            if not rows or parts is None:
                continue
            for column, part in zip(columns, parts, strict=True):
                column.extend(part)
            filled += len(rows)
        if filled == 0:
            return None
        return tuple(tuple(column) for column in columns), errors

    def _take(
        self,
        records: collections.deque[tuple[list[str], str | None]],
        columns: list[list[str]],
        errors: dict[int, str],
        filled: int,
        size: int,
    ) -> int:
        width = len(columns)
        while records and filled < size:
            fields, error = records.popleft()
            if error is None and len(fields) != width:
                error = f"Row has {len(fields)} columns but the header has {width}"
            if error is not None:
                errors[filled] = row_error(error)
            cells = fields[:width] + [""] * (width - len(fields))
            for column, value in zip(columns, cells, strict=True):
                column.append(value)
            filled += 1
        return filled
