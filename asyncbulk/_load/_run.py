"""One load: prepare, then rounds of submit -> poll -> collect, then finish. Wiring only.

The stages and what passes between them::

    LoadOptions --prepare()--> PreparedInput (layout, chunks, identity)      nothing sent but describes
    PreparedInput + Replay --Ledger.plan()--> [Job]            a chunk merged before a crash is DONE
    Job --Submitter.submit()--> a job on the server             journal: Submitting, Created, Uploaded
    job id --Poller.wait()--> JobInfo (terminal)                 (Poller.on_update -> Ledger.observe)
    Job + JobInfo --Collector.collect()--> merged rows, held rows                    journal: Merged
    held rows --RetryRounds.next()--> PreparedInput (round n) | None             journal: RoundPlanned
    Ledger --Finisher--> LoadResult, summary.json, the accounting check

Memory: a chunk's bytes live only while it is uploaded; results stream to disk and are merged
from there; the merge keeps hashes of one chunk's rows. Nothing grows with the file.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import anyio

from .._bulk import BulkClient, JobInfo, JobState, WaitNotice
from .._config import RetryConfig
from .._crash import crash_point
from .._exceptions import AsyncBulkError, ResumeError, UnfinishedLoadError
from .._options import LoadOptions
from .._progress import ProgressCallback, ProgressTracker
from .._result import LoadResult
from ._adopt import Adopter
from ._collect import Collector
from ._files import FileWork, Folders
from ._finish import Finisher
from ._index import LoadIndex, load_key
from ._journal import (
    BadRowsWritten,
    ChunkHistory,
    Event,
    Finished,
    LoadJournal,
    Replay,
    Resumed,
    Started,
    replay,
)
from ._ledger import Job, Ledger
from ._match import Normalizer
from ._merge import ResultMerger, SkippedRecord
from ._poll import Poller
from ._prepare import PreparedInput, Source, prepare
from ._rounds import RetryRounds
from ._submit import Submitter

__all__ = ["LoadRun", "first_error"]


class LoadRun:
    """One run of a load (:meth:`asyncbulk.Connection.load` builds and runs it).

    :param client: an open Bulk API client.
    :param source: a CSV file path, or dict rows.
    :param options: what to load and how.
    :param out_dir: where the results, summary and journal go.
    :param progress: the user's progress callback.
    :param resume: continue the load journaled in ``out_dir``.
    :param new: start a new load even if the same input has an unfinished one.
    :param retry: record retry rounds (and the client's own request retries).
    :param concurrency: jobs in flight at most.
    :param index: the index of loads (the user's state folder by default).
    """

    def __init__(
        self,
        client: BulkClient,
        source: Source,
        options: LoadOptions,
        out_dir: Path,
        progress: ProgressCallback | None,
        *,
        resume: bool,
        new: bool,
        retry: RetryConfig,
        concurrency: int,
        index: LoadIndex | None = None,
    ) -> None:
        self.client = client
        self.source = source
        self.options = options
        self.folders = Folders(out_dir)
        self.resume = resume
        self.new = new
        self.retry = retry
        self.index = index or LoadIndex()
        self.files = FileWork()
        start_requests = client.requests_made
        self.requests = lambda: client.requests_made - start_requests
        self.ledger = Ledger(ProgressTracker(progress, requests=self.requests), concurrency)
        self.poller = Poller(client, options.poll, self._observe)
        self.finisher = Finisher(
            client,
            self.ledger,
            self.folders,
            self.files,
            self.requests,
            object=options.object,
            operation=options.operation.value,
        )
        self.finisher.status_requests = lambda: self.poller.status_requests
        self.journal: LoadJournal | None = None
        self.merger: ResultMerger | None = None
        self._normalizer: Normalizer | None = None
        self._key: str | None = None

    # -- the whole run -------------------------------------------------------------------------------

    async def run(self) -> LoadResult:
        """Run the load to its end; see :func:`asyncbulk.load` for what it raises."""
        folders = self.folders
        if isinstance(self.source, str | os.PathLike):
            folders.check_input(Path(self.source))
        if not self.resume:
            await self._refuse_overwrite()
        await self.files.run(functools.partial(folders.work.mkdir, parents=True, exist_ok=True))
        first = await prepare(self.source, self.options, folders, self.client, self.files, self.ledger.notes)
        crash_point("planned")
        self.finisher.records = first.records + len(first.skipped)
        self.finisher.skipped = len(first.skipped)
        history = await self._open_journal(first)
        if first.skipped and history.bad_rows is None:
            await self._write_skipped(first)
        await self.ledger.validated(first.records + len(first.skipped), len(first.chunks), len(first.skipped))
        previous_wait = self.client.transport.on_wait
        self.client.transport.on_wait = self._waiting
        cancelled = False
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.poller.run)
                batch: PreparedInput | None = first
                while batch is not None:
                    await self._run_round(batch, history)
                    batch = await self.rounds.next(
                        batch, self.collector.held.get(batch.round, ()), history.rounds.get(batch.round + 1)
                    )
                self.poller.close()
        except BaseException as exc:
            error = first_error(exc)
            cancelled = isinstance(error, anyio.get_cancelled_exc_class())
            with anyio.CancelScope(shield=True):
                if cancelled:
                    self.poller.close()
                    await self.finisher.abort_queued()
                result = await self._finish(cancelled=cancelled, error=None if cancelled else error)
            if result.resume_command and isinstance(error, AsyncBulkError) and error.args:
                # Say how to go on, where the error is read: nothing already loaded is sent again.
                error.args = (
                    f"{error.args[0]}; nothing already loaded is lost: continue with: "
                    f"{result.resume_command} (in Python: resume=True)",
                    *error.args[1:],
                )
            if error is exc:
                raise
            # One clear error, not an exception group: the first failure stopped the load; the
            # others it caused are cancellations or repeats of it.
            raise error from None
        finally:
            self.client.transport.on_wait = previous_wait
        return await self._finish(cancelled=False, error=None)

    async def _run_round(self, batch: PreparedInput, history: Replay) -> None:
        async with anyio.create_task_group() as tg:
            for job in self.ledger.plan(batch):
                past = history.of(batch.round, job.chunk.index)
                if past is not None and past.merged is not None:
                    self.ledger.restore(job, past.merged)  # merged before the crash
                    continue
                # Acquire here, not in the task: the reader reads ahead only as far as the bound.
                await self.ledger.slot.acquire_on_behalf_of(job)
                tg.start_soon(self._run_job, job, past)

    async def _run_job(self, job: Job, past: ChunkHistory | None) -> None:
        try:
            if past is not None:
                await self.submitter.reattach(job, past)
            else:
                await self.submitter.submit(job)
            if job.job_id is None:
                return  # undetermined: stopped and reported, never sent again
            final = await self.poller.wait(job.job_id, job.chunk.records)
            if self.submitter.must_resend(job, final, past):
                await self.submitter.resend(job)
                if job.job_id is None:
                    return
                final = await self.poller.wait(job.job_id, job.chunk.records)
            self.ledger.finished(job, final)
            await self.collector.collect(job, final)
        finally:
            self.ledger.slot.release_on_behalf_of(job)

    # -- wiring --------------------------------------------------------------------------------------

    def _wire(self, first: PreparedInput) -> None:
        work = self.folders.work
        self._normalizer = Normalizer(first.layout.columns, first.field_types)

        def normalizer() -> Normalizer:
            assert self._normalizer is not None
            return self._normalizer

        self.adopter = Adopter(
            self.client, self.poller, self.ledger, self._record, self.files, work, normalizer
        )
        self.submitter = Submitter(
            self.client, self.options, self.ledger, self.adopter, self._record, self.files
        )
        assert self.merger is not None
        self.collector = Collector(
            self.client, self.merger, self.ledger, self.retry, self._record, self.files, work, normalizer
        )
        self.rounds = RetryRounds(
            work, self.options.chunks, self.retry.record_rounds, self._record, self.files
        )

    async def _write_skipped(self, first: PreparedInput) -> None:
        """Bad records never sent go to ``failed.csv`` first, and the journal says so (once)."""
        merger = self.merger
        assert merger is not None
        records = [SkippedRecord(b.record, b.line, b.values, b.reason) for b in first.skipped]

        def write() -> dict[str, int]:
            merger.write_skipped(records)
            return merger.flush()

        sizes = await self.files.run(write)
        await self._record(BadRowsWritten(count=len(records), sizes=sizes))
        for bad in first.skipped[:5]:
            self.ledger.note(f"record {bad.record} (line {bad.line}) skipped: {bad.reason}")
        if len(first.skipped) > 5:
            self.ledger.note(f"... and {len(first.skipped) - 5} more records skipped (see failed.csv)")

    async def _record(self, event: Event) -> None:
        journal = self.journal
        if journal is not None:
            await self.files.run(functools.partial(journal.record, event))

    async def _observe(self, job_id: str, info: JobInfo, previous: JobState | None) -> None:
        crash_point("polled")
        await self.ledger.observe(job_id, info, previous)

    async def _waiting(self, notice: WaitNotice) -> None:
        await self.ledger.waiting(notice)

    # -- journal and index ---------------------------------------------------------------------------

    async def _refuse_overwrite(self) -> None:
        """A new load into a folder that holds an earlier load's journal: resume it, or say ``new``."""
        path = self.folders.journal
        if self.new or not await self.files.run(path.exists):
            return
        try:
            earlier = await self.files.run(functools.partial(replay, path))
        except ResumeError:
            return  # not a journal we can read: the new load replaces it
        out = self.folders.out
        if earlier.finished is None:
            raise UnfinishedLoadError(
                f"{out} holds a load that did not finish; continue it with `asyncbulk resume {out}` "
                "(nothing is loaded twice), or pass --new (new=True) to start over and load every "
                "record again",
                out_dir=str(out),
            )
        raise ResumeError(
            f"{out} already holds the results of an earlier load; choose another out folder, or pass "
            "--new (new=True) to replace them"
        )

    async def _open_journal(self, first: PreparedInput) -> Replay:
        """Start the journal; or, resuming, check it against the input and options and read it."""
        folders = self.folders
        options = self.options.to_journal()
        instance_url = await self.client.instance_url()
        checksums = tuple(c.checksum for c in first.chunks)
        self._key = load_key(instance_url, self.options.object, first.identity)
        start = Started(
            input=first.identity,
            options=options,
            chunks=len(first.chunks),
            checksums=checksums,
            instance_url=instance_url,
            records=first.records,
        )
        self.merger = ResultMerger(
            folders.out,
            columns=first.layout.columns,
            delimiter=first.layout.delimiter.decode(),
            line_terminator=first.layout.line_ending.chars,
        )
        self._wire(first)
        merger = self.merger
        if not self.resume:
            if not self.new:
                past = await self.files.run(
                    functools.partial(self.index.unfinished, self._key, except_out=folders.out)
                )
                if past is not None:
                    raise UnfinishedLoadError(
                        f"{first.name} has an unfinished load into {self.options.object} at {instance_url}; "
                        f"continue it with `asyncbulk resume {past.out_dir}` (nothing is loaded twice), "
                        "or pass --new (new=True) to start a new load and send every record again",
                        out_dir=str(past.out_dir),
                    )
            self.journal = await self.files.run(functools.partial(LoadJournal.create, folders.journal, start))
            await self.files.run(merger.open)
            await self.files.run(
                functools.partial(self.index.started, self._key, folders.out, first.name, self.options.object)
            )
            return Replay(start)
        history = await self.files.run(functools.partial(replay, folders.journal))
        began = history.start
        if began.options != options:
            changed = sorted(k for k, v in options.items() if began.options.get(k) != v)
            raise ResumeError(f"the options changed since the load began: {', '.join(changed)}")
        if _content(began.input) != _content(first.identity) or (
            began.checksums and began.checksums != checksums
        ):
            raise ResumeError(
                f"{first.name}: the input file changed since the load began (its size or content differ); "
                "resuming would mix two inputs: restore it, or start a new load in a new out folder"
            )
        if began.instance_url and began.instance_url.rstrip("/") != instance_url.rstrip("/"):
            raise ResumeError(
                f"the load began in {began.instance_url}, but this connection is to {instance_url}; "
                "resume it with the org it began in"
            )
        self.journal = await self.files.run(functools.partial(LoadJournal.reopen, folders.journal))
        # Rows a crash left in the merged files after the last recorded merge are cut off here;
        # their job is merged again, so nothing is lost and nothing is written twice.
        await self.files.run(functools.partial(merger.open, sizes=history.sizes or {}))
        for round_number, rows in history.held.items():
            self.collector.held.setdefault(round_number, []).extend(rows)
        await self._record(Resumed())
        return history

    async def _finish(self, *, cancelled: bool, error: BaseException | None) -> LoadResult:
        """Count, write ``summary.json`` and close the journal; raise an accounting error."""
        merger = self.merger
        result = self.finisher.result(merger, cancelled=cancelled, error=error)
        if merger is not None:
            await self.files.run(merger.close)
        accounting = None
        if error is None and not cancelled:
            accounting = self.finisher.check(result)
            if accounting is not None:
                result = self.finisher.result(merger, cancelled=False, error=accounting)
        await self.finisher.write_summary(result)
        failure = error or accounting
        if self.journal is not None:
            # The load is over when a resume would have nothing to do: it ran to its end (records
            # may have failed), or it stopped for a reason a resume would only meet again.
            if not cancelled and (failure is None or result.resume_command is None):
                outcome = "ok" if result.ok else "failed" if failure is None else "error"
                await self._record(Finished(outcome=outcome, error=result.error))
                if self._key is not None:
                    await self.files.run(functools.partial(self.index.finished, self._key, self.folders.out))
            await self.files.run(self.journal.close)
        await self.ledger.progress.emit("finished")
        if accounting is not None:
            raise accounting
        return result


def _content(identity: dict[str, object]) -> dict[str, object]:
    """The parts of an input's identity that say what it holds (not when it was written)."""
    return {k: v for k, v in identity.items() if k != "mtime_ns"}


def first_error(exc: BaseException) -> BaseException:
    """The first real failure inside (nested) exception groups, else ``exc`` itself."""
    if isinstance(exc, BaseExceptionGroup):
        cancelled = anyio.get_cancelled_exc_class()
        leaves = [first_error(e) for e in exc.exceptions]
        for leaf in leaves:
            if not isinstance(leaf, cancelled):
                return leaf
        return leaves[0] if leaves else exc
    return exc
