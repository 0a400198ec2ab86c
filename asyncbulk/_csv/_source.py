"""Inputs that are not a UTF-8 CSV file yet: other encodings, and dict rows."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import Any

import anyio.to_thread

from .._config import ColumnDelimiter, LineEnding
from .._exceptions import InputError
from ._chunks import DEFAULT_BLOCK_SIZE
from ._layout import CsvLayout, inspect_layout

__all__ = ["csv_writer", "rows_to_csv", "rows_to_csv_sync", "transcode_to_utf8"]


def transcode_to_utf8(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    encoding: str,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    name: str | None = None,
) -> None:
    """Stream ``src`` from ``encoding`` into ``dest`` as UTF-8 (no BOM; line endings kept).

    A BOM of ``src`` is dropped (``utf-16`` and ``utf-8-sig`` decoders do that).

    :param name: the source's name in messages.

    :raises InputError: ``src`` is not valid ``encoding`` (with the byte offset and line).
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    consumed = 0
    feeds = 0
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while True:
            piece = fin.read(block_size)
            final = not piece
            try:
                text = decoder.decode(piece, final)
            except UnicodeDecodeError as exc:
                # The decoder may hold a few undecoded bytes from the previous piece; the offset
                # is close enough to find the spot, and the line is counted from decoded text.
                raise InputError(
                    f"not valid {encoding} near byte offset {consumed + exc.start} ({exc.reason})",
                    path=name or str(src),
                    line=feeds + piece[: exc.start].decode(encoding, "replace").count("\n") + 1,
                ) from None
            feeds += text.count("\n")
            consumed += len(piece)
            try:
                fout.write(text.encode("utf-8"))
            except OSError as exc:
                if exc.filename is not None:
                    raise
                raise OSError(exc.errno, exc.strerror, str(dest)) from exc
            if final:
                break


# -- rows to CSV ---------------------------------------------------------------------------------


def _render(value: object) -> str:
    """One value as Salesforce reads it in a CSV (bulk-api-2.md §4)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        # Salesforce wants yyyy-MM-ddTHH:mm:ss.SSSZ; a naive datetime is taken as UTC.
        utc = value.astimezone(dt.UTC) if value.tzinfo else value
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, bytes | bytearray):
        raise TypeError("bytes values cannot be written to CSV; decode them first")
    return str(value)


class _LineWriter:
    """A file-like for csv.writer that swaps its CRLF row ending for the one wanted.

    csv.writer only quotes a field with a lone CR when CR is part of its line terminator, so it is
    always given CRLF; LF files then get their ending replaced here, row by row.
    """

    def __init__(self, out: Any, ending: str) -> None:
        self._out = out
        self._ending = ending

    def write(self, row: str) -> int:
        line = row if self._ending == "\r\n" else row[:-2] + self._ending
        return int(self._out.write(line))


def csv_writer(out: Any, *, delimiter: str, line_ending: LineEnding) -> Any:
    """A :func:`csv.writer` for a file that ends lines with ``line_ending``, quoting any field that
    holds a CR or LF (see :class:`_LineWriter` for why that needs care with LF files)."""
    return csv.writer(
        _LineWriter(out, line_ending.chars),
        delimiter=delimiter,
        lineterminator="\r\n",
        quoting=csv.QUOTE_MINIMAL,
    )


class _RowSink:
    def __init__(
        self, dest: str, delimiter: ColumnDelimiter, ending: LineEnding, columns: Sequence[str] | None
    ):
        self.dest = dest
        self.delimiter = delimiter
        self.ending = ending
        self.columns: list[str] | None = None
        self._known: set[str] = set()
        self.rows = 0
        self._file = open(dest, "w", encoding="utf-8", newline="")  # closed by close() or abort()
        self._writer = csv.writer(
            _LineWriter(self._file, ending.chars),
            delimiter=delimiter.char,
            lineterminator="\r\n",
            quoting=csv.QUOTE_MINIMAL,
        )
        if columns is not None:
            self._start(list(columns))

    def _start(self, columns: list[str]) -> None:
        self.columns = columns
        self._known = set(columns)
        self._writer.writerow(columns)

    def add(self, row: Mapping[str, object]) -> None:
        if self.columns is None:
            self._start([str(key) for key in row])
        assert self.columns is not None
        self.rows += 1
        extra = [key for key in row if key not in self._known]
        if extra:
            raise InputError(f"row has keys not in the columns: {extra!r}", path=self.dest, record=self.rows)
        self._writer.writerow([_render(row.get(col)) for col in self.columns])

    def close(self) -> CsvLayout:
        self._file.close()
        if self.columns is None:
            os.unlink(self.dest)
            raise ValueError("rows_to_csv: no rows and no columns=, so there is no header to write")
        return inspect_layout(self.dest, delimiter=self.delimiter, line_ending=self.ending)

    def abort(self) -> None:
        self._file.close()


def rows_to_csv_sync(
    rows: Iterable[Mapping[str, object]],
    dest: str | os.PathLike[str],
    *,
    delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
    line_ending: LineEnding | str = LineEnding.LF,
    columns: Sequence[str] | None = None,
) -> CsvLayout:
    """Write dict rows to a UTF-8 CSV file as they come, and return its layout.

    The header is ``columns`` or the first row's keys; a missing key is an empty cell, a key not in
    the header is an :class:`InputError`. Values: None -> empty, booleans -> ``true``/``false``,
    dates and datetimes -> ISO 8601 (datetimes in UTC, naive ones taken as UTC), the rest ``str()``.
    The async :func:`rows_to_csv` also takes async iterables.
    """
    if isinstance(rows, AsyncIterable):
        raise TypeError("rows_to_csv_sync got an async iterable; use 'await rows_to_csv(...)'")
    sink = _RowSink(str(dest), ColumnDelimiter.parse(delimiter), LineEnding.parse(line_ending), columns)
    try:
        for row in rows:
            sink.add(row)
    except BaseException:
        sink.abort()
        raise
    return sink.close()


async def rows_to_csv(
    rows: Iterable[Mapping[str, object]] | AsyncIterable[Mapping[str, object]],
    dest: str | os.PathLike[str],
    *,
    delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
    line_ending: LineEnding | str = LineEnding.LF,
    columns: Sequence[str] | None = None,
    batch: int = 5_000,
) -> CsvLayout:
    """Write dict rows (a sync or async iterable) to a UTF-8 CSV file; return its layout.

    Rules as :func:`rows_to_csv_sync`; rows are written in batches in a worker thread, so the
    event loop never waits on the disk.
    """
    sink = await anyio.to_thread.run_sync(
        lambda: _RowSink(str(dest), ColumnDelimiter.parse(delimiter), LineEnding.parse(line_ending), columns)
    )

    def add_all(pending: list[Mapping[str, object]]) -> None:
        for row in pending:
            sink.add(row)

    pending: list[Mapping[str, object]] = []
    try:
        if isinstance(rows, AsyncIterable):
            async for row in rows:
                pending.append(row)
                if len(pending) >= batch:
                    await anyio.to_thread.run_sync(add_all, pending)
                    pending = []
        else:
            for row in rows:
                pending.append(row)
                if len(pending) >= batch:
                    await anyio.to_thread.run_sync(add_all, pending)
                    pending = []
        await anyio.to_thread.run_sync(add_all, pending)
    except BaseException:
        sink.abort()
        raise
    return await anyio.to_thread.run_sync(sink.close)
