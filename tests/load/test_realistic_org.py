"""Loads against the emulator's realistic profile: jobs queue for a while before ``InProgress``,
``numberRecordsProcessed`` rises in 200-record steps, results come in batch-completion order, the
limit counters lag, and the job list holds Bulk 1.0 jobs and other users' jobs.

The fast profile is kinder than any real org; these tests are the loader's end-to-end check
against the parts that hurt (the queue wait is shortened to keep the suite quick).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cases.org import (
    FAST_POLL,
    KEYED_HEADER,
    Org,
    assert_each_record_once,
    keyed_rows,
    load_in_child_killed_at,
    write_csv,
)

import asyncbulk
from asyncbulk import ChunkConfig
from asyncbulk.emulator import EmulatorConfig, EmulatorThread, Profile

RECORDS = 1_200
PER_CHUNK = 300  # four create/upload/close jobs
REALISTIC = dataclasses.replace(
    Profile.named("realistic"), queue_delay=(0.2, 1.0), records_per_second=4_000.0
)


@pytest.fixture
def realistic_org() -> Iterator[Org]:
    """A fresh org under the realistic profile (shorter queue waits, the rest as the profile says)."""
    config = EmulatorConfig(workers=2, batch_size=250, profile=REALISTIC, seed=7)
    with EmulatorThread(config) as emulator:
        yield Org(emulator)


def foreign(jobs: list[dict[str, Any]], ours: set[str]) -> dict[str, str]:
    """The state of every listed job that is not one of ours."""
    return {job["id"]: job["state"] for job in jobs if job["id"] not in ours}


async def test_load_under_the_realistic_profile(realistic_org: Org, tmp_path: Path) -> None:
    org = realistic_org
    src = write_csv(tmp_path / "in.csv", keyed_rows(RECORDS, bad_every=50), header=KEYED_HEADER)
    out = tmp_path / "out"
    before = org.jobs()
    assert any(job.get("jobType") == "Classic" for job in before), "the profile lists Bulk 1.0 jobs"
    result = await asyncbulk.load(
        src,
        object="Contact",
        operation="insert",
        out_dir=out,
        chunks=ChunkConfig(max_records=PER_CHUNK, multipart_max_chars=0),
        poll=FAST_POLL,
        **org.load_auth(),
    )
    bad = RECORDS // 50
    assert (result.succeeded, result.failed, result.unprocessed) == (RECORDS - bad, bad, 0)
    assert len(result.jobs) == RECORDS // PER_CHUNK
    assert_each_record_once(out, org, RECORDS)
    ours = {job.job_id for job in result.jobs if job.job_id}
    assert foreign(org.jobs(), ours) == foreign(before, set()), "someone else's job was touched"


async def test_resume_after_a_crash_between_create_and_reply(realistic_org: Org, tmp_path: Path) -> None:
    """The crashed run created its second job but never heard the id: the resumed run must find it
    in a job list full of other jobs (Bulk 1.0, other users', queued), and touch only its own."""
    org = realistic_org
    src = write_csv(tmp_path / "in.csv", keyed_rows(RECORDS), header=KEYED_HEADER)
    out = tmp_path / "out"
    before = org.jobs()
    load_in_child_killed_at("create_sent:2", org, src, out, per_chunk=PER_CHUNK)
    result = await asyncbulk.load(
        src,
        object="Contact",
        operation="insert",
        out_dir=out,
        chunks=ChunkConfig(max_records=PER_CHUNK, multipart_max_chars=0),
        poll=FAST_POLL,
        resume=True,
        **org.load_auth(),
    )
    assert result.succeeded == RECORDS
    assert_each_record_once(out, org, RECORDS)
    after = org.jobs()
    ours = {job["id"] for job in after} - {job["id"] for job in before}
    states = sorted(job["state"] for job in after if job["id"] in ours)
    # The orphan (created, its id never heard) is found in the list and aborted before it holds
    # any data; its chunk goes into a new job. No job is completed twice.
    assert states == ["Aborted"] + ["JobComplete"] * (RECORDS // PER_CHUNK), states
    assert foreign(after, ours) == foreign(before, set()), "someone else's job was touched"
