"""Every job of a load, its phase, and the progress counters: changed only by named transitions.

A :class:`Job` is one chunk on its way through the stages; the :class:`Ledger` is the one writer
of job phases and progress counters, so "when does a record count as read, uploaded, processed,
merged" is decided in one place, once per record (retry rounds and resumed jobs included).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

import anyio

from .._bulk import JobInfo, JobState, WaitNotice
from .._csv import Chunk
from .._progress import ProgressTracker
from ._journal import Merged
from ._merge import MergeCounts
from ._prepare import PreparedInput

__all__ = ["Job", "Ledger", "Phase", "SubmitMode"]


class Phase(enum.Enum):
    """Where a job is, as the progress display counts it."""

    PENDING = "pending"  # not sent yet
    SUBMITTING = "submitting"  # being created or uploaded
    QUEUED = "queued"  # UploadComplete: waiting in the org's queue
    IN_PROGRESS = "in_progress"
    DONE = "done"  # finished (results merged, or failed/aborted)
    UNDETERMINED = "undetermined"  # whether a job exists cannot be decided; not sent again

    @property
    def counter(self) -> str | None:
        """The progress counter jobs in this phase are counted in."""
        return {
            Phase.QUEUED: "jobs_queued",
            Phase.IN_PROGRESS: "jobs_in_progress",
            Phase.DONE: "jobs_done",
        }.get(self)

    @classmethod
    def of(cls, state: JobState) -> Phase:
        """The phase a job in ``state`` is in."""
        if state.terminal:
            return cls.DONE
        if state is JobState.IN_PROGRESS:
            return cls.IN_PROGRESS
        if state is JobState.OPEN:
            return cls.SUBMITTING
        return cls.QUEUED


class SubmitMode(enum.StrEnum):
    """How a chunk's job is made."""

    MULTIPART = "multipart"  # one request: job and data together
    CREATE_UPLOAD_CLOSE = "create-upload-close"


@dataclass(eq=False)
class Job:
    """One chunk on its way: from the plan to merged results.

    :param source: the input (or retry round) the chunk belongs to.
    :param chunk: the chunk.
    """

    source: PreparedInput
    chunk: Chunk
    job_id: str | None = None
    info: JobInfo | None = None
    phase: Phase = Phase.PENDING
    mode: SubmitMode | None = None
    counts: MergeCounts | None = None
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0
    #: Failed records the poll loop counted for it (first round only).
    observed_failed: int = 0
    observed_processed: int = 0
    counted_read: bool = False
    counted_uploaded: bool = False

    @property
    def round(self) -> int:
        """0 for the input's own jobs; 1, 2... for retry rounds."""
        return self.source.round

    @property
    def first_pass(self) -> bool:
        """Whether its records count in the progress of the input (retry rounds were counted then)."""
        return self.source.round == 0

    @property
    def state(self) -> str:
        """The job's state as a report shows it (``Pending`` before it exists)."""
        if self.info is not None:
            return str(self.info.state)
        if self.phase is Phase.UNDETERMINED:
            return "Undetermined"
        return "Open" if self.job_id else "Pending"


