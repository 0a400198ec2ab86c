"""Map a finished job's result rows back to input records, and merge them into one set of files.

Salesforce returns a job's results unordered and without the input row number, and it re-renders
successful rows from the stored type (``912260031`` comes back as ``9.12260031E8``, ``1`` in a
checkbox as ``true``, a 15-character id as 18). So each result row is matched against the chunk it
came from by its values: first exactly, then after normalising each value by its field's type (the
types come from one ``describe`` call). A row whose values match several input records (identical
rows) cannot be told apart: it is marked ``ambiguous`` with its candidates, never given one of their
numbers. A row that matches nothing is marked ``unmatched``.

Only hashes of the input rows are kept while a job is merged, so memory stays small whatever the
chunk size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

__all__ = ["MergeCounts", "Normalizer", "ResultMerger", "RowIndex"]

RECORD_COLUMN = "asyncbulk__record"
JOB_COLUMN = "asyncbulk__job_id"
MATCH_COLUMN = "asyncbulk__match"
OUR_COLUMNS = (RECORD_COLUMN, JOB_COLUMN, MATCH_COLUMN)

# Field types (describe ``type``) whose results Salesforce re-renders.
_NUMBER_TYPES = {"int", "double", "currency", "percent", "long"}
_ID_TYPES = {"id", "reference"}
_TRUE = {"true", "1", "yes", "y", "on"}


def _norm_bool(value: str) -> str:
    return "true" if value.strip().lower() in _TRUE else "false"


def _norm_number(value: str) -> str:
    try:
        # Positional form: "912260031" and "9.12260031E8" are the same number.
        return format(Decimal(value.strip()).normalize(), "f")
    except (InvalidOperation, ValueError):
        return value


def _norm_id(value: str) -> str:
    # The 18-character form adds a case-safe suffix to the 15-character id.
    return value[:15] if len(value) == 18 else value


def _norm_date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return value


def _norm_datetime(value: str) -> str:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]  # +0000 -> +00:00
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return value
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return str(round(stamp.timestamp() * 1000))


def _norm_text(value: str) -> str:
    # "#N/A" sets a field to null; the result shows it empty.
    return "" if value == "#N/A" else value


_BY_TYPE: dict[str, Callable[[str], str]] = {
    "boolean": _norm_bool,
    "date": _norm_date,
    "datetime": _norm_datetime,
    **dict.fromkeys(_NUMBER_TYPES, _norm_number),
    **dict.fromkeys(_ID_TYPES, _norm_id),
}


class Normalizer:
    """Turns a row into a hashable key that survives Salesforce's re-rendering.

    :param columns: the input's header names.
    :param field_types: lower-case field name -> describe type; columns it does not know
        (relationship columns, unknown fields) are compared as text.
    """

    def __init__(self, columns: Sequence[str], field_types: dict[str, str] | None = None) -> None:
        types = field_types or {}
        self._funcs = [_BY_TYPE.get(types.get(c.lower(), ""), _norm_text) for c in columns]
        #: Every column is text: a row's key differs from its exact key only where it has "#N/A".
        self.trivial = all(f is _norm_text for f in self._funcs)

    def key(self, row: Sequence[str]) -> int:
        """The normalised key of ``row``."""
        return hash((*(f(v) for f, v in zip(self._funcs, row, strict=False)), len(row)))


def exact_key(row: Sequence[str]) -> int:
    """The key of ``row`` exactly as written."""
    return hash(tuple(row))


class RowIndex:
    """Input records of one job, by exact and by normalised key (hashes only)."""

    def __init__(
        self,
        normalizer: Normalizer,
        source: Callable[[], Iterable[tuple[int, Sequence[str]]]] | None = None,
    ) -> None:
        """:param source: reads the indexed rows again, as (record, row) pairs. With it the
        normalised keys are computed only if a result row has no exact match (most jobs need
        none: text comes back as sent); without it they are computed as rows are added.
        """
        self._normalizer = normalizer
        self._source = source
        self._exact: dict[int, int | list[int]] = {}
        self._loose: dict[int, int | list[int]] | None = None if source is not None else {}
        self.count = 0
        #: Sums of the record numbers and of their squares: with the count, a cheap check that the
        #: results matched every record once (see :meth:`ResultMerger.merge_job`).
        self.sum1 = 0
        self.sum2 = 0
        self._numbers: list[Iterable[int]] = []

    @staticmethod
    def _add(table: dict[int, int | list[int]], key: int, record: int) -> None:
        found = table.get(key)
        if found is None:
            table[key] = record
        elif isinstance(found, list):
            found.append(record)
        else:
            table[key] = [found, record]

    def add(self, row: Sequence[str], record: int) -> None:
        """Index input ``row`` as record number ``record``."""
        self.extend([row], [record])

    def extend(self, rows: Iterable[Sequence[str]], records: Iterable[int]) -> None:
        """Index input ``rows`` as the records numbered ``records`` (a tight loop: the merge's hot path)."""
        exact = self._exact
        add = self._add
        loose = self._loose
        count = sum1 = sum2 = 0
        numbers = []
        for record, row in zip(records, rows, strict=False):
            key = hash(tuple(row))
            if key in exact:
                add(exact, key, record)
            else:
                exact[key] = record
            if loose is not None:
                self._add_loose(loose, row, record)
            count += 1
            sum1 += record
            sum2 += record * record
            numbers.append(record)
        self.count += count
        self.sum1 += sum1
        self.sum2 += sum2
        self._numbers.append(numbers)

    def _add_loose(self, loose: dict[int, int | list[int]], row: Sequence[str], record: int) -> None:
        # With text columns only, the normalised key equals the exact one unless a cell is
        # "#N/A": skip that second hash for the common case.
        if not self._normalizer.trivial or "#N/A" in row:
            self._add(loose, self._normalizer.key(row), record)

    def _build_loose(self) -> dict[int, int | list[int]]:
        loose: dict[int, int | list[int]] = {}
        if self._source is not None:
            for record, row in self._source():
                self._add_loose(loose, row, record)
        self._loose = loose
        return loose

    @property
    def records(self) -> list[int]:
        """Every record number indexed."""
        return [n for part in self._numbers for n in part]

    def lookup(self, values: Sequence[str]) -> int | list[int] | None:
        """The record (or the candidate records) whose values are ``values``."""
        found = self._exact.get(hash(tuple(values)))
        if found is None:
            loose = self._loose if self._loose is not None else self._build_loose()
            if loose:
                found = loose.get(self._normalizer.key(values))
        return found


@dataclass(slots=True)
class MergeCounts:
    """What one job added to the merged files."""

    succeeded: int = 0
    failed: int = 0
    unprocessed: int = 0
    unmatched: int = 0
    ambiguous: int = 0
    held_for_retry: int = 0
    missing: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows written, plus rows held back for a retry round."""
        return self.succeeded + self.failed + self.unprocessed + self.held_for_retry


@dataclass(frozen=True, slots=True)
class RetryRow:
    """A failed row held back to be sent again in a later round."""

    record: int
    values: list[str]
    error: str


def _read_csv(path: Path | None, delimiter: str) -> Iterator[list[str]]:
    if path is None or not path.exists() or path.stat().st_size == 0:
        return
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.reader(handle, delimiter=delimiter, strict=True)


def _read_csv_raw(path: Path | None, delimiter: str) -> Iterator[tuple[list[str], str]]:
    """Each record of a CSV file, parsed and as its raw text (line ending included).

    The parser pulls lines from a generator that keeps them, so the raw text of every record is
    exactly the lines the csv module itself used for it (quoted newlines included).
    """
    if path is None or not path.exists() or path.stat().st_size == 0:
        return
    buffer: list[str] = []
    with path.open(newline="", encoding="utf-8") as handle:

        def lines() -> Iterator[str]:
            for line in handle:
                buffer.append(line)
                yield line

        for row in csv.reader(lines(), delimiter=delimiter, strict=True):
            raw = buffer[0] if len(buffer) == 1 else "".join(buffer)
            buffer.clear()
            yield row, raw


def _error_code(error: str) -> str:
    return error.split(":", 1)[0].strip()


class ResultMerger:
    """Owns ``success.csv``, ``failed.csv`` and ``unprocessed.csv`` in ``out_dir``.

    Every merged row starts with the input record number, the job id, and how certain the match
    is (``exact``, ``ambiguous: 3 17``, ``unmatched``), then the columns Salesforce returned.
    The files use the input's delimiter and line ending. All methods are blocking: run them in a
    worker thread.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        columns: Sequence[str],
        delimiter: str,
        line_terminator: str,
    ) -> None:
        self.success_file = out_dir / "success.csv"
        self.failed_file = out_dir / "failed.csv"
        self.unprocessed_file = out_dir / "unprocessed.csv"
        self._columns = list(columns)
        self._delimiter = delimiter
        self._eol = line_terminator
        self._handles: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}  # csv writer objects (their type is private to csv)

    # -- files -------------------------------------------------------------------------------------

    def _headers(self) -> dict[str, list[str]]:
        return {
            "success": [*OUR_COLUMNS, "sf__Id", "sf__Created", *self._columns],
            "failed": [*OUR_COLUMNS, "sf__Id", "sf__Error", *self._columns],
            "unprocessed": [*OUR_COLUMNS, *self._columns],
        }

    def paths(self) -> dict[str, Path]:
        """The merged files by kind."""
        return {
            "success": self.success_file,
            "failed": self.failed_file,
            "unprocessed": self.unprocessed_file,
        }

    def open(self, *, sizes: dict[str, int] | None = None) -> None:
        """Create the files with their headers, or (resuming) cut them back to ``sizes`` bytes.

        Cutting back drops whatever a crash left half-written after the last merge the journal
        recorded, so a resumed load neither repeats nor loses rows.
        """
        headers = self._headers()
        for kind, path in self.paths().items():
            if sizes is not None and path.exists():
                handle = path.open("r+", newline="", encoding="utf-8")
                handle.truncate(sizes.get(kind, 0))
                handle.seek(0, io.SEEK_END)
            else:
                handle = path.open("w", newline="", encoding="utf-8")
            self._handles[kind] = handle
            if handle.tell() == 0:
                self._writer(kind).writerow(headers[kind])
        self.flush()

    def _writer(self, kind: str) -> Any:
        writer = self._writers.get(kind)
        if writer is None:
            writer = csv.writer(self._handles[kind], delimiter=self._delimiter, lineterminator=self._eol)
            self._writers[kind] = writer
        return writer

    def flush(self) -> dict[str, int]:
        """Flush the files and return their sizes (for the journal)."""
        sizes = {}
        for kind, handle in self._handles.items():
            handle.flush()
            sizes[kind] = handle.tell()
        return sizes

    def close(self) -> None:
        """Flush and close the files."""
        self.flush()
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()
        self._writers.clear()

    # -- merging -----------------------------------------------------------------------------------

    def merge_job(
        self,
        *,
        job_id: str,
        index: RowIndex,
        delimiter: str,
        success: Path | None,
        failed: Path | None,
        unprocessed: Path | None,
        retry_codes: frozenset[str] = frozenset(),
        retry_rows: list[RetryRow] | None = None,
        retry_unprocessed: str | None = None,
    ) -> MergeCounts:
        """Append one job's results to the merged files.

        Failed rows whose error code is in ``retry_codes`` are not written: they go to
        ``retry_rows`` (with their record numbers) to be sent again in a later round. With
        ``retry_unprocessed`` (the reason: the job's error message), so do the unprocessed rows.
        """
        counts = MergeCounts()
        seen: set[int] = set()  # records matched as candidates of ambiguous rows
        sum1 = sum2 = matched = 0
        lookup = index.lookup
        for kind, path in (("success", success), ("failed", failed), ("unprocessed", unprocessed)):
            rows = _read_csv_raw(path, delimiter)
            if next(rows, None) is None:  # the header, or nothing at all
                continue
            write = self._handles[kind].write
            d = self._delimiter
            eol = self._eol
            skip = 0 if kind == "unprocessed" else 2
            holding = retry_rows is not None and (
                (kind == "failed" and bool(retry_codes))
                or (kind == "unprocessed" and retry_unprocessed is not None)
            )
            written = 0
            for row, raw in rows:
                values = row[skip:]
                found = lookup(values)
                if type(found) is int:
                    record: int | str = found
                    match = "exact"
                    matched += 1
                    sum1 += found
                    sum2 += found * found
                elif found is None:
                    record, match = "", "unmatched"
                    counts.unmatched += 1
                else:
                    assert isinstance(found, list)
                    record, match = "", "ambiguous: " + " ".join(map(str, found))
                    counts.ambiguous += 1
                    seen.update(found)
                if holding and record != "":
                    reason = row[1] if kind == "failed" else retry_unprocessed
                    if kind == "unprocessed" or _error_code(row[1]) in retry_codes:
                        assert retry_rows is not None and reason is not None
                        retry_rows.append(RetryRow(int(record), values, reason))
                        counts.held_for_retry += 1
                        continue
                # The record as Salesforce sent it, after our three columns: no re-serialising.
                write(
                    f"{record}{d}{job_id}{d}{match}{d}{raw}"
                    if raw.endswith(eol)
                    else f"{record}{d}{job_id}{d}{match}{d}{raw}{eol}"
                )
                written += 1
            if kind == "success":
                counts.succeeded += written
            elif kind == "failed":
                counts.failed += written
            else:
                counts.unprocessed += written
        # Every record matched exactly once, checked by count and sums without a set per row; only
        # when that fails are the records nobody matched listed.
        if not (matched == index.count and sum1 == index.sum1 and sum2 == index.sum2):
            counts.missing = self._missing(index, delimiter, (success, failed, unprocessed), seen)
        return counts

    @staticmethod
    def _missing(
        index: RowIndex, delimiter: str, paths: Sequence[Path | None], ambiguous: set[int]
    ) -> list[int]:
        """Records of ``index`` no result row matched (the slow path, after a failed check)."""
        matched: set[int] = set(ambiguous)
        for kind_skip, path in zip((2, 2, 0), paths, strict=True):
            rows = _read_csv(path, delimiter)
            if next(rows, None) is None:
                continue
            for row in rows:
                found = index.lookup(row[kind_skip:])
                if type(found) is int:
                    matched.add(found)
        return [r for r in index.records if r not in matched]


def parse_chunk(data: bytes, delimiter: str) -> Iterator[list[str]]:
    """The records of an uploaded chunk (header first), parsed as Salesforce parses them."""
    text = data.decode("utf-8")
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


class _RangeReader(io.RawIOBase):
    """Bytes ``start`` to ``start + size`` of a binary file, as a stream of their own."""

    def __init__(self, handle: IO[bytes], start: int, size: int) -> None:
        handle.seek(start)
        self._handle = handle
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        count = self._handle.readinto(view)  # type: ignore[attr-defined]
        self._left -= count or 0
        return int(count or 0)


def iter_range_rows(path: Path, start: int, size: int, delimiter: str) -> Iterator[list[str]]:
    """Parse the records in bytes ``start`` to ``start + size`` of ``path``, streaming.

    Only a buffer's worth of the range is in memory at a time, however large the chunk.
    """
    with path.open("rb") as handle:
        raw = _RangeReader(handle, start, size)
        text = io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding="utf-8", newline="")
        yield from csv.reader(text, delimiter=delimiter, strict=True)
