"""asyncbulk: load very large CSV files into Salesforce through the Bulk API 2.0.

::

    result = await asyncbulk.load("contacts.csv", object="Contact", operation="insert",
                                  instance_url=url, access_token=token, out_dir="results/")
    found = await asyncbulk.extract("SELECT Id, Name FROM Account", "accounts.csv",
                                    instance_url=url, access_token=token)
"""

from __future__ import annotations

from ._auth import Auth as Auth
from ._auth import ClientCredentials as ClientCredentials
from ._auth import Credentials as Credentials
from ._auth import JwtBearer as JwtBearer
from ._auth import RefreshToken as RefreshToken
from ._auth import SfCli as SfCli
from ._auth import SfCliError as SfCliError
from ._auth import StaticToken as StaticToken
from ._auth import UsernamePassword as UsernamePassword
from ._bulk import BulkClient as BulkClient
from ._bulk import FileRange as FileRange
from ._bulk import JobInfo as JobInfo
from ._bulk import JobState as JobState
from ._bulk import ResultKind as ResultKind
from ._config import ChunkConfig as ChunkConfig
from ._config import ColumnDelimiter as ColumnDelimiter
from ._config import ConcurrencyConfig as ConcurrencyConfig
from ._config import LineEnding as LineEnding
from ._config import Operation as Operation
from ._config import OptionError as OptionError
from ._config import PollConfig as PollConfig
from ._config import RetryConfig as RetryConfig
from ._display import ProgressDisplay as ProgressDisplay
from ._exceptions import AccountingError as AccountingError
from ._exceptions import AmbiguousSubmitError as AmbiguousSubmitError
from ._exceptions import ApiError as ApiError
from ._exceptions import AsyncBulkError as AsyncBulkError
from ._exceptions import AuthenticationError as AuthenticationError
from ._exceptions import InputChangedError as InputChangedError
from ._exceptions import InputError as InputError
from ._exceptions import InvalidJobStateError as InvalidJobStateError
from ._exceptions import NotFoundError as NotFoundError
from ._exceptions import PreflightError as PreflightError
from ._exceptions import RequestLimitError as RequestLimitError
from ._exceptions import ResumeError as ResumeError
from ._exceptions import TransportError as TransportError
from ._exceptions import UnfinishedLoadError as UnfinishedLoadError
from ._load import Connection as Connection
from ._load import extract as extract
from ._load import load as load
from ._options import BadRows as BadRows
from ._options import ExtractOptions as ExtractOptions
from ._options import LoadOptions as LoadOptions
from ._options import Query as Query
from ._progress import ProgressCallback as ProgressCallback
from ._progress import ProgressEvent as ProgressEvent
from ._progress import ProgressSnapshot as ProgressSnapshot
from ._result import ExtractResult as ExtractResult
from ._result import JobReport as JobReport
from ._result import LoadPlan as LoadPlan
from ._result import LoadResult as LoadResult

__version__ = "0.2.0"

__all__ = [
    "AccountingError",
    "AmbiguousSubmitError",
    "ApiError",
    "AsyncBulkError",
    "Auth",
    "AuthenticationError",
    "BadRows",
    "BulkClient",
    "ChunkConfig",
    "ClientCredentials",
    "ColumnDelimiter",
    "ConcurrencyConfig",
    "Connection",
    "Credentials",
    "ExtractOptions",
    "ExtractResult",
    "FileRange",
    "InputChangedError",
    "InputError",
    "InvalidJobStateError",
    "JobInfo",
    "JobReport",
    "JobState",
    "JwtBearer",
    "LineEnding",
    "LoadOptions",
    "LoadPlan",
    "LoadResult",
    "NotFoundError",
    "Operation",
    "OptionError",
    "PollConfig",
    "PreflightError",
    "ProgressCallback",
    "ProgressDisplay",
    "ProgressEvent",
    "ProgressSnapshot",
    "Query",
    "RefreshToken",
    "RequestLimitError",
    "ResultKind",
    "ResumeError",
    "RetryConfig",
    "SfCli",
    "SfCliError",
    "StaticToken",
    "TransportError",
    "UnfinishedLoadError",
    "UsernamePassword",
    "__version__",
    "extract",
    "load",
]
