"""``load()``: wire read, split, submit, poll, fetch and merge into one streaming pipeline.

The data flow, one module per stage::

    _split (layout, structural pass, chunk plan) -> submit (here: multipart or create/upload/close,
    under a capacity limiter) -> _poll (one loop for every job) -> _client.download_results (to
    disk) -> _results (map rows back to input records, merge) -> summary.json, journal.jsonl

Memory: a chunk's bytes live only while it is uploaded; results stream to disk and are merged
from there; the merge keeps hashes of one chunk's rows. Nothing grows with the file.
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
import os
import signal
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import anyio
import orjson

from . import _split
from ._auth import Auth, StaticToken
from ._client import AmbiguousCreateError, BulkClient, FileRange, SubmitAttempt
from ._config import (
    RECORDS_PER_BATCH,
    ChunkConfig,
    ColumnDelimiter,
    ConcurrencyConfig,
    LineEnding,
    Operation,
    PollConfig,
    RetryConfig,
)
from ._exceptions import (
    AccountingError,
    ApiError,
    AsyncBulkError,
    InputError,
    NotFoundError,
    ResumeError,
)
from ._journal import Journal, file_identity
from ._poll import TERMINAL_STATES, Poller
from ._progress import ProgressCallback, ProgressTracker
from ._results import (
    MergeCounts,
    Normalizer,
    ResultMerger,
    RetryRow,
    RowIndex,
    iter_range_rows,
    parse_chunk,
)
from ._types import JobReport, LoadResult

__all__ = ["Connection", "load"]

Rows = Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]
Source = str | os.PathLike[str] | Rows

_WORK_DIR = ".asyncbulk"
T = TypeVar("T")

#: ``errorMessage`` prefixes of jobs that failed for a passing reason (Bulk exception codes, BG
#: Errors): their unprocessed rows are sent again. "InvalidBatch : Field name not found" and other
#: data or setup errors would only fail again, so their rows are reported as unprocessed.
_TRANSIENT_JOB_ERRORS = ("InternalServerError", "TooManyLockFailure", "Timeout", "Unknown")


@dataclass(frozen=True, kw_only=True)
class _Options:
    object: str
    operation: Operation
    external_id_field: str | None
    column_delimiter: ColumnDelimiter
    line_ending: LineEnding | None
    encoding: str
    chunks: ChunkConfig
    poll: PollConfig
    retry: RetryConfig

    def journal_view(self) -> dict[str, Any]:
        """The options that must not change between a load and its resume."""
        return {
            "object": self.object,
            "operation": self.operation.value,
            "external_id_field": self.external_id_field,
            "column_delimiter": self.column_delimiter.value,
            "line_ending": self.line_ending.value if self.line_ending else None,
            "encoding": self.encoding,
            "max_records": self.chunks.max_records,
            "max_bytes": self.chunks.max_bytes,
            "multipart_max_chars": self.chunks.multipart_max_chars,
        }


@dataclass(eq=False)
class _Input:
    """A UTF-8 CSV file on disk and the record numbers of its rows."""

    path: Path
    layout: _split.CsvLayout
    round: int = 0
    #: Record numbers (in the user's input) of this file's rows; ``None``: row i is record i.
    records: Sequence[int] | None = None

    def record_numbers(self, chunk: _split.Chunk) -> Sequence[int]:
        first = chunk.first_record - 1
        if self.records is None:
            return range(chunk.first_record, chunk.first_record + chunk.records)
        return self.records[first : first + chunk.records]


@dataclass(eq=False)
class _Job:
    """One chunk on its way through the pipeline."""

    source: _Input
    chunk: _split.Chunk
    job_id: str | None = None
    state: str = "Pending"
    submit: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    counts: MergeCounts | None = None
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0
    #: Which progress counter the job is counted in: "", "queued", "in_progress" or "done".
    bucket: str = ""
    #: Its records were counted as read (and uploaded) already.
    counted_read: bool = False
    counted_uploaded: bool = False


class Connection:
    """A long-lived connection to one org: one HTTP session for many loads.

    ::

        async with asyncbulk.Connection(instance_url=url, access_token=token) as sf:
            accounts = await sf.load("accounts.csv", object="Account", operation="insert")
            contacts = await sf.load("contacts.csv", object="Contact", operation="insert")

    :param instance_url: / access_token: a token obtained elsewhere; or
    :param auth: an auth object (:class:`asyncbulk.JwtBearer`, :class:`asyncbulk.SfCli`...), which
        can refresh an expired token.
    :param api_version: the REST API version, e.g. ``"66.0"``.
    :param concurrency: jobs in flight (an int, or a :class:`ConcurrencyConfig`).
    :param retry: retries of transient failures.
    :param ca_file: a CA bundle to trust (a local TLS emulator); the system store otherwise.
    """

    def __init__(
        self,
        *,
        instance_url: str | None = None,
        access_token: str | None = None,
        auth: Auth | None = None,
        api_version: str = "66.0",
        concurrency: int | ConcurrencyConfig | None = None,
        retry: RetryConfig | None = None,
        ca_file: str | None = None,
    ) -> None:
        if auth is None:
            if not instance_url or not access_token:
                raise ValueError("give auth=, or both instance_url= and access_token=")
            auth = StaticToken(instance_url, access_token)
        elif instance_url or access_token:
            raise ValueError("give either auth= or instance_url=/access_token=, not both")
        if isinstance(concurrency, int):
            concurrency = ConcurrencyConfig(max_concurrent_jobs=concurrency)
        self.concurrency = concurrency or ConcurrencyConfig()
        self.retry = retry or RetryConfig()
        self.client = BulkClient(
            auth,
            api_version=api_version,
            connections=self.concurrency.connections,
            retry=self.retry,
            ca_file=ca_file,
        )

    async def __aenter__(self) -> Connection:
        await self.client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.__aexit__(exc_type, exc, tb)

    async def load(
        self,
        source: Source,
        *,
        object: str,
        operation: str | Operation,
        out_dir: str | os.PathLike[str] = "asyncbulk-results",
        external_id_field: str | None = None,
        column_delimiter: str | ColumnDelimiter = ColumnDelimiter.COMMA,
        line_ending: str | LineEnding | None = None,
        encoding: str = "utf-8",
        chunks: ChunkConfig | None = None,
        poll: PollConfig | None = None,
        progress: ProgressCallback | None = None,
        resume: bool = False,
    ) -> LoadResult:
        """Load ``source`` into ``object``; see :func:`asyncbulk.load` for every parameter."""
        options = _make_options(
            object=object,
            operation=operation,
            external_id_field=external_id_field,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
            encoding=encoding,
            chunks=chunks,
            poll=poll,
            retry=self.retry,
        )
        run = _Load(self, source, options, Path(out_dir), ProgressTracker(progress), resume=resume)
        return await run.run()


def _make_options(
    *,
    object: str,
    operation: str | Operation,
    external_id_field: str | None,
    column_delimiter: str | ColumnDelimiter,
    line_ending: str | LineEnding | None,
    encoding: str,
    chunks: ChunkConfig | None,
    poll: PollConfig | None,
    retry: RetryConfig,
) -> _Options:
    if not isinstance(object, str) or not object.strip():
        raise ValueError(f"object: give an sObject name such as 'Contact', got {object!r}")
    op = Operation.parse(operation)
    if op is Operation.UPSERT and not external_id_field:
        raise ValueError(
            "external_id_field: upsert needs the external id field (e.g. 'External_Id__c' or 'Id')"
        )
    if op is not Operation.UPSERT and external_id_field:
        raise ValueError(f"external_id_field: only upsert takes an external id field, not {op.value}")
    try:
        "".encode(encoding)
    except LookupError:
        raise ValueError(f"encoding: unknown encoding {encoding!r}") from None
    return _Options(
        object=object.strip(),
        operation=op,
        external_id_field=external_id_field,
        column_delimiter=ColumnDelimiter.parse(column_delimiter),
        line_ending=None if line_ending is None else LineEnding.parse(line_ending),
        encoding=encoding,
        chunks=chunks or ChunkConfig(),
        poll=poll or PollConfig(),
        retry=retry,
    )


class _Load:
    """One run of a load (internal; :meth:`Connection.load` builds and runs it)."""

    def __init__(
        self,
        connection: Connection,
        source: Source,
        options: _Options,
        out_dir: Path,
        progress: ProgressTracker,
        *,
        resume: bool,
    ) -> None:
        self.client = connection.client
        self.source = source
        self.options = options
        self.out_dir = out_dir
        self.work_dir = out_dir / _WORK_DIR
        self.progress = progress
        self.resume = resume
        self.limiter = anyio.CapacityLimiter(connection.concurrency.max_concurrent_jobs)
        self.merge_lock = anyio.Lock()
        # File work shares the client's few worker threads (see BulkClient.threads).
        self._threads = connection.client.threads
        self.adopt_lock = anyio.Lock()
        self.jobs: list[_Job] = []
        self._by_id: dict[str, _Job] = {}
        #: Failed rows held back for a retry round, by the round whose jobs they failed in.
        self.held: dict[int, list[RetryRow]] = {}
        #: What the journal of an interrupted run says, by (round, chunk) and by round.
        self.known: dict[tuple[int, int], dict[str, Any]] = {}
        self.known_rounds: dict[int, dict[str, Any]] = {}
        self.started = time.monotonic()
        self.requests_at_start = 0
        self.journal: Journal | None = None
        self.merger: ResultMerger | None = None
        self.normalizer: Normalizer | None = None
        self.records_total = 0
        self.notes: list[str] = []
        self.poller = Poller(self.client, options.poll, self._on_job_update)

    async def _thread(self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking ``func`` in one of this load's worker threads."""
        return await anyio.to_thread.run_sync(func, *args, limiter=self._threads)

    # -- the whole run -------------------------------------------------------------------------------

    async def run(self) -> LoadResult:
        self.requests_at_start = self.client.requests_made
        await self._thread(lambda: self.work_dir.mkdir(parents=True, exist_ok=True))
        main = await self._prepare_input()
        plan = await self._plan(main)
        await self._check_object()
        self.merger = ResultMerger(
            self.out_dir,
            columns=main.layout.columns,
            delimiter=main.layout.delimiter.decode(),
            line_terminator=main.layout.line_ending.chars,
        )
        await self._open_journal(main, plan)
        cancelled = False
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.poller.run)
                await self._run_jobs(main, plan)
                await self._retry_rounds(main)
                self.poller.close()
        except BaseException as exc:
            error = _first_error(exc)
            cancelled = isinstance(error, anyio.get_cancelled_exc_class())
            with anyio.CancelScope(shield=True):
                await self._cleanup(cancelled=cancelled)
                await self._finish(cancelled=cancelled, error=error)
            if error is exc:
                raise
            # One clear error, not an exception group: the first failure stopped the load; the
            # others it caused are cancellations or repeats of it.
            raise error from None
        return await self._finish(cancelled=False, error=None)

    # -- input ---------------------------------------------------------------------------------------

    async def _prepare_input(self) -> _Input:
        """A UTF-8 file to split: the user's own, a transcoded copy, or the rows serialised."""
        opts = self.options
        source = self.source
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if not await self._thread(path.is_file):
                exists = await self._thread(path.exists)
                raise InputError("not a file" if exists else "no such file", path=str(path))
            if opts.encoding.replace("_", "-").lower() not in ("utf-8", "utf8", "utf-8-sig"):
                dest = self.work_dir / "input.utf8.csv"
                await self._thread(_split.transcode_to_utf8, path, dest, opts.encoding)
                path = dest
        else:
            path = self.work_dir / "input.csv"
            await _split.rows_to_csv(
                source,
                path,
                delimiter=opts.column_delimiter,
                line_ending=opts.line_ending or LineEnding.LF,
            )
        layout = await self._thread(
            lambda: _split.inspect_layout(path, delimiter=opts.column_delimiter, line_ending=opts.line_ending)
        )
        return _Input(path, layout)

    async def _plan(self, main: _Input) -> list[_split.Chunk]:
        """The structural pass and the chunk plan, in one read of the file, before any job exists."""
        opts = self.options
        self._check_columns(main)
        split = await self._thread(
            lambda: _split.split(
                main.path, main.layout, max_records=opts.chunks.max_records, max_bytes=opts.chunks.max_bytes
            )
        )
        _crash_point("planned")
        if split.report.records == 0:
            raise InputError(
                "the file has a header line but no records: nothing to load", path=self._where(main)
            )
        self.records_total = split.report.records
        self.progress.set(records_total=split.report.records, chunks_total=len(split.chunks))
        await self.progress.emit("validated")
        return list(split.chunks)

    def _where(self, main: _Input) -> str:
        """The file name to show the user: theirs, not a transcoded copy."""
        return str(self.source) if isinstance(self.source, str | os.PathLike) else str(main.path)

    def _check_columns(self, main: _Input) -> None:
        opts = self.options
        columns = {c.lower() for c in main.layout.columns}
        where = self._where(main)
        if opts.operation is Operation.UPSERT:
            assert opts.external_id_field is not None
            if opts.external_id_field.lower() not in columns:
                raise InputError(
                    f"upsert on {opts.external_id_field!r} needs a column {opts.external_id_field!r}; "
                    f"the header has {', '.join(main.layout.columns)}",
                    path=where,
                    line=1,
                )
        if (
            opts.operation in (Operation.UPDATE, Operation.DELETE, Operation.HARD_DELETE)
            and "id" not in columns
        ):
            raise InputError(
                f"{opts.operation.value} needs an 'Id' column; "
                f"the header has {', '.join(main.layout.columns)}",
                path=where,
                line=1,
            )

    async def _check_object(self) -> None:
        """One describe call: the object exists (a clear error before any job), and its field types."""
        try:
            described = await self.client.describe(self.options.object)
        except NotFoundError:
            raise ValueError(
                f"object: {self.options.object!r} is not an sObject this org knows (describe said NOT_FOUND)"
            ) from None
        except ApiError as exc:
            # Not fatal: without types, re-rendered values are matched as text only.
            self.notes.append(
                f"describe {self.options.object} failed ({exc.message}); matching results as text"
            )
            described = {}
        types = {str(f["name"]).lower(): str(f["type"]) for f in described.get("fields", ())}
        self._field_types = types

    # -- journal -------------------------------------------------------------------------------------

    async def _open_journal(self, main: _Input, plan: list[_split.Chunk]) -> None:
        """Start the journal; or, resuming, check it against the input and options and read it."""
        # The user's own file identifies the input, not a transcoded copy (rewritten on every run);
        # rows from an iterable are identified by the whole serialised content.
        if isinstance(self.source, str | os.PathLike):
            identity = await self._thread(file_identity, Path(self.source))
        else:
            identity = await self._thread(functools.partial(file_identity, main.path, whole=True))
        options = self.options.journal_view()
        header = {"input": identity, "options": options, "chunks": len(plan)}
        assert self.merger is not None
        merger = self.merger
        self.normalizer = Normalizer(main.layout.columns, self._field_types)
        if not self.resume:
            self.journal = await self._thread(Journal.create, self.out_dir, header)
            await self._thread(merger.open)
            return
        events = await self._thread(Journal.read, self.out_dir)
        start = events[0]
        if start.get("input") != identity:
            raise ResumeError(
                f"{self._where(main)}: the input file changed since the load began (size, time or "
                "content); resuming would mix two inputs: start a new load in a new out_dir"
            )
        if start.get("options") != options:
            changed = sorted(k for k, v in options.items() if start["options"].get(k) != v)
            raise ResumeError(f"the options changed since the load began: {', '.join(changed)}")
        sizes: dict[str, int] = {}
        for event in events[1:]:
            kind = event.get("event")
            if kind == "round":
                self.known_rounds[int(event["round"])] = event
                continue
            if "chunk" not in event:
                continue
            key = (int(event.get("round", 0)), int(event["chunk"]))
            state = self.known.setdefault(key, {})
            state.update({k: v for k, v in event.items() if v is not None})
            state.setdefault("seen", []).append(kind)
            if kind == "merged":
                sizes = event["sizes"]
                held = [RetryRow(int(r), list(v), str(e)) for r, v, e in event.get("held", ())]
                self.held.setdefault(key[0], []).extend(held)
        self.journal = Journal(self.out_dir / "journal.jsonl")
        # Rows a crash left in the merged files after the last recorded merge are cut off here;
        # their job is merged again below, so nothing is lost and nothing is written twice.
        await self._thread(lambda: merger.open(sizes=sizes))
        await self._log_plain({"event": "resumed", "t": time.time()})

    async def _log_plain(self, record: dict[str, Any]) -> None:
        if self.journal is not None:
            await self._thread(self.journal.write, record)

    async def _log(self, event: str, job: _Job, **extra: Any) -> None:
        if self.journal is None:
            return
        record = {
            "event": event,
            "chunk": job.chunk.index,
            "round": job.source.round,
            "job_id": job.job_id,
            "t": time.time(),
            **extra,
        }
        await self._thread(self.journal.write, record)

    # -- jobs ----------------------------------------------------------------------------------------

    async def _run_jobs(self, source: _Input, plan: Sequence[_split.Chunk]) -> None:
        async with anyio.create_task_group() as tg:
            for chunk in plan:
                job = _Job(source, chunk)
                self.jobs.append(job)
                previous = self.known.get((source.round, chunk.index), {})
                if "merged" in previous.get("seen", ()):
                    job.job_id = previous.get("job_id")
                    job.state = previous.get("state", "JobComplete")
                    job.submit = previous.get("mode", "")
                    job.counts = MergeCounts(**previous.get("counts", {}))
                    processed = job.counts.succeeded + job.counts.failed
                    self.progress.update(
                        jobs_created=1,
                        records_merged=job.counts.total,
                        records_processed=processed if source.round == 0 else 0,
                        records_failed=job.counts.failed if source.round == 0 else 0,
                    )
                    self._count_uploaded(job)
                    self._move(job, "done")
                    continue
                # Acquire here, not in the task: the reader reads ahead only as far as the bound.
                await self.limiter.acquire_on_behalf_of(job)
                tg.start_soon(self._run_job, job, previous)

    async def _run_job(self, job: _Job, previous: dict[str, Any]) -> None:
        try:
            job.started = time.monotonic()
            if previous:
                await self._reattach(job, previous)
            else:
                await self._submit(job)
            if job.job_id is None:
                return
            self._by_id[job.job_id] = job
            watch = self.poller.watch(job.job_id, job.chunk.records)
            job.info = await self.poller.wait(watch)
            job.state = str(job.info.get("state"))
            if previous and job.state == "Aborted" and not int(job.info.get("numberRecordsProcessed") or 0):
                # Aborted before it processed anything (a cancelled run aborts its queued jobs):
                # none of its rows were loaded, so the resumed run sends them again.
                self.notes.append(
                    f"chunk {job.chunk.index}: job {job.job_id} was aborted unprocessed; sent again"
                )
                job.job_id = None
                await self._submit(job)
                if job.job_id is None:
                    return
                self._by_id[job.job_id] = job
                job.info = await self.poller.wait(self.poller.watch(job.job_id, job.chunk.records))
                job.state = str(job.info.get("state"))
            job.finished = time.monotonic()
            await self._collect(job)
        finally:
            self.limiter.release_on_behalf_of(job)

    async def _reattach(self, job: _Job, previous: dict[str, Any]) -> None:
        """Pick up a chunk an interrupted run had begun, without ever sending its rows twice."""
        seen = previous.get("seen", ())
        job.submit = previous.get("mode", "")
        job.job_id = previous.get("job_id")
        if job.job_id is not None:
            self.progress.update(jobs_created=1)
            self._count_read(job)
            if job.submit == "create-upload-close" and "uploaded" not in seen:
                await self._finish_submit(job)
            else:
                self._count_uploaded(job)
                self._move(job, "queued")
            return
        if "undetermined" in seen:
            job.state = "Undetermined"
            job.error = previous.get("error")
            return
        since = float(previous.get("since") or time.time())
        attempt = SubmitAttempt(
            object=self.options.object,
            operation=self.options.operation.value,
            external_id_field=self.options.external_id_field,
            column_delimiter=self.options.column_delimiter.value,
            line_ending=job.source.layout.line_ending.value,
            multipart=job.submit == "multipart",
            started=datetime.fromtimestamp(since, UTC),
            ended=datetime.now(UTC),
        )
        if job.submit == "create-upload-close":
            # The crash came between sending a create and recording its job: an Open job may be
            # left over. It can never load anything; abort it so it does not linger for 24 hours.
            owned = {j.job_id for j in self.jobs if j.job_id}
            for orphan in await self.client.find_jobs(attempt):
                if orphan.get("state") == "Open" and orphan.get("id") not in owned:
                    await self.client.abort_job(str(orphan["id"]))
                    self.notes.append(f"chunk {job.chunk.index}: aborted orphan Open job {orphan['id']}")
            await self._submit(job)
            return
        # A multipart create was sent and the crash came before its reply was recorded: the
        # job may exist and load the rows. Adopt it if it can be told apart; never send blindly.
        info = await self._adopt_or_resend(job, self._job_spec(job), None, attempt)
        if info is not None:
            await self._created_multipart(job, info)

    async def _read(self, job: _Job) -> bytes:
        return await self._thread(_split.read_chunk, job.source.path, job.source.layout, job.chunk)

    def _job_spec(self, job: _Job) -> dict[str, Any]:
        layout = job.source.layout
        return {
            "object": self.options.object,
            "operation": self.options.operation.value,
            "external_id_field": self.options.external_id_field,
            "column_delimiter": self.options.column_delimiter.value,
            "line_ending": layout.line_ending.value,
        }

    def _file_range(self, job: _Job) -> FileRange:
        return FileRange(
            job.source.path, job.chunk.start, job.chunk.end, prefix=job.source.layout.header_line
        )

    async def _submit(self, job: _Job) -> None:
        self._count_read(job)
        await self.progress.emit("chunk_read", chunk=job.chunk.index)
        limit = self.options.chunks.multipart_max_chars
        spec = self._job_spec(job)
        upload_size = self._file_range(job).size
        # Characters, not bytes, count for the multipart limit; a chunk of more than 4 bytes per
        # allowed character cannot qualify, so only small chunks are read to count them.
        data = await self._read(job) if upload_size <= 4 * limit else None
        if data is not None and len(data.decode("utf-8")) <= limit:
            job.submit = "multipart"
            await self._log("submitting", job, mode="multipart", since=time.time() - 1)
            info = await self._create_multipart(job, spec, data)
            if info is not None:
                await self._created_multipart(job, info)
            return
        del data
        job.submit = "create-upload-close"
        await self._log("submitting", job, mode="create-upload-close", since=time.time() - 1)
        info = await self.client.create_job(**spec)
        _crash_point("create_sent")
        job.job_id = str(info["id"])
        job.state = "Open"
        await self._log("created", job, mode="create-upload-close")
        self.progress.update(jobs_created=1)
        await self.progress.emit("job_created", chunk=job.chunk.index, job_id=job.job_id)
        await self._upload_and_close(job, maybe_sent=False)

    async def _finish_submit(self, job: _Job) -> None:
        """Resume a create/upload/close that a crash cut short: ask the job where it is."""
        assert job.job_id is not None
        info = await self.client.job_info(job.job_id)
        job.submit = "create-upload-close"
        if info.get("state") == "Open":
            # The crash may have come after the upload reached the server: a second upload is
            # then refused ("Found multiple contents"), which maybe_sent takes as done.
            await self._upload_and_close(job, maybe_sent=True)

    async def _upload_and_close(self, job: _Job, *, maybe_sent: bool) -> None:
        assert job.job_id is not None
        await self.client.upload(job.job_id, self._file_range(job), maybe_sent=maybe_sent)
        _crash_point("uploaded")
        await self.client.close_job(job.job_id)
        job.state = "UploadComplete"
        await self._log("uploaded", job)
        self._count_uploaded(job)
        self._move(job, "queued")
        await self.progress.emit("job_uploaded", chunk=job.chunk.index, job_id=job.job_id)

    async def _created_multipart(self, job: _Job, info: dict[str, Any]) -> None:
        job.job_id = str(info["id"])
        job.state = str(info.get("state", "UploadComplete"))
        await self._log("created", job, mode="multipart", uploaded=True)
        self.progress.update(jobs_created=1)
        self._count_uploaded(job)
        self._move(job, "queued")
        await self.progress.emit("job_created", chunk=job.chunk.index, job_id=job.job_id)
        await self.progress.emit("job_uploaded", chunk=job.chunk.index, job_id=job.job_id)

    async def _create_multipart(self, job: _Job, spec: dict[str, Any], data: bytes) -> dict[str, Any] | None:
        """Create and upload in one request, never risking a second job for the same rows."""
        try:
            info = await self.client.create_job_multipart(**spec, data=data)
        except AmbiguousCreateError as exc:
            await self.progress.emit("retry", chunk=job.chunk.index, message="multipart create reply lost")
            return await self._adopt_or_resend(job, spec, data, exc.attempt)
        _crash_point("create_sent")
        return info

    async def _adopt_or_resend(
        self, job: _Job, spec: dict[str, Any], data: bytes | None, attempt: SubmitAttempt
    ) -> dict[str, Any] | None:
        """After a multipart create whose reply was lost: adopt the job it made, or send again.

        The lost request may have created a job that will load the rows. Look for it in the job
        list: a job with this chunk's settings, created in the request's time window, that no
        chunk of this load owns. One such job is adopted. None: nothing was created, so sending
        again cannot load the rows twice. Several (another chunk's lost reply, another loader at
        work) are told apart by content once they finish (:meth:`_match_by_content`); if that does
        not single one out, the chunk is stopped and reported, never sent again.
        """
        async with self.adopt_lock:  # one adoption decision at a time
            owned = {j.job_id for j in self.jobs if j.job_id}
            candidates = [c for c in await self.client.find_jobs(attempt) if c.get("id") not in owned]
            if len(candidates) > 1:
                candidates = await self._match_by_content(job, candidates)
            if len(candidates) == 1:
                self.notes.append(f"chunk {job.chunk.index}: reply lost, adopted job {candidates[0]['id']}")
                job.job_id = str(candidates[0]["id"])  # owned from now on, before the lock is released
                return candidates[0]
            if not candidates:
                if data is None:
                    data = await self._read(job)
                try:
                    info = await self.client.create_job_multipart(**spec, data=data)
                    job.job_id = str(info["id"])
                    return info
                except AmbiguousCreateError:
                    pass
        job.state = "Undetermined"
        job.error = (
            "the reply to the create request was lost and it cannot be decided whether it created a "
            f"job ({len(candidates)} candidates); not sent again to avoid a double load: check "
            "Setup > Bulk Data Load Jobs, then load these records again if no job has them"
        )
        self.notes.append(f"chunk {job.chunk.index}: {job.error}")
        await self._log("undetermined", job, error=job.error, candidates=[c.get("id") for c in candidates])
        return None

    async def _match_by_content(self, job: _Job, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The candidate jobs whose rows are this chunk's rows.

        A job's data cannot be read back, but its results echo every row it was given. So each
        candidate is followed until it finishes, and rows of its results are looked up among
        this chunk's rows; a job loaded from another chunk (or by another loader) does not match.
        """
        assert self.normalizer is not None
        data = await self._read(job)
        delimiter = job.source.layout.delimiter.decode()
        index = RowIndex(self.normalizer)
        rows = parse_chunk(data, delimiter)
        next(rows)
        index.extend(rows, itertools.count(1))
        matching = []
        for candidate in candidates:
            job_id = str(candidate["id"])
            info = await self.poller.wait(self.poller.watch(job_id, job.chunk.records))
            probe_dir = self.work_dir / "probe" / job_id
            await self._thread(functools.partial(probe_dir.mkdir, parents=True, exist_ok=True))
            sample: list[list[str]] = []
            for kind, skip in (("successful", 2), ("failed", 2), ("unprocessed", 0)):
                if kind == "unprocessed" and info.get("state") == "JobComplete":
                    continue
                dest = probe_dir / f"{kind}.csv"
                await self.client.download_results(job_id, kind, dest)
                sample += await self._thread(_sample_rows, dest, delimiter, skip, 50)
            if sample and all(index.lookup(values) is not None for values in sample):
                matching.append(candidate)
        return matching

    def _count_read(self, job: _Job) -> None:
        if not job.counted_read and job.source.round == 0:
            job.counted_read = True
            self.progress.update(records_read=job.chunk.records)

    def _count_uploaded(self, job: _Job) -> None:
        self._count_read(job)
        if not job.counted_uploaded and job.source.round == 0:
            job.counted_uploaded = True
            self.progress.update(records_uploaded=job.chunk.records)

    def _move(self, job: _Job, bucket: str) -> None:
        """Count ``job`` in the jobs_queued / jobs_in_progress / jobs_done counter ``bucket``."""
        if bucket == job.bucket:
            return
        if job.bucket:
            self.progress.update(**{f"jobs_{job.bucket}": -1})
        self.progress.update(**{f"jobs_{bucket}": 1})
        job.bucket = bucket

    async def _on_job_update(self, job_id: str, info: dict[str, Any], previous: str) -> None:
        _crash_point("polled")
        state = str(info.get("state"))
        job = self._by_id.get(job_id)
        if job is None:
            return
        processed = int(info.get("numberRecordsProcessed") or 0)
        failed = int(info.get("numberRecordsFailed") or 0)
        old_processed = int(job.info.get("numberRecordsProcessed") or 0)
        old_failed = int(job.info.get("numberRecordsFailed") or 0)
        job.info = info
        # Counts of retry rounds are not added: their records were counted in the first pass.
        if (processed != old_processed or failed != old_failed) and job.source.round == 0:
            self.progress.update(
                records_processed=processed - old_processed, records_failed=failed - old_failed
            )
            await self.progress.emit("job_progress", job_id=job_id)
        if state in TERMINAL_STATES:
            self._move(job, "done")
        elif state == "InProgress":
            self._move(job, "in_progress")
        elif state == "UploadComplete":
            self._move(job, "queued")
        if state != previous:
            job.state = state
            await self.progress.emit(
                "job_state", job_id=job_id, state=state, message=info.get("errorMessage")
            )

    # -- results -------------------------------------------------------------------------------------

    async def _collect(self, job: _Job) -> None:
        """Download a finished job's results and merge them."""
        assert job.job_id is not None and self.merger is not None and self.normalizer is not None
        job_dir = self.work_dir / "jobs" / job.job_id
        await self._thread(lambda: job_dir.mkdir(parents=True, exist_ok=True))
        processed = int(job.info.get("numberRecordsProcessed") or 0)
        paths: dict[str, Path | None] = {"successful": None, "failed": None, "unprocessed": None}
        kinds = ["successful", "failed"]
        if job.state != "JobComplete" or processed < job.chunk.records:
            kinds.append("unprocessed")
        for kind in kinds:
            dest = job_dir / f"{kind}.csv"
            await self.client.download_results(job.job_id, kind, dest)
            paths[kind] = dest
        numbers = job.source.record_numbers(job.chunk)
        delimiter = job.source.layout.delimiter.decode()
        last_round = job.source.round >= self.options.retry.record_rounds
        retry_codes = frozenset() if last_round else self.options.retry.retryable_record_errors
        # A job that failed for a passing reason (a server error, lock contention beyond its own
        # retries) left rows it never processed: those are safe to send again in a new job.
        error_message = str(job.info.get("errorMessage") or "")
        transient = job.state == "Failed" and error_message.startswith(_TRANSIENT_JOB_ERRORS)
        retry_unprocessed = error_message if transient and not last_round else None

        def merge() -> MergeCounts:
            assert self.merger is not None and self.normalizer is not None

            def rows() -> Iterator[list[str]]:
                return iter_range_rows(job.source.path, job.chunk.start, job.chunk.size, delimiter)

            index = RowIndex(self.normalizer, source=lambda: zip(numbers, rows(), strict=False))
            index.extend(rows(), numbers)
            held: list[RetryRow] = []
            counts = self.merger.merge_job(
                job_id=job.job_id or "",
                index=index,
                delimiter=delimiter,
                success=paths["successful"],
                failed=paths["failed"],
                unprocessed=paths["unprocessed"],
                retry_codes=retry_codes,
                retry_rows=held,
                retry_unprocessed=retry_unprocessed,
            )
            self.held.setdefault(job.source.round, []).extend(held)
            job_held.extend(held)
            return counts

        job_held: list[RetryRow] = []
        async with self.merge_lock:
            counts = await self._thread(merge)
            sizes = await self._thread(self.merger.flush)
            _crash_point("merge")
            job.counts = counts
            await self._log(
                "merged",
                job,
                state=job.state,
                sizes=sizes,
                counts={
                    "succeeded": counts.succeeded,
                    "failed": counts.failed,
                    "unprocessed": counts.unprocessed,
                    "unmatched": counts.unmatched,
                    "ambiguous": counts.ambiguous,
                    "held_for_retry": counts.held_for_retry,
                },
                info={
                    k: job.info.get(k)
                    for k in ("numberRecordsProcessed", "numberRecordsFailed", "errorMessage")
                },
            )
        if counts.missing:
            self.notes.append(
                f"job {job.job_id}: {len(counts.missing)} records are in no result file "
                f"(first: {counts.missing[:5]})"
            )
        self.progress.update(records_merged=counts.total)
        await self.progress.emit("results_merged", chunk=job.chunk.index, job_id=job.job_id)

    async def _retry_rounds(self, main: _Input) -> None:
        """Send records that failed with a retryable error (UNABLE_TO_LOCK_ROW) again, in new jobs."""
        for round_no in range(1, self.options.retry.record_rounds + 1):
            planned = self.known_rounds.get(round_no)
            if planned is not None:  # resuming: the round was written before the crash
                path, records = Path(planned["path"]), [int(r) for r in planned["records"]]
                layout, plan = await self._thread(_plan_retry_file, path, main.layout, self.options.chunks)
            else:
                rows = sorted(self.held.get(round_no - 1, ()), key=lambda r: r.record)
                if not rows:
                    return
                path = self.work_dir / f"retry-{round_no}.csv"
                records = [r.record for r in rows]
                layout, plan = await self._thread(
                    _write_retry_file, path, main.layout, rows, self.options.chunks
                )
                await self._log_plain(
                    {"event": "round", "round": round_no, "path": str(path), "records": records}
                )
            retry_input = _Input(path, layout, round=round_no, records=records)
            await self.progress.emit("retry", message=f"round {round_no}: {len(records)} records sent again")
            await self._run_jobs(retry_input, plan)

    # -- the end -------------------------------------------------------------------------------------

    async def _cleanup(self, *, cancelled: bool) -> None:
        """On cancellation, abort the jobs still Open or queued (briefly; best effort)."""
        if not cancelled:
            return
        self.poller.close()
        with anyio.move_on_after(10):
            for job in self.jobs:
                if job.job_id and job.state in ("Open", "UploadComplete"):
                    try:
                        info = await self.client.abort_job(job.job_id)
                        job.state = str(info.get("state", "Aborted"))
                    except AsyncBulkError as exc:
                        self.notes.append(f"could not abort job {job.job_id}: {exc}")

    async def _finish(self, *, cancelled: bool, error: BaseException | None) -> LoadResult:
        assert self.merger is not None or error is not None
        succeeded = failed = unprocessed = unmatched = 0
        reports = []
        for job in self.jobs:
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
                    error_message=job.info.get("errorMessage") or job.error,
                    submit=job.submit,
                    round=job.source.round,
                    seconds=round(job.finished - job.started, 3) if job.finished else 0.0,
                )
            )
        elapsed = time.monotonic() - self.started
        merger = self.merger
        result = LoadResult(
            object=self.options.object,
            operation=self.options.operation.value,
            records=self.records_total,
            succeeded=succeeded,
            failed=failed,
            unprocessed=unprocessed,
            success_file=merger.success_file if merger else self.out_dir / "success.csv",
            failed_file=merger.failed_file if merger else self.out_dir / "failed.csv",
            unprocessed_file=merger.unprocessed_file if merger else self.out_dir / "unprocessed.csv",
            summary_file=self.out_dir / "summary.json",
            jobs=tuple(reports),
            api_requests=self.client.requests_made - self.requests_at_start,
            api_usage=self.client.api_usage,
            batches=sum(math.ceil(j.chunk.records / RECORDS_PER_BATCH) for j in self.jobs if j.job_id),
            seconds=round(elapsed, 3),
            unmatched=unmatched,
            records_retried=sum(j.chunk.records for j in self.jobs if j.source.round > 0),
            cancelled=cancelled,
            notes=tuple(self.notes),
        )
        if merger is not None:
            await self._thread(merger.close)
        await self._thread(_write_summary, result, self.poller, error)
        if self.journal is not None:
            await self._thread(self.journal.close)
        await self.progress.emit("finished")
        if error is None:
            accounted = succeeded + failed + unprocessed
            if accounted != self.records_total:
                raise AccountingError(
                    f"the result files account for {accounted} of {self.records_total} records "
                    f"({succeeded} succeeded, {failed} failed, {unprocessed} unprocessed); "
                    f"see {result.summary_file}: " + "; ".join(self.notes[-5:])
                )
        return result


