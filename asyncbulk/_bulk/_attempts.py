"""A job-creating request whose fate is unknown, and how to recognise the job it may have made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .._exceptions import AmbiguousSubmitError
from ._jobinfo import JobInfo, JobState

__all__ = ["AmbiguousCreateError", "SubmitAttempt"]


@dataclass(frozen=True)
class SubmitAttempt:
    """A job-creating request whose first tries failed in a way that may have created a job.

    Bulk API 2.0 jobs carry no client-chosen marker, so a job this request may have created can
    only be recognised by its settings and creation time: see :meth:`matches` and
    :meth:`BulkClient.find_jobs`. Times are the client's UTC clock; :meth:`matches` allows for skew.

    :param object: the sObject of the job.
    :param operation: its operation.
    :param external_id_field: its external id field (upsert).
    :param column_delimiter: its delimiter.
    :param line_ending: its line ending.
    :param multipart: the request was a multipart create (the job starts ``UploadComplete``).
    :param started: when the first try was sent.
    :param ended: when the last try failed.
    :param data_bytes: bytes of CSV the request carried.
    :param job_id: the job the request finally created (a JSON create that succeeded on a retry).
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
    job_id: str | None = None

    def matches(
        self, job: JobInfo, *, user_id: str | None = None, skew: timedelta = timedelta(minutes=5)
    ) -> bool:
        """Whether ``job`` (a job-list record or job info) could have come from this request.

        :param user_id: the id of the user this client acts as, when known: another user's job
            (a real org's job list holds every user's jobs) is never ours.
        """
        if self.job_id is not None and job.id == self.job_id:
            return False
        if user_id is not None and job.created_by is not None and job.created_by[:15] != user_id[:15]:
            return False
        if job.job_type not in (None, "V2Ingest"):
            return False  # a Bulk API 1.0 or query job in the same list
        if job.object.lower() != self.object.lower() or job.operation != self.operation:
            return False
        if job.column_delimiter is not None and job.column_delimiter != self.column_delimiter:
            return False
        if job.line_ending is not None and job.line_ending != self.line_ending:
            return False
        if self.external_id_field and (job.external_id_field or self.external_id_field) != (
            self.external_id_field
        ):
            return False
        # A multipart create lands in UploadComplete at once; a JSON create leaves an Open job.
        if self.multipart and job.state is JobState.OPEN:
            return False
        if job.created is None:
            return True
        return self.started - skew <= job.created <= self.ended + skew


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
