"""One loop polls every active job.

Each job gets its own next-due time, so the loop sleeps until the earliest one and polls every job
that is due then in one round. The due time comes from what has been learned:

* a new job's first poll waits for the time similar jobs took (seconds per record, learned from
  jobs that finished), so a job that finishes in one interval costs one status request;
* a job in progress is polled again when its observed processing rate says it will be done;
* a job that shows no change is polled less and less often (``factor``), up to ``maximum``;
* all intervals are jittered so that many loaders do not poll in step.

With ``list_threshold`` or more jobs due at once, one job-list request (1,000 jobs a page) replaces
one request per job; the jobs it shows finished are then read once each for their final counts.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from .._bulk import JobInfo, JobState
from .._config import PollConfig
from .._limits import JOB_LIST_PAGE

__all__ = ["JobWatch", "Poller"]


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
    #: When a list round last read this job for its counts, and what it had processed then.
    probed_at: float = 0.0
    probed_processed: int = 0


class Poller:
    """The single polling task of a load.

    :param client: what answers ``job_info`` and ``list_jobs``.
    :param config: intervals and thresholds.
    :param on_update: called with (job id, job info, previous state) after every poll of a job.
    :param clock: a monotonic clock (tests pass a fake one).
    :param rng: the jitter source.
    :param sleep: how to wait for the next poll (tests pass one that moves a fake clock on).
    """

    def __init__(
        self,
        client: StatusSource,
        config: PollConfig,
        on_update: Callable[[str, JobInfo, JobState | None], Awaitable[None]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._config = config
        self._on_update = on_update
        self._clock = clock
        self._rng = rng or random.Random()
        self._watches: dict[str, JobWatch] = {}
        self._changed = anyio.Event()
        self._closed = False
        # Seconds per record from start of watch to a terminal state, learned from finished jobs.
        self._seconds_per_record: float | None = None
        # The org's processing rate over all jobs (records per second), learned from the polls.
        self._throughput: float | None = None
        self._last_round_at: float | None = None
        self._first_registered: float | None = None
        self._finished_records = 0
        self._list_pages = 0
        self._list_interval = config.initial
        self._last_finish_at: float | None = None
        self._finish_gap: float | None = None
        #: The last list round was scheduled from an estimate (not a back-off), and how many
        #: estimated rounds in a row found no job finished.
        self._estimated = False
        self._misses = 0
        self.status_requests = 0

    # -- registration ------------------------------------------------------------------------------

    def watch(self, job_id: str, records: int) -> JobWatch:
        """Follow ``job_id`` (carrying ``records`` records) until it reaches a terminal state.

        Watching a job that is already watched returns the same watch, so every waiter is woken.
        """
        existing = self._watches.get(job_id)
        if existing is not None:
            return existing
        now = self._clock()
        if self._first_registered is None:
            self._first_registered = now
        first = self._first_interval(records)
        watch = JobWatch(job_id, records, now, now + self._jitter(first), first)
        self._watches[job_id] = watch
        self._wake()
        return watch

    async def wait(self, job_id: str, records: int) -> JobInfo:
        """Follow ``job_id`` (see :meth:`watch`) and return its final info once the loop saw it finish."""
        watch = self.watch(job_id, records)
        await watch.done.wait()
        assert watch.info is not None
        return watch.info

    def close(self) -> None:
        """End the loop after its current round."""
        self._closed = True
        self._wake()

    # -- pacing ------------------------------------------------------------------------------------

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _clamp(self, seconds: float) -> float:
        return min(self._config.maximum, max(self._config.minimum, seconds))

    def _jitter(self, seconds: float) -> float:
        spread = self._config.jitter
        return seconds * (1 + self._rng.uniform(-spread, spread)) if spread else seconds

    def _first_interval(self, records: int) -> float:
        eta = self._eta_for(records)
        if eta is not None:
            return self._clamp(eta)
        if self._seconds_per_record is None:
            return self._config.initial
        return self._clamp(self._seconds_per_record * max(records, 1) * 1.05)

    def _eta_for(self, records_ahead: int) -> float | None:
        """Seconds until ``records_ahead`` more records are processed at the org's observed rate."""
        if not self._throughput:
            return None
        # A little early rather than late: a poll that finds the job not done yet re-estimates
        # from its own progress, while a late one delays the whole load.
        return records_ahead / self._throughput * 0.95 + self._config.minimum

    def _learn(self, watch: JobWatch, now: float) -> None:
        if watch.records <= 0:
            return
        spr = (now - watch.registered) / watch.records
        previous = self._seconds_per_record
        self._seconds_per_record = spr if previous is None else 0.5 * previous + 0.5 * spr
        # The org's rate over all jobs: records finished since the first job was registered.
        self._finished_records += watch.records
        if self._first_registered is not None and now > self._first_registered:
            rate = self._finished_records / (now - self._first_registered)
            self._throughput = max(rate, self._throughput or 0.0)

    def _observe(self, processed_delta: int, now: float) -> None:
        """A lower bound of the org's rate from one round (jobs not polled in it are not counted)."""
        if self._last_round_at is not None and processed_delta > 0:
            rate = processed_delta / max(now - self._last_round_at, 1e-3)
            self._throughput = max(rate, 0.5 * (self._throughput or 0.0) + 0.5 * rate)
        self._last_round_at = now

    def _reschedule(self, watch: JobWatch, info: JobInfo, now: float, backlog: int) -> None:
        """When to poll ``watch`` next.

        A job that shows progress is polled when its own rate says it will be done. A queued
        job, when the records still to process ahead of it and in it (``backlog``: the org works
        through jobs roughly in registration order) will be done at the org's observed rate.
        With neither known yet, a job that shows no change is polled less and less often.
        """
        processed = info.processed
        state = info.state
        own_rate = 0.0
        # A rate across the start of processing would count the time queued as time spent: only
        # two looks at a job in progress tell its pace.
        if processed > watch.processed and watch.observed_at and watch.state is JobState.IN_PROGRESS:
            own_rate = (processed - watch.processed) / max(now - watch.observed_at, 1e-3)
        stalled = processed <= watch.processed and state == watch.state and watch.observed_at > 0
        if own_rate > 0:
            eta: float | None = (watch.records - processed) / own_rate + self._config.minimum
        elif stalled and watch.state is JobState.IN_PROGRESS:
            # No progress since the last look at a job in progress (orgs report in steps): an
            # estimate from the org's pace would only repeat the poll that just found nothing, so
            # wait a little longer than the gap between the last two looks.
            eta = max(now - watch.observed_at, self._config.minimum) * self._config.factor
        else:
            eta = self._eta_for(backlog)
        if eta is not None:
            # Estimates are spread out by nature; a small late-only jitter keeps many loaders apart.
            interval = self._clamp(eta)
            watch.next_due = now + interval * (1 + self._rng.uniform(0, self._config.jitter / 2))
        else:
            if processed > watch.processed or state != watch.state:
                interval = watch.interval  # something moves: keep the pace
            else:
                interval = self._clamp(watch.interval * self._config.factor)
            watch.next_due = now + self._jitter(interval)
        watch.interval = interval
        watch.processed = processed
        watch.observed_at = now

    # -- the loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until :meth:`close` is called (run it in the load's task group)."""
        while not self._closed:
            if not self._watches:
                await self._changed.wait()
                continue
            now = self._clock()
            earliest = min(w.next_due for w in self._watches.values())
            if earliest > now:
                await self._pause(earliest - now)
                continue
            if self._list_pays():
                await self._list_round()
            else:
                # Jobs due within a short while are polled in the same round.
                horizon = now + self._config.minimum
                await self._get_round([w for w in self._watches.values() if w.next_due <= horizon])

    async def _pause(self, seconds: float) -> None:
        """Sleep until the next poll is due, or until a new job is watched."""
        if self._sleep is not None:
            await self._sleep(seconds)  # a test's virtual time
            return
        with anyio.move_on_after(seconds):
            await self._changed.wait()

    def _list_pays(self) -> bool:
        """Whether one job-list request is cheaper than one request per active job.

        The list holds every ingest job of the org (1,000 a page, no filter by id), so it pays
        when many jobs are active and the org has few other jobs: the pages of the last list are
        remembered, and per-job requests come back when the list grows longer than it is worth.
        """
        active = len(self._watches)
        return active >= self._config.list_threshold and self._list_pages <= max(1, active // 2)

    async def _get_round(self, due: list[JobWatch]) -> None:
        infos: dict[str, JobInfo] = {}

        async def one(watch: JobWatch) -> None:
            self.status_requests += 1
            infos[watch.job_id] = await self._client.job_info(watch.job_id)

        async with anyio.create_task_group() as tg:
            for watch in due:
                tg.start_soon(one, watch)
        now = self._clock()
        self._observe(
            sum(
                max(0, i.processed - self._watches[j].processed)
                for j, i in infos.items()
                if self._watches[j].state is JobState.IN_PROGRESS  # not the time spent queued
            ),
            now,
        )
        self._note_finishes(sum(1 for i in infos.values() if i.state.terminal), now)
        backlog = 0
        for watch in list(self._watches.values()):  # registration order: the org's queue order
            info = infos.get(watch.job_id)
            processed = info.processed if info else watch.processed
            backlog += max(0, watch.records - processed)
            if info is not None:
                self._reschedule(watch, info, now, backlog)
                await self._apply(watch, info, now)

    async def _list_round(self) -> None:
        """One job-list request for every active job; a GET each only for those it shows done.

        The list has states but no record counts, so a job seen finished is read once for its
        final counts and error message. All jobs then share one cadence: shorter while jobs
        change state, longer while nothing does.
        """
        listed: dict[str, JobInfo] = {}
        seen = 0
        async for info in self._client.list_jobs():
            seen += 1
            if info.id in self._watches:
                listed[info.id] = info
        self._list_pages = 1 + max(seen - 1, 0) // JOB_LIST_PAGE
        self.status_requests += self._list_pages
        finished = [j for j, i in listed.items() if i.state.terminal]

        async def one(job_id: str) -> None:
            self.status_requests += 1
            listed[job_id] = await self._client.job_info(job_id)

        # The list has no counts, so one job in progress (the oldest: the org works roughly in
        # order) is read too: its own progress says when the next finish is due.
        probe = next(
            (
                w
                for w in self._watches.values()
                if (i := listed.get(w.job_id)) and i.state is JobState.IN_PROGRESS
            ),
            None,
        )
        async with anyio.create_task_group() as tg:
            for job_id in finished if probe is None else [*finished, probe.job_id]:
                tg.start_soon(one, job_id)
        now = self._clock()
        self._note_finishes(len(finished), now)
        eta = self._probe_eta(probe, listed[probe.job_id], now) if probe is not None else None
        next_finish = None
        if self._finish_gap is not None and self._last_finish_at is not None:
            # Jobs finish one after another at the org's pace: the next is due a gap after the last.
            next_finish = self._last_finish_at + self._finish_gap - now + self._config.minimum
            if next_finish <= 0:
                next_finish = self._finish_gap / 2  # overdue: look again soon, not at once
        if eta is not None or next_finish is not None:
            interval = self._clamp(min(t for t in (eta, next_finish) if t is not None))
            self._misses = 0 if finished else self._misses + int(self._estimated)
            if self._misses:
                # The last estimate came too early (progress comes in steps): give the next one a
                # growing margin, so a plateau costs a few rounds, not one every few tenths.
                interval = self._clamp(interval * (1 + 0.5 * self._misses))
            # An estimate: a small late-only jitter keeps many loaders apart (an early poll is a
            # round wasted).
            due = now + interval * (1 + self._rng.uniform(0, self._config.jitter / 2))
        else:
            # Nothing learned yet: back off. A job going InProgress says little about when it ends.
            interval = self._clamp(self._list_interval * self._config.factor)
            due = now + self._jitter(interval)
        self._estimated = eta is not None or next_finish is not None
        self._list_interval = interval
        for watch in list(self._watches.values()):
            seen_info = listed.get(watch.job_id)
            watch.next_due = due
            if seen_info is None:
                continue
            # List records carry no counts: keep the last ones seen.
            if watch.job_id not in finished and watch is not probe and watch.info is not None:
                seen_info = seen_info.with_counts_of(watch.info)
            await self._apply(watch, seen_info, now)

    def _probe_eta(self, watch: JobWatch, info: JobInfo, now: float) -> float | None:
        """Seconds until ``watch``'s job ends: from its progress since the last probe of it, or, on
        a first look, from the org's pace seen so far."""
        rate = self._throughput or 0.0
        if watch.probed_at:
            if info.processed <= watch.probed_processed:
                # No progress since the last look (orgs report in steps, and a job may wait for a
                # worker): nothing to estimate from; the caller backs off.
                watch.probed_at = now
                return None
            rate = (info.processed - watch.probed_processed) / max(now - watch.probed_at, 1e-3)
            self._throughput = max(rate, 0.5 * (self._throughput or 0.0) + 0.5 * rate)
        watch.probed_at, watch.probed_processed = now, info.processed
        if rate <= 0:
            return None
        # Aimed a little after the expected end: a measured rate is steady, and a poll that comes
        # too early costs a whole round more.
        return (watch.records - info.processed) / rate + self._config.minimum

    def _note_finishes(self, count: int, now: float) -> None:
        """Learn the gap between job finishes from a round that saw ``count`` jobs finish.

        Jobs finish one after another at the org's pace: in list rounds that gap sets the
        cadence, so a finish is seen within half a gap at a cost of about two lists a job.
        """
        if not count:
            return
        if self._last_finish_at is not None:
            sample = (now - self._last_finish_at) / count
            self._finish_gap = sample if self._finish_gap is None else 0.5 * self._finish_gap + 0.5 * sample
        self._last_finish_at = now

    async def _apply(self, watch: JobWatch, info: JobInfo, now: float) -> None:
        """Record what a poll said about ``watch``; release its waiter once it is done."""
        watch.polls += 1
        previous = watch.state
        watch.state = info.state
        watch.processed = max(watch.processed, info.processed)
        if not info.state.terminal:
            watch.info = info
        if self._on_update is not None:
            await self._on_update(watch.job_id, info, previous)
        if info.state.terminal:
            self._learn(watch, now)
            watch.info = info
            self._watches.pop(watch.job_id, None)
            watch.done.set()
