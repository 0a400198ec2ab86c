"""Map a finished job's result rows back to input records: keys that survive re-rendering.

Salesforce returns a job's results unordered and without the input row number, and it re-renders
successful rows from the stored type (``912260031`` comes back as ``9.12260031E8``, ``1`` in a
checkbox as ``true``, a 15-character id as 18). So each result row is matched against the chunk it
came from by its values: first exactly, then after normalising each value by its field's type (the
types come from one ``describe`` call). Only hashes of the input rows are kept, so memory stays
small whatever the chunk size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import operator
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from itertools import islice, repeat
from pathlib import Path
from typing import IO, Any

from .._exceptions import InputChangedError
from .._limits import RECORD_MAX_BYTES
from ._rawcsv import Block, block_keys, raws_of, records_of, row_key

__all__ = ["Normalizer", "RowIndex", "iter_range_rows", "parse_chunk", "read_csv"]

# Every field the splitter accepts (up to 131,072 characters, Salesforce's limit) must survive the
# round trip, and the csv module refuses fields of 131,072 characters or more by default. The
# limit is process-wide: it is only ever raised, to the longest record Salesforce accepts, which
# still stops a runaway read of a broken file.
if csv.field_size_limit() < RECORD_MAX_BYTES:
    csv.field_size_limit(RECORD_MAX_BYTES)

# Field types (describe ``type``) whose results Salesforce re-renders.
_NUMBER_TYPES = {"int", "double", "currency", "percent", "long"}
_ID_TYPES = {"id", "reference"}
_TRUE = {"true", "1", "yes", "y", "on"}
# Rows indexed (and result rows matched) per step: large enough that the per-step Python cost
# vanishes, small enough that a step's lists stay a few MB.
_BATCH = 8192


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
        self._numbers: list[array[int]] = []

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
        """Index input ``rows`` as the records numbered ``records`` (the merge's hot path).

        Rows are taken a batch at a time and every per-row step (key, dict insert, the sums) runs
        inside C-level ``map``/``dict``/``sum`` calls: the cProfile of the old per-row Python loop
        showed about 2.4 us per row spent in the interpreter, for work that is a hash and a dict
        insert. Rows of :func:`iter_range_rows` are keyed from their raw text, mostly without the
        csv module (see :mod:`._rawcsv`). Only a batch that holds identical rows (or a row already
        indexed) takes the per-row path, which keeps every candidate record.
        """
        loose = self._loose
        numbers_iter = iter(records)
        if isinstance(rows, RangeRows) and (loose is None or self._normalizer.trivial):
            for block in rows.record_blocks(raws=False):
                keys = block_keys(block)
                if keys is None:
                    parsed = csv.reader(block.texts(), delimiter=rows.delimiter, strict=True)
                    keys = list(map(row_key, parsed))
                numbers = list(islice(numbers_iter, len(keys)))
                if loose is not None and b"#N/A" in block.data:
                    # Text columns only: a normalised key differs only for a row with "#N/A".
                    raws = raws_of(block, rows.delimiter)
                    marked = [i for i, raw in enumerate(raws[: len(numbers)]) if b"#N/A" in raw]
                    texts = [raws[i].decode("utf-8") for i in marked]
                    for i, marked_row in zip(
                        marked, csv.reader(texts, delimiter=rows.delimiter, strict=True), strict=True
                    ):
                        self._add_loose(loose, marked_row, numbers[i])
                self._index(keys[: len(numbers)], numbers)
                if len(numbers) < len(keys):
                    break
            return
        rows_iter = iter(rows)
        while True:
            batch = list(islice(rows_iter, _BATCH))
            if not batch:
                break
            numbers = list(islice(numbers_iter, len(batch)))
            if len(numbers) < len(batch):
                del batch[len(numbers) :]  # zip() semantics: stop at the shorter input
            keys = list(map(row_key, batch))
            if loose is not None and (
                not self._normalizer.trivial or any(map(operator.contains, batch, repeat("#N/A")))
            ):
                for row, record in zip(batch, numbers, strict=True):
                    self._add_loose(loose, row, record)
            self._index(keys, numbers)
            if len(numbers) < _BATCH:
                break

    def _index(self, keys: list[int], numbers: list[int]) -> None:
        """Add records ``numbers`` under their exact ``keys``."""
        exact = self._exact
        fresh = dict(zip(keys, numbers, strict=True))
        if len(fresh) == len(keys) and exact.keys().isdisjoint(fresh):
            exact.update(fresh)
        else:
            for key, record in zip(keys, numbers, strict=True):
                self._add(exact, key, record)
        self.count += len(numbers)
        self.sum1 += sum(numbers)
        self.sum2 += sum(map(operator.mul, numbers, numbers))
        # 8 bytes a record (an int object and a list slot would be about 36).
        self._numbers.append(array("q", numbers))

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

    @property
    def unique(self) -> bool:
        """No two indexed rows have the same values: every exact match names one record."""
        # A key holding several records takes one dict entry for all of them.
        return len(self._exact) == self.count

    def lookup_exact(self, keys: Iterable[int]) -> list[int | list[int] | None]:
        """The exact matches of many rows at once, by their keys (:func:`row_key`)."""
        return list(map(self._exact.get, keys))

    def lookup(self, values: Sequence[str]) -> int | list[int] | None:
        """The record (or the candidate records) whose values are ``values``."""
        found = self._exact.get(row_key(values))
        if found is None:
            loose = self._loose if self._loose is not None else self._build_loose()
            if loose:
                found = loose.get(self._normalizer.key(values))
        return found


def read_csv(path: Path | None, delimiter: str) -> Iterator[list[str]]:
    """The records of a CSV file (none if it is absent or empty)."""
    if path is None or not path.exists() or path.stat().st_size == 0:
        return
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.reader(handle, delimiter=delimiter, strict=True)


def parse_chunk(data: bytes, delimiter: str) -> Iterator[list[str]]:
    """The records of an uploaded chunk (header first), parsed as Salesforce parses them."""
    text = data.decode("utf-8")
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


class _RangeReader(io.RawIOBase):
    """Bytes ``start`` to ``start + size`` of a binary file, as a stream of their own.

    It keeps the Adler-32 of what it read, and at the end of the range compares it with
    ``checksum`` (the chunk's, from when the file was planned): a changed file stops the merge
    before a wrong record number is written.
    """

    def __init__(self, handle: IO[bytes], start: int, size: int, checksum: int | None, name: str) -> None:
        handle.seek(start)
        self._handle = handle
        self._left = size
        self._expected = checksum
        self._running = 1
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        count = int(self._handle.readinto(view) or 0)  # type: ignore[attr-defined]
        self._running = zlib.adler32(view[:count], self._running)
        self._left -= count
        if self._expected is not None and (count == 0 or self._left == 0):
            if self._left != 0 or self._running != self._expected:
                raise InputChangedError(
                    "the file changed while it was being loaded (a chunk's bytes are not what was "
                    "uploaded); restore it and run `asyncbulk resume` to go on",
                    path=self._name,
                )
        return count


class RangeRows(Iterator[list[str]]):
    """The records in bytes ``start`` to ``start + size`` of a file: parsed rows when iterated,
    and (for :meth:`RowIndex.extend`) their match keys a block at a time, mostly without parsing.

    Both read the range streaming and check its Adler-32 at the end (see :func:`iter_range_rows`).
    """

    def __init__(
        self, path: Path, start: int, size: int, delimiter: str, checksum: int | None, name: str
    ) -> None:
        self._args = (path, start, size, checksum, name)
        self.delimiter = delimiter
        self._rows: Iterator[list[str]] | None = None

    def __next__(self) -> list[str]:
        if self._rows is None:
            self._rows = self._parse()
        return next(self._rows)

    def _parse(self) -> Iterator[list[str]]:
        path, start, size, checksum, name = self._args
        with path.open("rb") as handle:
            raw = _RangeReader(handle, start, size, checksum, name)
            text = io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding="utf-8", newline="")
            yield from csv.reader(text, delimiter=self.delimiter, strict=True)

    def record_blocks(self, *, raws: bool) -> Iterator[Block]:
        """The range's records, a block at a time (see :func:`._rawcsv.records_of`)."""
        path, start, size, checksum, name = self._args
        with path.open("rb") as handle:
            raw = _RangeReader(handle, start, size, checksum, name)
            yield from records_of(raw.read, self.delimiter, raws=raws)


def iter_range_rows(
    path: Path,
    start: int,
    size: int,
    delimiter: str,
    *,
    checksum: int | None = None,
    name: str | None = None,
) -> RangeRows:
    """Parse the records in bytes ``start`` to ``start + size`` of ``path``, streaming.

    Only a buffer's worth of the range is in memory at a time, however large the chunk.

    :param checksum: the range's Adler-32 as planned: a different file raises
        :class:`~asyncbulk.InputChangedError` once the range was read.
    :param name: the file's name in that message.
    """
    return RangeRows(path, start, size, delimiter, checksum, name or str(path))
