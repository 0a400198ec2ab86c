"""Finish: abort what a cancelled load left queued, count, write ``summary.json``, check the accounts.

The summary tells the truth in every outcome: ``ok`` is true only when every record succeeded and
nothing stopped the load, the error that stopped it is there, and so is the command that continues
it, when continuing can work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import anyio
import orjson

from .._bulk import BulkClient, JobState
from .._exceptions import (
    AccountingError,
    ApiError,
    AsyncBulkError,
    AuthenticationError,
    InputChangedError,
    TransportError,
)
from .._limits import RECORDS_PER_BATCH
from .._result import JobReport, LoadResult
from ._files import FileWork, Folders, naming
from ._ledger import Ledger, Phase
from ._merge import MergeCounts, ResultMerger

__all__ = ["Finisher", "resumable"]


def resumable(error: BaseException | None, cancelled: bool = False) -> bool:
    """Whether ``asyncbulk resume`` can carry on after ``error``: the org or the network failed, the
    disk filled up, or the file changed (and can be restored); not after bad input, bad options, or
    an error a resume would only repeat."""
    if cancelled:
        return True
    if isinstance(error, InputChangedError | TransportError):
        return True
    if isinstance(error, AuthenticationError):
        return True  # a new token (or a fixed login) lets the load go on
    if isinstance(error, ApiError):
        return error.status >= 500 or error.status in (0, 403, 429)
    if isinstance(error, OSError):
        return True
    return False


class Finisher:
    """The end of a load, whatever the outcome.

    :param client: to abort queued jobs of a cancelled load.
    :param ledger: the jobs, their counts and notes.
    :param folders: where ``summary.json`` goes.
    :param files: the load's file threads.
    :param requests: how many API requests the load made so far.
    """

    def __init__(
        self,
        client: BulkClient,
        ledger: Ledger,
        folders: Folders,
        files: FileWork,
        requests: Callable[[], int],
        *,
        object: str,
        operation: str,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.folders = folders
        self.files = files
        self.requests = requests
        self.object = object
        self.operation = operation
        self.started = time.monotonic()
        self.records = 0
        self.skipped = 0
        self.status_requests: Callable[[], int] = lambda: 0

    async def abort_queued(self) -> None:
        """On cancellation: abort the jobs still Open or queued (briefly; best effort).

        A queued job would load its rows after the user stopped the load; an aborted one loads
        nothing, and a resume sends its chunk again.
        """
        with anyio.move_on_after(10):
            for job in self.ledger.jobs:
                if job.job_id and job.phase in (Phase.SUBMITTING, Phase.QUEUED):
                    try:
                        info = await self.client.abort_job(job.job_id)
                        job.info = info
                    except AsyncBulkError as exc:
                        self.ledger.note(f"could not abort job {job.job_id}: {exc}")

    def result(
        self, merger: ResultMerger | None, *, cancelled: bool, error: BaseException | None
    ) -> LoadResult:
        """The outcome as it stands."""
        succeeded = failed = unprocessed = unmatched = 0
        reports = []
        for job in self.ledger.jobs:
            c = job.counts or MergeCounts()
            succeeded += c.succeeded
            failed += c.failed
            unprocessed += c.unprocessed
            unmatched += c.unmatched + c.ambiguous
            reports.append(
                JobReport(
                    chunk=job.chunk.index,
                    job_id=job.job_id,
                    state=job.state,
                    first_record=job.chunk.first_record,
                    records=job.chunk.records,
                    succeeded=c.succeeded,
                    failed=c.failed,
                    unprocessed=c.unprocessed,
                    error_message=(job.info.error_message if job.info else None) or job.error,
                    submit=job.mode.value if job.mode else "",
                    round=job.round,
                    seconds=round(job.finished - job.started, 3) if job.finished else 0.0,
                )
            )
        out = self.folders.out
        message = None if error is None else _describe(error)
        return LoadResult(
            object=self.object,
            operation=self.operation,
            records=self.records,
            succeeded=succeeded,
            failed=failed,
            unprocessed=unprocessed,
            success_file=merger.success_file if merger else out / "success.csv",
            failed_file=merger.failed_file if merger else out / "failed.csv",
            unprocessed_file=merger.unprocessed_file if merger else out / "unprocessed.csv",
            summary_file=self.folders.summary,
            jobs=tuple(reports),
            api_requests=self.requests(),
            api_usage=self.client.api_usage,
            batches=sum(
                math.ceil(j.chunk.records / RECORDS_PER_BATCH)
                for j in self.ledger.jobs
                if j.job_id and (j.info is None or j.info.state is not JobState.OPEN)
            ),
            seconds=round(time.monotonic() - self.started, 3),
            unmatched=unmatched,
            records_retried=sum(j.chunk.records for j in self.ledger.jobs if j.round > 0),
            cancelled=cancelled,
            notes=tuple(self.ledger.notes),
            skipped=self.skipped,
            error=message,
            resume_command=(
                f"asyncbulk resume {out}"
                if self.folders.journal.exists() and resumable(error, cancelled)
                else None
            ),
        )

    def check(self, result: LoadResult) -> AccountingError | None:
        """The accounting error, if the result files do not account for every record once."""
        accounted = result.succeeded + result.failed + result.unprocessed + result.skipped
        if accounted == result.records:
            return None
        return AccountingError(
            f"the result files account for {accounted} of {result.records} records "
            f"({result.succeeded} succeeded, {result.failed} failed, {result.unprocessed} unprocessed, "
            f"{result.skipped} skipped); see {result.summary_file}: " + "; ".join(self.ledger.notes[-5:])
        )

    async def write_summary(self, result: LoadResult) -> None:
        """``summary.json``: the result, with the poll loop's status requests."""
        summary = {**result.to_dict(), "status_requests": self.status_requests()}
        path = self.folders.summary
        if not path.parent.exists():
            return  # nothing was ever written for this load (it failed before its folder existed)

        def write() -> None:
            with naming(path):
                path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))

        await self.files.run(write)


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{type(error).__name__}: {error.filename}: {error.strerror}"
    return f"{type(error).__name__}: {error}"
