"""The Bulk API 2.0 vocabulary the emulator speaks, each word declared once.

Operations, column delimiters, line endings and job states are the enum values of the create-job
request and of JobInfo (https://developer.salesforce.com/docs/platform/api-asynch/guide/create-job.html).
They are ``StrEnum`` members, so they compare equal to, hash like and serialise as the plain strings
Salesforce sends. The limits below are the emulator's copy of Salesforce's published ones.
"""

from __future__ import annotations

import enum

__all__ = [
    "API_VERSIONS",
    "BATCH_RECORDS",
    "DAILY_API_REQUESTS",
    "DAILY_BATCHES",
    "DAILY_QUERY_FILE_STORAGE_MB",
    "DAILY_QUERY_JOBS",
    "DAILY_RECORDS",
    "JOB_KEY_PREFIX",
    "LATEST_VERSION",
    "LIST_PAGE_SIZE",
    "MULTIPART_MAX_CHARS",
    "QUERY_PAGE_BYTES",
    "QUERY_PAGE_RECORDS",
    "QUERY_SINCE",
    "REST_VERSIONS",
    "RESULT_PAGES_SINCE",
    "RESULT_PAGE_URLS",
    "RETIRED_BELOW",
    "UPLOAD_MAX_BYTES",
    "ColumnDelimiter",
    "JobState",
    "LineEnding",
    "Operation",
    "QueryOperation",
    "ResultKind",
]


class Operation(enum.StrEnum):
    """A job's ``operation``; the names are case-sensitive (``insert``, not ``INSERT``)."""

    INSERT = "insert"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"
    HARD_DELETE = "hardDelete"

    @property
    def deletes(self) -> bool:
        """``delete`` or ``hardDelete``: the batch names records by Id and writes no field."""
        return self is Operation.DELETE or self is Operation.HARD_DELETE


class QueryOperation(enum.StrEnum):
    """A query job's ``operation``: ``queryAll`` also returns deleted records ("Create a Query Job",
    https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm)."""

    QUERY = "query"
    QUERY_ALL = "queryAll"


class ColumnDelimiter(enum.StrEnum):
    """A job's ``columnDelimiter``; :attr:`char` is the character it stands for."""

    BACKQUOTE = "BACKQUOTE"
    CARET = "CARET"
    COMMA = "COMMA"
    PIPE = "PIPE"
    SEMICOLON = "SEMICOLON"
    TAB = "TAB"

    @property
    def char(self) -> str:
        """The delimiter character."""
        return _DELIMITER_CHARS[self]


_DELIMITER_CHARS = {
    ColumnDelimiter.BACKQUOTE: "`",
    ColumnDelimiter.CARET: "^",
    ColumnDelimiter.COMMA: ",",
    ColumnDelimiter.PIPE: "|",
    ColumnDelimiter.SEMICOLON: ";",
    ColumnDelimiter.TAB: "\t",
}


class LineEnding(enum.StrEnum):
    """A job's ``lineEnding``; :attr:`chars` are the characters that end a line."""

    LF = "LF"
    CRLF = "CRLF"

    @property
    def chars(self) -> str:
        """``"\\n"`` or ``"\\r\\n"``."""
        return "\n" if self is LineEnding.LF else "\r\n"


class JobState(enum.StrEnum):
    """An ingest job's ``state``.

    Open (accepts one upload) → UploadComplete (queued) → InProgress → JobComplete or Failed; a job
    that is not finished can be Aborted.
    """

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"

    @property
    def terminal(self) -> bool:
        """JobComplete, Failed or Aborted: nothing about the job changes any more."""
        return self in _TERMINAL

    @property
    def deletable(self) -> bool:
        """Whether ``DELETE`` is allowed: UploadComplete or a terminal state."""
        return self is JobState.UPLOAD_COMPLETE or self in _TERMINAL

    @property
    def processing(self) -> bool:
        """UploadComplete or InProgress: the job's batches are (to be) run."""
        return self is JobState.UPLOAD_COMPLETE or self is JobState.IN_PROGRESS


_TERMINAL = frozenset({JobState.JOB_COMPLETE, JobState.FAILED, JobState.ABORTED})


class ResultKind(enum.StrEnum):
    """The three result files of a job (the emulator's storage names, not the URL paths)."""

    SUCCESS = "success"
    FAILED = "failed"
    UNPROCESSED = "unprocessed"


#: Key prefix of Bulk job ids.
JOB_KEY_PREFIX = "750"

# API versions: Bulk API 2.0 ingest exists from v41.0 (Winter '18); v66.0 is Spring '26. Salesforce
# retired versions 7.0 through 30.0 and answers 410 Gone for them; the REST API serves every version
# from v31.0 (Summer '14), the first one its versions list shows
# (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_versions.htm).
API_VERSIONS = tuple(f"{v}.0" for v in range(41, 67))
LATEST_VERSION = API_VERSIONS[-1]
RETIRED_BELOW = 31
REST_VERSIONS = tuple(f"{v}.0" for v in range(RETIRED_BELOW, 67))

# Limits, from "Bulk API and Bulk API 2.0 Limits and Allocations"
# (https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html)
# and the create-job page's usage notes for the multipart limit.
#: Records per internal batch: Salesforce cuts every job's data into batches of this size.
BATCH_RECORDS = 10_000
#: Bulk API batches an org may run per rolling 24 hours (shared with Bulk API 1.0).
DAILY_BATCHES = 15_000
#: Records an org may load per rolling 24 hours.
DAILY_RECORDS = 150_000_000
#: The daily API request allocation of a typical Enterprise Edition org: 100,000 requests per 24
#: hours plus some per licence ("API Request Limits and Allocations",
#: https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm;
#: the Limit Info Header page's example answer is ``api-usage=10018/100000``,
#: https://developer.salesforce.com/docs/atlas.en-us.api_tooling.meta/api_tooling/headers_api_usage.htm).
DAILY_API_REQUESTS = 100_000
#: Bulk API 2.0 query jobs per 24 hours, and their result storage (``GET /limits``).
DAILY_QUERY_JOBS = 10_000
DAILY_QUERY_FILE_STORAGE_MB = 976_562
#: CSV characters a multipart create request may carry.
MULTIPART_MAX_CHARS = 100_000
#: Raw bytes per job upload: 150 MB of base64 is 112,500,000 bytes before encoding.
UPLOAD_MAX_BYTES = 150_000_000 * 3 // 4
#: Jobs per page of ``GET jobs/ingest`` and ``GET jobs/query``.
LIST_PAGE_SIZE = 1000

# Bulk API 2.0 query: jobs exist from v47.0 ("Create a Query Job"), resultPages from v58.0 ("Get
# Parallel Results for a Query Job", https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_parallel_job_results.htm),
# which lists at most five result URLs per answer.
QUERY_SINCE = 47
RESULT_PAGES_SINCE = 58
RESULT_PAGE_URLS = 5
#: Rows of a results page without ``maxRecords``, and the most a page holds. Salesforce documents no
#: number; a real default page held about 250,000 rows, one PK-chunking batch (forcedotcom/cli#1759).
QUERY_PAGE_RECORDS = 250_000
#: A stored result file is at most 1 GB ("Bulk API and Bulk API 2.0 Limits and Allocations").
QUERY_PAGE_BYTES = 1_000_000_000
