"""Progress events: what a load reports while it runs.

A load calls the ``progress`` callback (sync or async) with a :class:`ProgressEvent` at each step
that matters. Every event carries a :class:`ProgressSnapshot` of all counters, so a display can
redraw from any single event.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

__all__ = ["EventKind", "ProgressCallback", "ProgressEvent", "ProgressSnapshot"]

EventKind = Literal[
    "validated",  # the structural pass is done: records and chunks are known
    "chunk_read",  # a chunk was read from the input and is about to be submitted
    "job_created",  # a job exists on the server (its id is known)
    "job_uploaded",  # its data is uploaded and the job is UploadComplete (queued)
    "job_state",  # a job changed state
    "job_progress",  # a job's processed / failed counts rose
    "results_merged",  # a finished job's results are in the merged files
    "retry",  # a request or a round of records is being retried
    "waiting",  # a request waits to be tried again (the org is unreachable, or answers 503...)
    "finished",  # the load is over (successfully or not)
]


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """All counters of a load at one moment."""

    records_total: int = 0
    chunks_total: int = 0
    records_read: int = 0
    records_uploaded: int = 0
    jobs_created: int = 0
    jobs_queued: int = 0
    jobs_in_progress: int = 0
    jobs_done: int = 0
    records_processed: int = 0
    records_failed: int = 0
    records_merged: int = 0
    records_skipped: int = 0
    api_requests: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        """Records processed per second so far."""
        return self.records_processed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining(self) -> float | None:
        """Seconds left at the current rate, if it can be estimated."""
        rate = self.rate
        if rate <= 0 or self.records_total <= 0:
            return None
        return max(0.0, (self.records_total - self.records_processed) / rate)


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One step of a load.

    :param kind: what happened.
    :param snapshot: every counter right after it happened.
    :param chunk: the chunk (0-based) it concerns, if any.
    :param job_id: the job it concerns, if any.
    :param state: the job's new state (``job_state``), if any.
    :param message: a human-readable detail (a retry's reason, a job's error message).
    """

    kind: EventKind
    snapshot: ProgressSnapshot
    chunk: int | None = None
    job_id: str | None = None
    state: str | None = None
    message: str | None = None


ProgressCallback = Callable[[ProgressEvent], Awaitable[None] | None]


class ProgressTracker:
    """Keeps the counters and calls the user's callback; internal to a load.

    Only the load's ledger changes the counters (one place knows when a record counts as read,
    uploaded, processed or merged), and no counter ever goes below zero.
    """

    def __init__(
        self, callback: ProgressCallback | None, *, requests: Callable[[], int] | None = None
    ) -> None:
        self._callback = callback
        self._requests = requests
        self._start = time.monotonic()
        self.snapshot = ProgressSnapshot()

    def update(self, **changes: int) -> None:
        """Add to counters (``records_read=+n`` style: values are increments)."""
        current = self.snapshot
        self.snapshot = replace(current, **{k: max(0, getattr(current, k) + v) for k, v in changes.items()})

    def set(self, **values: int) -> None:
        """Set counters to absolute values."""
        self.snapshot = replace(self.snapshot, **values)

    async def emit(
        self,
        kind: EventKind,
        *,
        chunk: int | None = None,
        job_id: str | None = None,
        state: str | None = None,
        message: str | None = None,
    ) -> None:
        """Send one event to the callback (awaiting it when it is a coroutine function)."""
        if self._callback is None:
            return
        self.snapshot = replace(
            self.snapshot,
            elapsed=time.monotonic() - self._start,
            api_requests=self._requests() if self._requests is not None else self.snapshot.api_requests,
        )
        event = ProgressEvent(kind, self.snapshot, chunk=chunk, job_id=job_id, state=state, message=message)
        outcome = self._callback(event)
        if inspect.isawaitable(outcome):
            await outcome
