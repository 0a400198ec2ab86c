"""Submit: a chunk becomes a job on the server, never twice.

Two ways, chosen per chunk: a small chunk (at most 100,000 characters) goes as one multipart request
(job and data together: 1 API request instead of 3); a larger one as create, upload, close. The
journal is written before a create is sent (:class:`Submitting`) and after each step, so a resumed
load knows, for every chunk, whether a job may exist and how far it got.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import anyio

from .._bulk import AmbiguousCreateError, BulkClient, FileRange, JobInfo, JobState, SubmitAttempt
from .._crash import crash_point
from .._csv import read_chunk, verify_chunk
from .._exceptions import AsyncBulkError, InputChangedError
from .._options import LoadOptions
from ._adopt import Adopter
from ._files import FileWork
from ._journal import ChunkHistory, Created, Event, Submitting, Uploaded
from ._ledger import Job, Ledger, SubmitMode
from ._prepare import PreparedInput, stat_input

__all__ = ["UPLOADS_AT_ONCE", "Submitter"]

#: Chunks sent at once. Uploads share the client's CPU (TLS) and its link: ten at once all finish
#: late together, while one at a time closes jobs one after another in file order, so the org gets
#: its first job (and starts working) after one chunk's upload, not after ten, and queues the
#: small jobs of the tail last (two at once let a small one overtake a larger one before it).
UPLOADS_AT_ONCE = 1


class Submitter:
    """Turns jobs of the ledger into jobs on the server.

    :param client: the Bulk API client.
    :param options: the load's options.
    :param ledger: the jobs and their counters.
    :param adopter: decides after a lost multipart reply.
    :param record: writes a journal event.
    :param files: the load's file threads.
    """

    def __init__(
        self,
        client: BulkClient,
        options: LoadOptions,
        ledger: Ledger,
        adopter: Adopter,
        record: Callable[[Event], Awaitable[None]],
        files: FileWork,
    ) -> None:
        self.client = client
        self.options = options
        self.ledger = ledger
        self.adopter = adopter
        self.record = record
        self.files = files
        self._uploads = anyio.Semaphore(UPLOADS_AT_ONCE)

    # -- a new chunk -------------------------------------------------------------------------------

    async def submit(self, job: Job) -> None:
        """Create the chunk's job and give it its data; the job ends ``QUEUED``, or ``UNDETERMINED``."""
        # Waiters are served in order: chunks reach the org in file order (the small first ones first).
        async with self._uploads:
            await self._submit(job)

    async def _submit(self, job: Job) -> None:
        await self.check_unchanged(job.source)
        await self.ledger.reading(job)
        limit = self.options.chunks.multipart_max_chars
        upload_size = len(job.source.layout.header_line) + job.chunk.size
        # Characters, not bytes, count for the multipart limit; a chunk of more than 4 bytes per
        # allowed character cannot qualify, so only small chunks are read to count them.
        data = await self.read(job) if upload_size <= 4 * limit else None
        if data is not None and len(data.decode("utf-8")) <= limit:
            job.mode = SubmitMode.MULTIPART
            await self.record(self._submitting(job))
            await self._multipart(job, data)
            return
        del data
        # The chunk's bytes are checked before its job exists (cheap next to the upload, which then
        # reads them from the page cache): a job is never made for data that changed.
        source = job.source
        await self.files.run(lambda: verify_chunk(source.path, job.chunk, name=source.name))
        job.mode = SubmitMode.CREATE_UPLOAD_CLOSE
        await self.record(self._submitting(job))
        info = await self.client.create_job(**self.job_spec(job))
        crash_point("create_sent")
        await self.record(Created(round=job.round, chunk=job.chunk.index, job_id=info.id, mode=job.mode))
        await self.ledger.created(job, info, info.id)
        await self._upload_and_close(job, maybe_sent=False)

    async def _multipart(self, job: Job, data: bytes) -> None:
        try:
            info: JobInfo | None = await self.client.create_job_multipart(**self.job_spec(job), data=data)
        except AmbiguousCreateError as exc:
            await self.ledger.progress.emit(
                "retry", chunk=job.chunk.index, message="multipart create reply lost"
            )
            info = await self.adopter.adopt_or_resend(job, self.job_spec(job), data, exc.attempt)
        else:
            crash_point("create_sent")
        if info is not None:
            await self.created_multipart(job, info)

    async def created_multipart(self, job: Job, info: JobInfo) -> None:
        """A multipart job exists (created now, or adopted after a lost reply)."""
        assert job.mode is not None
        await self.record(
            Created(round=job.round, chunk=job.chunk.index, job_id=info.id, mode=job.mode, uploaded=True)
        )
        await self.ledger.created(job, info, info.id)
        await self.ledger.uploaded(job)

    async def _upload_and_close(self, job: Job, *, maybe_sent: bool) -> None:
        assert job.job_id is not None
        chunk, source = job.chunk, job.source
        await self.check_unchanged(source)
        file_range = FileRange(source.path, chunk.start, chunk.end, prefix=source.layout.header_line)
        sent = await self.client.upload(job.job_id, file_range, maybe_sent=maybe_sent)
        crash_point("uploaded")
        if sent is None:
            # The upload was taken as done without our stream reading to its end (a lost reply):
            # read the chunk again to know what the server has.
            try:
                await self.read(job)
            except InputChangedError:
                sent = -1
        if sent is not None and sent != chunk.checksum:
            # The file changed under the upload: what the job holds is not what was checked. An
            # Open job loads nothing until it is closed, so aborting it loses nothing.
            await self.client.abort_job(job.job_id)
            raise InputChangedError(
                f"the file changed while it was being loaded (records {chunk.first_record} to "
                f"{chunk.first_record + chunk.records - 1} are not what they were when the file was "
                f"checked); job {job.job_id} was aborted before it loaded anything. Restore the file "
                "and continue with `asyncbulk resume`, or start a new load",
                path=source.name,
            )
        await self.client.close_job(job.job_id)
        await self.record(Uploaded(round=job.round, chunk=chunk.index, job_id=job.job_id))
        await self.ledger.uploaded(job)

    # -- after a crash -----------------------------------------------------------------------------

    async def reattach(self, job: Job, past: ChunkHistory) -> None:
        """Pick up a chunk an interrupted run had begun, without ever sending its rows twice."""
        job.mode = SubmitMode(past.mode) if past.mode else None
        job_id = past.job_id
        if job_id is not None:
            await self.ledger.created(job, None, job_id)
            if job.mode is SubmitMode.CREATE_UPLOAD_CLOSE and past.uploaded is None:
                await self._finish_upload(job)
            else:
                await self.ledger.uploaded(job)
            return
        if past.undetermined is not None:
            self.ledger.undetermined(job, past.undetermined.error)
            return
        assert past.submitting is not None
        attempt = SubmitAttempt(
            object=self.options.object,
            operation=self.options.operation.value,
            external_id_field=self.options.external_id_field,
            column_delimiter=self.options.column_delimiter.value,
            line_ending=job.source.layout.line_ending.value,
            multipart=job.mode is SubmitMode.MULTIPART,
            started=datetime.fromtimestamp(past.submitting.since, UTC),
            ended=datetime.now(UTC),
        )
        if job.mode is SubmitMode.CREATE_UPLOAD_CLOSE:
            # The crash came between sending a create and recording its job: an Open job may be
            # left over. It can never load anything; abort it so it does not linger for 24 hours.
            owned = self.ledger.owned()
            for orphan in await self.client.find_jobs(attempt):
                if orphan.state is JobState.OPEN and orphan.id not in owned:
                    try:
                        await self.client.abort_job(orphan.id)
                        self.ledger.note(f"chunk {job.chunk.index}: aborted orphan Open job {orphan.id}")
                    except AsyncBulkError as exc:
                        self.ledger.note(
                            f"chunk {job.chunk.index}: could not abort orphan job {orphan.id}: {exc}"
                        )
            job.mode = None
            await self.submit(job)
            return
        # A multipart create was sent and the crash came before its reply was recorded: the
        # job may exist and load the rows. Adopt it if it can be told apart; never send blindly.
        await self.check_unchanged(job.source)
        await self.ledger.reading(job)
        info = await self.adopter.adopt_or_resend(job, self.job_spec(job), None, attempt)
        if info is not None:
            await self.created_multipart(job, info)

    async def _finish_upload(self, job: Job) -> None:
        """Resume a create/upload/close that a crash cut short: ask the job where it is."""
        assert job.job_id is not None
        info = await self.client.job_info(job.job_id)
        job.info = info
        if info.state is JobState.OPEN:
            # The crash may have come after the upload reached the server: a second upload is
            # then refused, which maybe_sent takes as done.
            await self._upload_and_close(job, maybe_sent=True)
        else:
            await self.record(Uploaded(round=job.round, chunk=job.chunk.index, job_id=job.job_id))
            await self.ledger.uploaded(job)

    def must_resend(self, job: Job, final: JobInfo, past: ChunkHistory | None) -> bool:
        """Whether a re-attached job ended aborted before processing anything.

        A cancelled run aborts its queued jobs; none of their rows were loaded, so the resumed
        run sends them again.
        """
        return past is not None and final.state is JobState.ABORTED and final.processed == 0

    async def resend(self, job: Job) -> None:
        """Send the chunk again in a new job (after :meth:`must_resend`)."""
        self.ledger.note(f"chunk {job.chunk.index}: job {job.job_id} was aborted unprocessed; sent again")
        self.ledger.forget_job(job)
        job.mode = None
        await self.submit(job)

    # -- helpers -----------------------------------------------------------------------------------

    async def read(self, job: Job) -> bytes:
        """The chunk's upload bytes (header first), checked against its planned checksum."""
        source = job.source
        return await self.files.run(lambda: read_chunk(source.path, source.layout, job.chunk))

    async def check_unchanged(self, source: PreparedInput) -> None:
        """Stop if the user's file changed size or time since it was checked (a cheap look).

        :raises InputChangedError: it did; nothing read after the change is sent.
        """
        user_file = source.user_file
        if user_file is None:
            return
        stat = await self.files.run(lambda: stat_input(user_file, source.name))
        known = source.identity
        if stat.st_size != known.get("size") or stat.st_mtime_ns != known.get("mtime_ns"):
            raise InputChangedError(
                "the file changed while it was being loaded (its size or modification time is not "
                "what it was when it was checked); nothing read after the change was sent. Restore it "
                "and continue with `asyncbulk resume`, or start a new load",
                path=source.name,
            )

    def job_spec(self, job: Job) -> dict[str, Any]:
        """The create-job settings of the chunk's job."""
        return {
            "object": self.options.object,
            "operation": self.options.operation.value,
            "external_id_field": self.options.external_id_field,
            "column_delimiter": self.options.column_delimiter.value,
            "line_ending": job.source.layout.line_ending.value,
        }

    def _submitting(self, job: Job) -> Submitting:
        assert job.mode is not None
        # "since" a second early: the server's clock may run a little behind ours.
        return Submitting(round=job.round, chunk=job.chunk.index, mode=job.mode, since=time.time() - 1)
