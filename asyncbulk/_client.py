"""A thin Bulk API 2.0 client: one method per endpoint, retries, and one error boundary.

This module is the only place in asyncbulk that catches aiohttp's exceptions; it turns them, and
Salesforce's error responses, into the exceptions of :mod:`asyncbulk._exceptions` (the way
httpx maps httpcore's errors at a single boundary). Nothing here logs or raises a credential.

Retry safety per request (see :mod:`asyncbulk._retry` for what counts as transient):

========================  ===========================================================================
request                   after a failure that may have reached the server
========================  ===========================================================================
GET (info, list, results) retried
DELETE                    retried; a 404 after such a failure means the first try deleted it
PATCH close / abort       retried; ``INVALIDJOBSTATE`` is checked against the job's state: if the job
                          is already where the PATCH wanted it, that is success
create (JSON)             retried; a possibly created orphan ``Open`` job is recorded in
                          :attr:`BulkClient.orphan_suspects` so the caller can find and abort it
PUT upload                the job is asked first: not ``Open`` any more means the data arrived;
                          "Found multiple contents" on the retry means the first upload took effect
multipart create          never repeated: :class:`AmbiguousCreateError` tells the caller what to
                          look for in the job list (the loader decides whether to adopt a job)
========================  ===========================================================================
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import os
import re
import ssl
import uuid
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import IO, Any, Literal, Self, TypeVar
from urllib.parse import quote

import aiofiles
import aiofiles.os
import aiohttp
import anyio
import orjson

from ._auth import Auth, Credentials
from ._config import ColumnDelimiter, LineEnding, Operation, RetryConfig
from ._exceptions import (
    AmbiguousSubmitError,
    ApiError,
    AuthenticationError,
    InvalidJobStateError,
    NotFoundError,
    RequestLimitError,
    TransportError,
)
from ._retry import (
    Backoff,
    Failure,
    Safety,
    classify_exception,
    classify_status,
    may_repeat,
    parse_retry_after,
)

__all__ = [
    "RESULT_PATHS",
    "AmbiguousCreateError",
    "BulkClient",
    "FileRange",
    "ResultKind",
    "SubmitAttempt",
    "UploadData",
]

logger = logging.getLogger("asyncbulk.client")

T = TypeVar("T")
JsonDict = dict[str, Any]

ResultKind = Literal["successful", "failed", "unprocessed"]
#: Result paths exactly as Salesforce documents them: camelCase, except ``unprocessedrecords``
#: which is all lower case (BG; jsforce and aiosalesforce use the same spelling).
RESULT_PATHS: dict[str, str] = {
    "successful": "successfulResults/",
    "failed": "failedResults/",
    "unprocessed": "unprocessedrecords/",
}

#: States a job can be in once ``UploadComplete`` took effect (Failed: it was closed and then failed).
_CLOSED_STATES = frozenset({"UploadComplete", "InProgress", "JobComplete", "Failed"})
_LIMIT_INFO = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class FileRange:
    """Bytes ``start`` to ``end`` (exclusive) of a file, sent after ``prefix`` (e.g. the CSV header).

    Unlike a bare async iterable, a file range can be read again, so an upload of one can be
    retried; it is streamed, never read whole into memory.
    """

    path: str | os.PathLike[str]
    start: int
    end: int
    prefix: bytes = b""
    chunk_size: int = 1 << 20

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"FileRange needs 0 <= start <= end, got {self.start}..{self.end}")

    @property
    def size(self) -> int:
        """Bytes this range sends, prefix included."""
        return len(self.prefix) + self.end - self.start

    def chunks(self, limiter: anyio.CapacityLimiter | None = None) -> _RangeStream:
        """The prefix, then the range in chunks of at most ``chunk_size`` bytes (a fresh stream).

        :param limiter: the worker threads the file reads may use (anyio's default otherwise).
        """
        return _RangeStream(self, limiter)


class _RangeStream:
    """Streams a :class:`FileRange`; closing it is safe at any moment.

    An async generator would do, but aiohttp may still be iterating it (in its writer task) when
    a dropped connection makes the request fail, and ``aclose()`` on a running generator raises.
    This stream just closes its file; a read already under way then ends the writer with an error
    nobody waits for.
    """

    def __init__(self, source: FileRange, limiter: anyio.CapacityLimiter | None = None) -> None:
        self._source = source
        self._limiter = limiter
        self._left = source.end - source.start
        self._prefix: bytes | None = source.prefix or None
        self._file: IO[bytes] | None = None
        self._closed = False

    def __aiter__(self) -> _RangeStream:
        return self

    async def __anext__(self) -> bytes:
        if self._prefix is not None:
            prefix, self._prefix = self._prefix, None
            return prefix
        if self._closed or self._left <= 0:
            await self.aclose()
            raise StopAsyncIteration
        if self._file is None:
            self._file = await anyio.to_thread.run_sync(open, self._source.path, "rb", limiter=self._limiter)
            await anyio.to_thread.run_sync(self._file.seek, self._source.start, limiter=self._limiter)
        size = min(self._source.chunk_size, self._left)
        chunk = await anyio.to_thread.run_sync(self._file.read, size, limiter=self._limiter)
        if not chunk:
            await self.aclose()
            raise OSError(f"{self._source.path}: file ended {self._left} bytes before the range did")
        self._left -= len(chunk)
        return chunk

    async def aclose(self) -> None:
        """Stop streaming and close the file (idempotent)."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None


#: What :meth:`BulkClient.upload` sends. A bare async iterable can be read once only, so its
#: upload is retried only when the connection failed before anything was sent.
UploadData = bytes | FileRange | AsyncIterable[bytes]


@dataclass(frozen=True)
class SubmitAttempt:
    """A job-creating request whose first tries failed in a way that may have created a job.

    Bulk API 2.0 jobs carry no client-chosen marker, so a job this request may have created can
    only be recognised by its settings and creation time: see :meth:`matches` and
    :meth:`BulkClient.find_jobs`. Times are the client's UTC clock; allow for clock skew.
    """

    object: str
    operation: str
    external_id_field: str | None
    column_delimiter: str
    line_ending: str
    multipart: bool
    started: datetime
    ended: datetime
    data_bytes: int = 0
    #: The job the request finally created (a JSON create that succeeded on a retry).
    job_id: str | None = None

    def matches(self, job: JsonDict, *, skew: timedelta = timedelta(minutes=5)) -> bool:
        """Whether ``job`` (a job-list record or job info) could have come from this request."""
        if job.get("id") == self.job_id and self.job_id is not None:
            return False
        if str(job.get("object", "")).lower() != self.object.lower():
            return False
        if job.get("operation") != self.operation:
            return False
        for key, want in (("columnDelimiter", self.column_delimiter), ("lineEnding", self.line_ending)):
            if key in job and job[key] != want:
                return False
        if self.external_id_field and job.get("externalIdFieldName", self.external_id_field) != (
            self.external_id_field
        ):
            return False
        # A multipart create lands in UploadComplete at once; a JSON create leaves an Open job.
        if self.multipart and job.get("state") == "Open":
            return False
        created = _parse_sf_datetime(job.get("createdDate"))
        if created is None:
            return True
        return self.started - skew <= created <= self.ended + skew


class AmbiguousCreateError(AmbiguousSubmitError):
    """A multipart create got no usable answer after it may have been sent.

    The job may exist and will then load its rows; sending again could load them twice. The
    caller decides: look for the job with :meth:`BulkClient.find_jobs` (``attempt``) and adopt it,
    or give the chunk up.
    """

    def __init__(self, attempt: SubmitAttempt, reason: str) -> None:
        self.attempt = attempt
        self.reason = reason
        super().__init__(
            f"multipart create of a {attempt.object} {attempt.operation} job ({attempt.data_bytes} bytes) "
            f"may or may not have created a job: {reason}. Not sent again, to avoid loading the rows "
            f"twice; look for a job created between {attempt.started.isoformat()} and "
            f"{attempt.ended.isoformat()}"
        )


def _parse_sf_datetime(value: object) -> datetime | None:
    """Parse Salesforce's ``2022-01-02T21:33:43.000+0000``; ``None`` if absent or unreadable."""
    if not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


@dataclass
class _Track:
    """What happened during one logical call (filled in by :meth:`BulkClient._request`)."""

    unknown: bool = False
    attempts: int = 0
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


_Resolved = tuple[T]  # a one-element tuple: "this error is really a success with this value"


class BulkClient:
    """Speaks the Bulk API 2.0 ingest endpoints over one :class:`aiohttp.ClientSession`.

    Use it as an async context manager::

        async with BulkClient(StaticToken(url, token)) as client:
            job = await client.create_job(object="Contact", operation=Operation.INSERT)

    :param auth: where tokens come from; on a 401 a refreshable auth is asked for a new token once.
    :param api_version: the REST API version, e.g. ``"66.0"``.
    :param connections: the connection pool size. Give at least the loader's job concurrency, so
        the pool is never a hidden lower limit.
    :param retry: the retry policy for transient failures.
    :param timeout: seconds to wait for the next bytes of an answer before giving up on it.
    :param connect_timeout: seconds to establish a connection.
    :param ssl_context: TLS settings (e.g. to trust the emulator's self-signed certificate).
    :param ca_file: a PEM file of CA certificates to trust, instead of ``ssl_context``.
    """

    def __init__(
        self,
        auth: Auth,
        *,
        api_version: str = "66.0",
        connections: int = 24,
        retry: RetryConfig | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        ca_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if connections <= 0:
            raise ValueError(f"connections must be a positive number, got {connections!r}")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeout and connect_timeout must be positive")
        if ssl_context is not None and ca_file is not None:
            raise ValueError("give ssl_context or ca_file, not both")
        self._auth = auth
        self.api_version = api_version.removeprefix("v")
        self._connections = connections
        self._retry = retry or RetryConfig()
        self._backoff = Backoff(self._retry)
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=timeout)
        self._ssl: ssl.SSLContext | bool = True
        if ca_file is not None:
            self._ssl = ssl.create_default_context(cafile=os.fspath(ca_file))
        elif ssl_context is not None:
            self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._refresh_lock = anyio.Lock()
        #: Worker threads for file work (upload reads here, and the loader's merges): every extra
        #: thread that allocates gets a malloc arena of its own, which showed as ~35 MB more peak
        #: memory in a million-row load. Download writes use one more, aiofiles' executor.
        self.threads = anyio.CapacityLimiter(2)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        #: Requests sent (every attempt that may have reached the server).
        self.requests_made = 0
        #: The same, by kind: create, multipart, upload, close, abort, job_info, job_list, results,
        #: delete, query, other (the emulator's stats use the same names).
        self.requests_by_kind: Counter[str] = Counter()
        #: The last ``Sforce-Limit-Info: api-usage=N/M`` seen, as ``(N, M)``.
        self.api_usage: tuple[int, int] | None = None
        #: JSON creates that succeeded only after a try that may have created an (orphan, Open) job.
        self.orphan_suspects: list[SubmitAttempt] = []

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="asyncbulk-io")
        connector = aiohttp.TCPConnector(limit=self._connections, ssl=self._ssl)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            headers={"User-Agent": "asyncbulk"},
        )
        # aiohttp silently sends GET/PUT/DELETE a second time when a reused keep-alive connection
        # turns out closed. That hidden retry would skip the upload's "ask the job first" step and
        # hide failures from the request counts, so every retry decision stays in this module.
        # (aiohttp's own TestClient switches it off the same way; there is no public option.)
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def __repr__(self) -> str:
        return (
            f"BulkClient(api_version={self.api_version!r}, connections={self._connections}, "
            f"requests_made={self.requests_made}, api_usage={self.api_usage})"
        )

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open session (only inside ``async with``)."""
        if self._session is None:
            raise RuntimeError("BulkClient is not open: use it as `async with BulkClient(...) as client`")
        return self._session

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
    ) -> JsonDict:
        """Create an empty ingest job (state ``Open``) and return its job info.

        Retried after failures that may have reached the server: an extra ``Open`` job loads
        nothing. Such cases are recorded in :attr:`orphan_suspects` so the caller can abort them.
        """
        body = _job_body(
            object, operation, external_id_field, column_delimiter, line_ending, assignment_rule_id
        )
        raw = orjson.dumps(body)
        track = _Track()
        info: JsonDict = await self._request(
            "POST",
            f"{self._base}/jobs/ingest",
            kind="create",
            safety=Safety.IDEMPOTENT,
            body=lambda: raw,
            headers={"Content-Type": "application/json"},
            handle=_json,
            track=track,
        )
        if track.unknown:
            attempt = _attempt_for(body, multipart=False, track=track, data_bytes=0, job_id=info.get("id"))
            self.orphan_suspects.append(attempt)
            logger.warning("create job: a failed try may have left an orphan Open job (%s)", attempt.object)
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
    ) -> JsonDict:
        """Create a job and upload its CSV in one request; the job starts ``UploadComplete``.

        Salesforce takes at most 100,000 characters of CSV this way.

        :raises AmbiguousCreateError: the request may have been processed but no answer came;
            it is never sent again (see the module docstring).
        """
        body = _job_body(
            object, operation, external_id_field, column_delimiter, line_ending, assignment_rule_id
        )
        job_part = orjson.dumps(body)
        boundary = uuid.uuid4().hex
        while boundary.encode() in data:  # astronomically unlikely, but a clash corrupts the body
            boundary = uuid.uuid4().hex
        payload = _multipart(boundary, job_part, data)
        track = _Track()

        def ambiguous(reason: str) -> AmbiguousCreateError:
            attempt = _attempt_for(body, multipart=True, track=track, data_bytes=len(data), job_id=None)
            return AmbiguousCreateError(attempt, reason)

        info: JsonDict = await self._request(
            "POST",
            f"{self._base}/jobs/ingest",
            kind="multipart",
            safety=Safety.ONCE,
            body=lambda: payload,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            handle=_json,
            track=track,
            ambiguous=ambiguous,
        )
        return info

    async def upload(self, job_id: str, data: UploadData, *, maybe_sent: bool = False) -> None:
        """Upload a job's CSV (``PUT .../batches``, ``text/csv``); a job takes one upload.

        After a failure that may have delivered the data, the job is asked first: if it is no
        longer ``Open`` the data arrived; if it is ``Open`` the upload is sent again, and the
        server's "Found multiple contents" answer to that is taken as "the first one arrived".

        :param maybe_sent: an earlier call (before a crash, when resuming) may already have
            uploaded this same data; "Found multiple contents" then means it did. Without it,
            that answer is an error: someone else's data is in the job.
        """
        headers = {"Content-Type": "text/csv"}
        replayable = True
        body: Callable[[], Any]
        if isinstance(data, bytes | bytearray | memoryview):
            raw = bytes(data)
            body = lambda: raw  # noqa: E731
        elif isinstance(data, FileRange):
            file_range = data
            body = functools.partial(file_range.chunks, self.threads)
            # An explicit length keeps aiohttp from switching to chunked transfer encoding.
            headers["Content-Length"] = str(file_range.size)
        else:
            stream = data
            body = lambda: stream  # noqa: E731
            replayable = False

        async def reconcile() -> _Resolved[None] | None:
            info = await self.job_info(job_id)
            state = info.get("state")
            if state == "Open":
                return None
            if state in _CLOSED_STATES:
                return (None,)
            raise InvalidJobStateError(
                409,
                "INVALIDJOBSTATE",
                f"the upload got no answer, and the job is now {state}; the data was not accepted",
                method="PUT",
                path=path,
                job_id=job_id,
            )

        async def on_error(exc: ApiError, unknown: bool) -> _Resolved[None] | None:
            if (unknown or maybe_sent) and exc.status == 400 and "multiple contents" in exc.message.lower():
                return (None,)
            return None

        path = f"{self._base}/jobs/ingest/{job_id}/batches"
        await self._request(
            "PUT",
            path,
            kind="upload",
            safety=Safety.RECONCILE,
            job_id=job_id,
            body=body,
            replayable=replayable,
            headers=headers,
            expect=(201, 200),
            handle=_ignore,
            reconcile=reconcile,
            on_error=on_error,
        )

    async def close_job(self, job_id: str) -> JsonDict:
        """Mark the upload complete (``PATCH state=UploadComplete``); processing starts.

        A job already past ``Open`` (a repeated PATCH whose first try took effect, or a resumed
        load) counts as closed: its current job info is returned.
        """
        return await self._set_state(job_id, "UploadComplete", "close", _CLOSED_STATES)

    async def abort_job(self, job_id: str) -> JsonDict:
        """Abort a job (``PATCH state=Aborted``); an already aborted job is returned as is."""
        return await self._set_state(job_id, "Aborted", "abort", frozenset({"Aborted"}))

    async def _set_state(self, job_id: str, state: str, kind: str, done: frozenset[str]) -> JsonDict:
        raw = orjson.dumps({"state": state})

        async def on_error(exc: ApiError, unknown: bool) -> _Resolved[JsonDict] | None:
            if isinstance(exc, InvalidJobStateError):
                info = await self.job_info(job_id)
                if info.get("state") in done:
                    return (info,)
            return None

        info: JsonDict = await self._request(
            "PATCH",
            f"{self._base}/jobs/ingest/{job_id}",
            kind=kind,
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            body=lambda: raw,
            headers={"Content-Type": "application/json"},
            handle=_json,
            on_error=on_error,
        )
        return info

    async def delete_job(self, job_id: str) -> None:
        """Delete a finished job with its data and results (``204``)."""

        async def on_error(exc: ApiError, unknown: bool) -> _Resolved[None] | None:
            # After a try that may have deleted it, "not found" is the outcome we wanted.
            return (None,) if unknown and isinstance(exc, NotFoundError) else None

        await self._request(
            "DELETE",
            f"{self._base}/jobs/ingest/{job_id}",
            kind="delete",
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            expect=(204, 200),
            handle=_ignore,
            on_error=on_error,
        )

    async def job_info(self, job_id: str) -> JsonDict:
        """The job's current info (state, records processed and failed...)."""
        info: JsonDict = await self._request(
            "GET",
            f"{self._base}/jobs/ingest/{job_id}",
            kind="job_info",
            safety=Safety.IDEMPOTENT,
            job_id=job_id,
            handle=_json,
        )
        return info

    async def list_jobs(self, *, job_type: str | None = "V2Ingest") -> AsyncIterator[JsonDict]:
        """Every ingest job visible to the user, page after page (following ``nextRecordsUrl``)."""
        path: str | None = f"{self._base}/jobs/ingest"
        params: dict[str, str] | None = {"jobType": job_type} if job_type else None
        while path is not None:
            page: JsonDict = await self._request(
                "GET", path, kind="job_list", safety=Safety.IDEMPOTENT, params=params, handle=_json
            )
            for record in page.get("records") or ():
                yield record
            next_url = page.get("nextRecordsUrl")
            # The locator URL already carries every parameter; never build one ourselves (BG).
            path = next_url if isinstance(next_url, str) and next_url and not page.get("done") else None
            params = None

    async def find_jobs(self, attempt: SubmitAttempt) -> list[JsonDict]:
        """Jobs in the job list that ``attempt`` may have created (see :meth:`SubmitAttempt.matches`)."""
        return [job async for job in self.list_jobs() if attempt.matches(job)]

    async def download_results(
        self, job_id: str, kind: ResultKind | str, dest: str | os.PathLike[str]
    ) -> int:
        """Stream one result CSV of a job to ``dest``; return the number of bytes written.

        The body goes to disk chunk by chunk, never whole into memory, through ``dest.part``
        renamed at the end, so ``dest`` is either absent or complete. A ``204`` (reported by
        some for an empty failedResults) gives an empty file.

        :param kind: ``successful``, ``failed`` or ``unprocessed``.
        """
        if kind not in RESULT_PATHS:
            raise ValueError(f"kind must be one of {', '.join(RESULT_PATHS)}, got {kind!r}")
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
            size: int = await self._request(
                "GET",
                f"{self._base}/jobs/ingest/{job_id}/{RESULT_PATHS[kind]}",
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

    # -- other REST resources ------------------------------------------------------------------

    async def query(self, soql: str) -> JsonDict:
        """Run a SOQL query through the REST query resource; returns the first page as is."""
        result: JsonDict = await self._request(
            "GET",
            f"{self._base}/query",
            kind="query",
            safety=Safety.IDEMPOTENT,
            params={"q": soql},
            handle=_json,
        )
        return result

    async def limits(self) -> JsonDict:
        """The org's limits (``GET /limits``): daily API requests, Bulk batches and more."""
        result: JsonDict = await self._request(
            "GET", f"{self._base}/limits", kind="other", safety=Safety.IDEMPOTENT, handle=_json
        )
        return result

    async def describe(self, object_name: str) -> JsonDict:
        """Describe an sObject (``GET /sobjects/{object}/describe``)."""
        result: JsonDict = await self._request(
            "GET",
            f"{self._base}/sobjects/{quote(object_name, safe='')}/describe",
            kind="other",
            safety=Safety.IDEMPOTENT,
            handle=_json,
        )
        return result

    # -- the one request loop ------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        safety: Safety,
        handle: Callable[[aiohttp.ClientResponse], Awaitable[T]],
        job_id: str | None = None,
        params: dict[str, str] | None = None,
        body: Callable[[], Any] | None = None,
        replayable: bool = True,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        track: _Track | None = None,
        reconcile: Callable[[], Awaitable[_Resolved[T] | None]] | None = None,
        on_error: Callable[[ApiError, bool], Awaitable[_Resolved[T] | None]] | None = None,
        ambiguous: Callable[[str], AmbiguousSubmitError] | None = None,
    ) -> T:
        """Send one logical request, retrying per its safety; map every failure to our exceptions.

        :param path: a path starting with ``/services/`` (or an absolute URL from the server).
        :param handle: reads a successful response (status in ``expect``) into the result.
        :param body: makes a fresh request body for each attempt.
        :param reconcile: for :attr:`Safety.RECONCILE`: asks the server before a repeat; a value
            means "done".
        :param on_error: may turn a permanent error into a success (``bool``: an earlier try may
            have taken effect).
        :param ambiguous: for :attr:`Safety.ONCE`: builds the error raised instead of a repeat.
        """
        session = self.session
        track = track or _Track()
        budget = self._backoff.start()
        refreshed = False
        shown = path.split("?", 1)[0]
        while True:
            credentials = await self._credentials()
            url = path if path.startswith(("http://", "https://")) else credentials.instance_url + path
            request_headers = {
                "Authorization": f"Bearer {credentials.access_token}",
                "Accept": "application/json",
            }
            request_headers.update(headers or {})
            track.attempts += 1
            retry_after = 0.0
            usage_now: tuple[int, int] | None = None
            error: Exception
            payload = body() if body is not None else None
            try:
                async with session.request(
                    method, url, params=params, data=payload, headers=request_headers
                ) as response:
                    self._count(kind)
                    self._note_limits(response)
                    logger.debug("%s %s -> %d (try %d)", method, shown, response.status, track.attempts)
                    if response.status in expect:
                        return await handle(response)
                    api_error = await _api_error(response, method, shown, job_id)
                    usage_now = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = classify_exception(exc)
                if failure is not Failure.NOT_SENT:
                    self._count(kind)
                error = _transport_error(exc, method, shown, job_id, self._timeout)
                logger.debug("%s %s -> %s (try %d)", method, shown, type(exc).__name__, track.attempts)
                if failure is None:
                    raise error from exc
                cause: BaseException | None = exc
            else:
                if isinstance(api_error, AuthenticationError):
                    if self._auth.refreshable and not refreshed:
                        # 401 means "not processed", so any request may be repeated once.
                        refreshed = True
                        await self._refresh(credentials)
                        continue
                    raise api_error
                failure = classify_status(
                    api_error.status, api_error.error_code, api_error.message, usage_now
                )
                if failure is None:
                    if on_error is not None:
                        resolved = await on_error(api_error, track.unknown)
                        if resolved is not None:
                            return resolved[0]
                    raise api_error
                error, cause = api_error, None
            finally:
                # A streamed body abandoned mid-way (dropped connection) would keep its file open
                # until garbage collection; close it now. A retry makes a fresh one.
                aclose = getattr(payload, "aclose", None)
                if aclose is not None:
                    await aclose()

            if failure is Failure.UNKNOWN:
                track.unknown = True
            if not may_repeat(safety, failure):
                if safety is Safety.ONCE:
                    if ambiguous is None:  # pragma: no cover - every ONCE caller passes one
                        raise error from cause
                    raise ambiguous(str(error)) from cause
                # Safety.RECONCILE: ask the server whether the first try took effect.
                if reconcile is not None:
                    done = await reconcile()
                    if done is not None:
                        return done[0]
            if not replayable and failure is not Failure.NOT_SENT:
                raise TransportError(f"{error} (the upload stream cannot be sent twice)") from cause
            if not await budget.wait(at_least=retry_after):
                if isinstance(error, TransportError):
                    error = TransportError(
                        f"{error} (gave up after {budget.attempts} tries in {budget.elapsed:.1f}s)"
                    )
                raise error from cause
            logger.info("%s %s: %s; trying again (try %d)", method, shown, failure.value, budget.attempts)

    async def _credentials(self) -> Credentials:
        try:
            return await self._auth.token(self.session)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(f"could not get an access token: {type(exc).__name__}: {exc}") from exc

    async def _refresh(self, stale: Credentials) -> None:
        """Get a new token once, however many requests saw the old one expire at the same time."""
        async with self._refresh_lock:
            current = await self._credentials()
            if current.access_token != stale.access_token:
                return  # another request refreshed it meanwhile
            try:
                # ``stale`` lets a single-flight auth skip the refresh if someone else did it.
                await self._auth.token(self.session, force_refresh=True, stale=stale)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransportError(
                    f"could not refresh the access token: {type(exc).__name__}: {exc}"
                ) from exc

    def _count(self, kind: str) -> None:
        self.requests_made += 1
        self.requests_by_kind[kind] += 1

    def _note_limits(self, response: aiohttp.ClientResponse) -> None:
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.api_usage = usage


