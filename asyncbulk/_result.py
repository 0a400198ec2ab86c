"""What a load returns (:class:`LoadResult`), what a dry run plans (:class:`LoadPlan`), and what an
extract returns (:class:`ExtractResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ExtractResult", "JobReport", "LoadPlan", "LoadResult"]


@dataclass(frozen=True, slots=True)
class JobReport:
    """One job of a load: the chunk it carried and how it ended.

    :param chunk: the chunk's index (0-based) in the input.
    :param job_id: the Salesforce job id (``750...``), or ``None`` if it was never created.
    :param state: the job's final state (``JobComplete``, ``Failed``, ``Aborted``), or where it stopped.
    :param first_record: the number (1-based) of its first input record.
    :param records: how many input records it carried.
    :param succeeded: its rows in ``success.csv``.
    :param failed: its rows in ``failed.csv``.
    :param unprocessed: its rows in ``unprocessed.csv``.
    :param error_message: the job's ``errorMessage`` when it ended ``Failed``.
    :param submit: ``multipart`` or ``create-upload-close``.
    :param round: 0 for the input's own jobs; 1, 2... for jobs that retry records that failed with a
        retryable error.
    :param seconds: from its submission to its end.
    """

    chunk: int
    job_id: str | None
    state: str
    first_record: int
    records: int
    succeeded: int = 0
    failed: int = 0
    unprocessed: int = 0
    error_message: str | None = None
    submit: str = ""
    round: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The outcome of :func:`asyncbulk.load`.

    ``succeeded + failed + unprocessed + skipped == records`` always holds for a finished load (the
    loader checks it and raises :class:`~asyncbulk.AccountingError` otherwise). The same numbers,
    and the error that stopped a load, are in ``summary.json``.
    """

    object: str
    operation: str
    records: int
    succeeded: int
    failed: int
    unprocessed: int
    success_file: Path
    failed_file: Path
    unprocessed_file: Path
    summary_file: Path
    jobs: tuple[JobReport, ...] = ()
    api_requests: int = 0
    api_usage: tuple[int, int] | None = None
    batches: int = 0
    seconds: float = 0.0
    unmatched: int = 0
    records_retried: int = 0
    cancelled: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    skipped: int = 0
    error: str | None = None
    resume_command: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every record succeeded (and nothing stopped the load)."""
        return (
            self.failed == 0
            and self.unprocessed == 0
            and self.skipped == 0
            and not self.cancelled
            and self.error is None
        )

    @property
    def rate(self) -> float:
        """Records per second over the whole load."""
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON types: what ``summary.json`` and ``--json`` hold (no credential)."""
        return {
            "object": self.object,
            "operation": self.operation,
            "ok": self.ok,
            "records": self.records,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "unprocessed": self.unprocessed,
            "skipped": self.skipped,
            "unmatched": self.unmatched,
            "records_retried": self.records_retried,
            "cancelled": self.cancelled,
            "error": self.error,
            "resume": self.resume_command,
            "seconds": self.seconds,
            "records_per_second": round(self.rate, 1),
            "api_requests": self.api_requests,
            "api_usage": list(self.api_usage) if self.api_usage else None,
            "batches": self.batches,
            "files": {
                "success": str(self.success_file),
                "failed": str(self.failed_file),
                "unprocessed": str(self.unprocessed_file),
                "summary": str(self.summary_file),
            },
            "jobs": [
                {
                    "chunk": job.chunk,
                    "round": job.round,
                    "job_id": job.job_id,
                    "state": job.state,
                    "submit": job.submit,
                    "first_record": job.first_record,
                    "records": job.records,
                    "succeeded": job.succeeded,
                    "failed": job.failed,
                    "unprocessed": job.unprocessed,
                    "error_message": job.error_message,
                    "seconds": job.seconds,
                }
                for job in self.jobs
            ],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What a load would do (``dry_run=True``, ``--dry-run``): nothing was created.

    :param object: the sObject.
    :param operation: the operation.
    :param records: records in the input.
    :param chunks: chunks, i.e. jobs.
    :param multipart_chunks: chunks small enough to go as one multipart request each.
    :param batches: internal 10,000-record batches the jobs spend of the org's daily allocation.
    :param api_requests: API requests the load is expected to make (creates, uploads, closes,
        polls, result downloads).
    :param daily_batches_remaining: the org's remaining batches for the rolling 24 hours, from
        ``/limits`` (``None`` if unavailable).
    :param daily_records_remaining: the same for records.
    :param daily_api_requests_remaining: the same for API requests.
    :param skipped: bad records that ``bad_rows="skip"`` would leave out.
    :param columns: the header.
    :param notes: warnings (e.g. more batches than remain today).
    """

    object: str
    operation: str
    records: int
    chunks: int
    jobs: int
    multipart_chunks: int
    batches: int
    api_requests: int
    daily_batches_remaining: int | None = None
    daily_records_remaining: int | None = None
    daily_api_requests_remaining: int | None = None
    skipped: int = 0
    columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain JSON types."""
        return {
            "object": self.object,
            "operation": self.operation,
            "records": self.records,
            "chunks": self.chunks,
            "jobs": self.jobs,
            "multipart_chunks": self.multipart_chunks,
            "batches": self.batches,
            "api_requests": self.api_requests,
            "daily_batches_remaining": self.daily_batches_remaining,
            "daily_records_remaining": self.daily_records_remaining,
            "daily_api_requests_remaining": self.daily_api_requests_remaining,
            "skipped": self.skipped,
            "columns": list(self.columns),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class ExtractResult:
    """The outcome of :func:`asyncbulk.extract`.

    ``rows`` always equals the query job's ``numberRecordsProcessed`` (the extract checks it, and
    each page's rows against its ``Sforce-NumberOfRecords``).

    :param soql: the query.
    :param path: the CSV file written (one header, then every row in the server's order).
    :param rows: data rows in it.
    :param pages: result pages downloaded.
    :param bytes: its size.
    :param job_id: the query job.
    :param query_all: whether deleted and archived records were included.
    :param parallel: whether pages were downloaded in parallel (``resultPages``).
    :param job_deleted: whether the job was deleted at the end.
    :param api_requests: API requests made.
    :param seconds: wall time.
    :param resumed: whether this run continued an interrupted one.
    """

    soql: str
    path: Path
    rows: int
    pages: int
    bytes: int
    job_id: str
    query_all: bool = False
    parallel: bool = False
    job_deleted: bool = False
    api_requests: int = 0
    seconds: float = 0.0
    resumed: bool = False

    @property
    def rate(self) -> float:
        """Rows per second over the whole extract."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON types (``--json``)."""
        return {
            "soql": self.soql,
            "path": str(self.path),
            "rows": self.rows,
            "pages": self.pages,
            "bytes": self.bytes,
            "job_id": self.job_id,
            "query_all": self.query_all,
            "parallel": self.parallel,
            "job_deleted": self.job_deleted,
            "api_requests": self.api_requests,
            "seconds": self.seconds,
            "rows_per_second": round(self.rate, 1),
            "resumed": self.resumed,
        }
