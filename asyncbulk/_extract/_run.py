"""One extract: create (or find) the query job, wait for it, download its pages, write one CSV.

The stages::

    ExtractOptions --create_query_job()--> job id           journal: ExtractStarted, QueryCreated
    job id --wait()--> JobInfo (JobComplete)                 journal: QueryCompleted (rows, paging)
    pages: resultPages groups (API v58.0+, in parallel) or the locator chain    journal: PagesListed
    page i --download--> WORK/pages/i.csv --OutputFile.append--> OUT.partial   journal: PageWritten
    every page in, rows == numberRecordsProcessed --> OUT, the job deleted      journal: ExtractFinished

Pages download ahead of the writer (``concurrency`` at once) into files of their own and are
appended strictly in order, so the output is in the server's order and a page is never held in
memory. A crash loses at most the pages not yet appended: a resume cuts the output back to the last
journaled page and goes on from the next locator.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import anyio

from .._bulk import BulkClient, JobInfo, JobState, QueryPage, ResultPages
from .._config import PollConfig
from .._crash import crash_point
from .._exceptions import AccountingError, ApiError, AsyncBulkError, NotFoundError, ResumeError
from .._journal import Event, JournalFile
from .._options import ExtractOptions
from .._progress import ProgressCallback, ProgressTracker
from .._result import ExtractResult
from ._journal import (
    ExtractFinished,
    ExtractHistory,
    ExtractStarted,
    PagesListed,
    PageWritten,
    QueryCompleted,
    QueryCreated,
    replay_extract,
)
from ._output import OutputFile

__all__ = ["ExtractRun"]

T = TypeVar("T")

_PENDING = object()  # a page whose locator is not known yet (the chain: the page before it is)
_END = object()  # past the last page


@dataclass
class _Pages:
    """Where the page locators stand during one run."""

    parallel: bool
    locators: dict[int, str | None] = field(default_factory=dict)
    listed_through: int = -1
    next_group: str | None = None
    #: Chain mode: the page count is known once a page says there is no next one.
    last: int | None = None


class ExtractRun:
    """One run of an extract (``asyncbulk.extract`` builds and runs it).

    :param client: an open Bulk API client.
    :param options: what to extract and how.
    :param out: the CSV file to write.
    :param work: the extract's own folder (journal, downloaded pages).
    :param progress: the user's progress callback.
    :param resume: continue the extract journaled in ``work``.
    :param poll: how often to ask whether the job is done.
    :param then_load: journaled for a load by query, so a resume can go on with the load.
    """

    def __init__(
        self,
        client: BulkClient,
        options: ExtractOptions,
        out: Path,
        work: Path,
        progress: ProgressCallback | None,
        *,
        resume: bool,
        poll: PollConfig | None = None,
        then_load: dict[str, object] | None = None,
    ) -> None:
        self.client = client
        self.options = options
        self.out = out
        self.work = work
        self.resume = resume
        self.poll = poll or PollConfig()
        self.then_load = then_load
        self._requests_at_start = client.requests_made
        self.progress = ProgressTracker(progress, requests=self.requests)
        self.output = OutputFile(out)
        self.journal: JournalFile | None = None
        self.started = time.monotonic()
        self._limiter = anyio.CapacityLimiter(1)

    def requests(self) -> int:
        """API requests this extract made so far."""
        return self.client.requests_made - self._requests_at_start

    async def _thread(self, func: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(func, limiter=self._limiter)

    async def _record(self, event: Event) -> None:
        journal = self.journal
        if journal is not None:
            await self._thread(functools.partial(journal.append, event.to_json()))

    # -- the whole run -------------------------------------------------------------------------------

    async def run(self) -> ExtractResult:
        """Run the extract to its end."""
        history = await self._open()
        try:
            job_id, version = await self._job(history)
            info = await self._wait(job_id, version)
            if history.completed is None:
                group = await self._first_group(job_id, version)
                history.completed = QueryCompleted(rows=info.processed, parallel=group is not None)
                await self._record(history.completed)
                if group is not None:
                    listed = PagesListed(first=0, locators=group.locators, next_url=group.next_url)
                    await self._record(listed)
                    history.add(listed)
            # Shown with a load's counters: the job's rows as the total, the rows written so far as
            # "read", the one query job as the one chunk.
            self.progress.set(
                records_total=history.completed.rows,
                chunks_total=1,
                jobs_created=1,
                jobs_queued=0,
                jobs_in_progress=0,
                jobs_done=1,
                records_processed=history.completed.rows,
            )
            await self.progress.emit("validated")
            rows, pages = await self._download(job_id, version, history)
            if rows != history.completed.rows:
                raise AccountingError(
                    f"query job {job_id}: the pages hold {rows} rows but the job processed "
                    f"{history.completed.rows}; {self.output.partial} is kept, the output was not finished"
                )
            await self._thread(functools.partial(self.output.finish))
            deleted = await self._delete(job_id, version)
            await self._record(ExtractFinished(rows=rows, job_deleted=deleted))
        finally:
            if self.journal is not None:
                await self._thread(functools.partial(self.journal.close))
        await self.progress.emit("finished")
        return ExtractResult(
            soql=self.options.soql,
            path=self.out,
            rows=rows,
            pages=pages,
            bytes=self.output.size,
            job_id=job_id,
            query_all=self.options.query_all,
            parallel=history.completed.parallel,
            job_deleted=deleted,
            api_requests=self.requests(),
            seconds=round(time.monotonic() - self.started, 3),
            resumed=self.resume,
        )

    # -- journal -------------------------------------------------------------------------------------

    async def _open(self) -> ExtractHistory:
        journal_path = self.work / "journal.jsonl"
        await self._thread(functools.partial((self.work / "pages").mkdir, parents=True, exist_ok=True))
        instance_url = await self.client.instance_url()
        start = ExtractStarted(
            options=self.options.to_journal(),
            out=str(self.out),
            instance_url=instance_url,
            then_load=self.then_load,
        )
        if not self.resume:
            self.journal = await self._thread(
                functools.partial(JournalFile.create, journal_path, start.to_json())
            )
            await self._thread(functools.partial(self.output.open, size=None))
            return ExtractHistory(start)
        history = await self._thread(functools.partial(replay_extract, journal_path))
        if history.start.options != start.options:
            changed = sorted(k for k, v in start.options.items() if history.start.options.get(k) != v)
            raise ResumeError(f"the extract's options changed since it began: {', '.join(changed)}")
        if history.start.instance_url.rstrip("/") != instance_url.rstrip("/"):
            raise ResumeError(
                f"the extract began in {history.start.instance_url}, but this connection is to {instance_url}"
            )
        self.journal = await self._thread(functools.partial(JournalFile, journal_path))
        written = history.last_written
        await self._thread(functools.partial(self.output.open, size=written.out_size if written else None))
        return history

    # -- the job -------------------------------------------------------------------------------------

    async def _job(self, history: ExtractHistory) -> tuple[str, str]:
        if history.created is not None:
            return history.created.job_id, history.created.api_version
        try:
            info = await self.client.create_query_job(
                self.options.soql,
                query_all=self.options.query_all,
                column_delimiter=self.options.column_delimiter,
                line_ending=self.options.line_ending,
            )
        except ApiError as exc:
            if exc.status == 400:
                raise ApiError(
                    exc.status,
                    exc.error_code,
                    "Salesforce refused the query: " + " ".join(exc.message.split()),
                    method=exc.method,
                    path=exc.path,
                ) from None
            raise
        version = str(info.raw.get("apiVersion") or self.client.api_version)
        created = QueryCreated(job_id=info.id, api_version=version)
        await self._record(created)
        history.created = created
        self.progress.update(jobs_created=1, jobs_queued=1)
        await self.progress.emit("job_created", job_id=info.id)
        crash_point("query_created")
        return info.id, version

    async def _wait(self, job_id: str, version: str) -> JobInfo:
        """Poll the job until it is done; growing waits, jittered, capped by the poll config."""
        delay = self.poll.initial
        rng = random.Random()
        previous: JobState | None = None
        while True:
            try:
                info = await self.client.query_job_info(job_id, api_version=version)
            except NotFoundError:
                raise ResumeError(
                    f"query job {job_id} no longer exists (deleted, or past Salesforce's 7 days); "
                    "start the extract again"
                ) from None
            if info.state is not previous:
                if info.state is JobState.IN_PROGRESS:
                    self.progress.set(jobs_queued=0, jobs_in_progress=1)
                await self.progress.emit("job_state", job_id=job_id, state=str(info.state))
                previous = info.state
            if info.processed:
                self.progress.set(records_processed=info.processed)
                await self.progress.emit("job_progress", job_id=job_id)
            if info.state is JobState.JOB_COMPLETE:
                return info
            if info.state in (JobState.FAILED, JobState.ABORTED):
                raise AsyncBulkError(
                    f"query job {job_id} ended {info.state}: {info.error_message or 'no message'}; "
                    "start the extract again"
                )
            await anyio.sleep(delay * (1 + rng.uniform(-self.poll.jitter, self.poll.jitter)))
            delay = min(self.poll.maximum, max(self.poll.minimum, delay * self.poll.factor))

    async def _first_group(self, job_id: str, version: str) -> ResultPages | None:
        """The first ``resultPages`` group, or ``None`` where the org has none (before API v58.0)
        or one page at a time is asked for: then the pages follow the locator chain."""
        if float(version) < 58.0 or self.options.concurrency < 2:
            return None
        try:
            return await self.client.result_pages(
                job_id, max_records=self.options.max_records, api_version=version
            )
        except NotFoundError:
            return None

    async def _delete(self, job_id: str, version: str) -> bool:
        if self.options.keep_job:
            return False
        try:
            await self.client.delete_query_job(job_id, api_version=version)
        except AsyncBulkError:
            return False  # the file is complete; a job left behind expires after 7 days
        return True

    # -- pages ---------------------------------------------------------------------------------------

    async def _download(self, job_id: str, version: str, history: ExtractHistory) -> tuple[int, int]:
        """Download every page not written yet and append them in order; return (rows, pages)."""
        assert history.completed is not None
        state = _Pages(
            parallel=history.completed.parallel,
            locators=dict(history.locators),
            listed_through=history.listed_through,
            next_group=history.next_group,
        )
        written = history.last_written
        index = written.index + 1 if written else 0
        rows = written.rows_so_far if written else 0
        self.progress.update(records_read=rows, records_merged=rows)  # written before a crash
        if written is not None and written.next_locator is None and not state.parallel:
            state.last = written.index
        if state.parallel and state.listed_through < 0:
            await self._list_group(job_id, version, state, None)
        done: dict[int, anyio.Event] = {}
        pages: dict[int, QueryPage] = {}
        window = self.options.concurrency if state.parallel else 1

        async def fetch(number: int, locator: str | None) -> None:
            dest = self.work / "pages" / f"{number:06d}.csv"
            pages[number] = await self.client.download_query_page(
                job_id, dest, locator=locator, max_records=self.options.max_records, api_version=version
            )
            if not state.parallel:
                nxt = pages[number].next_locator
                if nxt is None:
                    state.last = number
                else:
                    state.locators[number + 1] = nxt
            done[number].set()

        async with anyio.create_task_group() as tg:
            scheduled = index
            while True:
                while scheduled < index + window:
                    locator = await self._locator(job_id, version, state, scheduled)
                    if locator is _PENDING or locator is _END:
                        break
                    assert locator is None or isinstance(locator, str)
                    done[scheduled] = anyio.Event()
                    tg.start_soon(fetch, scheduled, locator)
                    scheduled += 1
                if index not in done:
                    break  # past the last page
                await done[index].wait()
                page = pages.pop(index)
                path = self.work / "pages" / f"{index:06d}.csv"
                size = await self._thread(functools.partial(self.output.append, path))
                rows += page.records
                crash_point("page_written")
                await self._record(
                    PageWritten(
                        index=index,
                        locator=state.locators.get(index),
                        rows=page.records,
                        out_size=size,
                        rows_so_far=rows,
                        next_locator=page.next_locator,
                    )
                )
                await self._thread(functools.partial(path.unlink, missing_ok=True))
                self.progress.update(records_merged=page.records, records_read=page.records)
                await self.progress.emit("results_merged", chunk=index, job_id=job_id)
                done.pop(index)
                index += 1
        return rows, index

    async def _locator(self, job_id: str, version: str, state: _Pages, number: int) -> object:
        """Page ``number``'s locator, ``_PENDING`` while it cannot be known yet, or ``_END``."""
        if state.parallel:
            while number > state.listed_through:
                if state.next_group is None:
                    return _END
                await self._list_group(job_id, version, state, state.next_group)
            return state.locators.get(number)
        if state.last is not None and number > state.last:
            return _END
        if number == 0:
            return None
        return state.locators.get(number, _PENDING)

    async def _list_group(self, job_id: str, version: str, state: _Pages, url: str | None) -> None:
        group = await self.client.result_pages(
            job_id, max_records=self.options.max_records, url=url, api_version=version
        )
        first = state.listed_through + 1
        for offset, locator in enumerate(group.locators):
            state.locators[first + offset] = locator
        state.listed_through = first + len(group.locators) - 1
        state.next_group = group.next_url
        await self._record(PagesListed(first=first, locators=group.locators, next_url=group.next_url))
