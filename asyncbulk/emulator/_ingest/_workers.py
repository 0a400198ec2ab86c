"""Batch processing: the queue of batches, the workers that take them, and the one CPU thread.

A closed job is *prepared* (its upload parsed into blocks of ``batch_size`` rows, its header
checked) and its batches are queued; ``config.workers`` workers take batches from the queue and
*run* them, then *settle* them (count them done, write the rows that were not processed, complete
the job after its last batch). The data layer is synchronous (SQLite), so the CPU work runs off the
event loop, which stays free to answer job-status requests while a million-row load runs.

Performance notes (a 1,000,000-row load must run at >= 100,000 records/s with status answers in
< 50 ms, benchmarks/emulator_rate.py): all CPU-bound work (CSV parsing, ``Org.apply``, result
rendering) runs on ONE thread. The GIL lets only one thread run Python anyway, and SQLite releases
it on every row it steps: with several busy threads each ``executemany`` row waits for a GIL
hand-over (the convoy effect), which made four threads slower than one. ``config.workers`` still
bounds how many batches are in flight (pacing with ``records_per_second`` is per worker).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .._config import EmulatorConfig
from .._data import Block, Org, block_len
from .._faults import FaultInjector
from .._vocab import JobState, ResultKind
from ._allocations import Allocations
from ._csv import CsvParseError, parse_csv_blocks, render_blocks, render_results
from ._job import Job

__all__ = ["BatchWorkers"]

_T = TypeVar("_T")

#: Persists a job's record (the manager's; a deleted job is not saved).
SaveJob = Callable[[Job], Awaitable[None]]


class BatchWorkers:
    """The batch queue, its workers and the CPU thread they share.

    :param org: where batches are applied and results stored.
    :param config: ``workers``, ``batch_size`` and ``records_per_second``.
    :param faults: the injected job and row-lock failures.
    :param allocations: the daily batch and record allocations each batch draws on.
    :param save: persists a job after each change (so a restart resumes where it stopped).
    """

    def __init__(
        self,
        org: Org,
        config: EmulatorConfig,
        faults: FaultInjector,
        allocations: Allocations,
        save: SaveJob,
    ) -> None:
        self.org = org
        self.config = config
        self.faults = faults
        self.allocations = allocations
        self._save = save
        self._queue: asyncio.Queue[tuple[Job, int]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[asyncio.Task[None]] = set()
        # The one thread for CPU-bound work (see the module docstring).
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-batches")
        self._cpu_closed = False

    async def _on_cpu(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._cpu, fn, *args)

    # ----- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers (again, after :meth:`close`)."""
        if self._cpu_closed:
            self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-batches")
            self._cpu_closed = False
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self.config.workers)]

    async def close(self) -> None:
        """Stop the workers; queued batches stay persisted and resume at the next start.

        Batches already running are finished and settled first: their rows are written to the org by
        then, and running them again after a restart would load them twice.
        """
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
    def prepare(self, job: Job) -> None:
        """Parse the job's upload, check its header and queue its batches (in the background)."""
        job.work.idle.clear()
        job.work.preparing = True
        self._spawn(self._prepare(job))

    def after_abort(self, job: Job) -> None:
        """An aborted job that never started processing: all its uploaded rows become unprocessed."""
        work = job.work
        if not work.preparing and work.pending == 0 and job.uploaded and job.batches_total == 0:
            self.prepare(job)

    # ----- prepare ---------------------------------------------------------------------------
    async def _load_rows(self, job: Job) -> tuple[list[str], list[Block]] | str:
        data = job.work.data
        if data is None:
            data = await asyncio.to_thread(self.org.jobs.load_data, job.id)
        job.work.data = None  # parsed rows replace the raw bytes in memory
        if not data:
            return [], []
        try:
            return await self._on_cpu(parse_csv_blocks, data, job.delimiter, self.config.batch_size)
        except CsvParseError as exc:
            return str(exc)

    async def _prepare(self, job: Job) -> None:
        work = job.work
        work.idle.clear()
        work.preparing = True
        try:
            parsed = await self._load_rows(job)
            if isinstance(parsed, str):
                await self._fail_before_processing(job, parsed, None)
                return
            header, blocks = parsed
            job.header = header
            work.blocks = blocks
            if job.state is JobState.ABORTED:
                await self._write_unprocessed(job, blocks)
                return
            if not header:
                # Closed with no data (or an empty file): the job completes with 0 records, an outcome
                # Salesforce's CLI has a message for (salesforcecli/plugin-data, messages/bulkIngest.md).
                await self._complete(job)
                return
            if job.batches_total == 0:
                problem = await asyncio.to_thread(self.org.check_header, job.spec, header)
                if problem is not None:
                    await self._fail_before_processing(job, problem, blocks)
                    return
                job.batches_total = len(blocks)
                work.fail_at = self.faults.job_fails_at(job.batches_total)
                await self._save(job)
            if job.batches_total == 0:
                await self._complete(job)
                return
            settled = set(job.settled)
            todo = [i for i in range(job.batches_total) if i not in settled]
            work.pending = len(todo)
            for index in todo:
                self._queue.put_nowait((job, index))
        finally:
            work.preparing = False
            if work.pending == 0:
                work.idle.set()

    async def _fail_before_processing(self, job: Job, message: str, blocks: list[Block] | None) -> None:
        # A header problem fails the whole job with nothing processed and every row unprocessed, as
        # a real org's job info shows (amp-labs/connectors PR #118).
        if job.state is not JobState.ABORTED:
            job.fail(message)
        if blocks:
            await self._write_unprocessed(job, blocks)
        await self._save(job)

    async def _write_unprocessed(self, job: Job, blocks: Sequence[Block]) -> None:
        if blocks and not job.work.deleted:
            data = await self._on_cpu(render_blocks, blocks, job.delimiter, job.eol)
            if data:
                await asyncio.to_thread(self.org.jobs.append_results, job.id, ResultKind.UNPROCESSED, data)

    # ----- run -------------------------------------------------------------------------------
    async def _worker(self) -> None:
        while True:
            job, index = await self._queue.get()
            # Shielded: cancelling the worker at shutdown must not abandon a batch halfway.
            task = asyncio.create_task(self._guarded_batch(job, index))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            try:
                await asyncio.shield(task)
            finally:
                self._queue.task_done()

    async def _guarded_batch(self, job: Job, index: int) -> None:
        try:
            await self._run_batch(job, index)
        except Exception as exc:  # a data-layer bug must not kill the worker: fail the job instead
            job.fail(f"InternalServerError : {type(exc).__name__}: {exc}")
            await self._settle(job, index, None)

    async def _run_batch(self, job: Job, index: int) -> None:
        blocks = job.work.blocks
        assert blocks is not None
        block = blocks[index] if index < len(blocks) else ()
        count = block_len(block)
        if job.work.deleted or job.state.terminal:
            await self._settle(job, index, block)
            return
        if job.work.fail_at == index:
            # Salesforce retries a failing batch, then fails the job; rows already done stay done
            # ("How Requests Are Processed",
            # https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_understanding_bulk2_ingest.htm).
            # Text as reported from real orgs (simple-salesforce issue #646).
            job.retries += 20
            job.fail("InternalServerError : Retried more than 20 times")
            await self._settle(job, index, block)
            return
        problem = self.allocations.take_batch(count)
        if problem is not None:
            # An allocation ran out mid-job: the job fails, the rest of its rows unprocessed.
            job.fail(problem)
            await self._settle(job, index, block)
            return
        if job.state is JobState.UPLOAD_COMPLETE:
            job.begin_processing()
        started = time.perf_counter()
        failed = await self._on_cpu(self._apply, job, block)
        elapsed = time.perf_counter() - started
        job.processed += count
        job.failed += failed
        job.api_active_ms += int(elapsed * 1000)
        rate = self.config.records_per_second
        if rate is not None:
            # Pace the worker to model an org's throughput: a batch takes at least n / rate seconds.
            await asyncio.sleep(max(0.0, count / rate - elapsed))
        await self._settle(job, index, None)

    def _apply(self, job: Job, block: Block) -> int:
        """Runs on the CPU thread: apply one batch and store its rendered results; how many failed."""
        results = self.org.apply(job.spec, job.header, block, self.faults.lock_fail())
        ok_bytes, bad_bytes, failed = render_results(results, job.delimiter, job.eol)
        if ok_bytes:
            self.org.jobs.append_results(job.id, ResultKind.SUCCESS, ok_bytes)
        if bad_bytes:
            self.org.jobs.append_results(job.id, ResultKind.FAILED, bad_bytes)
        return failed

    # ----- settle ----------------------------------------------------------------------------
    async def _settle(self, job: Job, index: int, unprocessed: Block | None) -> None:
        if unprocessed:
            await self._write_unprocessed(job, [unprocessed])
        work = job.work
        job.settled.append(index)
        work.pending -= 1
        if work.pending <= 0 and not work.preparing:
            if job.state.processing:
                await self._complete(job)
                return
            work.blocks = None
            work.idle.set()
        await self._save(job)

    async def _complete(self, job: Job) -> None:
        job.complete()
        job.work.blocks = None
        await self._save(job)
        job.work.idle.set()
