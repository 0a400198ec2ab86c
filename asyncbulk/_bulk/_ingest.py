"""The ingest endpoints of the Bulk API 2.0, one method each (part of :class:`BulkClient`).

Retry safety per request (what counts as transient is :mod:`asyncbulk._bulk._retry`'s call; the
loop is :class:`asyncbulk._bulk._transport.Transport`):

========================  ===========================================================================
request                   after a failure that may have reached the server
========================  ===========================================================================
GET (info, list, results) retried
DELETE                    retried; a 404 after such a failure means the first try deleted it
PATCH close / abort       retried; ``INVALIDJOBSTATE`` is checked against the job's state: if the job
                          is already where the PATCH wanted it, that is success
create (JSON)             retried; a possibly created orphan ``Open`` job loads nothing, and the
                          loader aborts the ones it can find
PUT upload                the job is asked first: not ``Open`` any more means the data arrived; the
                          second-upload refusal on a repeat means the first upload took effect
multipart create          never repeated: :class:`AmbiguousCreateError` tells the caller what to
                          look for in the job list (the loader decides whether to adopt a job)
========================  ===========================================================================
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiofiles
import aiofiles.os
import aiohttp
import anyio
import orjson

from .._config import ColumnDelimiter, LineEnding, Operation
from .._exceptions import ApiError, InvalidJobStateError, NotFoundError
from ._attempts import AmbiguousCreateError, SubmitAttempt
from ._jobinfo import JobInfo, JobState, ResultKind
from ._payloads import FileRange, RangeStream, UploadData, job_body, multipart_body
from ._responses import JsonDict, ignore, read_job_info, read_json
from ._retry import Safety
from ._transport import Done, Policy, Track, Transport

__all__ = ["IngestEndpoints"]

_CHUNK = 1 << 16

#: The refusal of a second upload to a job, by its stable words. Salesforce's text is "Found multipe
#: contents for job: <id>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job
#: and make sure you only do 'PUT' once on a given Job." (BULK_API_ERROR; its own typo "multipe",
#: seen in real-org captures): never match one spelling of the word that has the typo.
_SECOND_UPLOAD = re.compile(r"contents\s+for\s+job|only\s+do\s+'?put'?\s+once", re.IGNORECASE)


class IngestEndpoints:
    """Ingest jobs: create (JSON or multipart), upload, close, abort, delete, info, list, results."""

    transport: Transport
    threads: anyio.CapacityLimiter
    api_version: str
    user_id: str | None
    _executor: concurrent.futures.ThreadPoolExecutor | None

    @property
    def _base(self) -> str:
        return f"/services/data/v{self.api_version}"

    # -- ingest jobs ---------------------------------------------------------------------------

    async def create_job(
        self,
        *,
        object: str,
        operation: Operation | str,
        external_id_field: str | None = None,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
        assignment_rule_id: str | None = None,
    ) -> JobInfo:
        """Create an empty ingest job (state ``Open``).

        Retried after failures that may have reached the server: an extra ``Open`` job loads
        nothing, and the loader aborts orphans it finds.
        """
        body = job_body(
            object, operation, external_id_field, column_delimiter, line_ending, assignment_rule_id
        )
        raw = orjson.dumps(body)
        info = await self.transport.request(
            "POST",
            f"{self._base}/jobs/ingest",
            kind="create",
            safety=Safety.IDEMPOTENT,
            body=lambda: raw,
            headers={"Content-Type": "application/json"},
            handle=read_job_info,
        )
        self._learn_user(info)
        return info

    async def create_job_multipart(
        self,
        *,
        object: str,
        operation: Operation | str,
        data: bytes,
        external_id_field: str | None = None,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
        assignment_rule_id: str | None = None,
    ) -> JobInfo:
        """Create a job and upload its CSV in one request; the job starts ``UploadComplete``.

        Salesforce takes at most 100,000 characters of CSV this way.

        :raises AmbiguousCreateError: the request may have been processed but no answer came;
            it is never sent again (see the module docstring).
        """
        body = job_body(
            object, operation, external_id_field, column_delimiter, line_ending, assignment_rule_id
        )
        job_part = orjson.dumps(body)
        boundary = uuid.uuid4().hex
        while boundary.encode() in data:  # astronomically unlikely, but a clash corrupts the body
            boundary = uuid.uuid4().hex
        payload = multipart_body(boundary, job_part, data)
        track = Track()

        def ambiguous(reason: str) -> AmbiguousCreateError:
            attempt = SubmitAttempt(
                object=body["object"],
                operation=body["operation"],
                external_id_field=body.get("externalIdFieldName"),
                column_delimiter=body["columnDelimiter"],
                line_ending=body["lineEnding"],
                multipart=True,
                started=track.started,
                ended=datetime.now(UTC),
                data_bytes=len(data),
            )
            return AmbiguousCreateError(attempt, reason)

        info = await self.transport.request(
            "POST",
            f"{self._base}/jobs/ingest",
            kind="multipart",
            safety=Safety.ONCE,
            body=lambda: payload,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            handle=read_job_info,
            track=track,
            policy=Policy(ambiguous=ambiguous),
        )
        self._learn_user(info)
        return info

    async def upload(self, job_id: str, data: UploadData, *, maybe_sent: bool = False) -> int | None:
        """Upload a job's CSV (``PUT .../batches``, ``text/csv``); a job takes one upload.

        After a failure that may have delivered the data, the job is asked first: if it is no
        longer ``Open`` the data arrived; if it is ``Open`` the upload is sent again, and the
        server's refusal of a second upload is then taken as "the first one arrived".

        :param maybe_sent: an earlier call (before a crash, when resuming) may already have
            uploaded this same data; the second-upload refusal then means it did. Without it, that
            answer is an error: someone else's data is in the job.
        :return: the Adler-32 of the bytes sent (the file range's, without its prefix; the whole
            of ``bytes`` data), when known: the caller can check it against what it planned.
        """
        headers = {"Content-Type": "text/csv"}
        replayable = True
        body: Callable[[], Any]
        streams: list[RangeStream] = []
        checksum: int | None = None
        if isinstance(data, bytes | bytearray | memoryview):
            raw = bytes(data)
            checksum = zlib.adler32(raw)
            body = lambda: raw  # noqa: E731
        elif isinstance(data, FileRange):
            file_range = data

            def body() -> RangeStream:
                stream = file_range.chunks(self.threads)
                streams.append(stream)
                return stream

            # An explicit length keeps aiohttp from switching to chunked transfer encoding.
            headers["Content-Length"] = str(file_range.size)
        else:
            stream = data
            body = lambda: stream  # noqa: E731
            replayable = False
        path = f"{self._base}/jobs/ingest/{job_id}/batches"

        def sent() -> int | None:
            if checksum is not None:
                return checksum
            # The last stream that read its whole range: what reached the server.
            return next((s.checksum for s in reversed(streams) if s.checksum is not None), None)

        async def reconcile() -> Done[int | None] | None:
            info = await self.job_info(job_id)
            if info.state is JobState.OPEN:
                return None
            if info.state.closed:
                return Done(sent())
            raise InvalidJobStateError(
                409,
                "INVALIDJOBSTATE",
                f"the upload got no answer, and the job is now {info.state}; the data was not accepted",
                method="PUT",
                path=path,
                job_id=job_id,
            )

        async def on_error(exc: ApiError, unknown: bool) -> Done[int | None] | None:
            # Certain: our own job, a try that may have delivered this data, a 400 saying the job
            # already has contents, and the job still taking no other upload.
            if not (unknown or maybe_sent) or exc.status != 400 or not _SECOND_UPLOAD.search(exc.message):
                return None
            try:
                info = await self.job_info(job_id)
            except ApiError:
                return None
            if info.state is JobState.OPEN or info.state.closed:
                return Done(sent())
            return None

        await self.transport.request(
            "PUT",
            path,
            kind="upload",
            safety=Safety.RECONCILE,
            job_id=job_id,
            body=body,
            replayable=replayable,
            headers=headers,
            expect=(201, 200),
            handle=ignore,
            policy=Policy(reconcile=reconcile, on_error=on_error),
        )
        return sent()

    async def close_job(self, job_id: str) -> JobInfo:
        """Mark the upload complete (``PATCH state=UploadComplete``); processing starts.

        A job already past ``Open`` (a repeated PATCH whose first try took effect, or a resumed
        load) counts as closed: its current job info is returned.
        """
        return await self._set_state(job_id, JobState.UPLOAD_COMPLETE, "close")

    async def abort_job(self, job_id: str) -> JobInfo:
        """Abort a job (``PATCH state=Aborted``); an already aborted job is returned as is."""
        return await self._set_state(job_id, JobState.ABORTED, "abort")

    async def _set_state(self, job_id: str, state: JobState, kind: str) -> JobInfo:
        raw = orjson.dumps({"state": state.value})

        def reached(info: JobInfo) -> bool:
            return info.state is JobState.ABORTED if state is JobState.ABORTED else info.state.closed

        async def on_error(exc: ApiError, unknown: bool) -> Done[JobInfo] | None:
            # Whatever the text, the job's state says whether the PATCH's aim is already met (no
            # source says a repeated close is harmless, so its refusal is checked, not trusted).
            if not (isinstance(exc, InvalidJobStateError) or exc.status == 400):
                return None
            try:
                info = await self.job_info(job_id)
            except ApiError:
                return None  # the PATCH's own error says more than this one
            return Done(info) if reached(info) else None

        return await self.transport.request(
            "PATCH",
            f"{self._base}/jobs/ingest/{job_id}",
            kind=kind,
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            body=lambda: raw,
            headers={"Content-Type": "application/json"},
            handle=read_job_info,
            policy=Policy(on_error=on_error),
        )

    async def delete_job(self, job_id: str) -> None:
        """Delete a finished job with its data and results (``204``)."""

        async def on_error(exc: ApiError, unknown: bool) -> Done[None] | None:
            # After a try that may have deleted it, "not found" is the outcome we wanted.
            return Done(None) if unknown and isinstance(exc, NotFoundError) else None

        await self.transport.request(
            "DELETE",
            f"{self._base}/jobs/ingest/{job_id}",
            kind="delete",
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            expect=(204, 200),
            handle=ignore,
            policy=Policy(on_error=on_error),
        )

    async def job_info(self, job_id: str) -> JobInfo:
        """The job's current info (state, records processed and failed...)."""
        return await self.transport.request(
            "GET",
            f"{self._base}/jobs/ingest/{job_id}",
            kind="job_info",
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            handle=read_job_info,
        )

    async def list_jobs(self, *, job_type: str | None = "V2Ingest") -> AsyncIterator[JobInfo]:
        """Every ingest job visible to the user, page after page (following ``nextRecordsUrl``).

        A real org's list holds every user's jobs, Bulk API 1.0 ones too, in no set order.
        """
        path: str | None = f"{self._base}/jobs/ingest"
        params: dict[str, str] | None = {"jobType": job_type} if job_type else None
        while path is not None:
            page: JsonDict = await self.transport.request(
                "GET", path, kind="job_list", safety=Safety.IDEMPOTENT, params=params, handle=read_json
            )
            for record in page.get("records") or ():
                if isinstance(record, dict):
                    yield JobInfo.parse(record)
            next_url = page.get("nextRecordsUrl")
            # The locator URL already carries every parameter; never build one ourselves.
            path = next_url if isinstance(next_url, str) and next_url and not page.get("done") else None
            params = None

    async def find_jobs(self, attempt: SubmitAttempt) -> list[JobInfo]:
        """Jobs in the job list that ``attempt`` may have created (see :meth:`SubmitAttempt.matches`)."""
        return [job async for job in self.list_jobs() if attempt.matches(job, user_id=self.user_id)]

    async def download_results(
        self, job_id: str, kind: ResultKind | str, dest: str | os.PathLike[str]
    ) -> int:
        """Stream one result CSV of a job to ``dest``; return the number of bytes written.

        The body goes to disk chunk by chunk, never whole into memory, through ``dest.part``
        renamed at the end, so ``dest`` is either absent or complete. A ``204`` (reported by
        some for an empty failedResults) gives an empty file. A gzip-encoded answer is decoded on
        the way (aiohttp asks for gzip and decodes it).

        :param kind: ``successful``, ``failed`` or ``unprocessed``.
        """
        try:
            result_kind = ResultKind(kind)
        except ValueError:
            choices = ", ".join(k.value for k in ResultKind)
            raise ValueError(f"kind must be one of {choices}, got {kind!r}") from None
        target = os.fspath(dest)
        partial = target + ".part"

        async def handle(response: aiohttp.ClientResponse) -> int:
            written = 0
            async with aiofiles.open(partial, "wb", executor=self._executor) as file:
                if response.status != 204:
                    async for chunk in response.content.iter_chunked(_CHUNK):
                        await file.write(chunk)
                        written += len(chunk)
            await aiofiles.os.replace(partial, target)
            return written

        try:
            size: int = await self.transport.request(
                "GET",
                f"{self._base}/jobs/ingest/{job_id}/{result_kind.path}",
                kind="results",
                safety=Safety.IDEMPOTENT,
                job_id=job_id,
                headers={"Accept": "text/csv"},
                expect=(200, 204),
                handle=handle,
            )
        except BaseException:
            # Leave no half-written file behind; dest itself was never touched.
            with contextlib.suppress(OSError):
                await aiofiles.os.remove(partial)
            raise
        return size

    def _learn_user(self, info: JobInfo) -> None:
        if self.user_id is None and info.created_by:
            self.user_id = info.created_by
