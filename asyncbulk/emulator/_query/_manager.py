"""The org's Bulk API 2.0 query jobs: create, run in the background, abort, delete, serve their pages.

A job is born ``UploadComplete`` (there is no upload) and queued; a background task takes the rows
(one snapshot, so a later change does not alter a finished job's pages), renders them as CSV in
chunks and stores them, counting ``numberRecordsProcessed`` as it goes, then marks it ``JobComplete``.
Refusals follow the query pages of the Bulk guide
(https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .._config import EmulatorConfig
from .._data import BulkQuery, Org, QueryError
from .._faults import FaultInjector
from .._ingest import ApiError, not_found
from .._vocab import RESULT_PAGE_URLS, ColumnDelimiter, JobState, LineEnding, QueryOperation
from ._job import QueryJob
from ._pages import Page, decode_locator, encode_locator, header_line, page_span, render_chunk

__all__ = ["CHUNK_ROWS", "QueryJobManager"]

_T = TypeVar("_T")

#: Rows per stored result chunk (pages are cut out of chunks at any row).
CHUNK_ROWS = 5000

# "Retried more than 15 times": how Bulk API 2.0 reports a query it gave up on ("Bulk API and Bulk
# API 2.0 Limits and Allocations", https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html).
_RETRIES = 15
_GAVE_UP = f"InternalServerError : Retried more than {_RETRIES} times"


def _already(verb: str, state: JobState) -> ApiError:
    # Documented: 400 INVALIDJOBSTATE "Aborting already Completed Job not allowed" ("Abort a Query Job").
    word = "Completed" if state is JobState.JOB_COMPLETE else str(state)
    return ApiError(400, "INVALIDJOBSTATE", f"{verb} already {word} Job not allowed")


def _running(job: QueryJob) -> bool:
    return job.state is JobState.IN_PROGRESS and not job.work.deleted


class QueryJobManager:
    """Owns the query jobs: their registry, the tasks that run them, the reading of their pages.

    :param org: where the rows come from and the jobs and their results are kept.
    :param config: page sizes, the processing rate, the daily job allocation.
    :param faults: the injected job failures.
    """

    def __init__(self, org: Org, config: EmulatorConfig, faults: FaultInjector) -> None:
        self.org = org
        self.config = config
        self.faults = faults
        self.jobs: dict[str, QueryJob] = {}
        #: Query jobs created since the start (the daily allocation never resets in the emulator).
        self.created = 0
        self._cpu: ThreadPoolExecutor | None = None

    async def _on_cpu(self, fn: Callable[..., _T], *args: Any) -> _T:
        # One thread for snapshots and rendering, beside the ingest workers' own (see _ingest._workers).
        assert self._cpu is not None, "the query jobs are not started"
        return await asyncio.get_running_loop().run_in_executor(self._cpu, fn, *args)

    # ----- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Load persisted jobs; those that were queued or running run again from the start."""
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-query")
        for record in await asyncio.to_thread(self.org.query_jobs.load_all):
            job = QueryJob.from_record(record)
            self.jobs[job.id] = job
            if job.state.processing:
                job.state = JobState.UPLOAD_COMPLETE
                self._launch(job)
        # The jobs still kept count against the day's allocation (a restart does not reset it).
        self.created = len(self.jobs)

    async def close(self) -> None:
        """Stop the running jobs (they run again at the next start with the same database)."""
        tasks = [j.work.task for j in self.jobs.values() if j.work.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._cpu is not None:
            self._cpu.shutdown(wait=True)
            self._cpu = None

    async def save(self, job: QueryJob) -> None:
        """Persist the job's record (a deleted job stays deleted)."""
        if not job.work.deleted:
            await asyncio.to_thread(self.org.query_jobs.save, job.id, job.to_record())

    # ----- requests ---------------------------------------------------------------------------
    def get(self, job_id: str) -> QueryJob:
        """The job with this id, or 404 NOT_FOUND."""
        job = self.jobs.get(job_id)
        if job is None or job.work.deleted:
            raise not_found()
        return job

    def list_jobs(self) -> list[QueryJob]:
        """All live jobs in creation order."""
        return [job for job in self.jobs.values() if not job.work.deleted]

    async def create(
        self,
        job_id: str,
        operation: QueryOperation,
        soql: str,
        version: str,
        delimiter: ColumnDelimiter,
        line_ending: LineEnding,
        created_by: str,
    ) -> QueryJob:
        """Compile the SOQL now (a refused query is a 400 and no job) and queue the new job."""
        limit = self.config.daily_query_job_limit
        if self.created >= limit:
            # Real text (estuary/connectors source-salesforce-native; Airbyte sees LIMIT_EXCEEDED).
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"Max bulk v2 query jobs ({limit}) per 24 hrs has been reached ({self.created})",
            )
        include_deleted = operation is QueryOperation.QUERY_ALL
        try:
            query = await asyncio.to_thread(
                self.org.compile_bulk_query, soql, include_deleted=include_deleted
            )
        except QueryError as exc:
            raise ApiError(400, exc.error_code, exc.message) from None
        job = QueryJob(
            id=job_id,
            operation=operation,
            object=query.object,
            query=soql,
            api_version=version,
            created=time.time(),
            created_by=created_by,
            line_ending=line_ending,
            column_delimiter=delimiter,
            pk_chunking=query.pk_chunking,
            columns=list(query.columns),
            chunk_rows=CHUNK_ROWS,
        )
        job.work.query = query
        self.jobs[job.id] = job
        self.created += 1
        await self.save(job)
        self._launch(job)
        return job

    async def abort(self, job: QueryJob) -> QueryJob:
        """``PATCH {"state": "Aborted"}``: only UploadComplete or InProgress jobs."""
        if job.state.terminal:
            raise _already("Aborting", job.state)
        job.abort()
        await self.save(job)
        return job

    async def delete(self, job: QueryJob) -> None:
        """``DELETE``: only terminal jobs; their results go with them."""
        if not job.state.terminal:
            raise ApiError(
                400, "API_ERROR", "Error encountered when deleting the job because the job is not terminated"
            )
        job.work.deleted = True
        del self.jobs[job.id]
        await asyncio.to_thread(self.org.query_jobs.delete, job.id)

    # ----- running a job ----------------------------------------------------------------------
    def _launch(self, job: QueryJob) -> None:
        job.work.task = asyncio.create_task(self._run(job), name=f"query-job-{job.id}")

    async def _run(self, job: QueryJob) -> None:
        chunks: Generator[list[list[str]], None, None] | None = None
        try:
            await asyncio.sleep(0)  # the create answer goes out first
            if job.state is not JobState.UPLOAD_COMPLETE:
                return
            query = job.work.query
            if query is None:  # after a restart
                query = await asyncio.to_thread(
                    self.org.compile_bulk_query, job.query, include_deleted=job.include_deleted
                )
            job.begin()
            await asyncio.to_thread(self.org.query_jobs.clear_results, job.id)
            await self.save(job)
            if self.faults.job_fails_at(1) is not None:
                job.fail(_GAVE_UP, retries=_RETRIES)
                return
            chunks = self.org.snapshot(query, job.chunk_rows)
            while True:
                started = time.perf_counter()
                rows = await self._on_cpu(self._store_chunk, job, chunks, query)
                if rows is None:
                    break
                if not _running(job):
                    break
                job.processed += rows
                job.chunks += 1
                if self.config.query_rate is not None:
                    await asyncio.sleep(
                        max(0.0, rows / self.config.query_rate - (time.perf_counter() - started))
                    )
            if _running(job):
                job.complete()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a data-layer bug must not vanish: the job fails instead
            job.fail(f"InternalServerError : {type(exc).__name__}: {exc}")
        finally:
            if chunks is not None and self._cpu is not None:
                await asyncio.shield(self._on_cpu(chunks.close))
            job.work.task = None
            if job.state is JobState.ABORTED and not job.work.deleted:
                await asyncio.to_thread(self.org.query_jobs.clear_results, job.id)
            await asyncio.shield(self.save(job))

    def _store_chunk(self, job: QueryJob, chunks: Iterator[list[list[str]]], query: BulkQuery) -> int | None:
        """On the query thread: render and store the next chunk; its rows, or ``None`` at the end."""
        block = next(chunks, None)
        if block is None or job.state is not JobState.IN_PROGRESS:
            return None
        rows, data, ends = render_chunk(block, job.delimiter, job.eol)
        self.org.query_jobs.append_chunk(job.id, job.chunks, data, ends)
        return rows

    # ----- results ----------------------------------------------------------------------------
    def _limit(self, max_records: str | None) -> int:
        cap = self.config.query_page_records
        if max_records is None:
            return cap
        if not max_records.isdigit() or int(max_records) < 1:
            # "Get Results for a Query Job" gives no range and no answer for a bad value: the create
            # body's "Invalid value" text (decision).
            # https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
            # Values above query_page_records give pages of that size: "The request is still
            # subject to the size limits".
            raise ApiError(
                400, "API_ERROR", f"Invalid value: '{max_records}' supplied for parameter: 'maxRecords'"
            )
        return min(int(max_records), cap)

    async def page(self, job: QueryJob, locator: str | None, max_records: str | None) -> Page:
        """The page a results request names (locator, maxRecords), ready to be read."""
        limit = self._limit(max_records)
        start = 0 if locator is None else decode_locator(locator, job.id, job.processed)
        budget = self.config.query_page_bytes - len(header_line(job.columns, job.delimiter, job.eol))

        def read_ends(first: int, last: int) -> list[bytes]:
            return self.org.query_jobs.chunk_ends(job.id, first, last)

        stop, pieces = await asyncio.to_thread(
            page_span, start, limit, job.processed, job.chunk_rows, budget, read_ends
        )
        # The string "null" on the last page: clients loop "while locator != 'null'" (jsforce, the CLI).
        next_locator = encode_locator(stop, job.id) if stop < job.processed else "null"
        return Page(start, stop, pieces, next_locator)

    def read_page(self, job: QueryJob, page: Page) -> Iterator[bytes]:
        """The page's body: the header line, then its rows (iterate it in a thread)."""
        yield header_line(job.columns, job.delimiter, job.eol)
        for seq, lo, hi in page.pieces:
            for data in self.org.query_jobs.read_chunks(job.id, seq, seq):
                yield data[lo:hi]

    async def result_pages(
        self, job: QueryJob, locator: str | None, max_records: str | None, version: str
    ) -> dict[str, Any]:
        """``GET resultPages``: up to five result URLs, the next group's URL, ``done``.

        Decisions ("Get Parallel Results for a Query Job" documents only an example,
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_parallel_job_results.htm):
        every ``resultUrl`` has a locator, the first page's too (that of row 0, the same page as no
        locator); a ``maxRecords`` is honoured and carried into every URL, so the pages are exactly
        the serial chain's; ``done`` goes with a null ``nextRecordsUrl``.
        """
        base = f"/services/data/v{version}/jobs/query/{job.id}"
        extra = f"&maxRecords={max_records}" if max_records is not None else ""
        page = await self.page(job, locator, max_records)
        urls = []
        while True:
            urls.append({"resultUrl": f"{base}/results?locator={encode_locator(page.start, job.id)}{extra}"})
            if page.next_locator == "null" or len(urls) == RESULT_PAGE_URLS:
                break
            page = await self.page(job, page.next_locator, max_records)
        done = page.next_locator == "null"
        next_url = None if done else f"{base}/resultpages?locator={page.next_locator}{extra}"
        return {"resultPages": urls, "nextRecordsUrl": next_url, "done": done}
