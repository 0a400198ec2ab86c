"""One pass over the data: the structural check and the chunk plan; reading a chunk back.

One chunk becomes one Bulk API 2.0 job. Chunks are byte ranges of whole records in the (UTF-8)
file; :func:`read_chunk` puts the header line in front of each. Nothing here parses fields with the
:mod:`csv` module: the file is scanned as bytes (see :mod:`asyncbulk._csv._scanner`), in blocks of
a few MB, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from .._config import LineEnding
from .._exceptions import InputChangedError, InputError
from ._layout import CsvLayout
from ._records import count_records, last_record_end, nth_record_end
from ._scanner import RecordRules, Scanner

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "Chunk",
    "ChunkPlan",
    "ValidationReport",
    "iter_chunks",
    "plan_chunks",
    "read_chunk",
    "validate",
    "verify_chunk",
]

#: Bytes read per step. Large enough that per-block Python overhead vanishes, small enough to
#: keep memory flat: a block is held several times over at its peak (the read piece, the piece
#: after the carried record, its skeleton, and its text decoded to check UTF-8, at up to 4 bytes
#: a character), so 4 MB blocks cost about 34 MB of peak RSS for the one pass, 1 MB blocks about
#: 9 MB, for about 5% of the pass's speed (measured on the benchmark's 1,000,000-row file).
DEFAULT_BLOCK_SIZE = 1024 * 1024

_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class Chunk:
    """A run of whole records that becomes one job.

    :param index: 0-based position in the file.
    :param start: file offset of its first byte.
    :param end: file offset just after its last record, the line ending included if the file has
        one there (exclusive).
    :param first_record: 1-based number of its first data record in the file.
    :param records: how many records.
    :param first_line: 1-based physical line its first record starts on.
    :param size: ``end - start``; the upload is ``len(layout.header_line) + size`` bytes.
    :param checksum: Adler-32 of its bytes when it was planned: a changed file is noticed before
        anything read after the change is sent.
    """

    index: int
    start: int
    end: int
    first_record: int
    records: int
    first_line: int
    size: int
    checksum: int = 1


@dataclass(frozen=True)
class ValidationReport:
    """What the structural pass found in a file that passed it.

    :param path: the file's name.
    :param records: data records.
    :param lines: physical lines, the header's included.
    :param bytes: file size.
    :param data_bytes: bytes of records (after the header line).
    :param chars: characters of records (``== data_bytes`` for pure ASCII data); 0 if the file was
        only chunked, not validated.
    :param validated: the full structural check ran.
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
class ChunkPlan:
    """The chunks of a file and the report of the same pass."""

    chunks: tuple[Chunk, ...]
    report: ValidationReport
    layout: CsvLayout = field(repr=False)


def _rules(name: str, layout: CsvLayout) -> RecordRules:
    return RecordRules(layout.delimiter, layout.line_ending is LineEnding.CRLF, len(layout.columns), name)


def _scanner(path: str, name: str, layout: CsvLayout, *, validate: bool, block_size: int) -> Scanner:
    # The header line is one physical line unless a quoted header name spans lines.
    begin = len(_BOM) if layout.bom else 0
    has_end = layout.data_start - begin > len(layout.header)
    header_feeds = layout.header.count(b"\n") + (1 if has_end else 0)
    return Scanner(
        path,
        name=name,
        data_start=layout.data_start,
        lines_before=header_feeds,
        rules=_rules(name, layout),
        validate=validate,
        block_size=block_size,
    )


def _report(path: str, name: str, scanner: Scanner) -> ValidationReport:
    size = os.path.getsize(path)
    lines = scanner.lines + (0 if scanner.ended_with_newline and scanner.lines else 1)
    return ValidationReport(
        path=name,
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
    path: str | os.PathLike[str],
    layout: CsvLayout,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    name: str | None = None,
) -> ValidationReport:
    """Check every record of the file in one fast pass, before any job exists.

    :param name: the file's name in messages (the user's file, when ``path`` is a converted copy).
    :raises InputError: on the first problem, naming the line, the record and the reason: quoting
        (unterminated, stray or misplaced quotes), field counts, line endings, invalid UTF-8, NUL
        bytes, blank lines, and the Salesforce field and record length limits.
    """
    scanner = _scanner(str(path), name or str(path), layout, validate=True, block_size=block_size)
    for _ in scanner.blocks():
        pass
    return _report(str(path), name or str(path), scanner)