def _write_retry_file(
    path: Path, layout: _split.CsvLayout, rows: list[RetryRow], chunks: ChunkConfig
) -> tuple[_split.CsvLayout, list[_split.Chunk]]:
    """Write the rows of a retry round as a CSV like the input, and plan its chunks."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(layout.header_line.decode("utf-8"))
        writer = csv.writer(
            handle, delimiter=layout.delimiter.decode(), lineterminator=layout.line_ending.chars
        )
        for row in rows:
            writer.writerow(row.values)
        handle.flush()
        os.fsync(handle.fileno())
    return _plan_retry_file(path, layout, chunks)


def _first_error(exc: BaseException) -> BaseException:
    """The first real failure inside (nested) exception groups, else ``exc`` itself."""
    if isinstance(exc, BaseExceptionGroup):
        cancelled = anyio.get_cancelled_exc_class()
        leaves = [_first_error(e) for e in exc.exceptions]
        for leaf in leaves:
            if not isinstance(leaf, cancelled):
                return leaf
        return leaves[0] if leaves else exc
    return exc


def _sample_rows(path: Path, delimiter: str, skip: int, limit: int) -> list[list[str]]:
    """Up to ``limit`` data rows of a result file, without its first ``skip`` (``sf__``) columns."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        return [row[skip:] for _, row in zip(range(limit), reader, strict=False)]


