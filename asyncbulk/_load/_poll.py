"""One loop polls every active job, each when it is due.

An org works through its queue of jobs roughly in the order they were closed, at a steady pace.
So the loop keeps one model of the org: its *position* in the queue (records done, counted over
the jobs in the order they were registered) and its *rate* (records per second), both learned from
what the looks show. A job is due when the position reaches its end; it is looked at then:

* until the rate is known (two looks at least two seconds apart), the oldest job is looked at
  at the pace it moves, less and less often while it does not, and the others with it;
* once the rate is known, every job is due at its own end by the model; the model runs late (a
  finish is seen only after it happened), so a job found done at the first look pulls the next
  estimates earlier (``scale``), and a job found not done yet is looked at again after growing
  waits (by the unscaled model, or from ``minimum`` once that passed too), and pulls the
  estimates back (a job found not done twice);
* past the model's end of the whole queue (the org's last wave), a job in progress is looked at
  every second or so near its end by its own pace, since the whole load waits for it;
* no job is looked at closer than ``minimum`` after its last look; waits never exceed
  ``maximum``; a small late-only jitter keeps many loaders apart.

With ``list_threshold`` or more jobs due in one round, one job-list request replaces one request
per job; the jobs it shows finished are then read once each for their final counts.
"""

# Slightly over the ~400-line aim: the org model, the sweeps and the last-wave rules decide
# together when a job is looked at, and reading them side by side is what keeps them consistent.
from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable

import anyio

from .._bulk import JobInfo, JobState
from .._config import PollConfig
from .._limits import JOB_LIST_PAGE
from ._watch import JobWatch, StatusSource

__all__ = ["JobWatch", "Poller"]

