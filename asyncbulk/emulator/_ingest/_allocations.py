"""The org's daily Bulk API allocations: what was used, and the refusals once one runs out.

Salesforce's limits are per rolling 24 hours ("Bulk API and Bulk API 2.0 Limits and Allocations",
https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html);
the emulator never resets them (a run is shorter than a day).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import ApiError

__all__ = ["Allocations"]


@dataclass
class Allocations:
    """Daily batches and records: the limits and what jobs have used of them.

    :param batch_limit: batches per day.
    :param record_limit: records per day.
    """

    batch_limit: int
    record_limit: int
    jobs_created: int = 0
    batches_used: int = 0
    records_used: int = 0

    def check_new_job(self) -> None:
        """Refuse a new job once a daily allocation is used up (400 ``LIMIT_EXCEEDED``).

        Message modelled on the real Bulk 2.0 query-job limit error, ``LIMIT_EXCEEDED`` "Max bulk v2
        query jobs (10000) per 24 hrs has been reached (10021)" (airbyte source-salesforce tests).
        """
        if self.batches_used >= self.batch_limit:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"Max bulk v2 batches ({self.batch_limit}) per 24 hrs has been reached ({self.batches_used})",
            )
        if self.records_used >= self.record_limit:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"Max bulk v2 records ({self.record_limit}) per 24 hrs has been reached "
                f"({self.records_used})",
            )

    def take_batch(self, records: int) -> str | None:
        """Count one batch of ``records``; if that would pass a limit, count nothing and return the
        failed job's ``errorMessage`` instead (the job fails, its remaining rows unprocessed)."""
        if self.records_used + records > self.record_limit:
            return f"ExceededQuota : Max bulk v2 records ({self.record_limit}) per 24 hrs has been exceeded"
        if self.batches_used + 1 > self.batch_limit:
            return f"ExceededQuota : Max bulk v2 batches ({self.batch_limit}) per 24 hrs has been exceeded"
        self.batches_used += 1
        self.records_used += records
        return None

    def counters(self) -> dict[str, int]:
        """``jobs_created``, ``batches_used``, ``records_used`` (for the emulator's stats)."""
        return {
            "jobs_created": self.jobs_created,
            "batches_used": self.batches_used,
            "records_used": self.records_used,
        }
