"""Defect 9: a short outage ended the load (``could not connect ... gave up after 6 tries in 8.0s``).

The org is an :class:`EmulatorProcess` with a database file on a fixed port: stopped once the
first job has its data, started again on the same port (jobs and records kept). With the default
retry settings the load rides through, and says on the progress callback that it is waiting and
why. With a small budget it ends with an error that says how to continue (``asyncbulk resume``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from _cases.org import (
    FAST_POLL,
    KEYED_HEADER,
    SMALL_CHUNKS,
    Org,
    assert_each_record_once,
    describe_outcome,
    free_port,
    keyed_rows,
    outcome_of,
    write_csv,
)

import asyncbulk
from asyncbulk import ProgressEvent, RetryConfig
from asyncbulk.emulator import EmulatorConfig, EmulatorProcess

RECORDS = 300  # three chunks of 100
#: Longer than today's default retries last (6 tries, about 8 s), as short as that allows.
OUTAGE = 10.0


def org_config(tmp_path: Path) -> EmulatorConfig:
    """An org that can be stopped and started again on the same port with the same data and token."""
    return EmulatorConfig(
        port=free_port(), db_path=str(tmp_path / "org.db"), access_token="outage-test-token", workers=1
    )


def load(org: Org, src: Path, out: Path, **options: Any) -> Any:
    return asyncbulk.load(
        src,
        object="Contact",
        operation="insert",
        out_dir=out,
        chunks=SMALL_CHUNKS,
        poll=FAST_POLL,
        concurrency=1,
        **org.load_auth(),
        **options,
    )


@pytest.mark.slow
async def test_load_rides_through_an_outage_and_says_it_is_waiting(tmp_path: Path) -> None:
    """Defect 9: today the load gives up after 6 tries in about 8 s of a 10 s outage."""
    config = org_config(tmp_path)
    src = write_csv(tmp_path / "in.csv", keyed_rows(RECORDS), header=KEYED_HEADER)
    first = EmulatorProcess(config).__enter__()
    org = Org(first)
    down = anyio.Event()
    said_waiting = anyio.Event()
    waiting: list[ProgressEvent] = []
    outage: list[float] = []

    async def progress(event: ProgressEvent) -> None:
        if event.kind == "job_uploaded" and not down.is_set():
            await anyio.to_thread.run_sync(first.stop)
            outage.append(time.monotonic())
            down.set()
        if event.kind == "waiting":
            waiting.append(event)
            said_waiting.set()

    second: list[EmulatorProcess] = []

    async def bring_the_org_back() -> None:
        await down.wait()
        await anyio.sleep(OUTAGE)
        # The org comes back only once the loader has said it is waiting: a loader that never
        # says so keeps it away, and a pass can never come from today's random back-off
        # happening to outlast the outage.
        await said_waiting.wait()
        second.append(await anyio.to_thread.run_sync(EmulatorProcess(config).__enter__))
        outage.append(time.monotonic())

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(bring_the_org_back)
            outcome = await outcome_of(load(org, src, tmp_path / "out", progress=progress))
            tg.cancel_scope.cancel()
        assert isinstance(outcome, asyncbulk.LoadResult), describe_outcome(outcome)
        assert len(outage) == 2 and outage[1] - outage[0] >= OUTAGE
        assert outcome.succeeded == RECORDS
        assert waiting, "no 'waiting' progress event"
        message = (waiting[0].message or "").lower()
        assert any(word in message for word in ("connect", "refused", "unreachable")), waiting[0].message
        assert_each_record_once(tmp_path / "out", Org(second[0]), RECORDS)
    finally:
        first.stop()
        for process in second:
            process.stop()


async def test_small_budget_ends_resumable_and_says_how(tmp_path: Path) -> None:
    """Defect 9: with ``RetryConfig(budget=2)`` the error names ``asyncbulk resume``; it works."""
    config = org_config(tmp_path)
    src = write_csv(tmp_path / "in.csv", keyed_rows(RECORDS), header=KEYED_HEADER)
    out = tmp_path / "out"
    first = EmulatorProcess(config).__enter__()
    org = Org(first)
    stopped: list[bool] = []

    async def stop_the_org(event: ProgressEvent) -> None:
        if event.kind == "job_uploaded" and not stopped:
            stopped.append(True)
            await anyio.to_thread.run_sync(first.stop)

    try:
        outcome = await outcome_of(load(org, src, out, retry=RetryConfig(budget=2), progress=stop_the_org))
        assert isinstance(outcome, asyncbulk.AsyncBulkError), describe_outcome(outcome)
        assert "asyncbulk resume" in str(outcome) and str(out) in str(outcome), outcome
    finally:
        first.stop()
    with EmulatorProcess(config) as again:
        result = await load(Org(again), src, out, resume=True)
        assert result.succeeded == RECORDS
        assert_each_record_once(out, Org(again), RECORDS)
