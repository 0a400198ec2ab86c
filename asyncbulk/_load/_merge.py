"""The three consolidated result files: one job's results appended at a time.

Every merged row starts with the input record number, the job id, and how certain the match is
(``exact``, ``ambiguous: 3 17``, ``unmatched``; ``skipped: <reason>`` for a bad record never sent),
then the columns Salesforce returned, byte for byte. A row whose values match several input records
(identical rows) cannot be told apart: it is marked ``ambiguous`` with its candidates, never given
one of their numbers.
"""

# Slightly over the ~400-line aim: one job's merge into the three consolidated files reads best
# as one piece; a split would pass the merger's state between modules for six lines' gain.
from __future__ import annotations

import contextlib
import csv
import io
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import repeat
from pathlib import Path
from typing import IO, Any

from .._bulk import ResultKind
from .._config import LineEnding
from .._csv import csv_writer
from ._match import RowIndex, read_csv
from ._naming import naming
from ._rawcsv import Block, block_keys, read_blocks, row_key

__all__ = ["MERGED_FILES", "OUR_COLUMNS", "MergeCounts", "ResultMerger", "RetryRow", "SkippedRecord"]

RECORD_COLUMN = "asyncbulk__record"
JOB_COLUMN = "asyncbulk__job_id"
MATCH_COLUMN = "asyncbulk__match"
OUR_COLUMNS = (RECORD_COLUMN, JOB_COLUMN, MATCH_COLUMN)
#: The merged file of each result kind.
MERGED_FILES = {
    ResultKind.SUCCESSFUL: "success.csv",
    ResultKind.FAILED: "failed.csv",
    ResultKind.UNPROCESSED: "unprocessed.csv",
}


@dataclass(slots=True)
class MergeCounts:
    """What one job added to the merged files."""

    succeeded: int = 0
    failed: int = 0
    unprocessed: int = 0
    unmatched: int = 0
    ambiguous: int = 0
    held_for_retry: int = 0
    missing: list[int] = field(default_factory=list, compare=False)

    @property
    def total(self) -> int:
        """Rows written, plus rows held back for a retry round."""
        return self.succeeded + self.failed + self.unprocessed + self.held_for_retry

    def to_json(self) -> dict[str, int]:
        """The counts as JSON (``missing`` is reported in notes, not journaled)."""
        data = asdict(self)
        data.pop("missing")
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MergeCounts:
        """The counts :meth:`to_json` wrote."""

        def get(name: str) -> int:
            return int(data.get(name) or 0)

        return cls(
            succeeded=get("succeeded"),
            failed=get("failed"),
            unprocessed=get("unprocessed"),
            unmatched=get("unmatched"),
            ambiguous=get("ambiguous"),
            held_for_retry=get("held_for_retry"),
        )


