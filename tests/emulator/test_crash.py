"""Crash consistency: an emulator killed (SIGKILL) mid-job with ``--db`` never applies a batch twice.

A batch's records, its result rows and its job's counters commit in one transaction; a restart
resumes after the last committed batch. The job is killed while its batches run, then finishes
after a restart: every row is stored once, the result files hold every row once, the counters agree.
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from asyncbulk.emulator import EmulatorConfig, EmulatorProcess

ROWS = 3_000


def call(emu: EmulatorProcess, method: str, path: str, body: bytes | None = None, ctype: str = "") -> Any:
    req = urllib.request.Request(emu.base_url + path, data=body, method=method)
    req.add_header("Authorization", f"Bearer {emu.access_token}")
    if ctype:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
        return json.loads(raw) if resp.headers.get_content_type() == "application/json" else raw.decode()


def data() -> bytes:
    # Every 100th row has no LastName: it fails, so the failed results are checked too.
    lines = ["LastName,Title"] + [("" if i % 100 == 0 else f"L{i}") + f",T{i}" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def processed(emu: EmulatorProcess, job_id: str) -> dict[str, Any]:
    info: dict[str, Any] = call(emu, "GET", f"/jobs/ingest/{job_id}")
    return info


def kill_while_running(emu: EmulatorProcess, job_id: str) -> int:
    """Kill the process once some batches have committed (and others have not)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = processed(emu, job_id)
        assert info["state"] in ("UploadComplete", "InProgress"), info
        if info["numberRecordsProcessed"] > 0:
            emu.kill()
            return int(info["numberRecordsProcessed"])
        time.sleep(0.01)
    raise AssertionError("the job never started")


def test_sigkill_mid_job_applies_no_batch_twice(tmp_path: Path) -> None:
    config = EmulatorConfig(
        db_path=str(tmp_path / "org.db"),
        workers=2,
        batch_size=300,
        records_per_second=2_500,
        access_token="crash-tok",
    )
    with EmulatorProcess(config) as emu:
        job = call(
            emu, "POST", "/jobs/ingest", b'{"object":"Contact","operation":"insert"}', "application/json"
        )
        call(emu, "PUT", f"/jobs/ingest/{job['id']}/batches", data(), "text/csv")
        call(emu, "PATCH", f"/jobs/ingest/{job['id']}", b'{"state":"UploadComplete"}', "application/json")
        seen = kill_while_running(emu, job["id"])
    with EmulatorProcess(config) as emu:
        deadline = time.monotonic() + 30
        while (info := processed(emu, job["id"]))["state"] != "JobComplete":
            assert time.monotonic() < deadline, info
            time.sleep(0.05)
        stored = Counter(
            r["LastName"] for r in call(emu, "GET", "/query?q=SELECT+LastName+FROM+Contact")["records"]
        )
        success = list(
            csv.DictReader(io.StringIO(call(emu, "GET", f"/jobs/ingest/{job['id']}/successfulResults/")))
        )
        failed = list(
            csv.DictReader(io.StringIO(call(emu, "GET", f"/jobs/ingest/{job['id']}/failedResults/")))
        )
    assert 0 < seen < ROWS  # the kill came mid-job
    assert max(stored.values()) == 1 and sum(stored.values()) == ROWS - ROWS // 100
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (ROWS, ROWS // 100)
    assert len(success) + len(failed) == ROWS
    titles = Counter(r["Title"] for r in success + failed)
    assert set(titles) == {f"T{i}" for i in range(ROWS)} and max(titles.values()) == 1
    assert {r["LastName"] for r in success} == set(stored)


def test_stop_right_after_close_leaves_the_job_to_run_at_the_next_start(tmp_path: Path) -> None:
    """A graceful stop (SIGTERM) while a closed job waits or runs must not end it JobComplete early.

    The stop used to finish such a job on the way out: JobComplete with 0 (or some) of its records
    processed and the rest in no result file, so a loader resuming after the outage lost them.
    """
    config = EmulatorConfig(
        db_path=str(tmp_path / "org.db"), workers=1, batch_size=300, access_token="stop-tok"
    )
    with EmulatorProcess(config) as emu:
        job = call(
            emu, "POST", "/jobs/ingest", b'{"object":"Contact","operation":"insert"}', "application/json"
        )
        call(emu, "PUT", f"/jobs/ingest/{job['id']}/batches", data(), "text/csv")
        call(emu, "PATCH", f"/jobs/ingest/{job['id']}", b'{"state":"UploadComplete"}', "application/json")
        emu.stop()
    with EmulatorProcess(config) as emu:
        deadline = time.monotonic() + 30
        while (info := processed(emu, job["id"]))["state"] != "JobComplete":
            assert info["state"] in ("UploadComplete", "InProgress"), info
            assert time.monotonic() < deadline, info
            time.sleep(0.05)
        success = call(emu, "GET", f"/jobs/ingest/{job['id']}/successfulResults/")
        failed = call(emu, "GET", f"/jobs/ingest/{job['id']}/failedResults/")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (ROWS, ROWS // 100)
    assert (
        len(list(csv.DictReader(io.StringIO(success)))) + len(list(csv.DictReader(io.StringIO(failed))))
        == ROWS
    )
