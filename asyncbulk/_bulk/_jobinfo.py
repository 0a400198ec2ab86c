"""Job info parsed once, at the client boundary: job states, result kinds and :class:`JobInfo`.

Salesforce answers every job call with the same JSON object ("Get Job Info",
https://developer.salesforce.com/docs/platform/api-asynch/guide/get-job-info.html). The client turns
it into a :class:`JobInfo` as it arrives, so no other module reads raw keys; the raw object stays
available (``JobInfo.raw``) for the commands that print it whole.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["JobInfo", "JobState", "ResultKind", "parse_sf_datetime"]


class JobState(enum.StrEnum):
    """The state of a Bulk API 2.0 job (the wire spelling is the value)."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"
    #: Bulk API 1.0 ("Classic") jobs in the same job list say ``Closed`` once their batches are in.
    CLOSED = "Closed"
    #: Any other text (a state this client does not know); the raw text stays in ``JobInfo.raw``.
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, value: object) -> JobState:
        """The state for ``value``; :attr:`UNKNOWN` for anything that is not a known state."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN

    @property
    def terminal(self) -> bool:
        """Whether the job is finished: nothing about it changes any more."""
        return self in _TERMINAL

    @property
    def closed(self) -> bool:
        """Whether the job's upload was completed (``UploadComplete`` took effect), or it ended."""
        return self in _CLOSED


_TERMINAL = frozenset({JobState.JOB_COMPLETE, JobState.FAILED, JobState.ABORTED})
# Failed: a job can be closed and then fail; either way it no longer takes data.
_CLOSED = frozenset({JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS, JobState.JOB_COMPLETE, JobState.FAILED})


class ResultKind(enum.StrEnum):
    """The three result files of an ingest job ("Get Job Successful/Failed/Unprocessed Record
    Results", https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm).
    """

    SUCCESSFUL = "successful"
    FAILED = "failed"
    UNPROCESSED = "unprocessed"

    @property
    def path(self) -> str:
        """The resource path under the job, spelled as Salesforce documents it.

        camelCase, except ``unprocessedrecords``, which is all lower case (jsforce and
        aiosalesforce use the same spelling).
        """
        return _PATHS[self]

    @property
    def sf_columns(self) -> int:
        """How many ``sf__`` columns come before the uploaded ones (``sf__Id``, ``sf__Created`` /
        ``sf__Error``; none in unprocessed records)."""
        return 0 if self is ResultKind.UNPROCESSED else 2


_PATHS = {
    ResultKind.SUCCESSFUL: "successfulResults/",
    ResultKind.FAILED: "failedResults/",
    ResultKind.UNPROCESSED: "unprocessedrecords/",
}


def parse_sf_datetime(value: object) -> datetime | None:
    """Parse Salesforce's ``2022-01-02T21:33:43.000+0000``; ``None`` if absent or unreadable."""
    if not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _int(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return 0


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class JobInfo:
    """One job as Salesforce describes it (job info, or one record of the job list).

    Job-list records carry no record counts: ``processed`` and ``failed`` are then 0.

    :param id: the job id (``750...``).
    :param state: its state.
    :param object: the sObject.
    :param operation: ``insert``, ``upsert``...
    :param job_type: ``V2Ingest``, ``V2Query``, or ``Classic`` (Bulk API 1.0), when given.
    :param processed: ``numberRecordsProcessed``.
    :param failed: ``numberRecordsFailed``.
    :param error_message: ``errorMessage`` of a failed job.
    :param created: ``createdDate``.
    :param created_by: ``createdById`` (the user who created it).
    :param column_delimiter: ``columnDelimiter``.
    :param line_ending: ``lineEnding``.
    :param external_id_field: ``externalIdFieldName``.
    :param raw: the JSON object as received (for commands that print every field).
    """

    id: str
    state: JobState
    object: str = ""
    operation: str = ""
    job_type: str | None = None
    processed: int = 0
    failed: int = 0
    error_message: str | None = None
    created: datetime | None = None
    created_by: str | None = None
    column_delimiter: str | None = None
    line_ending: str | None = None
    external_id_field: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> JobInfo:
        """Read Salesforce's JSON object; unknown keys are kept in :attr:`raw` only."""
        return cls(
            id=str(data.get("id") or ""),
            state=JobState.parse(data.get("state")),
            object=str(data.get("object") or ""),
            operation=str(data.get("operation") or ""),
            job_type=_text(data.get("jobType")),
            processed=_int(data.get("numberRecordsProcessed")),
            failed=_int(data.get("numberRecordsFailed")),
            error_message=_text(data.get("errorMessage")),
            created=parse_sf_datetime(data.get("createdDate")),
            created_by=_text(data.get("createdById")),
            column_delimiter=_text(data.get("columnDelimiter")),
            line_ending=_text(data.get("lineEnding")),
            external_id_field=_text(data.get("externalIdFieldName")),
            raw=dict(data),
        )

    def with_counts_of(self, other: JobInfo) -> JobInfo:
        """This info, with the record counts of ``other`` (a job-list record has none of its own)."""
        return JobInfo(
            id=self.id,
            state=self.state,
            object=self.object,
            operation=self.operation,
            job_type=self.job_type,
            processed=max(self.processed, other.processed),
            failed=max(self.failed, other.failed),
            error_message=self.error_message or other.error_message,
            created=self.created or other.created,
            created_by=self.created_by or other.created_by,
            column_delimiter=self.column_delimiter or other.column_delimiter,
            line_ending=self.line_ending or other.line_ending,
            external_id_field=self.external_id_field or other.external_id_field,
            raw={**other.raw, **self.raw},
        )
