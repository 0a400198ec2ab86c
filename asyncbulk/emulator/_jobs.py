"""Ingest jobs: their state machine, JSON shapes, CSV parsing, batch processing and result rendering.

The HTTP layer (``_app.py``) validates requests and calls :class:`JobManager`; the manager owns every
job, queues its 10,000-record batches and runs them on a bounded pool of workers. ``Store.process_batch``
is synchronous (SQLite), so each batch runs in a thread and the event loop stays free to answer
job-status requests while a million-row load is running.

Performance notes (a 1,000,000-row load must run at >= 100,000 records/s with status answers in
< 50 ms, benchmarks/emulator_rate.py):

* All CPU-bound work (CSV parsing, ``process_columns``, result rendering) runs on ONE thread. The
  GIL lets only one thread run Python anyway, and SQLite releases it on every row it steps: with
  several busy threads each ``executemany`` row waits for a GIL hand-over (the convoy effect), which
  made four threads slower than one. ``config.workers`` still bounds how many batches are in
  flight (pacing with ``records_per_second`` is per worker).
* An upload is parsed once per job into blocks of ``batch_size`` rows kept column-wise as tuples of
  strings, which the garbage collector stops tracking: a million row lists made its full passes
  hold the GIL for 100-400 ms, the worst job-status latencies seen.
* Result files are rendered column-wise from :class:`BatchResults` with a few C-level joins.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

from ._config import EmulatorConfig
from ._data import BatchResults, JobSpec, Org
from ._faults import FaultInjector
from ._vocab import Operation, ResultKind

__all__ = [
    "DELIMITERS",
    "LINE_ENDINGS",
    "TERMINAL_STATES",
    "Block",
    "Job",
    "JobError",
    "JobManager",
    "format_date",
    "parse_csv",
    "parse_csv_blocks",
]

# columnDelimiter / lineEnding enum values and their characters [bulk-api-2.md §4].
DELIMITERS = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
# States in which DELETE is allowed for an ingest job [bulk-api-2.md §3].
DELETABLE_STATES = frozenset({"UploadComplete", "JobComplete", "Aborted", "Failed"})

# The user every job is created by (a User id, prefix 005).
CREATED_BY_ID = "005EM00000EMUL8AAA"

#: One batch of an upload, column-wise: ``block[j][i]`` is row i's cell j (header order).
Block = tuple[tuple[str, ...], ...]

_T = TypeVar("_T")
_PARSE_CHUNK = 500  # rows read at a time by parse_csv_blocks


def block_len(block: Block) -> int:
    """How many rows a block holds."""
    return len(block[0]) if block else 0


class JobError(Exception):
    """A request about a job that Salesforce refuses: HTTP status plus the JSON error entry."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def not_found() -> JobError:
    """The documented answer for an unknown or deleted job [bulk-api-2.md §3]."""
    return JobError(404, "NOT_FOUND", "The requested resource does not exist")


def format_date(epoch: float) -> str:
    """Salesforce's job date format, e.g. ``2022-01-02T21:33:43.000+0000`` [bulk-api-2.md §2]."""
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}+0000"


class CsvParseError(Exception):
    """Uploaded CSV that Salesforce cannot parse; the message is the job's ``errorMessage``."""