def parse_limit_info(value: str | None) -> tuple[int, int] | None:
    """``(used, max)`` from a ``Sforce-Limit-Info`` header such as ``api-usage=25/15000``.

    Other parts (``api-bursts=1/750``, ``per-app-api-usage=17/250(appName=...)``, LIMHDR) are
    ignored; ``per-app-api-usage`` is not mistaken for ``api-usage``.
    """
    if not value:
        return None
    match = _LIMIT_INFO.search(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


# -- helpers --------------------------------------------------------------------------------------


def _job_body(
    object_name: str,
    operation: Operation | str,
    external_id_field: str | None,
    column_delimiter: ColumnDelimiter | str,
    line_ending: LineEnding | str,
    assignment_rule_id: str | None,
) -> JsonDict:
    op = Operation.parse(operation)
    body: JsonDict = {
        "object": object_name,
        "contentType": "CSV",
        "operation": op.value,
        "lineEnding": LineEnding.parse(line_ending).value,
        "columnDelimiter": ColumnDelimiter.parse(column_delimiter).value,
    }
    if external_id_field:
        body["externalIdFieldName"] = external_id_field
    elif op is Operation.UPSERT:
        raise ValueError("external_id_field is required for upsert")
    if assignment_rule_id:
        body["assignmentRuleId"] = assignment_rule_id
    return body


def _multipart(boundary: str, job: bytes, data: bytes) -> bytes:
    """The multipart body exactly as the Bulk API 2.0 docs show it (job part, then content part)."""
    b = boundary.encode()
    return b"".join(
        (
            b"--" + b + b"\r\n",
            b"Content-Type: application/json\r\n",
            b'Content-Disposition: form-data; name="job"\r\n\r\n',
            job,
            b"\r\n--" + b + b"\r\n",
            b"Content-Type: text/csv\r\n",
            b'Content-Disposition: form-data; name="content"; filename="content"\r\n\r\n',
            data,
            b"\r\n--" + b + b"--\r\n",
        )
    )


def _attempt_for(
    body: JsonDict, *, multipart: bool, track: _Track, data_bytes: int, job_id: str | None
) -> SubmitAttempt:
    return SubmitAttempt(
        object=body["object"],
        operation=body["operation"],
        external_id_field=body.get("externalIdFieldName"),
        column_delimiter=body["columnDelimiter"],
        line_ending=body["lineEnding"],
        multipart=multipart,
        started=track.started,
        ended=datetime.now(UTC),
        data_bytes=data_bytes,
        job_id=job_id,
    )


async def _json(response: aiohttp.ClientResponse) -> JsonDict:
    raw = await response.read()
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(
            response.status,
            "INVALID_RESPONSE",
            f"expected JSON, got {response.content_type}: {_snippet(raw)}",
            method=response.method,
            path=response.url.path,
        ) from None
    if not isinstance(value, dict):
        raise ApiError(
            response.status,
            "INVALID_RESPONSE",
            f"expected a JSON object, got {type(value).__name__}",
            method=response.method,
            path=response.url.path,
        )
    return value


async def _ignore(response: aiohttp.ClientResponse) -> None:
    await response.read()


def _snippet(raw: bytes, limit: int = 300) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."


async def _api_error(
    response: aiohttp.ClientResponse, method: str, path: str, job_id: str | None
) -> ApiError:
    """Map an error response to the most specific :class:`ApiError`, with the server's own text."""
    status = response.status
    raw = await response.read()
    code: str | None = None
    message = ""
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    # Salesforce: a JSON array of {"errorCode", "message"[, "fields"]} (BG, RESTERR); the OAuth
    # endpoint and some gateways use {"error", "error_description"}.
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        code = str(body[0].get("errorCode") or "") or None
        message = "; ".join(str(item.get("message", "")) for item in body if item.get("message"))
    elif isinstance(body, dict):
        code = str(body.get("errorCode") or body.get("error") or "") or None
        message = str(body.get("message") or body.get("error_description") or "")
    if not message:
        message = _snippet(raw) if raw else (response.reason or "no error text")
    cls: type[ApiError] = ApiError
    if status == 401 or code == "INVALID_SESSION_ID":
        cls = AuthenticationError
        message = (
            f"{message} -- the access token expired or is invalid; get a new token, or use a "
            "refreshable auth method (JWT bearer, client credentials, refresh token)"
        )
    elif code == "REQUEST_LIMIT_EXCEEDED":
        cls = RequestLimitError
        if "concurrent" not in message.lower():
            message = (
                f"{message} -- the org's API request allocation for the rolling 24 hours is used up; "
                "wait for it to recover or ask Salesforce for a higher limit"
            )
    elif status == 404 or code == "NOT_FOUND":
        cls = NotFoundError
    elif code is not None and code.replace("_", "").upper() == "INVALIDJOBSTATE":
        cls = InvalidJobStateError
    return cls(status, code, message, method=method, path=path, job_id=job_id)


def _transport_error(
    exc: BaseException, method: str, path: str, job_id: str | None, timeout: aiohttp.ClientTimeout
) -> TransportError:
    where = f"{method} {path}" + (f" (job {job_id})" if job_id else "")
    if isinstance(exc, aiohttp.ClientSSLError):
        what = f"TLS failed: {exc}; pass ca_file= or ssl_context= to trust the server's certificate"
    elif isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        what = f"could not connect: {exc}"
    elif isinstance(exc, TimeoutError):
        what = f"no answer within {timeout.sock_read}s"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        what = "the server closed the connection without answering"
    else:
        what = f"{type(exc).__name__}: {exc}"
    return TransportError(f"{where}: {what}")