def _plan_retry_file(
    path: Path, layout: _split.CsvLayout, chunks: ChunkConfig
) -> tuple[_split.CsvLayout, list[_split.Chunk]]:
    retry_layout = _split.inspect_layout(
        path, delimiter=layout.column_delimiter, line_ending=layout.line_ending
    )
    plan = _split.iter_chunks(path, retry_layout, max_records=chunks.max_records, max_bytes=chunks.max_bytes)
    return retry_layout, list(plan)


#: Test hook for the crash tests: ``ASYNCBULK_CRASH_AT=name:n`` kills the process (SIGKILL) the
#: n-th time the load reaches crash point ``name`` (create_sent, uploaded, polled, merge).
_CRASH_AT = os.environ.get("ASYNCBULK_CRASH_AT", "")
_crash_counts: dict[str, int] = {}


def _crash_point(name: str) -> None:
    if not _CRASH_AT:
        return
    want, _, nth = _CRASH_AT.partition(":")
    if want != name:
        return
    _crash_counts[name] = _crash_counts.get(name, 0) + 1
    if _crash_counts[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _write_summary(result: LoadResult, poller: Poller, error: BaseException | None) -> None:
    summary = {
        **result.to_dict(),
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "status_requests": poller.status_requests,
    }
    result.summary_file.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))


