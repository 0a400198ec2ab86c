"""The ingest jobs of the org: the registry and what a client can ask of a job.

The HTTP layer validates requests and calls :class:`JobManager`; the manager changes the job's
state, persists it, and hands closed jobs to :class:`~._workers.BatchWorkers`. Refusals follow the
Bulk guide where it documents them (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/)
and real orgs' answers where they were captured.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import random
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any

from .._clock import Clock
from .._config import EmulatorConfig
from .._data import Org, UploadWriter
from .._faults import FaultInjector
from .._vocab import JobState, ResultKind
from ._allocations import Allocations
from ._csv import UploadCheck
from ._errors import ApiError, not_found
from ._foreign import foreign_jobs
from ._job import Job
from ._render import result_header
from ._workers import BatchWorkers

__all__ = ["JobManager", "UploadSink"]

_PIECE = 1 << 20  # bytes of a result file handed to the HTTP layer at a time

# How a state is named in "<Verb> already <state> Job not allowed".
_STATE_WORDS = {JobState.JOB_COMPLETE: "Completed"}


def _already(verb: str, state: JobState) -> ApiError:
    # The one documented refusal is 400 INVALIDJOBSTATE "Aborting already Completed Job not allowed";
    # the others are written in the same pattern. Closing a job twice is refused too: no source
    # says a real org takes a second close, and a client that re-sends one must be ready for a
    # refusal (it can read the job's state to learn that the first close went through).
    return ApiError(
        400, "INVALIDJOBSTATE", f"{verb} already {_STATE_WORDS.get(state, state)} Job not allowed"
    )


def second_upload(job: Job) -> ApiError:
    """The real answer to a second PUT, Salesforce's typo "multipe" included (a v47 capture in a
    public Bulk API 2.0 upsert walkthrough; the same text is quoted in other projects' code)."""
    return ApiError(
        400,
        "BULK_API_ERROR",
        f"Found multipe contents for job: <{job.id[:15]}>, please 'Close' / 'Abort' / 'Delete' the "
        "current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
    )


class UploadSink:
    """One upload streaming in: checked (:class:`~._csv.UploadCheck`) and written to its file."""

    def __init__(self, manager: JobManager, job: Job, writer: UploadWriter) -> None:
        self._manager = manager
        self._job = job
        self._writer = writer
        self._check = UploadCheck(job.line_ending)

    @property
    def size(self) -> int:
        """Bytes received so far."""
        return self._writer.size

    def write(self, chunk: bytes) -> None:
        """Take the next chunk of the body (on the event loop: a buffered write to the page cache
        costs less than a trip to a thread and back, which waits for the GIL)."""
        self._check.feed(chunk)
        self._writer.write(chunk)

    async def commit(self) -> None:
        """The body is complete: it becomes the job's upload."""
        problem = self._check.finish()
        if self._writer.durable:
            await asyncio.to_thread(self._writer.commit)  # an fsync
        else:
            self._writer.commit()
        job = self._job
        job.take_upload(problem, self._check.lines)
        job.touch(self._manager.clock.time())
        await self._manager.save(job)


