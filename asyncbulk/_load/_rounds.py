"""Retry rounds: records that failed for a passing reason, sent again in new jobs.

Rows that failed with a retryable code (``UNABLE_TO_LOCK_ROW``), and the unprocessed rows of jobs
that failed for a passing reason, are held back by the merge. After a round, they are written to a
CSV like the input (same header, delimiter and line ending) and loaded as the next round; their
record numbers travel with them, so the merged files show each record once, with its final outcome.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from .._config import ChunkConfig
from .._csv import CsvLayout, csv_writer, inspect_layout, iter_chunks
from ._files import FileWork, naming
from ._journal import Event, RoundPlanned
from ._merge import RetryRow
from ._prepare import PreparedInput, RecordNumbers

__all__ = ["RetryRounds"]


class RetryRounds:
    """Makes the input of each retry round.

    :param work: where the round files go.
    :param chunks: the chunk limits (as for the input).
    :param rounds: how many rounds at most.
    :param record: writes a journal event.
    :param files: the load's file threads.
    """

    def __init__(
        self,
        work: Path,
        chunks: ChunkConfig,
        rounds: int,
        record: Callable[[Event], Awaitable[None]],
        files: FileWork,
    ) -> None:
        self.work = work
        self.chunks = chunks
        self.rounds = rounds
        self.record = record
        self.files = files

    async def next(
        self, previous: PreparedInput, held: Sequence[RetryRow], planned: RoundPlanned | None
    ) -> PreparedInput | None:
        """The input of the round after ``previous``, or ``None`` when there is nothing to retry.

        :param held: rows the jobs of ``previous`` held back.
        :param planned: the round as an interrupted run journaled it (its file is reused as is).
        """
        number = previous.round + 1
        if number > self.rounds:
            return None
        if planned is not None:
            path, records = Path(planned.path), list(planned.records)
            layout = await self.files.run(lambda: _layout(path, previous.layout))
        else:
            rows = sorted(held, key=lambda r: r.record)
            if not rows:
                return None
            path = self.work / f"retry-{number}.csv"
            records = [r.record for r in rows]
            layout = await self.files.run(lambda: _write(path, previous.layout, rows))
            await self.record(RoundPlanned(round=number, path=str(path), records=tuple(records)))
        chunks = await self.files.run(
            lambda: tuple(
                iter_chunks(
                    path, layout, max_records=self.chunks.max_records, max_bytes=self.chunks.max_bytes
                )
            )
        )
        return PreparedInput(
            path=path,
            name=str(path),
            layout=layout,
            chunks=chunks,
            records=len(records),
            round=number,
            numbering=RecordNumbers(explicit=records),
            field_types=previous.field_types,
        )


def _layout(path: Path, like: CsvLayout) -> CsvLayout:
    return inspect_layout(path, delimiter=like.column_delimiter, line_ending=like.line_ending)


def _write(path: Path, layout: CsvLayout, rows: Sequence[RetryRow]) -> CsvLayout:
    """Write the rows of a retry round as a CSV like the input; return its layout."""
    with naming(path), path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(layout.header_line.decode("utf-8"))
        writer = csv_writer(handle, delimiter=layout.delimiter.decode(), line_ending=layout.line_ending)
        for row in rows:
            writer.writerow(row.values)
        handle.flush()
        os.fsync(handle.fileno())
    return _layout(path, layout)