def parse_csv(data: bytes, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Split uploaded CSV into header and rows, the way Salesforce reads it.

    Blank lines are skipped. A decoding error, a quoting error or a row whose field count differs
    from the header's fails the whole job (``InvalidBatch : Failed to parse CSV. ...``; the
    "Found unescaped quote" wording is reported from real orgs, bulk-api-2.md §4). The csv module's
    default field limit, 131,072 characters, is also Salesforce's field limit [bulk-api-2.md §6].
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvParseError(
            f"InvalidBatch : Failed to parse CSV. Invalid UTF-8 at byte {exc.start}"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header: list[str] | None = None
        rows: list[list[str]] = []
        append = rows.append
        for row in reader:
            if not row:
                continue
            if header is None:
                header = row
                width = len(row)
                continue
            if len(row) != width:
                raise CsvParseError(
                    f"InvalidBatch : Failed to parse CSV. Row {reader.line_num - 1} has {len(row)} "
                    f"columns but the header has {width}"
                )
            append(row)
    except csv.Error as exc:
        raise _csv_error(exc) from None
    return header or [], rows


def _csv_error(exc: csv.Error) -> CsvParseError:
    reason = str(exc)
    if "expected after" in reason or "quote" in reason:
        reason = "Found unescaped quote. A value with quote should be within a quote"
    return CsvParseError(f"InvalidBatch : Failed to parse CSV. {reason}")


def parse_csv_blocks(data: bytes, delimiter: str, size: int) -> tuple[list[str], list[Block]]:
    """:func:`parse_csv`, with the rows cut into blocks of ``size`` (one per batch), column-wise.

    Same rules and errors as :func:`parse_csv`, which is re-run on a bad file to word its first
    error (with its line number). Rows are read a few hundred at a time and checked with C-level
    calls; each block is a tuple of column tuples (see :data:`Block`).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        parse_csv(data, delimiter)  # raises the decoding error
        raise
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    blocks: list[Block] = []
    try:
        header = next((row for row in reader if row), None)
        if header is None:
            return [], []
        width = len(header)
        # Column lists filled a few hundred rows at a time: row lists die young that way, before
        # the garbage collector promotes them, and full collections stay rare (half the parse
        # time otherwise, and pauses of the event loop thread).
        columns: list[list[str]] = [[] for _ in range(width)]
        filled = 0
        while chunk := list(islice(reader, _PARSE_CHUNK)):
            widths = set(map(len, chunk))
            if widths != {width}:
                if 0 in widths:  # blank lines are skipped
                    chunk = [row for row in chunk if row]
                    widths.discard(0)
                if widths - {width}:
                    parse_csv(data, delimiter)  # raises the error naming the row
                    raise AssertionError("parse_csv accepted a row of the wrong width")
                if not chunk:
                    continue
            for column, part in zip(columns, zip(*chunk, strict=True), strict=True):
                column.extend(part)
            filled += len(chunk)
            while filled >= size:
                blocks.append(tuple(tuple(column[:size]) for column in columns))
                for column in columns:
                    del column[:size]
                filled -= size
        if filled:
            blocks.append(tuple(tuple(column) for column in columns))
    except csv.Error:
        pass
    else:
        return header, blocks
    # A quoting error: parse_csv reports the first problem of the file (a row of the wrong width
    # may come before it in the same chunk).
    parse_csv(data, delimiter)
    raise AssertionError("parse_csv accepted what the csv module refused")


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def render_results(results: Iterable[Any], delimiter: str, eol: str) -> tuple[bytes, bytes, int]:
    """Render a batch's results: (successfulResults rows, failedResults rows, number failed).

    Every value is quoted (quotes doubled), as in the documented result example [bulk-api-2.md §5].
    """
    if isinstance(results, BatchResults):
        return _render_batch(results, delimiter, eol)
    ok_lines: list[str] = []
    bad_lines: list[str] = []
    for ok, sf_id, created, error, values in results:
        if ok:
            ok_lines.append(
                delimiter.join([_quote(sf_id), '"true"' if created else '"false"', *map(_quote, values)])
            )
        else:
            bad_lines.append(delimiter.join([_quote(sf_id), _quote(error), *map(_quote, values)]))
    ok_bytes = (eol.join(ok_lines) + eol).encode() if ok_lines else b""
    bad_bytes = (eol.join(bad_lines) + eol).encode() if bad_lines else b""
    return ok_bytes, bad_bytes, len(bad_lines)


def _quoted_lines(columns: list[Sequence[str]], delimiter: str, eol: str, *, safe: int) -> bytes:
    """Rows given as columns, every value quoted, one line each (``eol`` after every line).

    Built with C-level joins instead of a call per value: quotes are doubled column by column
    (only in columns that have any; the first ``safe`` columns never do), then every row is
    joined with ``"<delimiter>"`` and the rows with ``"<eol>"``.
    """
    cols = list(columns)
    for j in range(safe, len(cols)):
        if '"' in "".join(cols[j]):
            cols[j] = [v.replace('"', '""') for v in cols[j]]
    lines = map(f'"{delimiter}"'.join, zip(*cols, strict=True))
    return ('"' + f'"{eol}"'.join(lines) + '"' + eol).encode()


def _render_batch(res: BatchResults, delimiter: str, eol: str) -> tuple[bytes, bytes, int]:
    if not res.n:
        return b"", b"", 0
    errors = res.errors
    ids, created = res.ids, res.created
    ok_cols: list[Sequence[str]]
    if not errors:
        flags = ["true"] * res.n if False not in created else ["true" if c else "false" for c in created]
        ok_cols = [ids, flags, *res.values]
    else:
        ok = [i for i in range(res.n) if i not in errors]
        ok_cols = [
            [ids[i] for i in ok],
            ["true" if created[i] else "false" for i in ok],
            *([col[i] for i in ok] for col in res.values),
        ]
    ok_bytes = _quoted_lines(ok_cols, delimiter, eol, safe=2) if ok_cols[0] else b""
    bad_bytes = b""
    if errors:
        bad = sorted(errors)
        bad_cols: list[Sequence[str]] = [
            [ids[i] for i in bad],
            [errors[i] for i in bad],
            *([col[i] for i in bad] for col in res.raw),
        ]
        bad_bytes = _quoted_lines(bad_cols, delimiter, eol, safe=1)
    return ok_bytes, bad_bytes, len(errors)


def render_block(block: Block, delimiter: str, eol: str) -> bytes:
    """A block's rows written back as CSV (unprocessed records), quoting only where needed."""
    return render_rows(list(zip(*block, strict=True)), delimiter, eol)


def render_rows(rows: Sequence[Sequence[str]], delimiter: str, eol: str) -> bytes:
    """Rows written back as CSV (unprocessed records), quoting only where needed."""
    if not rows:
        return b""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=eol).writerows(rows)
    return out.getvalue().encode()


