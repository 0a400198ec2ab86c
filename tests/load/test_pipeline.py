"""The pipeline against a paced emulator over loopback: results fetched at once, few status requests."""

from __future__ import annotations

import time
from pathlib import Path

from _cases.contacts import contact_rows, write_csv

import asyncbulk
from asyncbulk import ChunkConfig, PollConfig, ProgressEvent
from asyncbulk.emulator import Emulator, EmulatorConfig, FaultConfig


async def test_a_jobs_result_files_are_fetched_at_once(tmp_path: Path) -> None:
    """Once the job is done every request is made slow (0.4 s each, by the emulator itself):
    fetching its result files one after another would take 0.8 s or more; at once, about 0.4 s."""
    slow = 0.4
    async with Emulator(EmulatorConfig()) as emu:
        src = write_csv(tmp_path / "in.csv", contact_rows(500, bad_every=50))  # successes and failures
        marks: dict[str, float] = {}

        def spy(event: ProgressEvent) -> None:
            if event.kind == "job_state" and event.state == "JobComplete":
                emu.set_faults(FaultConfig(slow=1.0, slow_seconds=slow))
                marks["done"] = time.monotonic()
            elif event.kind == "results_merged":
                marks["merged"] = time.monotonic()

        result = await asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            instance_url=emu.instance_url,
            access_token=emu.access_token,
            out_dir=tmp_path / "out",
            progress=spy,
            poll=PollConfig(initial=0.05, minimum=0.02, maximum=0.3),
        )
        assert (result.succeeded, result.failed) == (490, 10)
        assert emu.stats()["requests_by_kind"]["results"] == 2  # successful and failed results
    assert marks["merged"] - marks["done"] < 1.6 * slow


async def test_status_requests_per_job_stay_below_three_against_a_paced_org(tmp_path: Path) -> None:
    """Four workers at 2,500 records/s each, 24 jobs: the loop looks at a job when it is due."""
    config = EmulatorConfig(workers=4, batch_size=500, records_per_second=2_500)
    async with Emulator(config) as emu:
        src = write_csv(tmp_path / "in.csv", contact_rows(48_000, seed=5))
        result = await asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            instance_url=emu.instance_url,
            access_token=emu.access_token,
            out_dir=tmp_path / "out",
            chunks=ChunkConfig(max_records=2_000),
        )
        by_kind = emu.stats()["requests_by_kind"]
    assert result.succeeded == 48_000 and len(result.jobs) == 24
    status = by_kind["job_info"] + by_kind["job_list"]
    print(f"\nstatus requests: {status} for {len(result.jobs)} jobs ({by_kind})")
    assert status < 3 * len(result.jobs), by_kind
