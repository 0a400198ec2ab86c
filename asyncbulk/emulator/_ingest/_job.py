"""One ingest job: its JobInfo fields, its shapes in each response, its persisted record, its transitions.

Key order and fields of each shape follow the Bulk guide's examples ("Get Job Info",
https://developer.salesforce.com/docs/platform/api-asynch/guide/get-job-info.html, and "Get All
Jobs", https://developer.salesforce.com/docs/platform/api-asynch/guide/get-all-jobs.html).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from .._data import JobSpec
from .._vocab import ColumnDelimiter, JobState, LineEnding, Operation

__all__ = ["Job", "JobWork", "format_date"]


def format_date(epoch: float) -> str:
    """Salesforce's job date format, e.g. ``2022-01-02T21:33:43.000+0000``.

    Always ``.000``: every job date of every real capture has whole seconds (amp-labs/connectors'
    JobInfo files captured from a real org, a v47 upsert walkthrough, Salesforce's examples).
    """
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".000+0000"


@dataclass
class JobWork:
    """What a job holds in memory while it is worked on; never persisted (a restart rebuilds it)."""

    #: The batch at which an injected fault fails the job, if any.
    fail_at: int | None = None
    #: Batches queued or running.
    pending: int = 0
    #: The upload is being parsed and its batches queued.
    preparing: bool = False
    #: An upload is streaming in (a second PUT meanwhile is refused like one after it).
    uploading: bool = False
    #: Deleted while batches were still queued: they are skipped.
    deleted: bool = False
    #: Records (and failures among them) committed but not shown yet: a paced batch reveals its
    #: progress in steps, as a real org's ``numberRecordsProcessed`` rises 200 records at a time.
    hidden: int = 0
    hidden_failed: int = 0
    #: Set when no batch of the job is in flight (its result files are then complete).
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set when the job is aborted or deleted (a job waiting in the queue stops waiting).
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()


@dataclass
class Job:
    """One ingest job: the JobInfo fields, what the emulator keeps to resume it, and its work in memory."""

    id: str
    operation: Operation
    object: str
    api_version: str
    created: float
    external_id_field: str | None = None
    line_ending: LineEnding = LineEnding.LF
    column_delimiter: ColumnDelimiter = ColumnDelimiter.COMMA
    assignment_rule_id: str | None = None
    #: The id of the user who created the job (``createdById``).
    created_by: str = ""
    state: JobState = JobState.OPEN
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
    #: Rows per batch, fixed when processing starts (a restart cuts the file the same way).
    batch_rows: int = 0
    #: Why the upload will fail the job (found while it streamed in), if it will.
    upload_problem: str | None = None
    #: Line breaks in the upload: an upper bound of its rows.
    upload_lines: int = 0
    #: When a closed job leaves the queue (the realistic profile's wait behind other tenants).
    ready_at: float = 0.0
    #: The job failed or was aborted before its first batch: ``unprocessedrecords`` is the upload.
    unprocessed_is_upload: bool = False
    work: JobWork = field(default_factory=JobWork, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.modstamp:
            self.modstamp = self.created

    @property
    def spec(self) -> JobSpec:
        """What its batches are for: object, operation, external id field."""
        return JobSpec(self.object, self.operation, self.external_id_field)

    @property
    def delimiter(self) -> str:
        """The column delimiter character."""
        return self.column_delimiter.char

    @property
    def eol(self) -> str:
        """The line ending characters."""
        return self.line_ending.chars

    # ----- transitions ------------------------------------------------------------------------
    def touch(self, now: float) -> None:
        """Record a change of the job (``systemModstamp``)."""
        self.modstamp = now

    def _stop_clock(self, now: float) -> None:
        if self.processing_started is not None:
            self.total_ms = int((now - self.processing_started) * 1000)

    def close(self, now: float, ready_at: float) -> None:
        """Open -> UploadComplete: the upload is complete, the job is queued until ``ready_at``."""
        self.state = JobState.UPLOAD_COMPLETE
        self.ready_at = ready_at
        self.touch(now)

    def take_upload(self, problem: str | None, lines: int) -> None:
        """The job's one upload arrived (its data is in the job store)."""
        self.uploaded = True
        self.upload_problem = problem
        self.upload_lines = lines

    def begin_processing(self, now: float) -> None:
        """UploadComplete -> InProgress, when its first batch starts."""
        self.state = JobState.IN_PROGRESS
        self.processing_started = now
        self.touch(now)

    def abort(self, now: float) -> None:
        """-> Aborted: batches not started yet will not run."""
        self.state = JobState.ABORTED
        self.touch(now)
        self._stop_clock(now)

    def fail(self, message: str, now: float) -> None:
        """-> Failed with ``errorMessage`` (a job already terminal stays as it is)."""
        if not self.state.terminal:
            self.state = JobState.FAILED
            self.error_message = message
            self._stop_clock(now)
            self.touch(now)

    def complete(self, now: float) -> None:
        """-> JobComplete: every batch is done."""
        self.state = JobState.JOB_COMPLETE
        self._stop_clock(now)
        self.touch(now)

    def mark_deleted(self) -> None:
        """Deleted (by its owner, or for its age); batches still queued are skipped."""
        self.work.deleted = True
        if self.state.processing:
            self.state = JobState.ABORTED

    # ----- JobInfo shapes ---------------------------------------------------------------------
    def _head(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
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
        """``contentUrl``, without a leading slash as in Salesforce's examples."""
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
        """The PATCH (close/abort) response: the head fields only."""
        return self._head()

    def list_info(self) -> dict[str, Any]:
        """A record of the job list: create-shape fields plus jobType."""
        info = self._head()
        info["jobType"] = "V2Ingest"
        if self.state is JobState.OPEN:
            info["contentUrl"] = self.content_url()
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.column_delimiter
        return info

    def full_info(self) -> dict[str, Any]:
        """GET job info, key order as a real org's; record counts on every GET (real captures do).

        While the job runs, ``totalProcessingTime`` is 0 and ``apiActiveProcessingTime`` grows,
        as a real org reports them (``"totalProcessingTime" : 0, "apiActiveProcessingTime" : 1820``
        for an InProgress job, amp-labs/connectors ``providers/salesforce/test/bulk/info/in-progress.json``,
        captured from a real org); ``errorMessage`` comes last, as in the same project's
        ``complete-failure.json``.
        """
        info = self.list_info()
        work = self.work
        info["numberRecordsProcessed"] = max(0, self.processed - work.hidden)
        info["numberRecordsFailed"] = max(0, self.failed - work.hidden_failed)
        info["retries"] = self.retries
        info["totalProcessingTime"] = self.total_ms if self.state.terminal else 0
        info["apiActiveProcessingTime"] = self.api_active_ms
        # No Apex triggers run in the emulator.
        info["apexProcessingTime"] = 0
        if self.error_message is not None:
            info["errorMessage"] = self.error_message
        return info

    # ----- persistence ------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """What the job store keeps: enough to rebuild the job after a restart."""
        return {name: getattr(self, name) for name in _PERSISTED}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Job:
        """Rebuild a job saved by :meth:`to_record`."""
        fields = {name: record[name] for name in _PERSISTED if name in record}
        for name, enum_type in _ENUMS.items():
            if name in fields:
                fields[name] = enum_type(fields[name])
        return cls(**fields)


_PERSISTED = tuple(f.name for f in dataclasses.fields(Job) if f.name != "work")
_ENUMS: dict[str, type[Any]] = {
    "operation": Operation,
    "line_ending": LineEnding,
    "column_delimiter": ColumnDelimiter,
    "state": JobState,
}
