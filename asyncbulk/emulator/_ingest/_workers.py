"""Batch processing: the producers that parse uploads, the queue of batches, the workers, the CPU thread.

A closed job waits in the queue (the profile's ``queue_delay``), then a *producer* parses its
upload file one batch of ``batch_size`` rows at a time and puts the batches on a bounded queue;
``config.workers`` workers take them and *run* them: the batch's records, its result rows and the
job's counters commit in one transaction, so a restart resumes after the last committed batch and
never applies one twice. The queue is bounded, so an upload is never in memory whole: a few
batches of it at most.

Performance notes (a 1,000,000-row load must run at >= 100,000 records/s with status answers in
< 50 ms, benchmarks/emulator_rate.py): all CPU-bound work (CSV parsing, ``Org.apply``, result
rendering) runs on ONE thread. The GIL lets only one thread run Python anyway, and SQLite releases
it on every row it steps: with several busy threads each ``executemany`` row waits for a GIL
hand-over (the convoy effect), which made four threads slower than one. ``config.workers`` still
bounds how many batches are in flight (pacing with ``records_per_second`` is per worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, TypeVar

from .._clock import Clock
from .._config import EmulatorConfig
from .._data import BatchResults, Block, JobWrite, Org, block_len
from .._faults import FaultInjector
from .._vocab import JobState, ResultKind
from ._allocations import Allocations
from ._csv import Batch, BlockReader, CsvParseError
from ._job import Job
from ._render import render_blocks, render_results

__all__ = ["BatchWorkers"]

_T = TypeVar("_T")

#: Persists a job's record (the manager's; a deleted job is not saved).
SaveJob = Callable[[Job], Awaitable[None]]


def _open_reader(stream: IO[bytes], delimiter: str, size: int) -> tuple[BlockReader, Batch | None]:
    """On the CPU thread: the reader of an upload and its first batch."""
    reader = BlockReader(stream, delimiter, size)
    return reader, reader.next_batch()


class BatchWorkers:
    """The producers, the batch queue, the workers and the CPU thread they share.

    :param org: where batches are applied and results stored.
    :param config: ``workers``, ``batch_size``, the pace and the profile.
    :param faults: the injected job and row-lock failures.
    :param allocations: the daily batch and record allocations each batch draws on.
    :param save: persists a job after each change (so a restart resumes where it stopped).
    :param clock: the emulator's clock.
    """

    def __init__(
        self,
        org: Org,
        config: EmulatorConfig,
        faults: FaultInjector,
        allocations: Allocations,
        save: SaveJob,
        clock: Clock,
    ) -> None:
        self.org = org
        self.config = config
        self.profile = config.the_profile
        self.faults = faults
        self.allocations = allocations
        self.clock = clock
        self._save = save
        # Bounded: producers wait while the workers are busy, so parsed batches do not pile up.
        self._queue: asyncio.Queue[tuple[Job, int, Batch]] = asyncio.Queue(maxsize=config.workers)
        self._workers: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[asyncio.Task[None]] = set()
        # The one thread for CPU-bound work (see the module docstring).
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-batches")
        self._cpu_closed = False
        # Set while stopping: a job whose work is cut short stays as saved (not finished), so that
        # the next start queues what is left of it.
        self._stopping = False

    async def _on_cpu(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._cpu, fn, *args)

    # ----- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers (again, after :meth:`close`)."""
        if self._cpu_closed:
            self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-batches")
            self._cpu_closed = False
        self._stopping = False
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self.config.workers)]

    async def close(self) -> None:
        """Stop producers and workers; what is not committed resumes at the next start.

        Batches already running finish first (their transaction commits or not as a whole); no
        job is finished on the way out, even one whose last running batch ends now: its producer
        may not have queued every batch yet.
        """
        self._stopping = True
        for task in [*self._workers, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._workers, *self._tasks, return_exceptions=True)
        await asyncio.gather(*self._running, return_exceptions=True)
        self._workers.clear()
        self._tasks.clear()
        # Not waiting: a cancelled parse may still be running; its result is not wanted.
        self._cpu.shutdown(wait=False, cancel_futures=True)
        self._cpu_closed = True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----- what the manager asks -------------------------------------------------------------
    def queue_wait(self, job: Job) -> float:
        """Seconds a job just closed waits behind other tenants' work (seeded per job)."""
        low, high = self.profile.queue_delay
        if high <= 0:
            return 0.0
        return random.Random(f"queue:{self.config.seed}:{job.id}").uniform(low, high)

    def prepare(self, job: Job) -> None:
        """Queue the job's batches as its upload is parsed (in the background)."""
        job.work.idle.clear()
        job.work.preparing = True
        self._spawn(self._produce(job))

    def after_abort(self, job: Job) -> None:
        """An aborted job that never started processing: its upload is its unprocessed records."""
        work = job.work
        if not work.preparing and work.pending == 0 and not job.settled:
            job.unprocessed_is_upload = job.uploaded

    # ----- produce ---------------------------------------------------------------------------
    async def _produce(self, job: Job) -> None:
        work = job.work
        reader: BlockReader | None = None
        try:
            if job.state is JobState.UPLOAD_COMPLETE and job.ready_at > self.clock.time():
                # (a restart forgets how far the clock was moved: never wait longer than a queue wait)
                job.ready_at = min(job.ready_at, self.clock.time() + self.profile.queue_delay[1])
                await self._queued(job)
            if job.state is JobState.ABORTED and not job.settled:
                job.unprocessed_is_upload = job.uploaded
                return
            if job.upload_problem is not None:
                await self._fail_before_processing(job, job.upload_problem)
                return
            stream = self.org.jobs.open_upload(job.id)
            if stream is None:
                # Closed with no data: the job completes with 0 records, an outcome Salesforce's CLI
                # has a message for (salesforcecli/plugin-data, messages/bulkIngest.md).
                return
            if not job.batch_rows:
                job.batch_rows = self.config.batch_size
            try:
                # The reader and its first batch in one trip to the CPU thread.
                opened, batch = await self._on_cpu(_open_reader, stream, job.delimiter, job.batch_rows)
            except CsvParseError as exc:
                stream.close()
                await self._fail_before_processing(job, str(exc))
                return
            reader = opened
            job.header = opened.header
            if not job.header:
                return
            if not job.settled:
                problem = self.org.check_header(job.spec, job.header)
                if problem is not None:
                    await self._fail_before_processing(job, problem)
                    return
                estimate = math.ceil(max(job.upload_lines - 1, 1) / job.batch_rows)
                work.fail_at = self.faults.job_fails_at(estimate)
                await self._save(job)
            settled = set(job.settled)
            index = 0
            while batch is not None:
                if index not in settled:
                    work.pending += 1
                    await self._queue.put((job, index, batch))
                index += 1
                batch = None if opened.exhausted else await self._on_cpu(opened.next_batch)
            job.batches_total = index
            if work.fail_at is not None and work.fail_at >= index:
                work.fail_at = None  # the estimate was high: the fault does not happen
        finally:
            if reader is not None:
                reader.close()
            work.preparing = False
            if work.pending == 0 and not self._stopping:
                await self._finish(job)

    async def _queued(self, job: Job) -> None:
        """Wait in the queue until the job's turn, or until it is aborted or deleted."""
        wait = asyncio.ensure_future(self.clock.sleep_until(job.ready_at))
        woken = asyncio.ensure_future(job.work.wake.wait())
        try:
            await asyncio.wait({wait, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wait.cancel()
            woken.cancel()

    async def _fail_before_processing(self, job: Job, message: str) -> None:
        # A job that cannot start fails with nothing processed and every row unprocessed, as a
        # real org's job info shows for a header problem (amp-labs/connectors PR #118): the
        # unprocessed records are the upload itself.
        if job.state is not JobState.ABORTED:
            job.fail(message, self.clock.time())
        job.unprocessed_is_upload = job.uploaded
        await self._save(job)

    # ----- run -------------------------------------------------------------------------------
    async def _worker(self) -> None:
        while True:
            job, index, batch = await self._queue.get()
            # Shielded: cancelling the worker at shutdown must not abandon a batch halfway.
            task = asyncio.create_task(self._guarded_batch(job, index, batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            try:
                await asyncio.shield(task)
            finally:
                self._queue.task_done()

    async def _guarded_batch(self, job: Job, index: int, batch: Batch) -> None:
        try:
            await self._run_batch(job, index, batch)
        except Exception as exc:  # a data-layer bug must not kill the worker: fail the job instead
            job.fail(f"InternalServerError : {type(exc).__name__}: {exc}", self.clock.time())
            with contextlib.suppress(Exception):
                await self._on_cpu(self._write_unprocessed, job, index, batch[0])
        finally:
            job.work.pending -= 1
            if job.work.pending <= 0 and not job.work.preparing and not self._stopping:
                await self._finish(job)

    async def _run_batch(self, job: Job, index: int, batch: Batch) -> None:
        block, row_errors = batch
        count = block_len(block)
        if job.work.deleted or job.state.terminal:
            await self._on_cpu(self._write_unprocessed, job, index, block)
            return
        if job.work.fail_at == index:
            # Salesforce retries a failing batch, then fails the job; rows already done stay done
            # ("How Requests Are Processed",
            # https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_understanding_bulk2_ingest.htm).
            # Text as reported from real orgs (simple-salesforce issue #646).
            job.retries += 20
            job.fail("InternalServerError : Retried more than 20 times", self.clock.time())
            await self._on_cpu(self._write_unprocessed, job, index, block)
            return
        problem = self.allocations.take_batch(count)
        if problem is not None:
            # An allocation ran out mid-job: the job fails, the rest of its rows unprocessed.
            job.fail(problem, self.clock.time())
            await self._on_cpu(self._write_unprocessed, job, index, block)
            return
        if job.state is JobState.UPLOAD_COMPLETE:
            job.begin_processing(self.clock.time())
        started = time.perf_counter()
        reveal = self.profile.progress_step is not None and self.config.pace is not None
        failed = await self._on_cpu(self._apply, job, index, block, row_errors, reveal)
        await self._pace(job, count, failed, time.perf_counter() - started, reveal)

    def _apply(self, job: Job, index: int, block: Block, row_errors: dict[int, str], reveal: bool) -> int:
        """On the CPU thread: apply one batch (its results and counters commit with its records);
        how many of its rows failed."""
        started = time.perf_counter()
        count = block_len(block)
        chunk = self.profile.result_chunk

        def commit(results: BatchResults) -> JobWrite:
            rows = render_results(results, index, job.delimiter, job.eol, chunk)
            failed = results.failed

            def update() -> None:
                job.processed += count
                job.failed += failed
                job.settled.append(index)
                job.api_active_ms += int((time.perf_counter() - started) * 1000)
                if reveal:
                    job.work.hidden += count
                    job.work.hidden_failed += failed

            return JobWrite(job.id, rows, update, job.to_record)

        results = self.org.apply(
            job.spec, job.header, block, self.faults.lock_fail(), row_errors=row_errors, commit=commit
        )
        return results.failed

    async def _pace(self, job: Job, count: int, failed: int, elapsed: float, reveal: bool) -> None:
        """Model an org's throughput: a batch takes at least ``count / pace`` seconds per worker.

        With a progress step, the batch's committed counts are revealed a step at a time meanwhile.
        """
        rate = self.config.pace
        if rate is None:
            return
        remaining = max(0.0, count / rate - elapsed)
        if not reveal:
            await asyncio.sleep(remaining)
            job.api_active_ms += int(remaining * 1000)
            return
        step = self.profile.progress_step or count
        steps = max(1, math.ceil(count / step))
        work = job.work
        shown = shown_failed = 0
        for _ in range(steps):
            await asyncio.sleep(remaining / steps)
            n = min(step, count - shown)
            shown += n
            f = failed * shown // count - shown_failed
            shown_failed += f
            work.hidden = max(0, work.hidden - n)
            work.hidden_failed = max(0, work.hidden_failed - f)
            job.api_active_ms += int(remaining / steps * 1000)

    def _write_unprocessed(self, job: Job, index: int, block: Block) -> None:
        """On the CPU thread: a batch not processed; its rows and its being settled commit together."""
        if job.work.deleted:
            return
        data = render_blocks([block], job.delimiter, job.eol)
        self.org.jobs.write_job(
            JobWrite(
                job.id,
                [(ResultKind.UNPROCESSED, index, data)],
                update=lambda: job.settled.append(index),
                record=job.to_record,
            )
        )

    # ----- finish ----------------------------------------------------------------------------
    async def _finish(self, job: Job) -> None:
        """No batch of the job is queued or running any more."""
        work = job.work
        if job.state.processing and not work.deleted:
            job.complete(self.clock.time())
        work.hidden = work.hidden_failed = 0
        await self._save(job)
        work.idle.set()