def result_header(kind: str, header: Sequence[str], delimiter: str, eol: str) -> bytes:
    """The header line of a result file; uploaded names are echoed as uploaded [bulk-api-2.md §5]."""
    if kind == "success":
        names = ['"sf__Id"', '"sf__Created"', *header]
    elif kind == "failed":
        names = ['"sf__Id"', '"sf__Error"', *header]
    else:
        names = list(header)
    return (delimiter.join(names) + eol).encode()


@dataclass
class Job:
    """One ingest job. Public fields map to JobInfo keys; the rest is emulator bookkeeping."""

    id: str
    operation: str
    object: str
    api_version: str
    created: float
    external_id_field: str | None = None
    line_ending: str = "LF"
    column_delimiter: str = "COMMA"
    assignment_rule_id: str | None = None
    state: str = "Open"
    modstamp: float = 0.0
    processed: int = 0
    failed: int = 0
    retries: int = 0
    total_ms: int = 0
    api_active_ms: int = 0
    error_message: str | None = None
    uploaded: bool = False
    header: list[str] = field(default_factory=list)
    batches_total: int = 0
    settled: list[int] = field(default_factory=list)
    processing_started: float | None = None
    # Runtime only (not persisted).
    blocks: list[Block] | None = field(default=None, repr=False)
    data: bytes | None = field(default=None, repr=False)
    fail_at: int | None = None
    pending: int = 0
    preparing: bool = False
    deleted: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def __post_init__(self) -> None:
        if not self.modstamp:
            self.modstamp = self.created
        self.idle.set()

    @property
    def delimiter(self) -> str:
        """The column delimiter character."""
        return DELIMITERS[self.column_delimiter]

    @property
    def eol(self) -> str:
        """The line ending characters."""
        return LINE_ENDINGS[self.line_ending]

    def touch(self) -> None:
        """Record a change of the job (``systemModstamp``)."""
        self.modstamp = time.time()

    def _head(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": CREATED_BY_ID,
            "createdDate": format_date(self.created),
            "systemModstamp": format_date(self.modstamp),
            "state": self.state,
        }
        if self.external_id_field is not None:
            info["externalIdFieldName"] = self.external_id_field
        if self.assignment_rule_id is not None:
            info["assignmentRuleId"] = self.assignment_rule_id
        info["concurrencyMode"] = "Parallel"
        info["contentType"] = "CSV"
        info["apiVersion"] = float(self.api_version)
        return info

    def content_url(self) -> str:
        """``contentUrl``: no leading slash [bulk-api-2.md §1]."""
        return f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"

    def create_info(self, *, multipart: bool = False) -> dict[str, Any]:
        """The create response: Open with contentUrl, or multipart (UploadComplete, no contentUrl)."""
        info = self._head()
        if not multipart:
            info["contentUrl"] = self.content_url()
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.column_delimiter
        return info

    def patch_info(self) -> dict[str, Any]:
        """The PATCH (close/abort) response: the head fields only [bulk-api-2.md §2]."""
        return self._head()

    def list_info(self) -> dict[str, Any]:
        """A record of the job list: create-shape fields plus jobType [bulk-api-2.md §1]."""
        info = self._head()
        info["jobType"] = "V2Ingest"
        if self.state == "Open":
            info["contentUrl"] = self.content_url()
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.column_delimiter
        return info

    def full_info(self) -> dict[str, Any]:
        """GET job info, key order as documented; record counts on every GET (real captures do)."""
        info = self.list_info()
        info["numberRecordsProcessed"] = self.processed
        info["numberRecordsFailed"] = self.failed
        if self.error_message is not None:
            info["errorMessage"] = self.error_message
        info["retries"] = self.retries
        total = self.total_ms
        if self.processing_started is not None and self.state not in TERMINAL_STATES:
            total = int((time.time() - self.processing_started) * 1000)
        info["totalProcessingTime"] = total
        info["apiActiveProcessingTime"] = self.api_active_ms
        # No Apex triggers run in the emulator.
        info["apexProcessingTime"] = 0
        return info

    _PERSISTED = (
        "id operation object api_version created external_id_field line_ending column_delimiter "
        "assignment_rule_id state modstamp processed failed retries total_ms api_active_ms error_message "
        "uploaded header batches_total settled processing_started"
    ).split()

    def to_record(self) -> dict[str, Any]:
        """What ``Store.save_job`` keeps, enough to rebuild the job after a restart."""
        return {name: getattr(self, name) for name in self._PERSISTED}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Job:
        """Rebuild a job saved by :meth:`to_record`."""
        return cls(**{name: record[name] for name in cls._PERSISTED if name in record})


