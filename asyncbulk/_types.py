"""What a load returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["JobReport", "LoadResult"]


@dataclass(frozen=True, slots=True)
class JobReport:
    """One job of a load: the chunk it carried and how it ended.

    :param chunk: the chunk's index (0-based) in the input.
    :param job_id: the Salesforce job id (``750...``), or ``None`` if it was never created.
    :param state: the job's final state (``JobComplete``, ``Failed``, ``Aborted``), or where it stopped.
    :param first_record: the number (1-based) of its first input record.
    :param records: how many input records it carried.
    :param succeeded: / failed / unprocessed: its rows in the merged result files.
    :param error_message: the job's ``errorMessage`` when it ended ``Failed``.
    :param submit: ``multipart`` or ``create-upload-close``.
    :param round: 0 for the input's own jobs; 1, 2... for jobs that retry records that failed with a
        retryable error.
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

    ``succeeded + failed + unprocessed == records`` always holds for a finished load (the loader
    checks it and raises :class:`~asyncbulk.AccountingError` otherwise).
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

    @property
    def ok(self) -> bool:
        """Whether every record succeeded."""
        return self.failed == 0 and self.unprocessed == 0 and not self.cancelled

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
            "unmatched": self.unmatched,
            "records_retried": self.records_retried,
            "cancelled": self.cancelled,
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
