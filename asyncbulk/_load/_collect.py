"""Collect: a finished job's three result files downloaded, merged, and the merge journaled."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import anyio

from .._bulk import BulkClient, JobInfo, JobState, ResultKind, job_failed_transiently
from .._config import RetryConfig
from .._crash import crash_point
from ._files import FileWork, naming
from ._journal import Event, Merged
from ._ledger import Job, Ledger
from ._match import Normalizer, RowIndex, iter_range_rows
from ._merge import MergeCounts, ResultMerger, RetryRow

__all__ = ["Collector"]


class Collector:
    """Downloads results and merges them, one job at a time into the shared files.

    :param client: the Bulk API client.
    :param merger: the consolidated result files.
    :param ledger: the jobs and their counters.
    :param retry: which failed records go round again, and how many rounds there are.
    :param record: writes a journal event.
    :param files: the load's file threads.
    :param work: where results are downloaded.
    :param normalizer: makes result rows comparable with input rows.
    """

    def __init__(
        self,
        client: BulkClient,
        merger: ResultMerger,
        ledger: Ledger,
        retry: RetryConfig,
        record: Callable[[Event], Awaitable[None]],
        files: FileWork,
        work: Path,
        normalizer: Callable[[], Normalizer],
    ) -> None:
        self.client = client
        self.merger = merger
        self.ledger = ledger
        self.retry = retry
        self.record = record
        self.files = files
        self.work = work
        self.normalizer = normalizer
        self._lock = anyio.Lock()
        #: Rows held back for a retry round, by the round whose jobs they failed in.
        self.held: dict[int, list[RetryRow]] = {}

    async def collect(self, job: Job, final: JobInfo) -> None:
        """Download ``job``'s results (its final info is ``final``), merge them, journal it."""
        assert job.job_id is not None
        job_id = job.job_id
        job_dir = self.work / "jobs" / job_id
        await self.files.run(functools.partial(job_dir.mkdir, parents=True, exist_ok=True))
        kinds = [ResultKind.SUCCESSFUL, ResultKind.FAILED]
        if final.state is not JobState.JOB_COMPLETE or final.processed < job.chunk.records:
            kinds.append(ResultKind.UNPROCESSED)
        paths: dict[ResultKind, Path | None] = dict.fromkeys(ResultKind)

        async def fetch(kind: ResultKind) -> None:
            dest = job_dir / f"{kind.value}.csv"
            with naming(dest):
                await self.client.download_results(job_id, kind, dest)
            paths[kind] = dest

        # The three files of a job at once: the org's answer time, not ours, sets the pace.
        async with anyio.create_task_group() as tg:
            for kind in kinds:
                tg.start_soon(fetch, kind)
        last_round = job.round >= self.retry.record_rounds
        retry_codes = frozenset() if last_round else self.retry.retryable_record_errors
        # A job that failed for a passing reason (a server error, lock contention beyond its own
        # retries) left rows it never processed: those are safe to send again in a new job.
        retry_unprocessed = final.error_message if job_failed_transiently(final) and not last_round else None
        held: list[RetryRow] = []
        merge = functools.partial(self._merge, job, job_id, paths, retry_codes, held, retry_unprocessed)
        async with self._lock:
            counts = await self.files.run(merge)
            with naming(self.merger.failed_file.parent):
                sizes = await self.files.run(self.merger.flush)
            crash_point("merge")
            assert job.mode is not None
            await self.record(
                Merged(
                    round=job.round,
                    chunk=job.chunk.index,
                    job_id=job_id,
                    state=str(final.state),
                    mode=job.mode,
                    sizes=sizes,
                    counts=counts,
                    held=tuple(held),
                    processed=final.processed,
                    failed=final.failed,
                    error_message=final.error_message,
                )
            )
            self.held.setdefault(job.round, []).extend(held)
        await self.ledger.merged(job, counts)

    def _merge(
        self,
        job: Job,
        job_id: str,
        paths: dict[ResultKind, Path | None],
        retry_codes: frozenset[str],
        held: list[RetryRow],
        retry_unprocessed: str | None,
    ) -> MergeCounts:
        source, chunk = job.source, job.chunk
        delimiter = source.layout.delimiter.decode()
        numbers = source.record_numbers(chunk)

        def rows() -> Iterator[list[str]]:
            return iter_range_rows(
                source.path, chunk.start, chunk.size, delimiter, checksum=chunk.checksum, name=source.name
            )

        index = RowIndex(self.normalizer(), source=lambda: zip(numbers, rows(), strict=False))
        index.extend(rows(), numbers)
        with naming(self.merger.failed_file.parent):
            return self.merger.merge_job(
                job_id=job_id,
                index=index,
                delimiter=delimiter,
                paths=paths,
                retry_codes=retry_codes,
                retry_rows=held,
                retry_unprocessed=retry_unprocessed,
            )
