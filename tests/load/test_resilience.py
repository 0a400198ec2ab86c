"""Nothing lost, nothing loaded twice: faults, crashes and resume, checked through the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from _cases.contacts import HEADER, contact_rows, read_result, write_csv

import asyncbulk
from asyncbulk import ChunkConfig, PollConfig, RetryConfig
from asyncbulk.emulator import Emulator, EmulatorConfig, EmulatorThread, FaultConfig

FAST_POLL = PollConfig(initial=0.05, minimum=0.02, maximum=0.5)
FAST_RETRY = RetryConfig(base_delay=0.01, max_delay=0.2, max_attempts=12, budget=60)


def keyed_rows(count: int, *, bad_every: int = 0, seed: int = 1) -> list[list[str]]:
    """Contact rows with a unique External_Id__c (EXT-<record number>), some failing."""
    return [
        [*row, f"EXT-{i}"] for i, row in enumerate(contact_rows(count, seed=seed, bad_every=bad_every), 1)
    ]


async def stored_external_ids(instance_url: str, token: str) -> Counter[str]:
    """Every External_Id__c stored, through the emulator's query endpoint, with multiplicity."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{instance_url}/services/data/v66.0/query",
            params={"q": "SELECT External_Id__c FROM Contact"},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        body = orjson.loads(await response.read())
    return Counter(r["External_Id__c"] for r in body["records"])


def check_accounting(out: Path, total: int, stored: Counter[str]) -> dict[str, int]:
    """Every input record appears exactly once across the merged files, consistent with the store."""
    success = read_result(out / "success.csv")
    failed = read_result(out / "failed.csv")
    unprocessed = read_result(out / "unprocessed.csv")
    seen = Counter(int(r["asyncbulk__record"]) for r in success + failed + unprocessed)
    assert all(r["asyncbulk__match"] == "exact" for r in success + failed + unprocessed)
    assert set(seen) == set(range(1, total + 1)), "a record is missing from the result files"
    assert max(seen.values()) == 1, "a record appears twice in the result files"
    # Stored exactly once: never twice, and exactly the rows reported successful.
    assert max(stored.values(), default=1) == 1, [k for k, v in stored.items() if v > 1][:5]
    assert set(stored) == {r["External_Id__c"] for r in success}
    assert all(r["sf__Error"] for r in failed)
    return {"success": len(success), "failed": len(failed), "unprocessed": len(unprocessed)}


