"""The emulator as a command (``python -m asyncbulk.emulator``): banner, persistence with --db, TLS."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from asyncbulk.emulator import EmulatorConfig, EmulatorProcess, EmulatorThread, FaultConfig
from asyncbulk.emulator._server import parse_banner, process_args


def call(emu: Any, method: str, path: str, body: bytes | None = None, ctype: str = "application/json") -> Any:
    """One synchronous request against /services/data/v66.0 (urllib: no event loop in these tests)."""
    req = urllib.request.Request(emu.base_url + path, data=body, method=method)
    req.add_header("Authorization", f"Bearer {emu.access_token}")
    req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=10, context=emu.client_ssl_context()) as resp:
        raw = resp.read()
        if resp.headers.get_content_type() == "application/json" and raw:
            return json.loads(raw)
        return raw.decode()


def load(emu: Any, data: bytes, *, close: bool = True) -> str:
    job = call(emu, "POST", "/jobs/ingest", json.dumps({"object": "Contact", "operation": "insert"}).encode())
    call(emu, "PUT", f"/jobs/ingest/{job['id']}/batches", data, "text/csv")
    if close:
        call(emu, "PATCH", f"/jobs/ingest/{job['id']}", b'{"state":"UploadComplete"}')
    return str(job["id"])


def wait(emu: Any, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        info: dict[str, Any] = call(emu, "GET", f"/jobs/ingest/{job_id}")
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.05)


def test_banner_is_one_line_with_url_and_token() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "asyncbulk.emulator", "--port", "0", "--workers", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        fields = parse_banner(proc.stdout.readline().strip())
        assert fields["instance_url"].startswith("http://127.0.0.1:")
        assert fields["access_token"] and fields["admin_token"].startswith("emuadmin-")
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
        assert proc.stdout is not None
        assert proc.stdout.read() == ""  # exactly one line
        proc.stdout.close()


def test_process_args_round_trip() -> None:
    from asyncbulk.emulator._main import build_parser, config_from_args

    config = EmulatorConfig(
        workers=3,
        records_per_second=500.0,
        tls=True,
        query_page_records=7,
        query_page_bytes=4096,
        query_rate=100.0,
        daily_query_job_limit=3,
        faults=FaultConfig(
            error_500=0.25, seed=7, lock_failure=0.5, result_503=0.5, result_cut=1.0, result_token_expiry=0.1
        ),
    )
    assert config_from_args(build_parser().parse_args(process_args(config))) == config
    realistic = EmulatorConfig(
        profile="realistic",
        seed=11,
        header_timeout=3.0,
        idle_timeout=4.0,
        body_timeout=5.0,
        admin_token="adm",
    )
    assert config_from_args(build_parser().parse_args(process_args(realistic))) == realistic
    from asyncbulk.emulator._config import Profile

    custom = EmulatorConfig(profile=Profile(foreign_jobs=3))
    with pytest.raises(ValueError, match="named profile"):
        process_args(custom)
    with pytest.raises(ValueError, match="unknown profile"):
        EmulatorConfig(profile="slow")


def test_binding_beyond_loopback_warns() -> None:
    from asyncbulk.emulator._server import exposure_warning

    assert exposure_warning("127.0.0.1") is None and exposure_warning("::1") is None
    assert exposure_warning("localhost") is None
    warning = exposure_warning("0.0.0.0")
    assert warning is not None and "beyond loopback" in warning and "/__emulator/" in warning
    assert exposure_warning("192.168.1.5") is not None


def test_process_stats_and_faults() -> None:
    with EmulatorProcess(EmulatorConfig(workers=1)) as emu:
        assert call(emu, "GET", "/limits")["DailyApiRequests"]["Remaining"] == 100_000 - 1
        assert emu.stats()["api_usage"] == 1
        emu.set_faults(FaultConfig(error_503=1))
        with pytest.raises(urllib.error.HTTPError) as exc_info:
            call(emu, "GET", "/limits")
        assert exc_info.value.code == 503
        emu.set_faults(FaultConfig())
        assert emu.advance_clock(3600) > time.time() + 3500  # over HTTP, with the admin token
        assert emu.stats()["clock_offset"] == 3600


def test_db_keeps_jobs_and_resumes_jobs_in_flight(tmp_path: Path) -> None:
    db = str(tmp_path / "org.db")
    rows = b"LastName\n" + b"".join(b"L%d\n" % i for i in range(600))
    slow = EmulatorConfig(db_path=db, workers=1, batch_size=100, records_per_second=400)
    with EmulatorProcess(slow) as emu:
        token = emu.access_token
        done_id = load(emu, b"LastName\nDone\n")
        wait(emu, done_id)
        open_id = load(emu, b"LastName\nPending\n", close=False)
        flight_id = load(emu, rows)
        while call(emu, "GET", f"/jobs/ingest/{flight_id}")["numberRecordsProcessed"] == 0:
            time.sleep(0.05)
    fast = EmulatorConfig(db_path=db, workers=2, batch_size=100, access_token=token)
    with EmulatorProcess(fast) as emu:
        assert call(emu, "GET", f"/jobs/ingest/{done_id}")["state"] == "JobComplete"
        assert call(emu, "GET", f"/jobs/ingest/{open_id}")["state"] == "Open"
        success = call(emu, "GET", f"/jobs/ingest/{done_id}/successfulResults/")
        assert success.splitlines()[1].endswith('"true","Done"')
        info = wait(emu, flight_id)
        assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 600)
        ok = call(emu, "GET", f"/jobs/ingest/{flight_id}/successfulResults/").splitlines()[1:]
        assert sorted(line.rsplit(",", 1)[1] for line in ok) == sorted(f'"L{i}"' for i in range(600))
        new_id = load(emu, b"LastName\nNew\n")
        assert new_id not in (done_id, open_id, flight_id)


def test_tls_thread_with_generated_certificate() -> None:
    with EmulatorThread(EmulatorConfig(tls=True, workers=1)) as emu:
        assert emu.instance_url.startswith("https://127.0.0.1:")
        assert emu.ca_file is not None and Path(emu.ca_file).exists()
        info = wait(emu, load(emu, b"LastName\nSecure\n"))
        assert info["numberRecordsProcessed"] == 1
        assert emu.stats()["jobs_created"] == 1
