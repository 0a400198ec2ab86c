"""Reading the input CSV: its layout, a fast structural check, and cutting it into chunks.

One chunk becomes one Bulk API 2.0 job. Chunks are byte ranges of whole records in the (UTF-8)
file; :func:`read_chunk` puts the header line in front of each. Nothing here parses fields with the
:mod:`csv` module: the file is scanned as bytes (see :mod:`asyncbulk._scan`), in blocks of a few MB,
so memory does not grow with the file.

Typical use (what the loader does)::

    layout = inspect_layout(path, delimiter=ColumnDelimiter.COMMA, line_ending=None)
    result = split(path, layout, max_records=100_000, max_bytes=50_000_000)  # validates, one pass
    for chunk in result.chunks:
        data = await aread_chunk(path, layout, chunk)
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from ._config import ColumnDelimiter, LineEnding
from ._exceptions import InputError
from ._scan import (
    FIELD_MAX_CHARS,
    HEADER_MAX_CHARS,
    MAX_FIELDS,
    RECORD_MAX_CHARS,
    RecordRules,
    Scanner,
    check_record,
    count_records,
    last_record_end,
    nth_record_end,
)

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "FIELD_MAX_CHARS",
    "HEADER_MAX_CHARS",
    "MAX_FIELDS",
    "RECORD_MAX_CHARS",
    "Chunk",
    "CsvLayout",
    "SplitResult",
    "ValidationReport",
    "aread_chunk",
    "inspect_layout",
    "iter_chunks",
    "read_chunk",
    "rows_to_csv",
    "rows_to_csv_sync",
    "split",
    "transcode_to_utf8",
    "validate",
]

#: Bytes read per step. Large enough that per-block Python overhead vanishes, small enough to
#: keep memory flat (about two blocks plus one record are held at a time).
DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024

_BOM = codecs.BOM_UTF8
# The header may be up to 32,000 characters, i.e. up to 128,000 bytes of UTF-8.
_HEADER_READ = 4 * HEADER_MAX_CHARS + 8


@dataclass(frozen=True)
class CsvLayout:
    """The shape of a CSV file, read from its header line.

    :param delimiter: the column delimiter, one byte. :param line_ending: the file's line ending.
    :param header: the header line without its line ending (and without a BOM).
    :param columns: the decoded header names. :param data_start: file offset of the first record
        (the file size for a header-only file). :param bom: the file starts with a UTF-8 BOM
        (never uploaded: :func:`read_chunk` sends :attr:`header`).
    """

    delimiter: bytes
    line_ending: LineEnding
    header: bytes
    columns: list[str]
    data_start: int
    bom: bool

    @property
    def column_delimiter(self) -> ColumnDelimiter:
        """The delimiter as the job option Salesforce wants."""
        return ColumnDelimiter.parse(self.delimiter.decode())

    @property
    def header_line(self) -> bytes:
        """The header plus its line ending: what goes in front of every chunk."""
        return self.header + self.line_ending.chars.encode()


@dataclass(frozen=True)
class Chunk:
    """A run of whole records that becomes one job.

    :param index: 0-based. :param start: file offset of its first byte. :param end: file offset just
        after its last record, the line ending included if the file has one there (exclusive).
    :param first_record: 1-based number of its first data record in the file. :param records:
        how many records. :param first_line: 1-based physical line its first record starts on.
    :param size: ``end - start``; the upload is ``len(layout.header_line) + size`` bytes.
    """

    index: int
    start: int
    end: int
    first_record: int
    records: int
    first_line: int
    size: int


@dataclass(frozen=True)
class ValidationReport:
    """What the structural pass found in a file that passed it.

    :param records: data records. :param lines: physical lines, the header's included.
    :param bytes: file size. :param data_bytes: bytes of records (after the header line).
    :param chars: characters of records (``== data_bytes`` for pure ASCII data); 0 if the file was
        only chunked, not validated. :param validated: the full structural check ran.
    :param ends_with_line_ending: the last record ends with a line ending.
    """

    path: str
    records: int
    lines: int
    bytes: int
    data_bytes: int
    chars: int
    validated: bool
    ends_with_line_ending: bool

    @property
    def header_only(self) -> bool:
        """The file has a header and no records; whether that is an error is the caller's call."""
        return self.records == 0

    @property
    def header_only_message(self) -> str:
        """A clear sentence for the header-only case."""
        return f"{self.path}: the file has a header line but no records"


