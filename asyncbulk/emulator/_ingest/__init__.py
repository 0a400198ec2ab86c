"""The ingest layer: Bulk jobs, their uploads and their batches, over the data layer's :class:`Org`."""

from ._allocations import Lagged, RollingCount
from ._errors import ApiError, not_found
from ._job import Job, format_date
from ._manager import JobManager, UploadSink

__all__ = [
    "ApiError",
    "Job",
    "JobManager",
    "Lagged",
    "RollingCount",
    "UploadSink",
    "format_date",
    "not_found",
]