#: Seconds two looks must be apart to give the org's rate; and how near the end of the queue
#: (by the model) every job is looked at every ``_EAGER`` seconds (or ``minimum``, if longer).
_SPAN = 2.0
_EAGER = 0.25
#: Seconds between sweeps at least: one job list for every active job, against a model that runs
#: late.
_SWEEP = 2.0
#: Seconds between looks at a job in progress once the model says the whole queue is done.
_LAST_WAVE = 1.0


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
        #: Records of every job ever registered, in order: the queue's coordinate.
        self._queued = 0.0
        #: The first finish seen and the latest, as (time, position).
        self._first: tuple[float, float] | None = None
        self._latest: tuple[float, float] | None = None
        #: The same for looks at jobs in progress.
        self._first_move: tuple[float, float] | None = None
        self._latest_move: tuple[float, float] | None = None
        #: Waits by the model are scaled by this (see the module docstring).
        self._scale = 1.0
        #: When the last sweep was (0: none yet), and how much longer than the base to wait for the
        #: next (doubled after each sweep that found the model right).
        self._swept_at = 0.0
        self._sweep_backoff = 2.0
        #: Pages the last job list had: a list pays only while it is shorter than the jobs due.
        self._list_pages = 0
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
        self._queued += max(records, 0)
        first = self._config.initial
        watch = JobWatch(job_id, records, now, now + self._late(first), first, end=self._queued)
        self._watches[job_id] = watch
        self._plan(now)
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

    # -- the model ---------------------------------------------------------------------------------

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _clamp(self, seconds: float) -> float:
        return min(self._config.maximum, max(self._config.minimum, seconds))

    def _late(self, seconds: float) -> float:
        """A late-only jitter: a look that comes early is a request wasted."""
        return seconds * (1 + self._rng.uniform(0, self._config.jitter / 2))

    def _model(self, now: float) -> tuple[float, float] | None:
        """The org's position now and its rate; ``None`` until two looks are far enough apart.

        Two kinds of looks place the org: a job in progress (its count, at the time of the look:
        fresh, though counts come in steps and may run ahead of finishes) and a job found
        finished (which may have ended a while before). The faster rate
        wins: too early costs a look, too late a late finish that nothing would correct.
        """
        rates = []
        for first, latest in ((self._first_move, self._latest_move), (self._first, self._latest)):
            if first is not None and latest is not None:
                (t0, p0), (t1, p1) = first, latest
                # Far enough apart that a step of the counts does not make the rate (finishes are
                # no steps: a second apart will do).
                if t1 - t0 >= (_SPAN if first is self._first_move else 1.0) and p1 > p0:
                    rates.append((p1 - p0) / (t1 - t0))
        if not rates:
            return None
        rate = max(rates)
        # Where: from the latest finish (counts in steps may run ahead of it or behind), or from
        # the latest count before any finish.
        anchor = self._latest or self._first or self._latest_move or self._first_move
        assert anchor is not None
        at, position = anchor
        return position + rate * (now - at), rate

    def _moved(self, watch: JobWatch, info: JobInfo, now: float) -> None:
        """A look at a job in progress: the jobs before it are taken as done (the org works in
        order), so the org is at least its count into it."""
        if info.state is not JobState.IN_PROGRESS or info.processed <= 0:
            return
        point = (now, watch.end - watch.records + min(info.processed, watch.records))
        if self._first_move is None:
            self._first_move = point
        elif point[1] > (self._latest_move or self._first_move)[1]:
            self._latest_move = point

    def _finished(self, watch: JobWatch, now: float) -> None:
        """Learn from a job seen finished: the position, and how far off the model was."""
        if self._model(now) is not None:
            if not watch.misses:
                # Done at the first look: the model may be late; look earlier next time.
                self._scale = max(0.5, self._scale * 0.85)
            elif watch.misses > 1:
                self._scale = min(1.0, self._scale / 0.85)  # looked too early: less so
        # When it ended: between the last look that found it not done and this one, if there was
        # one (taking the look's time would make the model run later and later).
        point = ((watch.observed_at + now) / 2 if watch.misses else now, watch.end)
        if self._first is None:
            self._first = point
        elif self._latest is None or watch.end > self._latest[1]:
            self._latest = point

    def _plan(self, now: float) -> None:
        """Set every watch's next look (after a round, or a new job)."""
        watches = list(self._watches.values())
        if not watches:
            return
        model = self._model(now)
        if model is None:
            # Nothing learned yet: the oldest job is looked at on its own pace (see _backoff), and
            # the others with it (one job list serves them all): an org may finish them first.
            oldest = watches[0]
            if oldest.observed_at == 0:
                oldest.next_due = min(oldest.next_due, now + self._late(oldest.interval))
            for watch in watches[1:]:
                watch.next_due = oldest.next_due
            return
        position, rate = model
        # Past the queue's end by the model: the org's last wave, where its pace does not hold (an org
        # sharing workers between jobs ends a big early job last), and the whole load waits for it.
        past_end = position >= max(w.end for w in watches)
        for watch in watches:
            ahead = max(0.0, watch.end - position) / rate * self._scale
            if watch.misses:
                # Due by the scaled model, and not done yet: wait for the plain model's end, or, if
                # that passed too, look again after growing waits.
                plain = max(0.0, watch.end - position) / rate
                retry = self._config.minimum * self._config.factor ** (watch.misses - 1)
                # The waits grow no longer than the org takes for a job this size (or _SPAN): a
                # model that ran early must not turn into a late look. In the last wave, a job in
                # progress near its end by its own pace is looked at every _LAST_WAVE s.
                longest = max(_SPAN, watch.records / rate)
                if past_end and watch.state is JobState.IN_PROGRESS:
                    left = (watch.records - watch.processed) / (watch.pace or rate)
                    longest = max(_LAST_WAVE, left / 4)
                ahead = max(plain, min(retry, max(self._config.minimum, longest)))
            watch.interval = self._clamp(ahead)
            watch.next_due = max(now + self._late(watch.interval), watch.observed_at + self._config.minimum)
        if len(watches) >= self._config.list_threshold:
            # The end of the queue is near (the last wave: small jobs ending close together, their
            # order no longer told by the model): one job list serves them all, so they are all
            # looked at often, at the cost of one request a round.
            left = (max(w.end for w in watches) - position) / rate * self._scale
            if -_SPAN <= left <= _SPAN:  # long past, the jobs' own growing waits take over
                eager = self._late(max(_EAGER, self._config.minimum))
                for watch in watches:
                    soon = max(now + eager, watch.observed_at + self._config.minimum)
                    watch.next_due = min(watch.next_due, soon)

    def _backoff(self, watch: JobWatch, info: JobInfo, now: float) -> None:
        """Before the model: a job in progress is looked at when its own pace says it is done;
        one that does not move, less and less often."""
        own_rate = watch.pace_at(info, now)
        if own_rate:
            # Aimed early: counts come in steps, so a pace from two looks runs low, and a look
            # that finds it not done yet gives a fresher one.
            eta = 0.85 * (watch.records - info.processed) / own_rate
            watch.interval = self._clamp(eta + self._config.minimum)
        elif info.processed <= watch.processed and (info.state == watch.state or watch.state is None):
            # (A first look that finds it queued is no news either.)
            watch.interval = self._clamp(watch.interval * self._config.factor)
        watch.next_due = now + self._late(watch.interval)

    # -- the loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until :meth:`close` is called (run it in the load's task group)."""
        while not self._closed:
            if not self._watches:
                await self._changed.wait()
                continue
            now = self._clock()
            earliest = min(w.next_due for w in self._watches.values())
            sweep = self._sweep_due(now)
            if min(earliest, sweep) > now:
                await self._pause(min(earliest, sweep) - now)
                continue
            # Jobs due within a short while are looked at in the same round.
            horizon = now + self._config.minimum
            due = [w for w in self._watches.values() if w.next_due <= horizon]
            swept: set[str] = set()
            if sweep <= now:
                # Every job, in one job list: the model is checked against the org (a model that
                # runs late would otherwise only ever see jobs late).
                swept = {w.job_id for w in self._watches.values() if w not in due}
                due = list(self._watches.values())
                self._swept_at = now
            if swept:
                await self._list_round(due, None, swept)
            elif self._list_pays(len(due)):
                # Before the model, the oldest job's counts are read too: they tell the org's pace.
                probe = next(iter(self._watches.values())) if self._model(now) is None else None
                await self._list_round(due, probe)
            else:
                await self._settle(due, await self._infos([w.job_id for w in due]))

    async def _pause(self, seconds: float) -> None:
        """Sleep until the next poll is due, or until a new job is watched."""
        if self._sleep is not None:
            await self._sleep(seconds)  # a test's virtual time
            return
        with anyio.move_on_after(seconds):
            await self._changed.wait()

    def _sweep_due(self, now: float) -> float:
        """When the next sweep (one job list for every job) is due: while the model is known and
        several jobs are active, every ``_SWEEP`` seconds or the time the org takes for one job."""
        model = self._model(now)
        if len(self._watches) < max(2, self._config.list_threshold) or model is None:
            return float("inf")
        self._swept_at = self._swept_at or now
        # About once per job the org finishes: the sweep then costs under one request per job.
        job = sum(w.records for w in self._watches.values()) / len(self._watches) / model[1]
        every = max(_SWEEP, self._config.minimum, job) * self._sweep_backoff
        return self._swept_at + min(every, self._config.maximum)

    def _list_pays(self, due: int) -> bool:
        """Whether one job-list request is cheaper than one request per job due now.

        The list holds every ingest job of the org (1,000 a page, no filter by id), so it pays
        when several jobs are due at once and the org has few other jobs: the pages of the last
        list are remembered, and per-job requests come back when the list is longer than it is
        worth.
        """
        return due >= self._config.list_threshold and self._list_pages < due

    async def _infos(self, job_ids: list[str]) -> dict[str, JobInfo]:
        """One ``job_info`` request for each of ``job_ids``, all at once."""
        infos: dict[str, JobInfo] = {}

        async def one(job_id: str) -> None:
            self.status_requests += 1
            infos[job_id] = await self._client.job_info(job_id)

        async with anyio.create_task_group() as tg:
            for job_id in job_ids:
                tg.start_soon(one, job_id)
        return infos

    async def _list_round(
        self,
        due: list[JobWatch],
        probe: JobWatch | None = None,
        swept: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        """One job-list request for the jobs due; a GET each only for those it shows done.

        The list has states but no record counts, so a job seen finished is read once for its
        final counts and error message, and so is ``probe`` if it is in progress.
        """
        wanted = {w.job_id for w in due}
        listed: dict[str, JobInfo] = {}
        seen = 0
        async for info in self._client.list_jobs():
            seen += 1
            if info.id in wanted:
                listed[info.id] = info
        self._list_pages = 1 + max(seen - 1, 0) // JOB_LIST_PAGE
        self.status_requests += self._list_pages
        probed = probe.job_id if probe is not None else None
        infos = await self._infos([i.id for i in listed.values() if i.state.terminal or i.id == probed])
        for job_id, info in listed.items():
            if job_id not in infos:
                known = self._watches[job_id].info
                # List records carry no counts: keep the last ones seen.
                infos[job_id] = info.with_counts_of(known) if known is not None else info
        await self._settle(due, infos, swept)

    async def _settle(
        self,
        due: list[JobWatch],
        infos: dict[str, JobInfo],
        swept: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        """Learn from one round's answers, release the finished jobs, plan the next looks.

        ``swept``: jobs looked at by a sweep, not because they were due.
        """
        now = self._clock()
        modelled = self._model(now) is not None
        late = False
        for watch in due:
            info = infos.get(watch.job_id)
            if info is None:
                # Not in the list (it can lag behind a new job): looked at again a little later.
                watch.next_due = now + self._late(self._clamp(watch.interval * self._config.factor))
                continue
            if watch.job_id in swept:
                if info.state.terminal and watch.next_due > now + self._config.minimum:
                    # Done before the model said: it runs late; look earlier from now on.
                    self._scale = max(0.25, self._scale * 0.7)
                    late = True
                if not info.state.terminal:
                    await self._apply(watch, info, now)
                    continue
            if info.state.terminal:
                self._finished(watch, now)
            else:
                self._moved(watch, info, now)
            if info.state.terminal:
                pass
            elif modelled:
                # Still queued when the model says done: the org holds it (a queue delay, other
                # tenants' work), which lasts longer than a last batch: the waits grow faster.
                watch.misses += 2 if info.state is JobState.UPLOAD_COMPLETE else 1
            elif watch is next(iter(self._watches.values())):
                self._backoff(watch, info, now)  # the others follow the oldest (see _plan)
            await self._apply(watch, info, now)
        if swept:
            self._sweep_backoff = 1.0 if late else min(self._sweep_backoff * 2, 2.0)
        self._plan(now)

    async def _apply(self, watch: JobWatch, info: JobInfo, now: float) -> None:
        """Record what a poll said about ``watch``; release its waiter once it is done."""
        previous = watch.record(info, now)
        if not info.state.terminal:
            watch.info = info
        if self._on_update is not None:
            await self._on_update(watch.job_id, info, previous)
        if info.state.terminal:
            watch.info = info
            self._watches.pop(watch.job_id, None)
            watch.done.set()