@dataclass(frozen=True)
class SplitResult:
    """The chunks of a file and the report of the same pass."""

    chunks: tuple[Chunk, ...]
    report: ValidationReport
    layout: CsvLayout = field(repr=False)


# -- layout --------------------------------------------------------------------------------------


def inspect_layout(
    path: str | os.PathLike[str],
    *,
    delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
    line_ending: LineEnding | str | None = None,
    encoding: str = "utf-8",
) -> CsvLayout:
    """Read the header line of a UTF-8 CSV file and check it.

    :param line_ending: the line ending the job will declare; None takes the header line's.
        If given and the file's differs, that is an :class:`InputError` (Salesforce requires
        them to match).
    :param encoding: only ``utf-8`` (or ``utf-8-sig``) is read here; convert other encodings
        first with :func:`transcode_to_utf8`.
    :raises InputError: an empty file, a bad header (blank or duplicate names, too long, too many
        fields, broken quoting, not UTF-8) or a delimiter or line ending that does not fit the file.
    """
    name = str(path)
    delim = ColumnDelimiter.parse(delimiter)
    wanted = None if line_ending is None else LineEnding.parse(line_ending)
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        raise ValueError(f"encoding: inspect_layout reads UTF-8 only; transcode {encoding!r} input first")
    with open(path, "rb") as f:
        head = f.read(_HEADER_READ)
        at_eof = not f.read(1)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(
            "the file is UTF-16 encoded; pass encoding='utf-16' to convert it", path=name, line=1
        )
    bom = head.startswith(_BOM)
    begin = len(_BOM) if bom else 0
    if len(head) <= begin:
        raise InputError("the file is empty (no header line)", path=name)
    if b"\x00" in head[begin : head.find(b"\n", begin) if b"\n" in head else len(head)]:
        raise InputError(
            "the header line contains NUL bytes: the file looks UTF-16 or binary (pass encoding='utf-16'?)",
            path=name,
            line=1,
        )
    end = last_header_end(head, begin)
    if end is None:
        if not at_eof:
            raise InputError(
                f"the header line is longer than {HEADER_MAX_CHARS} characters (no line end found)",
                path=name,
                line=1,
            )
        end = len(head)  # a header-only file without a line ending
    header_with_end = head[begin:end]
    if header_with_end.endswith(b"\r\n"):
        found: LineEnding | None = LineEnding.CRLF
        header = header_with_end[:-2]
    elif header_with_end.endswith(b"\n"):
        found = LineEnding.LF
        header = header_with_end[:-1]
    else:
        found = None
        header = header_with_end
    if b"\r" in header:
        raise InputError(
            "the header line contains a carriage return (CR): lone-CR line endings (old Mac) are not "
            "accepted by Salesforce; convert the file to LF or CRLF",
            path=name,
            line=1,
        )
    if wanted is not None and found is not None and wanted is not found:
        raise InputError(
            f"line_ending={wanted.value} was given but the file's lines end with {found.value}",
            path=name,
            line=1,
        )
    ending = wanted or found or LineEnding.LF
    columns = _parse_header(name, header, delim, ending)
    return CsvLayout(
        delimiter=delim.char.encode(),
        line_ending=ending,
        header=header,
        columns=columns,
        data_start=end,
        bom=bom,
    )


def last_header_end(head: bytes, begin: int) -> int | None:
    """The offset just after the header line (its first line feed outside quotes), if in ``head``."""
    j = head.find(b"\n", begin)
    quotes = head.count(b'"', begin, j) if j >= 0 else 0
    while j >= 0 and quotes % 2:
        k = head.find(b"\n", j + 1)
        if k >= 0:
            quotes += head.count(b'"', j, k)
        j = k
    return None if j < 0 else j + 1