def iter_chunks(
    path: str | os.PathLike[str],
    layout: CsvLayout,
    *,
    max_records: int,
    max_bytes: int,
    validate: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
    name: str | None = None,
) -> Iterator[Chunk]:
    """Cut the file into chunks of whole records, streaming.

    :param max_records: records per chunk, at most.
    :param max_bytes: upload bytes per chunk, at most, **the header line included**:
        ``len(layout.header_line) + chunk.size <= max_bytes``.
    :param validate: also run the structural checks in the same pass. Chunks come out as the file is
        read, so a problem late in the file raises after earlier chunks were yielded; use
        :func:`plan_chunks` or :func:`validate` to check everything first.
    :param name: the file's name in messages.
    :raises InputError: a single record does not fit ``max_bytes``; an unterminated quote at the end
        of the file; with ``validate``, any structural problem.
    """
    shown = name or str(path)
    scanner = _scanner(str(path), shown, layout, validate=validate, block_size=block_size)
    return _chunks(shown, layout, scanner, max_records=max_records, max_bytes=max_bytes)


def plan_chunks(
    path: str | os.PathLike[str],
    layout: CsvLayout,
    *,
    max_records: int,
    max_bytes: int,
    validate: bool = True,
    block_size: int = DEFAULT_BLOCK_SIZE,
    name: str | None = None,
) -> ChunkPlan:
    """Validate and cut the whole file in one pass; nothing is returned unless all of it passed.

    Chunks are small descriptors (offsets, counts, a checksum), so holding all of them is cheap
    even for a file of many GB.
    """
    shown = name or str(path)
    scanner = _scanner(str(path), shown, layout, validate=validate, block_size=block_size)
    chunks = tuple(_chunks(shown, layout, scanner, max_records=max_records, max_bytes=max_bytes))
    return ChunkPlan(chunks=chunks, report=_report(str(path), shown, scanner), layout=layout)


def _chunks(
    name: str, layout: CsvLayout, scanner: Scanner, *, max_records: int, max_bytes: int
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
    checksum = 1  # Adler-32 of the open chunk's bytes so far

    def emit(end: int) -> Chunk:
        nonlocal index, start, records, checksum
        chunk = Chunk(index, start, end, first_record, records, first_line, end - start, checksum)
        index += 1
        start = -1
        records = 0
        checksum = 1
        return chunk

    for block in scanner.blocks():
        data = block.data
        view = memoryview(data)
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
                checksum = zlib.adler32(view[pos:], checksum)
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
                    path=name,
                    line=line,
                    record=before + 1,
                )
            records += take
            left -= take
            before += take
            checksum = zlib.adler32(view[pos:cut], checksum)
            pos = cut
            yield emit(block.offset + pos)
    if start >= 0 and records:
        yield emit(scanner.data_start + scanner.data_bytes)


def verify_chunk(path: str | os.PathLike[str], chunk: Chunk, *, name: str | None = None) -> None:
    """Check, streaming, that ``chunk``'s bytes are still those planned.

    :raises InputChangedError: they are not (the file changed since it was planned).
    """
    running = 1
    left = chunk.size
    with open(path, "rb") as f:
        f.seek(chunk.start)
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            running = zlib.adler32(block, running)
            left -= len(block)
    if left or running != chunk.checksum:
        raise _changed(chunk, name or str(path))


def _changed(chunk: Chunk, name: str) -> InputChangedError:
    return InputChangedError(
        f"the file changed while it was being loaded (records {chunk.first_record} to "
        f"{chunk.first_record + chunk.records - 1} are not what they were when the file was checked); "
        "nothing read after the change was sent. Restore the file and continue with `asyncbulk "
        "resume`, or start a new load",
        path=name,
    )


def read_chunk(path: str | os.PathLike[str], layout: CsvLayout, chunk: Chunk) -> bytes:
    """The bytes to upload for ``chunk``: the header line, then the chunk's records byte for byte.

    :raises InputChangedError: the bytes are not those planned (the file changed since).
    """
    with open(path, "rb") as f:
        f.seek(chunk.start)
        data = f.read(chunk.size)
    if len(data) != chunk.size or zlib.adler32(data) != chunk.checksum:
        raise _changed(chunk, str(path))
    return layout.header_line + data