class Ledger:
    """All jobs of a load, by id; their phases; the progress counters; the notes for the summary.

    :param progress: the counters and the user's callback.
    :param concurrency: jobs in flight at most.
    """

    def __init__(self, progress: ProgressTracker, concurrency: int) -> None:
        self.progress = progress
        self.jobs: list[Job] = []
        self._by_id: dict[str, Job] = {}
        #: Jobs in flight: a job holds it from submission until its results are merged.
        self.slot = anyio.CapacityLimiter(concurrency)
        self.notes: list[str] = []
        #: Jobs a journal names that no ``Job`` holds yet (a resume re-attaches them one by one).
        self._journaled: set[str] = set()

    # -- planning ----------------------------------------------------------------------------------

    def plan(self, source: PreparedInput) -> list[Job]:
        """One job per chunk of ``source``."""
        jobs = [Job(source, chunk) for chunk in source.chunks]
        self.jobs.extend(jobs)
        return jobs

    def owned(self) -> set[str]:
        """The ids of every job this load made or adopted (the journal's included, before their
        chunks are re-attached: an orphan finder must never take one of them for an orphan)."""
        return {job.job_id for job in self.jobs if job.job_id} | self._journaled

    def journaled(self, job_ids: set[str]) -> None:
        """The jobs an interrupted run's journal names: they are this load's."""
        self._journaled |= job_ids

    def note(self, text: str) -> None:
        """Keep a line for the summary."""
        self.notes.append(text)

    async def validated(self, records: int, chunks: int, skipped: int = 0) -> None:
        """The input passed the structural pass."""
        self.progress.set(records_total=records, chunks_total=chunks, records_skipped=skipped)
        await self.progress.emit("validated")

    # -- transitions -------------------------------------------------------------------------------

    async def reading(self, job: Job) -> None:
        """The job's chunk is read to be submitted."""
        job.started = job.started or time.monotonic()
        self._count_read(job)
        self.move(job, Phase.SUBMITTING)
        await self.progress.emit("chunk_read", chunk=job.chunk.index)

    async def created(self, job: Job, info: JobInfo | None, job_id: str) -> None:
        """The job exists on the server (``info`` when the create answered)."""
        job.job_id = job_id
        if info is not None:
            job.info = info
        self._by_id[job_id] = job
        self.progress.update(jobs_created=1)
        self._count_read(job)
        await self.progress.emit("job_created", chunk=job.chunk.index, job_id=job_id)

    async def uploaded(self, job: Job) -> None:
        """Its data is in and it is closed: it waits in the org's queue."""
        self._count_read(job)
        if not job.counted_uploaded and job.first_pass:
            job.counted_uploaded = True
            self.progress.update(records_uploaded=job.chunk.records)
        self.move(job, Phase.QUEUED)
        await self.progress.emit("job_uploaded", chunk=job.chunk.index, job_id=job.job_id)

    def forget_job(self, job: Job) -> None:
        """The job's server job is gone (it was aborted unprocessed and is sent again)."""
        if job.job_id is not None:
            self._by_id.pop(job.job_id, None)
        job.job_id = None
        job.info = None

    async def observe(self, job_id: str, info: JobInfo, previous: JobState | None) -> None:
        """One poll of a job (the poll loop's ``on_update``)."""
        job = self._by_id.get(job_id)
        if job is None:
            return
        if job.first_pass and (
            info.processed != job.observed_processed or info.failed != job.observed_failed
        ):
            self.progress.update(
                records_processed=info.processed - job.observed_processed,
                records_failed=info.failed - job.observed_failed,
            )
            job.observed_processed, job.observed_failed = info.processed, info.failed
            await self.progress.emit("job_progress", job_id=job_id)
        job.info = info
        self.move(job, Phase.of(info.state))
        if info.state is not previous:
            await self.progress.emit(
                "job_state", job_id=job_id, state=str(info.state), message=info.error_message
            )

    def finished(self, job: Job, info: JobInfo) -> None:
        """The poll loop saw the job finish (its final info)."""
        job.info = info
        job.finished = time.monotonic()

    async def merged(self, job: Job, counts: MergeCounts) -> None:
        """Its results are in the merged files."""
        job.counts = counts
        written = counts.succeeded + counts.failed + counts.unprocessed
        # Failed, as the counters show it, is the final outcome: records held for a retry round
        # leave it now and come back only if they fail again.
        failed_delta = counts.failed - (job.observed_failed if job.first_pass else 0)
        self.progress.update(records_merged=written, records_failed=failed_delta)
        if job.first_pass:
            job.observed_failed = counts.failed
        self.move(job, Phase.DONE)
        if counts.missing:
            self.note(
                f"job {job.job_id}: {len(counts.missing)} records are in no result file "
                f"(first: {counts.missing[:5]})"
            )
        await self.progress.emit("results_merged", chunk=job.chunk.index, job_id=job.job_id)

    def restore(self, job: Job, event: Merged) -> None:
        """A job merged before a crash (from the journal): counted once, as if it ran now."""
        job.job_id = event.job_id
        job.mode = SubmitMode(event.mode) if event.mode else None
        job.counts = event.counts
        job.info = JobInfo(
            id=event.job_id or "",
            state=JobState.parse(event.state),
            processed=event.processed,
            failed=event.failed,
            error_message=event.error_message,
        )
        if event.job_id:
            self.progress.update(jobs_created=1)
        self._count_read(job)
        if job.first_pass:
            job.counted_uploaded = True
            self.progress.update(
                records_uploaded=job.chunk.records,
                records_processed=event.processed,
                records_failed=event.counts.failed,
            )
            job.observed_processed, job.observed_failed = event.processed, event.counts.failed
        else:
            self.progress.update(records_failed=event.counts.failed)
        written = event.counts.succeeded + event.counts.failed + event.counts.unprocessed
        self.progress.update(records_merged=written)
        self.move(job, Phase.DONE)

    def undetermined(self, job: Job, error: str) -> None:
        """It cannot be decided whether a job holds the chunk: it is stopped, not sent again."""
        job.error = error
        self.move(job, Phase.UNDETERMINED)
        self.note(f"chunk {job.chunk.index}: {error}")

    async def waiting(self, notice: WaitNotice) -> None:
        """A request waits before it is tried again: say why on the display."""
        left = max(0.0, notice.budget - notice.waited)
        await self.progress.emit(
            "waiting",
            message=f"{notice.reason}; trying again in {notice.seconds:.0f}s "
            f"(waited {notice.waited:.0f}s, gives up after {left:.0f}s more)",
        )

    def move(self, job: Job, phase: Phase) -> None:
        """Count ``job`` in the counter of ``phase`` (and out of its old one)."""
        if phase is job.phase:
            return
        if job.phase is Phase.DONE:
            return  # a finished job stays finished (a late poll cannot move it back)
        old, new = job.phase.counter, phase.counter
        if old is not None:
            self.progress.update(**{old: -1})
        if new is not None:
            self.progress.update(**{new: 1})
        job.phase = phase

    def _count_read(self, job: Job) -> None:
        if not job.counted_read and job.first_pass:
            job.counted_read = True
            self.progress.update(records_read=job.chunk.records)