@pytest.mark.slow
async def test_200k_rows_under_faults_nothing_lost_nothing_doubled(tmp_path: Path) -> None:
    total = 200_000
    src = write_csv(tmp_path / "in.csv", keyed_rows(total, bad_every=97), header=[*HEADER, "External_Id__c"])
    faults = FaultConfig(
        seed=42,
        error_500=0.03,
        error_503=0.03,
        limit_exceeded=0.03,
        drop_before=0.03,
        drop_after=0.03,
        lock_failure=0.01,
        job_failed=0.15,
    )
    config = EmulatorConfig(workers=2, token_lifetime=1.5, faults=faults)
    async with Emulator(config) as emu:
        auth = asyncbulk.ClientCredentials(
            config.oauth.client_id, config.oauth.client_secret, domain_url=emu.instance_url
        )
        result = await asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            auth=auth,
            out_dir=tmp_path / "out",
            chunks=ChunkConfig(max_records=10_000),
            poll=FAST_POLL,
            retry=FAST_RETRY,
        )
        emu.set_faults(FaultConfig())
        stats = emu.stats()
        async with asyncbulk.BulkClient(auth) as bulk:  # the tokens expire: ask for a fresh one
            fresh = await auth.token(bulk.transport.post_form, force_refresh=True)
        stored = await stored_external_ids(emu.instance_url, fresh.access_token)
    counts = check_accounting(tmp_path / "out", total, stored)
    assert counts["success"] == result.succeeded and result.records == total
    assert counts["failed"] == result.failed and counts["unprocessed"] == result.unprocessed
    # Every bad row is reported with its reason: failed with Salesforce's error, or unprocessed
    # because its job failed (a job may fail again in the last retry round), with the job's error.
    summary = orjson.loads(result.summary_file.read_bytes())
    job_errors = {j["job_id"]: j["error_message"] for j in summary["jobs"] if j["state"] == "Failed"}
    failed_by_record = {int(r["asyncbulk__record"]): r for r in read_result(tmp_path / "out" / "failed.csv")}
    unprocessed = {int(r["asyncbulk__record"]): r for r in read_result(tmp_path / "out" / "unprocessed.csv")}
    assert all(job_errors.get(r["asyncbulk__job_id"]) for r in unprocessed.values())
    for record in range(97, total + 1, 97):
        if record in failed_by_record:
            assert failed_by_record[record]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
        else:
            assert record in unprocessed, record
    assert result.records_retried > 0  # lock failures and failed jobs' rows went round again
    injected = stats["faults_injected"]
    for kind in (
        "error_500",
        "error_503",
        "limit_exceeded",
        "drop_before",
        "drop_after",
        "job_failed",
        "lock_failure",
    ):
        assert injected.get(kind, 0) > 0, f"no {kind} fault was injected: the test proves less than it says"
    assert stats["tokens_issued"] > 2  # tokens expired mid-load and were refreshed
    print(
        f"\nfaults: {total} rows, {stats['requests']} requests, injected {injected}, "
        f"{stats['tokens_issued']} tokens issued, {len(result.jobs)} jobs "
        f"({sum(1 for j in summary['jobs'] if j['state'] == 'Failed')} Failed), "
        f"{result.records_retried} records retried; succeeded {result.succeeded}, "
        f"failed {result.failed}, unprocessed {result.unprocessed}"
    )


async def test_multipart_reply_lost_is_adopted_not_resent(tmp_path: Path) -> None:
    total = 3_000
    src = write_csv(tmp_path / "in.csv", keyed_rows(total, seed=5), header=[*HEADER, "External_Id__c"])
    async with Emulator(
        EmulatorConfig(workers=2, batch_size=200, faults=FaultConfig(seed=7, drop_after=0.3))
    ) as emu:
        result = await asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            instance_url=emu.instance_url,
            access_token=emu.access_token,
            out_dir=tmp_path / "out",
            chunks=ChunkConfig(max_records=200),
            poll=FAST_POLL,
            retry=FAST_RETRY,
            concurrency=1,  # one lost reply at a time can always be told apart
        )
        emu.set_faults(FaultConfig())
        stored = await stored_external_ids(emu.instance_url, emu.access_token)
    assert all(j.submit == "multipart" for j in result.jobs)
    assert any("adopted job" in note for note in result.notes)
    counts = check_accounting(tmp_path / "out", total, stored)
    assert counts["success"] == total


CHILD = textwrap.dedent(
    """
    import sys, anyio, asyncbulk
    from asyncbulk import ChunkConfig, PollConfig
    url, token, src, out, multipart = sys.argv[1:6]
    chunks = ChunkConfig(max_records=300, multipart_max_chars=100_000 if multipart == "1" else 0)
    anyio.run(lambda: asyncbulk.load(
        src, object="Contact", operation="insert", instance_url=url, access_token=token, out_dir=out,
        chunks=chunks, poll=PollConfig(initial=0.05, minimum=0.02, maximum=0.3), concurrency=3))
    """
)


