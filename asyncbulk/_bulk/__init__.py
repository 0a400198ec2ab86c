"""The Bulk API 2.0 client: the only package of the loader that imports aiohttp."""

from ._attempts import AmbiguousCreateError as AmbiguousCreateError
from ._attempts import SubmitAttempt as SubmitAttempt
from ._client import BulkClient as BulkClient
from ._errors import parse_limit_info as parse_limit_info
from ._jobinfo import JobInfo as JobInfo
from ._jobinfo import JobState as JobState
from ._jobinfo import ResultKind as ResultKind
from ._payloads import FileRange as FileRange
from ._payloads import UploadData as UploadData
from ._query import QueryPage as QueryPage
from ._query import RecordCounter as RecordCounter
from ._query import ResultPages as ResultPages
from ._retry import job_failed_transiently as job_failed_transiently
from ._transport import WaitNotice as WaitNotice

__all__ = [
    "AmbiguousCreateError",
    "BulkClient",
    "FileRange",
    "JobInfo",
    "JobState",
    "QueryPage",
    "RecordCounter",
    "ResultKind",
    "ResultPages",
    "SubmitAttempt",
    "UploadData",
    "WaitNotice",
    "job_failed_transiently",
    "parse_limit_info",
]