Usage = dict[str, int]


class JobManager:
    """Owns all jobs, the batch queue and the workers that process it."""

    def __init__(self, store: Org, config: EmulatorConfig, faults: FaultInjector) -> None:
        self.store = store
        self.config = config
        self.faults = faults
        self.jobs: dict[str, Job] = {}
        self.usage: Usage = {"jobs_created": 0, "batches_used": 0, "records_used": 0}
        self._queue: asyncio.Queue[tuple[Job, int]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[asyncio.Task[None]] = set()
        # The one thread for CPU-bound work (see the module docstring).
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-batches")
        self._cpu_closed = False

    async def _on_cpu(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._cpu, fn, *args)

    # ----- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Load persisted jobs, re-queue those that were in flight, start the workers."""
        if self._cpu_closed:
            self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-batches")
            self._cpu_closed = False
        records = await asyncio.to_thread(self.store.jobs.load_all)
        for record in sorted(records, key=lambda r: float(r.get("created", 0))):
            job = Job.from_record(record)
            self.jobs[job.id] = job
            if job.state in ("UploadComplete", "InProgress"):
                self._spawn(self._prepare(job))
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self.config.workers)]

    async def close(self) -> None:
        """Stop the workers; queued batches stay persisted and resume at the next start.

        Batches already running are finished and settled first: their rows are written to the store
        by then, and running them again after a restart would load them twice.
        """
        for task in [*self._workers, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._workers, *self._tasks, return_exceptions=True)
        await asyncio.gather(*self._running, return_exceptions=True)
        self._workers.clear()
        self._tasks.clear()
        # Not waiting: a cancelled parse may still be running; its result is not wanted.
        self._cpu.shutdown(wait=False, cancel_futures=True)
        self._cpu_closed = True

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _save(self, job: Job) -> None:
        if not job.deleted:
            await asyncio.to_thread(self.store.jobs.save, job.id, job.to_record())

    # ----- requests ---------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        """The job with this id, or 404."""
        job = self.jobs.get(job_id)
        if job is None or job.deleted:
            raise not_found()
        return job

    def check_allocations(self) -> None:
        """Refuse new jobs once a daily allocation is used up.

        Message modelled on the real Bulk 2.0 query-job limit error, ``LIMIT_EXCEEDED`` "Max bulk v2
        query jobs (10000) per 24 hrs has been reached (10021)" (airbyte source-salesforce tests).
        """
        cfg = self.config
        if self.usage["batches_used"] >= cfg.daily_batch_limit:
            raise JobError(
                400,
                "LIMIT_EXCEEDED",
                f"Max bulk v2 batches ({cfg.daily_batch_limit}) per 24 hrs has been reached "
                f"({self.usage['batches_used']})",
            )
        if self.usage["records_used"] >= cfg.daily_record_limit:
            raise JobError(
                400,
                "LIMIT_EXCEEDED",
                f"Max bulk v2 records ({cfg.daily_record_limit}) per 24 hrs has been reached "
                f"({self.usage['records_used']})",
            )

    async def create(self, job: Job, data: bytes | None = None) -> Job:
        """Register a new job; with ``data`` it is a multipart create and is closed at once."""
        self.check_allocations()
        self.jobs[job.id] = job
        self.usage["jobs_created"] += 1
        if data is not None:
            job.data = data
            job.uploaded = True
            job.state = "UploadComplete"
            await asyncio.to_thread(self.store.jobs.save_data, job.id, data)
            await self._save(job)
            self._start_processing(job)
        else:
            await self._save(job)
        return job

    async def upload(self, job: Job, data: bytes) -> None:
        """PUT .../batches: one upload per job, only while Open."""
        if job.uploaded:
            # Real text reported by clients that PUT twice ("Found multipe [sic] contents for job: <id>,
            # please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure
            # you only do 'PUT' once on a given Job.", errorCode BULK_API_ERROR, v47 capture in a public
            # upsert walkthrough); bulk-api-2.md §1 spells it "multiple".
            raise JobError(
                400,
                "BULK_API_ERROR",
                f"Found multiple contents for job: <{job.id[:15]}>, please 'Close' / 'Abort' / 'Delete' the "
                "current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
            )
        if job.state != "Open":
            raise JobError(
                400, "INVALIDJOBSTATE", f"Uploading data to a Job in state {job.state} not allowed"
            )
        job.uploaded = True
        job.data = data
        job.touch()
        await asyncio.to_thread(self.store.jobs.save_data, job.id, data)
        await self._save(job)

    async def set_state(self, job: Job, target: str) -> Job:
        """PATCH: Open -> UploadComplete; Open/UploadComplete/InProgress -> Aborted [bulk-api-2.md §3].

        Refusals follow the one documented example, 400 INVALIDJOBSTATE "Aborting already Completed
        Job not allowed"; the other texts are written in the same pattern.
        """
        verb = {"UploadComplete": "Closing", "Aborted": "Aborting"}[target]
        if target == "UploadComplete" and job.state != "Open":
            raise JobError(400, "INVALIDJOBSTATE", f"{verb} already {_state_word(job.state)} Job not allowed")
        if target == "Aborted" and job.state in TERMINAL_STATES:
            raise JobError(400, "INVALIDJOBSTATE", f"{verb} already {_state_word(job.state)} Job not allowed")
        job.state = target
        job.touch()
        if target == "UploadComplete":
            await self._save(job)
            self._start_processing(job)
        else:
            self._finish_abort(job)
            await self._save(job)
        return job

    async def delete(self, job: Job) -> None:
        """DELETE: only UploadComplete or terminal jobs [bulk-api-2.md §3]."""
        if job.state not in DELETABLE_STATES:
            # Documented text (query example) for deleting a job that is not terminated.
            raise JobError(
                400, "API_ERROR", "Error encountered when deleting the job because the job is not terminated"
            )
        job.deleted = True
        # An UploadComplete job still queued: its batches are skipped by the workers.
        job.state = "Aborted" if job.state == "UploadComplete" else job.state
        del self.jobs[job.id]
        await asyncio.to_thread(self.store.jobs.delete, job.id)

    def list_jobs(self) -> list[Job]:
        """All live jobs in creation order."""
        return [job for job in self.jobs.values() if not job.deleted]

    async def wait_idle(self, job: Job) -> None:
        """Wait until no batch of the job is in flight (results are then complete)."""
        if not job.idle.is_set():
            async with asyncio.timeout(60):
                await job.idle.wait()

    # ----- processing -------------------------------------------------------------------------
    def _start_processing(self, job: Job) -> None:
        job.idle.clear()
        job.preparing = True
        self._spawn(self._prepare(job))

    async def _load_rows(self, job: Job) -> tuple[list[str], list[Block]] | str:
        data = job.data
        if data is None:
            data = await asyncio.to_thread(self.store.jobs.load_data, job.id)
        job.data = None  # parsed rows replace the raw bytes in memory
        if not data:
            return [], []
        try:
            return await self._on_cpu(parse_csv_blocks, data, job.delimiter, self.config.batch_size)
        except CsvParseError as exc:
            return str(exc)

    async def _prepare(self, job: Job) -> None:
        """Parse the upload, check the header, queue the batches (or fail the job)."""
        job.idle.clear()
        job.preparing = True
        try:
            parsed = await self._load_rows(job)
            if isinstance(parsed, str):
                await self._fail_before_processing(job, parsed, header=None, blocks=None)
                return
            header, blocks = parsed
            job.header = header
            job.blocks = blocks
            if job.state == "Aborted":
                await self._write_unprocessed(job, blocks)
                return
            if not header:
                # Closed with no data (or an empty file): nothing to do, the job completes with 0
                # records (pdata has a message for exactly this outcome, bulk-api-2.md §3).
                await self._complete(job)
                return
            if job.batches_total == 0:
                problem = await asyncio.to_thread(
                    self.store.check_header,
                    JobSpec(job.object, Operation(job.operation), job.external_id_field),
                    header,
                )
                if problem is not None:
                    await self._fail_before_processing(job, problem, header=header, blocks=blocks)
                    return
                job.batches_total = len(blocks)
                job.fail_at = self.faults.job_fails_at(job.batches_total)
                await self._save(job)
            if job.batches_total == 0:
                await self._complete(job)
                return
            settled = set(job.settled)
            todo = [i for i in range(job.batches_total) if i not in settled]
            job.pending = len(todo)
            for index in todo:
                self._queue.put_nowait((job, index))
        finally:
            job.preparing = False
            if job.pending == 0:
                job.idle.set()

    async def _fail_before_processing(
        self, job: Job, message: str, *, header: list[str] | None, blocks: list[Block] | None
    ) -> None:
        # Header problems fail the whole job with nothing processed; every row is unprocessed
        # [bulk-api-2.md §3, real amp118 capture].
        if job.state != "Aborted":
            job.state = "Failed"
            job.error_message = message
            job.touch()
        if blocks:
            await self._write_unprocessed(job, blocks)
        await self._save(job)

    async def _write_unprocessed(self, job: Job, blocks: Sequence[Block]) -> None:
        if blocks and not job.deleted:
            data = await self._on_cpu(_render_blocks, blocks, job.delimiter, job.eol)
            if data:
                await asyncio.to_thread(self.store.jobs.append_results, job.id, ResultKind.UNPROCESSED, data)

    def _finish_abort(self, job: Job) -> None:
        if job.processing_started is not None:
            job.total_ms = int((time.time() - job.processing_started) * 1000)
        if not job.preparing and job.pending == 0 and job.uploaded and job.batches_total == 0:
            # Aborted before processing started: all uploaded rows become unprocessed.
            job.idle.clear()
            job.preparing = True
            self._spawn(self._prepare(job))

    @staticmethod
    def _batch_rows(job: Job, index: int) -> Block:
        assert job.blocks is not None
        return job.blocks[index] if index < len(job.blocks) else ()

    async def _worker(self) -> None:
        while True:
            job, index = await self._queue.get()
            # Shielded: cancelling the worker at shutdown must not abandon a batch halfway.
            task = asyncio.create_task(self._guarded_batch(job, index))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            try:
                await asyncio.shield(task)
            finally:
                self._queue.task_done()

    async def _guarded_batch(self, job: Job, index: int) -> None:
        try:
            await self._run_batch(job, index)
        except Exception as exc:  # a data-layer bug must not kill the worker: fail the job instead
            if job.state not in TERMINAL_STATES:
                job.state = "Failed"
                job.error_message = f"InternalServerError : {type(exc).__name__}: {exc}"
            await self._settle(job, index, None)

    async def _run_batch(self, job: Job, index: int) -> None:
        rows = self._batch_rows(job, index)
        count = block_len(rows)
        if job.deleted or job.state in TERMINAL_STATES:
            await self._settle(job, index, rows)
            return
        if job.fail_at == index:
            # Salesforce retries a failing batch, then fails the job; rows already done stay done
            # [bulk-api-2.md §3/§6]. Text as reported from real orgs: "InternalServerError : Retried
            # more than N times" (simple-salesforce issue #646).
            job.retries += 20
            self._fail(job, "InternalServerError : Retried more than 20 times")
            await self._settle(job, index, rows)
            return
        cfg = self.config
        if self.usage["records_used"] + count > cfg.daily_record_limit:
            # The daily record allocation ran out mid-job: the job fails [bulk-api-2.md §3, UND].
            self._fail(
                job,
                f"ExceededQuota : Max bulk v2 records ({cfg.daily_record_limit}) per 24 hrs "
                "has been exceeded",
            )
            await self._settle(job, index, rows)
            return
        if self.usage["batches_used"] + 1 > cfg.daily_batch_limit:
            self._fail(
                job,
                f"ExceededQuota : Max bulk v2 batches ({cfg.daily_batch_limit}) per 24 hrs has been exceeded",
            )
            await self._settle(job, index, rows)
            return
        self.usage["batches_used"] += 1
        self.usage["records_used"] += count
        if job.state == "UploadComplete":
            job.state = "InProgress"
            job.processing_started = time.time()
            job.touch()
        started = time.perf_counter()
        failed = await self._on_cpu(self._process, job, rows, count)
        elapsed = time.perf_counter() - started
        job.processed += count
        job.failed += failed
        job.api_active_ms += int(elapsed * 1000)
        if cfg.records_per_second is not None:
            # Pace the worker to model an org's throughput: a batch takes at least n / rate seconds.
            await asyncio.sleep(max(0.0, count / cfg.records_per_second - elapsed))
        await self._settle(job, index, None)

    def _process(self, job: Job, block: Block, count: int) -> int:
        """Runs on the CPU thread: process one batch and store its rendered results."""
        results = self.store.apply(
            JobSpec(job.object, Operation(job.operation), job.external_id_field),
            job.header,
            block,
            self.faults.lock_fail(),
        )
        ok_bytes, bad_bytes, failed = render_results(results, job.delimiter, job.eol)
        if ok_bytes:
            self.store.jobs.append_results(job.id, ResultKind.SUCCESS, ok_bytes)
        if bad_bytes:
            self.store.jobs.append_results(job.id, ResultKind.FAILED, bad_bytes)
        return failed

    def _fail(self, job: Job, message: str) -> None:
        if job.state not in TERMINAL_STATES:
            job.state = "Failed"
            job.error_message = message
            if job.processing_started is not None:
                job.total_ms = int((time.time() - job.processing_started) * 1000)
            job.touch()

    async def _settle(self, job: Job, index: int, unprocessed: Block | None) -> None:
        if unprocessed:
            await self._write_unprocessed(job, [unprocessed])
        job.settled.append(index)
        job.pending -= 1
        if job.pending <= 0 and not job.preparing:
            if job.state in ("UploadComplete", "InProgress"):
                await self._complete(job)
                return
            job.blocks = None
            job.idle.set()
        await self._save(job)

    async def _complete(self, job: Job) -> None:
        job.state = "JobComplete"
        if job.processing_started is not None:
            job.total_ms = int((time.time() - job.processing_started) * 1000)
        job.touch()
        job.blocks = None
        await self._save(job)
        job.idle.set()

    def read_results(self, job: Job, kind: str) -> Iterator[bytes]:
        """Header line then the stored rows of one result file (runs in a thread when iterated)."""
        yield result_header(kind, job.header, job.delimiter, job.eol)
        yield from self.store.jobs.read_results(job.id, ResultKind(kind))


def _render_blocks(blocks: Sequence[Block], delimiter: str, eol: str) -> bytes:
    return b"".join(render_block(block, delimiter, eol) for block in blocks)


def _state_word(state: str) -> str:
    return {"JobComplete": "Completed", "UploadComplete": "UploadComplete"}.get(state, state)