@pytest.mark.parametrize(
    ("crash_at", "multipart"),
    [
        ("planned:1", "1"),  # after splitting, before any job
        ("create_sent:2", "1"),  # a multipart job exists, the journal does not know it
        ("create_sent:3", "0"),  # an Open job exists, the journal does not know it
        ("uploaded:2", "0"),  # data uploaded, job not closed
        ("polled:4", "1"),  # while polling
        ("merge:2", "1"),  # results half merged, not journaled
    ],
)
def test_sigkill_then_resume_loads_each_record_once(tmp_path: Path, crash_at: str, multipart: str) -> None:
    total = 2_400
    src = write_csv(
        tmp_path / "in.csv", keyed_rows(total, bad_every=50, seed=3), header=[*HEADER, "External_Id__c"]
    )
    out = tmp_path / "out"
    with EmulatorThread(EmulatorConfig(workers=2, batch_size=300, records_per_second=20_000)) as emu:
        env = {**os.environ, "ASYNCBULK_CRASH_AT": crash_at}
        child = subprocess.run(
            [sys.executable, "-c", CHILD, emu.instance_url, emu.access_token, str(src), str(out), multipart],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert child.returncode == -9, child.stderr.decode()[-2000:]  # killed by SIGKILL, as planned

        async def resume() -> Any:
            return await asyncbulk.load(
                src,
                object="Contact",
                operation="insert",
                instance_url=emu.instance_url,
                access_token=emu.access_token,
                out_dir=out,
                chunks=ChunkConfig(max_records=300, multipart_max_chars=100_000 if multipart == "1" else 0),
                poll=FAST_POLL,
                resume=True,
            )

        import anyio

        if crash_at.startswith("planned"):
            # Killed before the journal existed: nothing was sent, so there is nothing to resume.
            with pytest.raises(asyncbulk.ResumeError, match="nothing to resume"):
                anyio.run(resume)
            return
        result = anyio.run(resume)
        stored = anyio.run(stored_external_ids, emu.instance_url, emu.access_token)
        open_jobs = emu.stats()["jobs"].get("Open", 0)
    counts = check_accounting(out, total, stored)
    assert (counts["success"], counts["failed"]) == (total - total // 50, total // 50)
    assert (result.succeeded, result.failed, result.unprocessed) == (counts["success"], counts["failed"], 0)
    assert open_jobs == 0  # an orphan Open job left by the crash was aborted


async def test_resume_refuses_changed_input_or_options(emulator: Emulator, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", contact_rows(50))
    common: dict[str, Any] = {
        "object": "Contact",
        "operation": "insert",
        "instance_url": emulator.instance_url,
        "access_token": emulator.access_token,
        "out_dir": tmp_path / "out",
        "poll": FAST_POLL,
    }
    await asyncbulk.load(src, **common)
    with pytest.raises(asyncbulk.ResumeError, match=r"options changed.*max_records"):
        await asyncbulk.load(src, chunks=ChunkConfig(max_records=10), resume=True, **common)
    write_csv(src, contact_rows(51))
    with pytest.raises(asyncbulk.ResumeError, match="input file changed"):
        await asyncbulk.load(src, resume=True, **common)


async def test_resume_of_a_finished_transcoded_load_sends_nothing(emulator: Emulator, tmp_path: Path) -> None:
    # The journal names the user's file, not the UTF-8 copy made on each run.
    rows = [[v.encode("latin-1", "replace").decode("latin-1") for v in r] for r in contact_rows(120, seed=8)]
    src = write_csv(tmp_path / "latin1.csv", rows, encoding="latin-1")
    common: dict[str, Any] = {
        "object": "Contact",
        "operation": "insert",
        "instance_url": emulator.instance_url,
        "access_token": emulator.access_token,
        "out_dir": tmp_path / "out",
        "poll": FAST_POLL,
        "encoding": "latin-1",
        "chunks": ChunkConfig(max_records=50),
    }
    first = await asyncbulk.load(src, **common)
    jobs_before = emulator.stats()["jobs_created"]
    again = await asyncbulk.load(src, resume=True, **common)
    assert emulator.stats()["jobs_created"] == jobs_before
    assert (again.succeeded, again.records) == (first.succeeded, 120) == (120, 120)
    assert len(read_result(again.success_file)) == 120