class JobManager:
    """Owns all jobs: creates, uploads to, closes, aborts and deletes them; the workers process them.

    :param org: the data layer (jobs are persisted there, batches applied there).
    :param config: the emulator's settings (workers, batch size, profile, seed).
    :param faults: the injected job and row-lock failures.
    :param clock: the emulator's clock.
    """

    def __init__(self, org: Org, config: EmulatorConfig, faults: FaultInjector, clock: Clock) -> None:
        self.org = org
        self.config = config
        self.profile = config.the_profile
        self.clock = clock
        self.jobs: dict[str, Job] = {}
        self.allocations = Allocations(config.daily_batch_limit, config.daily_record_limit, clock)
        self.workers = BatchWorkers(org, config, faults, self.allocations, save=self.save, clock=clock)
        self._foreign: dict[str, dict[str, Any]] = {}
        self._background: set[asyncio.Task[None]] = set()

    def _later(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` in the background, holding on to its task until it is done."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ----- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the workers, load persisted jobs and resume those that were in flight."""
        self.workers.start()
        records = await asyncio.to_thread(self.org.jobs.load_all)
        for record in sorted(records, key=lambda r: float(r.get("created", 0))):
            job = Job.from_record(record)
            self.jobs[job.id] = job
            if job.state.processing:
                self.workers.prepare(job)
        others = foreign_jobs(
            self.profile.foreign_jobs, self.config.seed, self.clock.time(), self.org.admin_user_id
        )
        self._foreign = {info["id"]: info for info in others}

    async def close(self) -> None:
        """Stop the workers (see :meth:`BatchWorkers.close`) once pending saves are done."""
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.workers.close()

    async def save(self, job: Job) -> None:
        """Persist the job's record (a deleted job stays deleted); made under the store's lock."""
        if not job.work.deleted:
            await asyncio.to_thread(self.org.jobs.save, job.id, job.to_record)

    # ----- lifetimes --------------------------------------------------------------------------
    def _expire(self, job: Job) -> bool:
        """Apply the job's lifetimes; whether it is gone.

        Jobs are deleted seven days after their last change, terminal or not ("Batches and jobs
        that are older than seven days are removed ... Batches in a non-terminal state that are
        older than seven days are periodically cleaned up", Bulk API and Bulk API 2.0 Limits and
        Allocations,
        https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html).
        An ``Open`` job older than 24 hours is *aborted*: the same page says "You can't create
        batches associated with a job that is more than 24 hours old", and a Bulk API 2.0 job's
        batches are made when it is closed, so it can never be processed. No source names the
        state it ends in; Aborted is the state of a job that will never run, is terminal (pollers
        stop), and turns a late close into the documented kind of refusal ("Closing already
        Aborted Job not allowed").
        """
        now = self.clock.time()
        if now - job.modstamp >= self.profile.job_lifetime:
            job.mark_deleted()
            job.work.wake.set()
            self.jobs.pop(job.id, None)
            self.workers.after_abort(job)
            self._later(asyncio.to_thread(self.org.jobs.delete, job.id))
            return True
        if (
            job.state is JobState.OPEN
            and not job.work.uploading
            and now - job.created >= self.profile.open_job_lifetime
        ):
            job.abort(now)
            self.workers.after_abort(job)
            self._later(self.save(job))
        return False

    def sweep(self) -> None:
        """Apply every job's lifetimes (after the clock moved, before a listing)."""
        for job in list(self.jobs.values()):
            self._expire(job)

    # ----- requests ---------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        """The job with this id, or 404."""
        job = self.jobs.get(job_id)
        if job is None or job.work.deleted or self._expire(job):
            raise not_found()
        return job

    def foreign_info(self, job_id: str) -> dict[str, Any] | None:
        """Another tenant's V2 job's info (``GET jobs/ingest/{id}``), or ``None``."""
        info = self._foreign.get(job_id)
        full = None if info is None else info.get("_full")
        return dict(full) if full is not None else None

    def list_jobs(self) -> list[Job]:
        """All live jobs of the emulator's own, in creation order."""
        self.sweep()
        return [job for job in self.jobs.values() if not job.work.deleted]

    def listing(self) -> list[dict[str, Any]]:
        """The job list as a real org shows it: ours and the other tenants', in no set order.

        The order is the same from one call to the next (pages must not overlap), and the seed's.
        """
        records = [job.list_info() for job in self.list_jobs()]
        records += [{k: v for k, v in info.items() if k != "_full"} for info in self._foreign.values()]

        def key(record: dict[str, Any]) -> bytes:
            return hashlib.blake2b(f"{self.config.seed}:{record['id']}".encode(), digest_size=8).digest()

        return sorted(records, key=key)

    async def create(self, job: Job, data: bytes | None = None) -> Job:
        """Register a new job; with ``data`` it is a multipart create and is closed at once."""
        self.allocations.check_new_job()
        self.jobs[job.id] = job
        self.allocations.jobs_created += 1
        if data is not None:
            check = UploadCheck(job.line_ending)
            check.feed(data)
            await asyncio.to_thread(self.org.jobs.save_data, job.id, data)
            job.take_upload(check.finish(), check.lines)
            now = self.clock.time()
            job.close(now, now + self.workers.queue_wait(job))
            await self.save(job)
            self.workers.prepare(job)
        else:
            await self.save(job)
        return job

    @contextlib.asynccontextmanager
    async def receive_upload(self, job: Job) -> AsyncIterator[UploadSink]:
        """``PUT .../batches``: one upload per job, only while Open; refused before any byte is read.

        The body is written to the job's file as it arrives; it becomes the job's upload when the
        block ends without an error, else it is thrown away.
        """
        if job.uploaded or job.work.uploading:
            raise second_upload(job)
        if job.state is not JobState.OPEN:
            raise ApiError(
                400, "INVALIDJOBSTATE", f"Uploading data to a Job in state {job.state} not allowed"
            )
        job.work.uploading = True
        writer = self.org.jobs.begin_upload(job.id)
        sink = UploadSink(self, job, writer)
        try:
            yield sink
            await sink.commit()
        except BaseException:
            writer.discard()
            raise
        finally:
            job.work.uploading = False

    async def close_job(self, job: Job) -> Job:
        """``PATCH`` to UploadComplete: only an Open job; it queues, then its processing starts."""
        if job.state is not JobState.OPEN:
            raise _already("Closing", job.state)
        if job.work.uploading:
            raise ApiError(
                400, "INVALIDJOBSTATE", "Closing a Job while its data is being uploaded not allowed"
            )
        now = self.clock.time()
        job.close(now, now + self.workers.queue_wait(job))
        await self.save(job)
        self.workers.prepare(job)
        return job

    async def abort(self, job: Job) -> Job:
        """``PATCH`` to Aborted: Open, UploadComplete or InProgress jobs."""
        if job.state.terminal:
            raise _already("Aborting", job.state)
        job.abort(self.clock.time())
        job.work.wake.set()
        self.workers.after_abort(job)
        await self.save(job)
        return job

    async def delete(self, job: Job) -> None:
        """``DELETE``: only UploadComplete or terminal jobs."""
        if not job.state.deletable:
            # Documented text (the query-job example) for deleting a job that is not terminated.
            raise ApiError(
                400, "API_ERROR", "Error encountered when deleting the job because the job is not terminated"
            )
        # An UploadComplete job still queued: its batches are skipped by the workers.
        job.mark_deleted()
        job.work.wake.set()
        del self.jobs[job.id]
        await asyncio.to_thread(self.org.jobs.delete, job.id)

    async def wait_idle(self, job: Job) -> None:
        """Wait until no batch of the job is in flight (results are then complete)."""
        if not job.work.idle.is_set():
            async with asyncio.timeout(60):
                await job.work.idle.wait()

    # ----- results ----------------------------------------------------------------------------
    def read_results(self, job: Job, kind: ResultKind) -> Iterator[bytes]:
        """Header line then the stored rows of one result file (runs in a thread when iterated).

        Successful and failed rows come in chunks from all the job's batches interleaved, in an
        order drawn from the seed: "batch-completion order", never input order (the results
        pages, https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm).
        Unprocessed rows come batch by batch; a job that never started gives back its upload.
        """
        if kind is ResultKind.UNPROCESSED and job.unprocessed_is_upload:
            yield from self._upload_bytes(job)
            return
        index = self.org.jobs.result_index(job.id, kind)
        if kind is ResultKind.UNPROCESSED:
            order = [seq for seq, _ in sorted(index, key=lambda item: (item[1], item[0]))]
        else:
            order = self._interleave(index, random.Random(f"results:{self.config.seed}:{job.id}:{kind}"))
        # Stored chunks are small (200 rows); they go out joined in pieces of about a megabyte, so
        # that the handler crosses from its thread to the event loop rarely.
        # A job that never had data has no header to give back in its unprocessed records.
        empty = kind is ResultKind.UNPROCESSED and not job.header
        piece = [] if empty else [result_header(kind, job.header, job.delimiter, job.eol)]
        size = 0
        for chunk in self.org.jobs.read_chunks(order):
            piece.append(chunk)
            size += len(chunk)
            if size >= _PIECE:
                yield b"".join(piece)
                piece, size = [], 0
        if piece:
            yield b"".join(piece)

    def _upload_bytes(self, job: Job) -> Iterator[bytes]:
        stream = self.org.jobs.open_upload(job.id)
        if stream is None:
            return
        with stream:
            while chunk := stream.read(1 << 20):
                yield chunk

    @staticmethod
    def _interleave(index: list[tuple[int, int]], rng: random.Random) -> list[int]:
        """The chunks of every batch merged at random, each batch's chunks staying in their order."""
        by_batch: dict[int, collections.deque[int]] = {}
        for seq, batch in index:
            by_batch.setdefault(batch, collections.deque()).append(seq)
        queues = [by_batch[b] for b in sorted(by_batch)]
        left = len(index)
        order: list[int] = []
        while left:
            pick = rng.randrange(left)
            for q in queues:
                if pick < len(q):
                    order.append(q.popleft())
                    break
                pick -= len(q)
            left -= 1
        return order
