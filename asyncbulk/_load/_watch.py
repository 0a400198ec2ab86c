"""What the poll loop follows (:class:`JobWatch`) and what it asks (:class:`StatusSource`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from .._bulk import JobInfo, JobState

__all__ = ["JobWatch", "StatusSource"]


class StatusSource(Protocol):
    """What the poll loop asks: one job's info, or the whole job list (a :class:`BulkClient`)."""

    async def job_info(self, job_id: str) -> JobInfo:
        """One job's current info."""
        ...

    def list_jobs(self) -> AsyncIterator[JobInfo]:
        """Every job in the org's job list."""
        ...


@dataclass(eq=False)
class JobWatch:
    """A job the poll loop follows."""

    job_id: str
    records: int
    registered: float
    next_due: float
    interval: float
    done: anyio.Event = field(default_factory=anyio.Event)
    info: JobInfo | None = None
    state: JobState | None = None
    processed: int = 0
    observed_at: float = 0.0
    polls: int = 0
    #: Where the job ends in the queue: the records of every job registered before it, and its own.
    end: float = 0.0
    #: Looks that found it not done although the model said it was due.
    misses: int = 0
    #: Its own records per second, from two looks in progress that showed it move (0: unknown).
    pace: float = 0.0

    def pace_at(self, info: JobInfo, now: float) -> float:
        """Records per second since the last look, if both looks found it in progress and it
        moved (a look across its start would count time queued); 0 otherwise."""
        moved = info.processed - self.processed
        if moved <= 0 or self.state is not JobState.IN_PROGRESS or not self.observed_at:
            return 0.0
        return moved / max(now - self.observed_at, 1e-3)

    def record(self, info: JobInfo, now: float) -> JobState | None:
        """Take in a look at the job at ``now``; the state it had before."""
        previous = self.state
        self.pace = self.pace_at(info, now) or self.pace
        self.polls += 1
        self.state = info.state
        self.processed = max(self.processed, info.processed)
        self.observed_at = now
        return previous
