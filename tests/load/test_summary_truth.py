"""Defect 12: summary.json said ``"ok": true`` after a failure, and the CLI advised a resume that
would repeat the same error.

The summary tells the truth in every outcome (``"ok": false`` and the error after any failure),
and the CLI's "continue with: asyncbulk resume DIR" appears only where a resume can work.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cases.org import (
    FAST_POLL,
    KEYED_HEADER,
    SMALL_CHUNKS,
    Org,
    assert_each_record_once,
    contact_rows,
    keyed_rows,
    outcome_of,
    run_cli,
    write_csv,
)

import asyncbulk
from asyncbulk import ProgressEvent, RetryConfig
from asyncbulk.emulator import EmulatorConfig, EmulatorThread, FaultConfig, OAuthConfig

RECORDS = 500


async def test_summary_is_not_ok_after_an_api_error_mid_load(org: Org, tmp_path: Path) -> None:
    """Defect 12: after the first job is merged every request fails with a 500 (and the retries
    are few); today summary.json still says ``"ok": true``, since nothing had failed *yet*."""
    src = write_csv(tmp_path / "in.csv", contact_rows(RECORDS))
    out = tmp_path / "out"

    def fail_everything_after_the_first_merge(event: ProgressEvent) -> None:
        if event.kind == "results_merged":
            org.emulator.set_faults(FaultConfig(error_500=1.0))

    outcome = await outcome_of(
        asyncbulk.load(
            src,
            object="Contact",
            operation="insert",
            out_dir=out,
            chunks=SMALL_CHUNKS,
            poll=FAST_POLL,
            concurrency=1,
            retry=RetryConfig(max_attempts=2, base_delay=0.01, max_delay=0.05, budget=0.5),
            progress=fail_everything_after_the_first_merge,
            **org.load_auth(),
        )
    )
    assert isinstance(outcome, asyncbulk.AsyncBulkError), outcome
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] is False, "summary.json says ok after the load stopped with an error"
    assert summary["error"] and "500" in summary["error"]


CLIENT_ID, CLIENT_SECRET = "3MVG9-issue9-summary", "summary-secret-2c8f"


@pytest.fixture
def expiring_org() -> Iterator[Org]:
    """A paced org whose tokens (its preset one too) last one second: a load given a fixed token
    creates its jobs, then fails with 401 while they are processed."""
    config = EmulatorConfig(
        workers=1,
        records_per_second=1_000,
        token_lifetime=1.0,
        access_token="00DEM!expiring-summary-token",
        oauth=OAuthConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
    )
    with EmulatorThread(config) as emulator:
        yield Org(emulator)


def test_cli_advice_after_a_mid_load_error_can_be_followed(
    expiring_org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 12, the other side: where a resume can work the advice stays, and following it works
    (here the token expired mid-load; the resume logs in with a refreshable method)."""
    src = write_csv(tmp_path / "in.csv", keyed_rows(1_200), header=KEYED_HEADER)
    out = tmp_path / "out"
    common = ["--no-progress", "--poll-interval", "0.05"]
    first = run_cli(
        capsys,
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(out),
        "--chunk-records",
        "300",
        *common,
        *expiring_org.cli_auth(),
    )
    assert first.code == 4, first.stderr
    assert f"continue with: asyncbulk resume {out}" in first.stderr
    login = [
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--login-url",
        expiring_org.instance_url,
    ]
    resumed = run_cli(capsys, "resume", str(out), *common, *login)
    assert resumed.code == 0, resumed.stderr
    # Look at the org with a fresh token: the preset one has expired.
    assert_each_record_once(out, expiring_org.with_client_credentials(CLIENT_ID, CLIENT_SECRET), 1_200)


def test_cli_no_advice_after_a_resume_error(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 12: a resume refused because the input changed would be refused again: no advice."""
    src = write_csv(tmp_path / "in.csv", contact_rows(50))
    out = tmp_path / "out"
    argv = [
        "load",
        "insert",
        "Contact",
        str(src),
        "--out",
        str(out),
        "--no-progress",
        "--poll-interval",
        "0.05",
        *org.cli_auth(),
    ]
    assert run_cli(capsys, *argv).code == 0
    write_csv(src, contact_rows(51))
    again = run_cli(capsys, *argv, "--resume")
    assert again.code == 4, again.stderr
    assert "asyncbulk resume" not in again.stderr
