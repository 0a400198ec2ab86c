"""One Bulk API 2.0 query job: its JobInfo fields, its shape in each answer, its persisted record.

Key orders follow Salesforce's examples: "Create a Query Job"
(https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm),
"Get Information About a Query Job" (…/query_get_one_job.htm), "Abort a Query Job" (…/query_abort_job.htm)
and "Get Information About All Query Jobs" (…/query_get_all_jobs.htm).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from .._data import BulkQuery
from .._ingest import format_date
from .._vocab import ColumnDelimiter, JobState, LineEnding, QueryOperation

__all__ = ["QueryJob", "QueryWork"]


@dataclass
class QueryWork:
    """What a query job holds in memory while it runs; never persisted (a restart runs it again)."""

    query: BulkQuery | None = None
    task: asyncio.Task[None] | None = None
    deleted: bool = False


@dataclass
class QueryJob:
    """A query job: the JobInfo fields, and where its result rows are (chunks of ``chunk_rows`` rows)."""

    id: str
    operation: QueryOperation
    object: str
    query: str
    api_version: str
    created: float
    #: ``createdById``: the running user.
    created_by: str = ""
    line_ending: LineEnding = LineEnding.LF
    column_delimiter: ColumnDelimiter = ColumnDelimiter.COMMA
    pk_chunking: bool = True
    state: JobState = JobState.UPLOAD_COMPLETE
    modstamp: float = 0.0
    processed: int = 0
    retries: int = 0
    total_ms: int = 0
    error_message: str | None = None
    columns: list[str] = field(default_factory=list)
    chunk_rows: int = 0
    chunks: int = 0
    processing_started: float | None = None
    work: QueryWork = field(default_factory=QueryWork, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.modstamp:
            self.modstamp = self.created

    @property
    def delimiter(self) -> str:
        """The column delimiter character."""
        return self.column_delimiter.char

    @property
    def eol(self) -> str:
        """The line ending characters."""
        return self.line_ending.chars

    @property
    def include_deleted(self) -> bool:
        """``queryAll``: deleted records too."""
        return self.operation is QueryOperation.QUERY_ALL

    # ----- transitions ------------------------------------------------------------------------
    def touch(self) -> None:
        """Record a change of the job (``systemModstamp``)."""
        self.modstamp = time.time()

    def _stop_clock(self) -> None:
        if self.processing_started is not None:
            self.total_ms = int((time.time() - self.processing_started) * 1000)

    def begin(self) -> None:
        """UploadComplete -> InProgress (again after a restart: the rows are taken afresh)."""
        self.state = JobState.IN_PROGRESS
        self.processing_started = time.time()
        self.processed = 0
        self.chunks = 0
        self.touch()

    def complete(self) -> None:
        """-> JobComplete: every result row is stored."""
        self.state = JobState.JOB_COMPLETE
        self._stop_clock()
        self.touch()

    def fail(self, message: str, retries: int = 0) -> None:
        """-> Failed with ``errorMessage`` (a terminal job stays as it is)."""
        if not self.state.terminal:
            self.state = JobState.FAILED
            self.error_message = message
            self.retries += retries
            self._stop_clock()
            self.touch()

    def abort(self) -> None:
        """-> Aborted."""
        self.state = JobState.ABORTED
        self._stop_clock()
        self.touch()

    # ----- JobInfo shapes ---------------------------------------------------------------------
    def _head(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": format_date(self.created),
            "systemModstamp": format_date(self.modstamp),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
        }

    def create_info(self) -> dict[str, Any]:
        """The create answer."""
        return {**self._head(), "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter}

    def abort_info(self) -> dict[str, Any]:
        """The abort answer: the head fields only, as in Salesforce's example."""
        return self._head()

    def list_info(self) -> dict[str, Any]:
        """A record of the job list."""
        info = self._head()
        info["jobType"] = "V2Query"
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.column_delimiter
        return info

    def full_info(self) -> dict[str, Any]:
        """The GET answer.

        ``isPkChunkingSupported`` is on every version: the current examples show it ("Get Information
        About a Query Job"), a real v51.0 org left it out; nothing says when it appeared (decision:
        always). https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_one_job.htm
        """
        info = self.list_info()
        info["numberRecordsProcessed"] = self.processed
        if self.error_message is not None:
            info["errorMessage"] = self.error_message
        info["retries"] = self.retries
        total = self.total_ms
        if self.processing_started is not None and not self.state.terminal:
            total = int((time.time() - self.processing_started) * 1000)
        info["totalProcessingTime"] = total
        info["isPkChunkingSupported"] = self.pk_chunking
        return info

    # ----- persistence ------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """What the job store keeps: enough to rebuild the job after a restart."""
        return {name: getattr(self, name) for name in _PERSISTED}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> QueryJob:
        """Rebuild a job saved by :meth:`to_record`."""
        fields = {name: record[name] for name in _PERSISTED if name in record}
        for name, enum_type in _ENUMS.items():
            if name in fields:
                fields[name] = enum_type(fields[name])
        return cls(**fields)


_PERSISTED = tuple(f.name for f in dataclasses.fields(QueryJob) if f.name != "work")
_ENUMS: dict[str, type[Any]] = {
    "operation": QueryOperation,
    "line_ending": LineEnding,
    "column_delimiter": ColumnDelimiter,
    "state": JobState,
}