def _parse_header(path: str, header: bytes, delim: ColumnDelimiter, ending: LineEnding) -> list[str]:
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the header line is not valid UTF-8 (byte offset {exc.start}: {exc.reason}); "
            "pass the file's encoding= to have it converted",
            path=path,
            line=1,
        ) from None
    if len(text) > HEADER_MAX_CHARS:
        raise InputError(
            f"the header line has {len(text)} characters; Salesforce allows at most {HEADER_MAX_CHARS}",
            path=path,
            line=1,
        )
    if not header:
        raise InputError("the header line is empty", path=path, line=1)
    rules = RecordRules(delim.char.encode(), ending is LineEnding.CRLF, None, path)
    # Structure first (quotes), with the careful parser; then the csv module decodes the names.
    check_record(header, 0, len(header), final=True, rules=rules, line=1, record=None)
    columns = next(csv.reader([text], delimiter=delim.char, strict=True))
    if len(columns) == 1:
        _check_delimiter(path, text, delim)
    if len(columns) > MAX_FIELDS:
        raise InputError(
            f"the header has {len(columns)} fields; Salesforce allows at most {MAX_FIELDS}", path=path, line=1
        )
    seen: dict[str, int] = {}
    for number, column in enumerate(columns, 1):
        if not column.strip():
            raise InputError(f"header column {number} has a blank name", path=path, line=1)
        # Salesforce field names are case-insensitive: Name and NAME are the same field.
        key = column.casefold()
        if key in seen:
            raise InputError(
                f"duplicate header name {column!r} (columns {seen[key]} and {number}; "
                "Salesforce field names are case-insensitive)",
                path=path,
                line=1,
            )
        seen[key] = number
    return columns


def _check_delimiter(path: str, text: str, delim: ColumnDelimiter) -> None:
    """A one-column header holding another delimiter's character means the wrong delimiter."""
    # Field API names are letters, digits, _ . and : -- never a delimiter character.
    counts = {d: text.count(d.char) for d in ColumnDelimiter if d is not delim}
    likely = max(counts, key=lambda d: counts[d])
    if counts[likely]:
        raise InputError(
            f"the header has no {delim.value} ({delim.char!r}) delimiter but contains {counts[likely]} "
            f"{likely.char!r}: the file looks {likely.value}-delimited (column_delimiter={likely.value})",
            path=path,
            line=1,
        )


def _rules(path: str, layout: CsvLayout) -> RecordRules:
    return RecordRules(layout.delimiter, layout.line_ending is LineEnding.CRLF, len(layout.columns), path)


def _scanner(path: str, layout: CsvLayout, *, validate: bool, block_size: int) -> Scanner:
    # The header line is one physical line unless a quoted header name spans lines.
    begin = len(_BOM) if layout.bom else 0
    has_end = layout.data_start - begin > len(layout.header)
    header_feeds = layout.header.count(b"\n") + (1 if has_end else 0)
    return Scanner(
        path,
        data_start=layout.data_start,
        lines_before=header_feeds,
        rules=_rules(path, layout),
        validate=validate,
        block_size=block_size,
    )


def _report(path: str, scanner: Scanner) -> ValidationReport:
    size = os.path.getsize(path)
    lines = scanner.lines + (0 if scanner.ended_with_newline and scanner.lines else 1)
    return ValidationReport(
        path=path,
        records=scanner.records,
        lines=lines,
        bytes=size,
        data_bytes=scanner.data_bytes,
        chars=scanner.chars,
        validated=scanner.validate,
        ends_with_line_ending=scanner.ended_with_newline,
    )


# -- validation and chunks -----------------------------------------------------------------------


def validate(
    path: str | os.PathLike[str], layout: CsvLayout, *, block_size: int = DEFAULT_BLOCK_SIZE
) -> ValidationReport:
    """Check every record of the file in one fast pass, before any job exists.

    :raises InputError: on the first problem, naming the line, the record and the reason: quoting
        (unterminated, stray or misplaced quotes), field counts, line endings, invalid UTF-8, NUL
        bytes, blank lines, and the Salesforce field and record length limits.
    """
    name = str(path)
    scanner = _scanner(name, layout, validate=True, block_size=block_size)
    for _ in scanner.blocks():
        pass
    return _report(name, scanner)


