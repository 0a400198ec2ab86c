"""The ledger: the one writer of job phases and progress counters."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncbulk import JobInfo, JobState, ProgressEvent, ProgressSnapshot
from asyncbulk._config import LineEnding
from asyncbulk._csv import Chunk, CsvLayout
from asyncbulk._load._journal import Merged
from asyncbulk._load._ledger import Job, Ledger, Phase
from asyncbulk._load._merge import MergeCounts
from asyncbulk._load._prepare import PreparedInput, RecordNumbers
from asyncbulk._progress import ProgressTracker

LAYOUT = CsvLayout(
    delimiter=b",",
    line_ending=LineEnding.LF,
    header=b"LastName",
    columns=["LastName"],
    data_start=9,
    bom=False,
)


def chunk(index: int, records: int, first: int) -> Chunk:
    return Chunk(index, 0, 0, first, records, first + 1, 0)


def prepared(*sizes: int, round_no: int = 0) -> PreparedInput:
    chunks, first = [], 1
    for i, size in enumerate(sizes):
        chunks.append(chunk(i, size, first))
        first += size
    numbering = RecordNumbers(explicit=list(range(1, first))) if round_no else None
    return PreparedInput(
        Path("in.csv"), "in.csv", LAYOUT, tuple(chunks), first - 1, round=round_no, numbering=numbering
    )


class Recorder:
    """Keeps every snapshot the ledger's counters went through."""

    def __init__(self) -> None:
        self.snapshots: list[ProgressSnapshot] = []

    def __call__(self, event: ProgressEvent) -> None:
        self.snapshots.append(event.snapshot)

    def assert_never_negative(self) -> None:
        for snap in self.snapshots:
            for name in ProgressSnapshot.__dataclass_fields__:
                assert getattr(snap, name) >= 0, (name, snap)

    @property
    def last(self) -> ProgressSnapshot:
        return self.snapshots[-1]


def info(job_id: str, state: JobState, processed: int = 0, failed: int = 0) -> JobInfo:
    return JobInfo(id=job_id, state=state, processed=processed, failed=failed)


async def run_job(ledger: Ledger, job: Job, job_id: str, counts: MergeCounts, *, failed_midway: int) -> None:
    await ledger.reading(job)
    await ledger.created(job, info(job_id, JobState.OPEN), job_id)
    await ledger.uploaded(job)
    await ledger.observe(
        job_id, info(job_id, JobState.IN_PROGRESS, job.chunk.records // 2, failed_midway), None
    )
    final = info(job_id, JobState.JOB_COMPLETE, job.chunk.records, counts.failed + counts.held_for_retry)
    await ledger.observe(job_id, final, JobState.IN_PROGRESS)
    await ledger.observe(job_id, final, JobState.JOB_COMPLETE)  # a late poll changes nothing
    ledger.finished(job, final)
    await ledger.merged(job, counts)


async def test_counters_follow_each_record_once_through_a_retry_round() -> None:
    recorder = Recorder()
    ledger = Ledger(ProgressTracker(recorder), concurrency=2)
    first = prepared(100, 50)
    await ledger.validated(150, 2)
    a, b = ledger.plan(first)
    # Job A: 98 succeed, 2 fail for good; job B: 45 succeed, 5 held for a retry round.
    await run_job(ledger, a, "750A", MergeCounts(succeeded=98, failed=2), failed_midway=1)
    await run_job(ledger, b, "750B", MergeCounts(succeeded=45, held_for_retry=5), failed_midway=3)
    midway = recorder.last
    assert (midway.records_read, midway.records_uploaded, midway.records_processed) == (150, 150, 150)
    assert midway.records_failed == 2  # the held rows are not failed (yet)
    assert midway.records_merged == 145
    [retry] = ledger.plan(prepared(5, round_no=1))
    await run_job(ledger, retry, "750C", MergeCounts(succeeded=4, failed=1), failed_midway=0)
    end = recorder.last
    # The retry round's records were counted in the first pass: read, uploaded and processed once.
    assert (end.records_read, end.records_uploaded, end.records_processed) == (150, 150, 150)
    assert end.records_failed == 3 and end.records_merged == 150
    assert (end.jobs_created, end.jobs_queued, end.jobs_in_progress, end.jobs_done) == (3, 0, 0, 3)
    recorder.assert_never_negative()


async def test_a_job_merged_before_a_crash_is_counted_once() -> None:
    recorder = Recorder()
    ledger = Ledger(ProgressTracker(recorder), concurrency=2)
    first = prepared(100, 100)
    await ledger.validated(200, 2)
    restored, fresh = ledger.plan(first)
    event = Merged(
        round=0,
        chunk=0,
        job_id="750A",
        state="JobComplete",
        mode="multipart",
        sizes={},
        counts=MergeCounts(succeeded=99, failed=1),
        processed=100,
        failed=1,
    )
    ledger.restore(restored, event)
    assert restored.phase is Phase.DONE
    # A stray poll of the restored job (the org's list still shows it) counts nothing again.
    await ledger.observe("750A", info("750A", JobState.JOB_COMPLETE, 100, 1), JobState.JOB_COMPLETE)
    await run_job(ledger, fresh, "750B", MergeCounts(succeeded=100), failed_midway=0)
    end = recorder.last
    assert (end.records_read, end.records_uploaded, end.records_processed, end.records_merged) == (
        200,
        200,
        200,
        200,
    )
    assert end.records_failed == 1 and end.jobs_created == 2 and end.jobs_done == 2
    recorder.assert_never_negative()


@pytest.mark.parametrize("state", [JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS, JobState.JOB_COMPLETE])
async def test_a_job_is_in_exactly_one_phase_counter(state: JobState) -> None:
    recorder = Recorder()
    ledger = Ledger(ProgressTracker(recorder), concurrency=1)
    [job] = ledger.plan(prepared(10))
    await ledger.reading(job)
    await ledger.created(job, None, "750A")
    await ledger.uploaded(job)
    await ledger.observe("750A", info("750A", state), JobState.UPLOAD_COMPLETE)
    snap = recorder.last
    assert snap.jobs_queued + snap.jobs_in_progress + snap.jobs_done == 1
    assert job.phase is Phase.of(state)
    recorder.assert_never_negative()
