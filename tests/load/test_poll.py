"""The poll loop against a simulated org in virtual time: status requests per job, and how late it
sees a job finish. (End to end, against a paced emulator: tests/load/test_load.py.)"""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import anyio.lowlevel
import pytest

from asyncbulk import JobInfo, JobState, PollConfig
from asyncbulk._load._poll import Poller


class Clock:
    """Virtual time: sleeping moves it on at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()


@dataclass
class SimJob:
    id: str
    records: int
    starts: float  # when the org begins it (it waits in the queue before)
    rate: float  # records per second once started
    step: int = 1  # processed counts come in steps of this many records (an org's batches)


class Org:
    """Jobs processed one after another at a fixed rate; counts every status request."""

    def __init__(self, clock: Clock, jobs: list[SimJob]) -> None:
        self.clock = clock
        self.jobs = {job.id: job for job in jobs}
        self.info_requests = 0
        self.list_requests = 0

    def finish_time(self, job: SimJob) -> float:
        return job.starts + job.records / job.rate

    def info(self, job: SimJob) -> JobInfo:
        now = self.clock()
        if now < job.starts:
            return JobInfo(id=job.id, state=JobState.UPLOAD_COMPLETE)
        processed = min(job.records, int((now - job.starts) * job.rate) // job.step * job.step)
        state = JobState.JOB_COMPLETE if processed >= job.records else JobState.IN_PROGRESS
        return JobInfo(id=job.id, state=state, processed=processed)

    async def job_info(self, job_id: str) -> JobInfo:
        self.info_requests += 1
        return self.info(self.jobs[job_id])

    async def list_jobs(self) -> AsyncIterator[JobInfo]:
        self.list_requests += 1
        for job in self.jobs.values():
            info = self.info(job)
            # A job-list record carries the state, not the counts.
            yield JobInfo(id=info.id, state=info.state)


async def follow(org: Org, clock: Clock, config: PollConfig) -> dict[str, float]:
    """Watch every job of ``org`` until it finishes; return when the loop saw each one done."""
    seen: dict[str, float] = {}

    async def observed(job_id: str, info: JobInfo, previous: JobState | None) -> None:
        if info.state.terminal:
            seen.setdefault(job_id, clock())

    poller = Poller(org, config, observed, clock=clock, rng=random.Random(7), sleep=clock.sleep)

    async def waiters() -> None:
        async with anyio.create_task_group() as inner:
            for job in org.jobs.values():
                inner.start_soon(poller.wait, job.id, job.records)
        poller.close()

    async with anyio.create_task_group() as tg:
        tg.start_soon(poller.run)
        tg.start_soon(waiters)
    assert poller.status_requests == org.info_requests + org.list_requests
    return seen


async def test_one_job_costs_a_few_requests_and_is_seen_soon_after_it_ends() -> None:
    clock = Clock()
    org = Org(clock, [SimJob("750A", 50_000, starts=2.0, rate=5_000)])  # ends at 12 s
    seen = await follow(org, clock, PollConfig())
    finish = org.finish_time(org.jobs["750A"])
    assert finish <= seen["750A"] <= finish + 1.0
    # Growing waits while it is queued, two looks in progress for its pace, then one at its end.
    assert org.info_requests <= 6


@pytest.mark.parametrize(("jobs", "most"), [(5, 4.0), (20, 3.3)])
async def test_many_jobs_cost_about_three_status_requests_each(jobs: int, most: float) -> None:
    """A paced org works through the jobs one after another (5,000 records/s, 50,000 each)."""
    clock = Clock()
    sim = [SimJob(f"750{i:03d}", 50_000, starts=1.0 + 10.0 * i, rate=5_000) for i in range(jobs)]
    org = Org(clock, sim)
    seen = await follow(org, clock, PollConfig())
    per_job = (org.info_requests + org.list_requests) / jobs
    # In steady state one round per finish: the list, the finished job's final counts, and a look
    # at the next job's pace; the start (nothing known yet) costs a few more.
    assert per_job <= most, (org.info_requests, org.list_requests)
    # Nobody waits long for the loop: each finish of a 10 s job is seen within a second.
    lag = max(seen[job.id] - org.finish_time(job) for job in sim)
    assert 0 <= lag <= 1.0


@pytest.mark.parametrize(
    ("step", "most", "late"),
    [(2_000, 3.5, 4.0), (10_000, 4.5, 4.0)],  # small steps (a real org's), whole 10,000-record batches
)
async def test_progress_in_steps_does_not_set_the_loop_polling_in_a_rush(
    step: int, most: float, late: float
) -> None:
    """Orgs report processed records in steps, with plateaus in between: an estimate made from
    one step must not turn into a poll every few tenths of a second, nor see the end much late."""
    clock = Clock()
    sim = [SimJob(f"750{i:03d}", 50_000, starts=1.0 + 10.0 * i, rate=5_000, step=step) for i in range(10)]
    org = Org(clock, sim)
    seen = await follow(org, clock, PollConfig())
    per_job = (org.info_requests + org.list_requests) / len(sim)
    assert per_job <= most, (org.info_requests, org.list_requests)
    assert max(seen[job.id] - org.finish_time(job) for job in sim) <= late


async def test_no_poll_is_ever_closer_than_the_minimum_interval() -> None:
    clock = Clock()
    times: list[float] = []
    org = Org(clock, [SimJob("750A", 1_000, starts=0.0, rate=10)])  # 100 s

    original = org.job_info

    async def timed(job_id: str) -> JobInfo:
        times.append(clock())
        return await original(job_id)

    org.job_info = timed  # type: ignore[method-assign]
    config = PollConfig(initial=0.5, minimum=0.2, maximum=30.0)
    await follow(org, clock, config)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= config.minimum * (1 - config.jitter) for gap in gaps)
    assert max(gaps) <= config.maximum * (1 + config.jitter)


@pytest.mark.parametrize(("tail", "extra"), [(3.0, 3), (8.0, 8), (120.0, 20)])
async def test_a_job_running_past_the_end_of_the_queue_is_seen_soon_after_it_ends(
    tail: float, extra: int
) -> None:
    """An org that shares its workers between jobs (the emulator does, round robin) finishes a big
    job after the small ones registered behind it: the queue's model then says every job is done
    while that one still runs, and the whole load waits for its next look. While it is in
    progress it is looked at about once a second, not after the growing waits meant for a job
    the org still holds in its queue; and a long way from its end (by its own count: a slow org),
    less often, so two minutes of it cost a few looks, not one a second."""
    clock = Clock()
    sim = [SimJob(f"750{i:03d}", 50_000, starts=1.0 + 10.0 * i, rate=5_000) for i in range(8)]
    # The last big job starts with the last of the others and runs slowly beside them; four small
    # jobs registered after it run from 81 s to 91 s; it ends ``tail`` seconds after them.
    last = SimJob("750LAST", 50_000, starts=71.0, rate=50_000 / (91.0 + tail - 71.0))
    small = [SimJob(f"750S{i}", 12_500, starts=81.0 + 2.5 * i, rate=5_000) for i in range(4)]
    org = Org(clock, [*sim, last, *small])
    seen = await follow(org, clock, PollConfig())
    lag = seen["750LAST"] - org.finish_time(last)
    assert 0 <= lag <= 1.1
    # Over what the jobs cost anyway (about 3.7 each): about one look a second near the end.
    requests = org.info_requests + org.list_requests
    assert requests <= 3.8 * len(org.jobs) + extra, (org.info_requests, org.list_requests)