def iter_chunks(
    path: str | os.PathLike[str],
    layout: CsvLayout,
    *,
    max_records: int,
    max_bytes: int,
    validate: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Iterator[Chunk]:
    """Cut the file into chunks of whole records, streaming.

    :param max_records: records per chunk, at most. :param max_bytes: upload bytes per chunk, at
        most, **the header line included**: ``len(layout.header_line) + chunk.size <= max_bytes``.
    :param validate: also run the structural checks in the same pass. Chunks come out as the file is
        read, so a problem late in the file raises after earlier chunks were yielded; use
        :func:`split` or :func:`validate` to check everything first.
    :raises InputError: a single record does not fit ``max_bytes``; an unterminated quote at the end
        of the file; with ``validate``, any structural problem.
    """
    name = str(path)
    scanner = _scanner(name, layout, validate=validate, block_size=block_size)
    return _chunks(name, layout, scanner, max_records=max_records, max_bytes=max_bytes)


def split(
    path: str | os.PathLike[str],
    layout: CsvLayout,
    *,
    max_records: int,
    max_bytes: int,
    validate: bool = True,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> SplitResult:
    """Validate and cut the whole file in one pass; nothing is returned unless all of it passed.

    Chunks are small descriptors (offsets and counts), so holding all of them is cheap even for a
    file of many GB.
    """
    name = str(path)
    scanner = _scanner(name, layout, validate=validate, block_size=block_size)
    chunks = tuple(_chunks(name, layout, scanner, max_records=max_records, max_bytes=max_bytes))
    return SplitResult(chunks=chunks, report=_report(name, scanner), layout=layout)


def _chunks(
    path: str, layout: CsvLayout, scanner: Scanner, *, max_records: int, max_bytes: int
) -> Iterator[Chunk]:
    if isinstance(max_records, bool) or max_records <= 0:
        raise ValueError(f"max_records must be positive, got {max_records!r}")
    budget = max_bytes - len(layout.header_line)
    if budget <= 0:
        raise ValueError(
            f"max_bytes ({max_bytes}) leaves no room after the {len(layout.header_line)}-byte header"
        )
    index = 0
    start = -1  # file offset of the open chunk, -1 when none is open
    records = first_record = first_line = 0

    def emit(end: int) -> Chunk:
        nonlocal index, start, records
        chunk = Chunk(index, start, end, first_record, records, first_line, end - start)
        index += 1
        start = -1
        records = 0
        return chunk

    for block in scanner.blocks():
        data = block.data
        pos = 0
        left = block.records  # records of this block not yet in a chunk
        before = block.records_before
        while pos < len(data):
            if start < 0:
                start = block.offset + pos
                first_record = before + 1
                first_line = block.lines_before + data.count(b"\n", 0, pos) + 1
            room_records = max_records - records
            room_bytes = budget - (block.offset + pos - start)
            if left <= room_records and len(data) - pos <= room_bytes:
                records += left
                break
            cut, take = len(data), left
            if left > room_records:
                cut, take = nth_record_end(data, pos, room_records), room_records
            if cut - pos > room_bytes:
                cut = pos if block.tail else last_record_end(data, pos, pos + room_bytes)
                take = count_records(data, pos, cut)
            if take == 0 and records == 0:
                line = block.lines_before + data.count(b"\n", 0, pos) + 1
                raise InputError(
                    f"this record alone is larger than max_bytes={max_bytes} allows (with the header line)",
                    path=path,
                    line=line,
                    record=before + 1,
                )
            records += take
            left -= take
            before += take
            pos = cut
            yield emit(block.offset + pos)
    if start >= 0 and records:
        yield emit(scanner.data_start + scanner.data_bytes)


def read_chunk(path: str | os.PathLike[str], layout: CsvLayout, chunk: Chunk) -> bytes:
    """The bytes to upload for ``chunk``: the header line, then the chunk's records byte for byte."""
    with open(path, "rb") as f:
        f.seek(chunk.start)
        data = f.read(chunk.size)
    if len(data) != chunk.size:
        raise InputError("the file changed (it is shorter than when it was split)", path=str(path))
    return layout.header_line + data


async def aread_chunk(path: str | os.PathLike[str], layout: CsvLayout, chunk: Chunk) -> bytes:
    """:func:`read_chunk` in a worker thread, so the event loop never waits on the disk."""
    return await anyio.to_thread.run_sync(read_chunk, path, layout, chunk)


# -- other encodings -----------------------------------------------------------------------------


def transcode_to_utf8(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    encoding: str,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> None:
    """Stream ``src`` from ``encoding`` into ``dest`` as UTF-8 (no BOM; line endings kept).

    A BOM of ``src`` is dropped (``utf-16`` and ``utf-8-sig`` decoders do that).

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
                    path=str(src),
                    line=feeds + piece[: exc.start].decode(encoding, "replace").count("\n") + 1,
                ) from None
            feeds += text.count("\n")
            consumed += len(piece)
            fout.write(text.encode("utf-8"))
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
