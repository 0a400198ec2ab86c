"""The org's daily allocations: what was used in the last 24 hours, and the refusals once one runs out.

Salesforce's allocations are per rolling 24 hours ("Bulk API and Bulk API 2.0 Limits and
Allocations",
https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-bulkapi.html):
use rolls off a day after it happened, on the emulator's :class:`~.._clock.Clock`. What a client
is *told* may lag behind (:class:`Lagged`): the ``Sforce-Limit-Info`` header is "recalculated
asynchronously" and ``/limits`` is "accurate within five minutes".
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .._clock import Clock
from ._errors import ApiError

__all__ = ["Allocations", "Lagged", "RollingCount"]

_V = TypeVar("_V")
_WINDOW = 86_400.0
_BUCKET = 60.0  # use is kept per minute


@dataclass
class RollingCount:
    """A count over the last 24 hours of a clock, kept per minute."""

    clock: Clock
    _buckets: collections.OrderedDict[int, int] = field(default_factory=collections.OrderedDict)
    _total: int = 0

    def _expire(self) -> None:
        oldest = int((self.clock.time() - _WINDOW) // _BUCKET)
        while self._buckets:
            minute, n = next(iter(self._buckets.items()))
            if minute > oldest:
                break
            self._buckets.popitem(last=False)
            self._total -= n

    def add(self, n: int = 1) -> None:
        """Count ``n`` now."""
        minute = int(self.clock.time() // _BUCKET)
        self._buckets[minute] = self._buckets.get(minute, 0) + n
        self._buckets.move_to_end(minute)
        self._total += n

    @property
    def value(self) -> int:
        """What was counted in the last 24 hours."""
        self._expire()
        return self._total


@dataclass
class Lagged(Generic[_V]):
    """A value as a client sees it: refreshed at most every ``lag`` seconds of the clock."""

    clock: Clock
    lag: float
    _seen: tuple[float, _V] | None = None

    def read(self, current: _V) -> _V:
        """``current``, or what it was at the last refresh if that is less than ``lag`` ago."""
        if self.lag <= 0:
            return current
        now = self.clock.time()
        if self._seen is None or now - self._seen[0] >= self.lag:
            self._seen = (now, current)
        return self._seen[1]


class Allocations:
    """Daily Bulk API batches and records: the limits and what jobs used of them in 24 hours.

    :param batch_limit: batches per rolling 24 hours.
    :param record_limit: records per rolling 24 hours.
    :param clock: the emulator's clock.
    """

    def __init__(self, batch_limit: int, record_limit: int, clock: Clock) -> None:
        self.batch_limit = batch_limit
        self.record_limit = record_limit
        self.jobs_created = 0
        self._batches = RollingCount(clock)
        self._records = RollingCount(clock)

    @property
    def batches_used(self) -> int:
        """Batches run in the last 24 hours."""
        return self._batches.value

    @property
    def records_used(self) -> int:
        """Records processed in the last 24 hours."""
        return self._records.value

    def check_new_job(self) -> None:
        """Refuse a new job once a daily allocation is used up (400 ``LIMIT_EXCEEDED``).

        Message modelled on the real Bulk 2.0 query-job limit error, ``LIMIT_EXCEEDED`` "Max bulk v2
        query jobs (10000) per 24 hrs has been reached (10021)" (airbyte source-salesforce tests).
        """
        batches, records = self.batches_used, self.records_used
        if batches >= self.batch_limit:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"Max bulk v2 batches ({self.batch_limit}) per 24 hrs has been reached ({batches})",
            )
        if records >= self.record_limit:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                f"Max bulk v2 records ({self.record_limit}) per 24 hrs has been reached ({records})",
            )

    def take_batch(self, records: int) -> str | None:
        """Count one batch of ``records``; if that would pass a limit, count nothing and return the
        failed job's ``errorMessage`` instead (the job fails, its remaining rows unprocessed)."""
        if self.records_used + records > self.record_limit:
            return f"ExceededQuota : Max bulk v2 records ({self.record_limit}) per 24 hrs has been exceeded"
        if self.batches_used + 1 > self.batch_limit:
            return f"ExceededQuota : Max bulk v2 batches ({self.batch_limit}) per 24 hrs has been exceeded"
        self._batches.add()
        self._records.add(records)
        return None

    def counters(self) -> dict[str, int]:
        """``jobs_created``, ``batches_used``, ``records_used`` (for the emulator's stats)."""
        return {
            "jobs_created": self.jobs_created,
            "batches_used": self.batches_used,
            "records_used": self.records_used,
        }
