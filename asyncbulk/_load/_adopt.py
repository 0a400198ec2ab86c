"""After a multipart create whose reply was lost: adopt the job it made, or send again, never twice.

The lost request may have created a job that will load the rows. It is looked for in the job list:
a job with this chunk's settings, created in the request's time window, by this user, that no chunk
of this load owns. One such job is adopted. None: nothing was created, so sending again cannot load
the rows twice. Several (another chunk's lost reply, another loader at work) are told apart by
content once they finish; if that does not single one out, the chunk is stopped and reported.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from .._bulk import AmbiguousCreateError, BulkClient, JobInfo, JobState, ResultKind, SubmitAttempt
from .._csv import read_chunk
from ._files import FileWork
from ._journal import Event, Undetermined
from ._ledger import Job, Ledger
from ._match import Normalizer, RowIndex, parse_chunk, read_csv
from ._poll import Poller

__all__ = ["Adopter"]

_SAMPLE_ROWS = 50


class Adopter:
    """Decides what a lost multipart reply created.

    :param client: the Bulk API client.
    :param poller: follows candidate jobs to their end.
    :param ledger: which jobs this load owns.
    :param record: writes a journal event.
    :param files: the load's file threads.
    :param work: where candidates' results are downloaded.
    :param normalizer: makes result rows comparable with input rows.
    """

    def __init__(
        self,
        client: BulkClient,
        poller: Poller,
        ledger: Ledger,
        record: Callable[[Event], Awaitable[None]],
        files: FileWork,
        work: Path,
        normalizer: Callable[[], Normalizer],
    ) -> None:
        self.client = client
        self.poller = poller
        self.ledger = ledger
        self.record = record
        self.files = files
        self.work = work
        self.normalizer = normalizer
        self._lock = anyio.Lock()  # one adoption decision at a time

    async def adopt_or_resend(
        self, job: Job, spec: dict[str, Any], data: bytes | None, attempt: SubmitAttempt
    ) -> JobInfo | None:
        """The job that holds the chunk (adopted, or created now); ``None``: the chunk is stopped."""
        async with self._lock:
            owned = self.ledger.owned()
            candidates = [c for c in await self.client.find_jobs(attempt) if c.id not in owned]
            if len(candidates) > 1:
                candidates = await self._match_by_content(job, candidates)
            if len(candidates) == 1:
                self.ledger.note(f"chunk {job.chunk.index}: reply lost, adopted job {candidates[0].id}")
                job.job_id = candidates[0].id  # owned from now on, before the lock is released
                return candidates[0]
            if not candidates:
                if data is None:
                    data = await self._read(job)
                try:
                    info = await self.client.create_job_multipart(**spec, data=data)
                except AmbiguousCreateError:
                    pass
                else:
                    job.job_id = info.id
                    return info
        error = (
            "the reply to the create request was lost and it cannot be decided whether it created a "
            f"job ({len(candidates)} candidates); not sent again to avoid a double load: check "
            "Setup > Bulk Data Load Jobs, then load these records again if no job has them"
        )
        self.ledger.undetermined(job, error)
        await self.record(
            Undetermined(
                round=job.round,
                chunk=job.chunk.index,
                error=error,
                candidates=tuple(c.id for c in candidates),
            )
        )
        return None

    async def _read(self, job: Job) -> bytes:
        source = job.source
        return await self.files.run(lambda: read_chunk(source.path, source.layout, job.chunk))

    async def _match_by_content(self, job: Job, candidates: list[JobInfo]) -> list[JobInfo]:
        """The candidate jobs whose rows are this chunk's rows.

        A job's data cannot be read back, but its results echo every row it was given. So each
        candidate is followed until it finishes, and rows of its results are looked up among this
        chunk's rows; a job loaded from another chunk (or by another loader) does not match.
        """
        data = await self._read(job)
        delimiter = job.source.layout.delimiter.decode()
        index = RowIndex(self.normalizer())
        rows = parse_chunk(data, delimiter)
        next(rows)
        index.extend(rows, itertools.count(1))
        matching = []
        for candidate in candidates:
            final = await self.poller.wait(candidate.id, job.chunk.records)
            probe_dir = self.work / "probe" / candidate.id
            await self.files.run(functools.partial(probe_dir.mkdir, parents=True, exist_ok=True))
            sample: list[list[str]] = []
            for kind in ResultKind:
                if kind is ResultKind.UNPROCESSED and final.state is JobState.JOB_COMPLETE:
                    continue
                dest = probe_dir / f"{kind.value}.csv"
                await self.client.download_results(candidate.id, kind, dest)
                sample += await self.files.run(functools.partial(_sample, dest, delimiter, kind.sf_columns))
            if sample and all(index.lookup(values) is not None for values in sample):
                matching.append(candidate)
        return matching


def _sample(path: Path, delimiter: str, skip: int) -> list[list[str]]:
    """Up to :data:`_SAMPLE_ROWS` data rows of a result file, without its ``sf__`` columns."""
    rows = read_csv(path, delimiter)
    next(rows, None)
    return [row[skip:] for row in itertools.islice(rows, _SAMPLE_ROWS)]