async def load(
    source: Source,
    *,
    object: str,
    operation: str | Operation,
    instance_url: str | None = None,
    access_token: str | None = None,
    auth: Auth | None = None,
    out_dir: str | os.PathLike[str] = "asyncbulk-results",
    external_id_field: str | None = None,
    column_delimiter: str | ColumnDelimiter = ColumnDelimiter.COMMA,
    line_ending: str | LineEnding | None = None,
    encoding: str = "utf-8",
    chunks: ChunkConfig | None = None,
    concurrency: int | ConcurrencyConfig | None = None,
    poll: PollConfig | None = None,
    retry: RetryConfig | None = None,
    progress: ProgressCallback | None = None,
    resume: bool = False,
    api_version: str = "66.0",
    ca_file: str | None = None,
) -> LoadResult:
    """Load a CSV file (or rows) into Salesforce with the Bulk API 2.0 and merge the results.

    ::

        result = await asyncbulk.load(
            "contacts.csv", object="Contact", operation="insert",
            instance_url="https://example.my.salesforce.com", access_token=token,
            out_dir="results/",
        )
        print(result.succeeded, result.failed, result.unprocessed, result.success_file)

    :param source: a CSV file path, or an iterable / async iterable of dict rows (serialised as
        they stream; the first row's keys are the header).
    :param object: the sObject, e.g. ``"Contact"``.
    :param operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hardDelete``.
    :param instance_url: / access_token: a token obtained elsewhere; or give ``auth=``.
    :param auth: an auth object that can refresh an expired token (:class:`asyncbulk.JwtBearer`...).
    :param out_dir: where ``success.csv``, ``failed.csv``, ``unprocessed.csv``, ``summary.json`` and
        the journal go.
    :param external_id_field: upsert's matching field (``"Id"`` works too).
    :param column_delimiter: one of the six (``COMMA``, ``TAB``, ``PIPE``...; the character works too).
    :param line_ending: ``LF`` or ``CRLF``; detected from the header line when omitted.
    :param encoding: the file's encoding; anything but UTF-8 is transcoded (the API takes UTF-8 only).
    :param chunks: chunk limits (:class:`ChunkConfig`).
    :param concurrency: jobs in flight at most (int or :class:`ConcurrencyConfig`).
    :param poll: the poll loop's pacing (:class:`PollConfig`).
    :param retry: retries of requests and of records that failed for a passing reason.
    :param progress: called (or awaited) with every :class:`ProgressEvent`.
    :param resume: continue the load journaled in ``out_dir`` after a crash.
    :param api_version: the REST API version.
    :param ca_file: a CA bundle to trust (for a local TLS emulator).
    :return: counts, the result files and the jobs.
    :raises InputError: bad input (names the file, line, record and reason); nothing was loaded.
    :raises ValueError: a bad option (names the option).
    :raises AccountingError: the results do not account for every record (after writing them).
    """
    async with Connection(
        instance_url=instance_url,
        access_token=access_token,
        auth=auth,
        api_version=api_version,
        concurrency=concurrency,
        retry=retry,
        ca_file=ca_file,
    ) as connection:
        return await connection.load(
            source,
            object=object,
            operation=operation,
            out_dir=out_dir,
            external_id_field=external_id_field,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
            encoding=encoding,
            chunks=chunks,
            poll=poll,
            progress=progress,
            resume=resume,
        )
