"""The ingest jobs of the org: the registry and what a client can ask of a job.

The HTTP layer validates requests and calls :class:`JobManager`; the manager changes the job's
state, persists it, and hands closed jobs to :class:`~._workers.BatchWorkers`. Refusals follow the
Bulk guide where it documents them (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/)
and real orgs' answers where they were captured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from .._config import EmulatorConfig
from .._data import Org
from .._faults import FaultInjector
from .._vocab import JobState, ResultKind
from ._allocations import Allocations
from ._csv import result_header
from ._errors import ApiError, not_found
from ._job import Job
from ._workers import BatchWorkers

__all__ = ["JobManager"]

# How a state is named in "<Verb> already <state> Job not allowed".
_STATE_WORDS = {JobState.JOB_COMPLETE: "Completed"}


def _already(verb: str, state: JobState) -> ApiError:
    # The one documented refusal is 400 INVALIDJOBSTATE "Aborting already Completed Job not allowed";
    # the others are written in the same pattern.
    return ApiError(
        400, "INVALIDJOBSTATE", f"{verb} already {_STATE_WORDS.get(state, state)} Job not allowed"
    )


class JobManager:
    """Owns all jobs: creates, uploads to, closes, aborts and deletes them; the workers process them.

    :param org: the data layer (jobs are persisted there, batches applied there).
    :param config: the emulator's settings (workers, batch size, daily allocations).
    :param faults: the injected job and row-lock failures.
    """

    def __init__(self, org: Org, config: EmulatorConfig, faults: FaultInjector) -> None:
        self.org = org
        self.config = config
        self.jobs: dict[str, Job] = {}
        self.allocations = Allocations(config.daily_batch_limit, config.daily_record_limit)
        self.workers = BatchWorkers(org, config, faults, self.allocations, save=self.save)

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

    async def close(self) -> None:
        """Stop the workers (see :meth:`BatchWorkers.close`)."""
        await self.workers.close()

    async def save(self, job: Job) -> None:
        """Persist the job's record (a deleted job stays deleted)."""
        if not job.work.deleted:
            await asyncio.to_thread(self.org.jobs.save, job.id, job.to_record())

    # ----- requests ---------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        """The job with this id, or 404."""
        job = self.jobs.get(job_id)
        if job is None or job.work.deleted:
            raise not_found()
        return job

    def list_jobs(self) -> list[Job]:
        """All live jobs in creation order."""
        return [job for job in self.jobs.values() if not job.work.deleted]

    async def create(self, job: Job, data: bytes | None = None) -> Job:
        """Register a new job; with ``data`` it is a multipart create and is closed at once."""
        self.allocations.check_new_job()
        self.jobs[job.id] = job
        self.allocations.jobs_created += 1
        if data is not None:
            job.upload(data)
            job.state = JobState.UPLOAD_COMPLETE
            await asyncio.to_thread(self.org.jobs.save_data, job.id, data)
            await self.save(job)
            self.workers.prepare(job)
        else:
            await self.save(job)
        return job

    async def upload(self, job: Job, data: bytes) -> None:
        """``PUT .../batches``: one upload per job, only while Open."""
        if job.uploaded:
            # The real answer to a second PUT, Salesforce's typo "multipe" included (a v47 capture in a
            # public Bulk API 2.0 upsert walkthrough; the same text is quoted in other projects' code).
            raise ApiError(
                400,
                "BULK_API_ERROR",
                f"Found multipe contents for job: <{job.id[:15]}>, please 'Close' / 'Abort' / 'Delete' the "
                "current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
            )
        if job.state is not JobState.OPEN:
            raise ApiError(
                400, "INVALIDJOBSTATE", f"Uploading data to a Job in state {job.state} not allowed"
            )
        job.upload(data)
        job.touch()
        await asyncio.to_thread(self.org.jobs.save_data, job.id, data)
        await self.save(job)

    async def close_job(self, job: Job) -> Job:
        """``PATCH`` to UploadComplete: only an Open job; its processing starts."""
        if job.state is not JobState.OPEN:
            raise _already("Closing", job.state)
        job.close()
        await self.save(job)
        self.workers.prepare(job)
        return job

    async def abort(self, job: Job) -> Job:
        """``PATCH`` to Aborted: Open, UploadComplete or InProgress jobs."""
        if job.state.terminal:
            raise _already("Aborting", job.state)
        job.abort()
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
        del self.jobs[job.id]
        await asyncio.to_thread(self.org.jobs.delete, job.id)

    async def wait_idle(self, job: Job) -> None:
        """Wait until no batch of the job is in flight (results are then complete)."""
        if not job.work.idle.is_set():
            async with asyncio.timeout(60):
                await job.work.idle.wait()

    def read_results(self, job: Job, kind: ResultKind) -> Iterator[bytes]:
        """Header line then the stored rows of one result file (runs in a thread when iterated)."""
        yield result_header(kind, job.header, job.delimiter, job.eol)
        yield from self.org.jobs.read_results(job.id, kind)