@dataclass(frozen=True, slots=True)
class RetryRow:
    """A failed row held back to be sent again in a later round.

    :param record: its input record number.
    :param values: its values, as the result file showed them.
    :param error: why it failed the last time.
    """

    record: int
    values: tuple[str, ...]
    error: str


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A structurally bad input record that was never sent (``bad_rows="skip"``).

    :param record: its input record number.
    :param line: the line it starts on.
    :param values: its fields as well as they can be read.
    :param reason: what is wrong with it.
    """

    record: int
    line: int
    values: tuple[str, ...]
    reason: str


def _error_code(error: str) -> str:
    return error.split(":", 1)[0].strip()


_SIZE_KEYS = {
    ResultKind.SUCCESSFUL: "success",
    ResultKind.FAILED: "failed",
    ResultKind.UNPROCESSED: "unprocessed",
}


class _Tally:
    """Records matched exactly in one job: how many, and the sums that check each came once."""

    __slots__ = ("matched", "seen", "sum1", "sum2")

    def __init__(self) -> None:
        self.matched = self.sum1 = self.sum2 = 0
        #: Records named as candidates of ambiguous rows.
        self.seen: set[int] = set()

    def add_exact(self, records: Sequence[int]) -> None:
        self.matched += len(records)
        self.sum1 += sum(records)
        self.sum2 += sum(map(operator.mul, records, records))


class ResultMerger:
    """Owns ``success.csv``, ``failed.csv`` and ``unprocessed.csv`` in ``out_dir``.

    The files use the input's delimiter and line ending. All methods are blocking: run them in a
    worker thread.

    :param out_dir: where the files go.
    :param columns: the input's header names.
    :param delimiter: the input's delimiter character.
    :param line_terminator: the input's line ending.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        columns: Sequence[str],
        delimiter: str,
        line_terminator: str,
    ) -> None:
        self.files = {kind: out_dir / name for kind, name in MERGED_FILES.items()}
        self._columns = list(columns)
        self._delimiter = delimiter
        self._eol = line_terminator
        self._handles: dict[ResultKind, IO[str]] = {}
        self._writers: dict[ResultKind, Any] = {}  # csv writer objects (their type is private to csv)

    @property
    def success_file(self) -> Path:
        """``success.csv``."""
        return self.files[ResultKind.SUCCESSFUL]

    @property
    def failed_file(self) -> Path:
        """``failed.csv``."""
        return self.files[ResultKind.FAILED]

    @property
    def unprocessed_file(self) -> Path:
        """``unprocessed.csv``."""
        return self.files[ResultKind.UNPROCESSED]

    # -- files -------------------------------------------------------------------------------------

    def _header(self, kind: ResultKind) -> list[str]:
        if kind is ResultKind.SUCCESSFUL:
            return [*OUR_COLUMNS, "sf__Id", "sf__Created", *self._columns]
        if kind is ResultKind.FAILED:
            return [*OUR_COLUMNS, "sf__Id", "sf__Error", *self._columns]
        return [*OUR_COLUMNS, *self._columns]

    def open(self, *, sizes: Mapping[str, int] | None = None) -> None:
        """Create the files with their headers, or (resuming) cut them back to ``sizes`` bytes.

        Cutting back drops whatever a crash left half-written after the last merge the journal
        recorded, so a resumed load neither repeats nor loses rows.
        """
        for kind, path in self.files.items():
            with naming(path):
                self._open_one(kind, path, sizes)
        self.flush()

    def _open_one(self, kind: ResultKind, path: Path, sizes: Mapping[str, int] | None) -> None:
        if sizes is not None and path.exists():
            handle = path.open("r+", newline="", encoding="utf-8")
            handle.truncate(sizes.get(_SIZE_KEYS[kind], 0))
            handle.seek(0, io.SEEK_END)
        else:
            handle = path.open("w", newline="", encoding="utf-8")
        self._handles[kind] = handle
        if handle.tell() == 0:
            self._writer(kind).writerow(self._header(kind))

    def _writer(self, kind: ResultKind) -> Any:
        writer = self._writers.get(kind)
        if writer is None:
            ending = LineEnding.CRLF if self._eol == "\r\n" else LineEnding.LF
            writer = csv_writer(self._handles[kind], delimiter=self._delimiter, line_ending=ending)
            self._writers[kind] = writer
        return writer

    def flush(self) -> dict[str, int]:
        """Flush the files and return their sizes (for the journal)."""
        sizes = {}
        for kind, handle in self._handles.items():
            with naming(self.files[kind]):
                handle.flush()
            sizes[_SIZE_KEYS[kind]] = handle.tell()
        return sizes

    def close(self) -> None:
        """Flush and close the files."""
        for kind, handle in self._handles.items():
            with naming(self.files[kind]), contextlib.suppress(OSError):
                # A file that cannot be written (a full disk) was reported by flush already.
                handle.close()
        self._handles.clear()
        self._writers.clear()

    # -- merging -----------------------------------------------------------------------------------

    def write_skipped(self, records: Iterable[SkippedRecord]) -> int:
        """Write bad records that were never sent to ``failed.csv``; return how many.

        The loader's own column says why (``skipped: <reason>``); ``sf__Id`` and ``sf__Error`` stay
        empty, because Salesforce never saw them.
        """
        writer = self._writer(ResultKind.FAILED)
        count = 0
        for item in records:
            writer.writerow([item.record, "", f"skipped: {item.reason}", "", "", *item.values])
            count += 1
        return count

    def merge_job(
        self,
        *,
        job_id: str,
        index: RowIndex,
        delimiter: str,
        paths: Mapping[ResultKind, Path | None],
        retry_codes: frozenset[str] = frozenset(),
        retry_rows: list[RetryRow] | None = None,
        retry_unprocessed: str | None = None,
    ) -> MergeCounts:
        """Append one job's results (the result files at ``paths``) to the merged files.

        Failed rows whose error code is in ``retry_codes`` are not written: they go to
        ``retry_rows`` (with their record numbers) to be sent again in a later round. With
        ``retry_unprocessed`` (the reason: the job's error message), so do the unprocessed rows.
        """
        counts = MergeCounts()
        tally = _Tally()
        for kind in ResultKind:
            holding = retry_rows is not None and (
                (kind is ResultKind.FAILED and bool(retry_codes))
                or (kind is ResultKind.UNPROCESSED and retry_unprocessed is not None)
            )
            written = 0
            first = True
            for block in read_blocks(paths.get(kind), delimiter):
                if first:  # the header
                    block.drop_first()
                    first = False
                if not block.raws:
                    continue
                keys = block_keys(block, kind.sf_columns)
                rows = None
                if keys is None:
                    rows = list(csv.reader(block.texts(), delimiter=delimiter, strict=True))
                    keys = [row_key(row[kind.sf_columns :]) for row in rows]
                found = index.lookup_exact(keys)
                if not holding and None not in found and (index.unique or list not in set(map(type, found))):
                    # Every row of the block is an exact, single match: the common case, done in
                    # C-level maps (the per-row loop below cost about 1.4 us a row). Identical
                    # input rows elsewhere in the job do not send this block the slow way.
                    written += self._write_exact(kind, job_id, found, block)  # type: ignore[arg-type]
                    tally.add_exact(found)  # type: ignore[arg-type]
                    continue
                texts = block.texts()
                if rows is None:
                    rows = list(csv.reader(texts, delimiter=delimiter, strict=True))
                written += self._write_rows(
                    kind, job_id, index, rows, texts, found, counts, tally,
                    retry_codes if holding else None, retry_rows, retry_unprocessed,
                )  # fmt: skip
            if kind is ResultKind.SUCCESSFUL:
                counts.succeeded += written
            elif kind is ResultKind.FAILED:
                counts.failed += written
            else:
                counts.unprocessed += written
        seen, matched, sum1, sum2 = tally.seen, tally.matched, tally.sum1, tally.sum2
        # Every record matched exactly once, checked by count and sums without a set per row; only
        # when that fails are the records nobody matched listed.
        if not (matched == index.count and sum1 == index.sum1 and sum2 == index.sum2):
            counts.missing = self._missing(index, delimiter, paths, seen)
        return counts

    def _write_exact(self, kind: ResultKind, job_id: str, found: list[int], block: Block) -> int:
        """Write a block whose rows all matched one record exactly; return how many."""
        eol = self._eol.encode()
        d = self._delimiter
        # bytes %-formatting via map, all in C; a % in the job id must not be read as a format.
        lead = b"%d" + (d + job_id + d + "exact" + d).replace("%", "%%").encode()
        if block.quoted is not None and block.quoted[1] == eol:
            # Salesforce's form: each row is rebuilt as it was (quotes, then its line ending, which
            # the file's last row gets too) straight from its inner text, in one format.
            inner = block.quoted[0]
            out = b"".join(map((lead + b'"%b"' + eol).__mod__, zip(found, inner, strict=True)))
        else:
            raws = block.raws
            if not all(map(bytes.endswith, raws, repeat(eol))):
                raws = [raw if raw.endswith(eol) else raw + eol for raw in raws]
            out = b"".join(map((lead + b"%b").__mod__, zip(found, raws, strict=True)))
        handle = self._handles[kind]
        # The rows' bytes go straight to the file's buffer, after whatever text it holds.
        handle.flush()
        handle.buffer.write(out)  # type: ignore[attr-defined]
        return len(found)

    def _write_rows(
        self,
        kind: ResultKind,
        job_id: str,
        index: RowIndex,
        rows: list[list[str]],
        raws: list[str],
        found_exact: list[int | list[int] | None],
        counts: MergeCounts,
        tally: _Tally,
        retry_codes: frozenset[str] | None,
        retry_rows: list[RetryRow] | None,
        retry_unprocessed: str | None,
    ) -> int:
        """Write a block row by row (ambiguous, re-rendered or held rows); return how many."""
        write = self._handles[kind].write
        d = self._delimiter
        eol = self._eol
        skip = kind.sf_columns
        written = 0
        for row, raw, exact in zip(rows, raws, found_exact, strict=True):
            values = row[skip:]
            found = exact if exact is not None else index.lookup(values)
            if type(found) is int:
                record: int | str = found
                match = "exact"
                tally.add_exact((found,))
            elif found is None:
                record, match = "", "unmatched"
                counts.unmatched += 1
            else:
                assert isinstance(found, list)
                record, match = "", "ambiguous: " + " ".join(map(str, found))
                counts.ambiguous += 1
                tally.seen.update(found)
            if retry_codes is not None and record != "":
                reason = row[1] if kind is ResultKind.FAILED else retry_unprocessed
                if kind is ResultKind.UNPROCESSED or _error_code(row[1]) in retry_codes:
                    assert retry_rows is not None and reason is not None
                    retry_rows.append(RetryRow(int(record), tuple(values), reason))
                    counts.held_for_retry += 1
                    continue
            # The record as Salesforce sent it, after our three columns: no re-serialising.
            write(
                f"{record}{d}{job_id}{d}{match}{d}{raw}"
                if raw.endswith(eol)
                else f"{record}{d}{job_id}{d}{match}{d}{raw}{eol}"
            )
            written += 1
        return written

    @staticmethod
    def _missing(
        index: RowIndex, delimiter: str, paths: Mapping[ResultKind, Path | None], ambiguous: set[int]
    ) -> list[int]:
        """Records of ``index`` no result row matched (the slow path, after a failed check)."""
        matched: set[int] = set(ambiguous)
        for kind in ResultKind:
            rows = read_csv(paths.get(kind), delimiter)
            if next(rows, None) is None:
                continue
            for row in rows:
                found = index.lookup(row[kind.sf_columns :])
                if type(found) is int:
                    matched.add(found)
        return [r for r in index.records if r not in matched]
